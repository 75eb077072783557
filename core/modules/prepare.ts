// Prepares what a loaded module runs: the launch spec and one wrapper per exported command, in a
// directory keyed by the lock's digest. Publishing, the shim's slow path and `pull` all call this.

import fs from 'node:fs/promises';
import path from 'node:path';
import { EnvlockError, errnoCode } from '../errors.js';
import { tempSibling } from '../fs/atomic-write.js';
import { renderSpec, type LaunchSpec } from '../runtime/spec.js';
import { wrapperScript } from './wrapper-script.js';

/**
 * Inside a prepared directory: the spec, the wrappers, a link to the rootfs, and a copy of the
 * lock it was prepared from, which `module load` compares with the module's lock line by line.
 */
export const PREPARED = { spec: 'spec', bin: 'bin', rootfs: 'rootfs', lock: 'envlock.lock' } as const;

export interface PrepareInput {
  /** Where to write; replaced as a whole (ROOT/NAME/VERSION/.envlock/<lock hex prefix>, or a cache dir). */
  outDir: string;
  /** Shown in messages: analysis/2.0. */
  label: string;
  /** The wrapper spec (core/enter/wrapper-spec.ts); its image is what `rootfs` links to. */
  spec: LaunchSpec;
  commands: readonly string[];
  launcherPath: string;
  /** envlock.lock and the declaration: a wrapper refuses to run when either is newer than its spec. */
  sources: readonly string[];
  /** The bytes of the lock the spec is made from; kept so the shim can tell, without a process, that it still matches. */
  lockBytes?: Uint8Array;
  /** "sha256:…" of the lockfile, recorded in the spec's comments. */
  lockDigest: string;
}

export interface PreparedRuntime {
  specFile: string;
  wrapperDir: string;
}

function ioError(error: unknown, what: string): EnvlockError {
  return new EnvlockError('IO', `Cannot write ${what}: ${errnoCode(error) ?? String(error)}.`, {
    hint: 'Check that the module tree is writable by you, or publish into a tree you own.',
    cause: error,
  });
}

/**
 * Writes spec, wrappers and rootfs link into a fresh sibling directory, then swaps it in with
 * rename, so a wrapper running meanwhile sees the old or the new set, never half of one.
 */
export async function prepareModuleRuntime(input: PrepareInput): Promise<PreparedRuntime> {
  const outDir = path.resolve(input.outDir);
  const temp = tempSibling(outDir);
  const specFile = path.join(outDir, PREPARED.spec);
  const wrapperDir = path.join(outDir, PREPARED.bin);
  // Rendered first: a value the spec cannot hold is the declaration's fault, not an I/O error.
  const spec = renderSpec({ ...input.spec, comments: [`module ${input.label}`, `lock ${input.lockDigest}`, ...(input.spec.comments ?? [])] });
  try {
    // Not recursive: mkdir(2) of the unpredictable name fails rather than reuse what someone planted.
    await fs.mkdir(temp, { mode: 0o755 });
    await fs.mkdir(path.join(temp, PREPARED.bin), { mode: 0o755 });
    await fs.writeFile(path.join(temp, PREPARED.spec), spec, { mode: 0o644 });
    await fs.symlink(input.spec.rootfs ?? input.spec.squashfs!, path.join(temp, PREPARED.rootfs));
    if (input.lockBytes !== undefined) await fs.writeFile(path.join(temp, PREPARED.lock), input.lockBytes, { mode: 0o644 });
    for (const command of input.commands) {
      const text = wrapperScript({ command, label: input.label, launcherPath: input.launcherPath, specFile, sources: input.sources });
      await fs.writeFile(path.join(temp, PREPARED.bin, command), text, { mode: 0o755 });
      await fs.chmod(path.join(temp, PREPARED.bin, command), 0o755);
    }
    await fs.chmod(temp, 0o755);
    await fs.rm(outDir, { recursive: true, force: true });
    await fs.rename(temp, outDir);
  } catch (error) {
    await fs.rm(temp, { recursive: true, force: true }).catch(() => undefined);
    throw ioError(error, `the wrappers of module ${input.label} in ${outDir}`);
  }
  return { specFile, wrapperDir };
}
