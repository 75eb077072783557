// Flags shared by `run` and `shell`, and turning them into a RunRequest.

import type { FlagSpec, ParsedArgs } from './command-spec.js';
import { flag } from './args.js';
import type { Context } from '../core/context.js';
import type { EnvironmentDecl } from '../core/declaration/model.js';
import { parseBindFlag, parseEnvFlag } from '../core/enter/bind-flags.js';
import type { RunRequest } from '../core/enter/run-plan.js';
import type { Invocation } from '../core/enter/prepared.js';

export const RUN_FLAGS: FlagSpec[] = [
  { name: 'bind', short: 'b', type: 'list', valueName: 'SRC[:DST[:ro|rw]]', description: 'Bind a host path into the environment (DST need not exist in the image).' },
  { name: 'env', short: 'e', type: 'list', valueName: 'NAME=VALUE', description: 'Set a variable inside, after everything else.' },
  { name: 'cwd', type: 'string', valueName: 'DIR', description: 'Working directory inside (default: the current one, bound at the same path).' },
  { name: 'root', type: 'boolean', description: 'Appear as uid 0 inside (still unprivileged: no more rights than you have).' },
  { name: 'host-tmp', type: 'boolean', description: 'Use the host\'s /tmp instead of a private one.' },
  { name: 'frozen', type: 'boolean', description: 'Use envlock.lock as it is, even if the declaration changed since.' },
  { name: 'dry-run', type: 'boolean', description: 'Print what would be entered (image, binds, injected host files, command) and stop.' },
  { name: 'debug', type: 'boolean', description: 'Let the launcher describe each mount on stderr.' },
];

export function runRequest(args: ParsedArgs, env: EnvironmentDecl, command: string[], ctx: Context): RunRequest {
  return { env, ...invocation(args, command, ctx) };
}

/** The per-invocation part of run/shell: command, --bind, --env, --cwd, --root, --host-tmp. */
export function invocation(args: ParsedArgs, command: string[], ctx: Context): Invocation {
  const request: Invocation = {
    command,
    binds: flag.list(args, 'bind').map((b) => parseBindFlag(b, ctx.cwd)),
    overrides: Object.fromEntries(flag.list(args, 'env').map(parseEnvFlag)),
    fakeRoot: flag.bool(args, 'root'),
    hostTmp: flag.bool(args, 'host-tmp'),
  };
  const cwd = flag.str(args, 'cwd');
  if (cwd !== undefined) request.cwd = cwd;
  return request;
}
