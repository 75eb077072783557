// The environment a declaration adds must fit what execve accepts. YAML aliases can expand a
// small file into megabytes of variables; without this check `lock` accepted them and every
// `run` failed much later with E2BIG (issue 13.6). Counted as the kernel counts: NAME=value\0.

import { ENVIRONMENT_MAX_BYTES, VARIABLE_MAX_BYTES, describeLimit } from '../input-limits.js';
import { childPath, type IssueList } from './issues.js';
import type { EnvironmentDecl } from './model.js';

type Edits = Pick<EnvironmentDecl, 'env' | 'prependPath' | 'appendPath'>;

/** Bytes of each variable the edits set, as NAME=value without what the image or host adds to a path. */
export function declaredVariableBytes(edits: Edits): Map<string, number> {
  const sizes = new Map<string, number>();
  const add = (name: string, bytes: number) => sizes.set(name, (sizes.get(name) ?? Buffer.byteLength(name) + 1) + bytes);
  for (const [name, value] of Object.entries(edits.env)) add(name, Buffer.byteLength(value));
  for (const table of [edits.prependPath, edits.appendPath]) {
    for (const [name, parts] of Object.entries(table)) {
      // Each entry and the `:` that joins it to the next.
      for (const part of parts) add(name, Buffer.byteLength(part) + 1);
    }
  }
  return sizes;
}

/** Adds an issue for each variable over the kernel's per-string limit and one for a total over envlock's. */
export function checkEnvironmentSize(env: EnvironmentDecl, where: string, issues: IssueList): void {
  const sizes = declaredVariableBytes(env);
  let total = 0;
  for (const [name, bytes] of sizes) {
    total += bytes + 1;
    if (bytes > VARIABLE_MAX_BYTES) {
      const key = Object.hasOwn(env.env, name) ? childPath(childPath(where, 'env'), name) : childPath(childPath(where, Object.hasOwn(env.prependPath, name) ? 'prepend-path' : 'append-path'), name);
      issues.add(key, `composes to ${bytes.toLocaleString('en-US')} bytes, more than the ${describeLimit(VARIABLE_MAX_BYTES)} Linux allows one variable (a command could not start with it).`, {
        hint: 'Check for YAML aliases (`*name`) repeated by mistake, and keep long data in a file the command reads.',
      });
    }
  }
  if (total > ENVIRONMENT_MAX_BYTES) {
    issues.add(where, `its variables compose to ${total.toLocaleString('en-US')} bytes, more than the ${describeLimit(ENVIRONMENT_MAX_BYTES)} envlock allows an environment (with the host's variables, a command could not start).`, {
      hint: 'Check for YAML aliases (`*name`) repeated by mistake, and keep long data in a file the command reads.',
    });
  }
}
