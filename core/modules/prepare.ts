// Prepares what a loaded module runs: one launch spec per CPU variant in a store and one wrapper
// per exported command, in a fresh versioned directory that a symlink keyed by the lock's
// digest is flipped to. Publishing, the shim's slow path and `pull` all call this.

import { randomBytes } from 'node:crypto';
import { constants as FS } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { EnvlockError, errnoCode } from '../errors.js';
import { tempSibling } from '../fs/atomic-write.js';
import { renderSpec, type LaunchSpec } from '../runtime/spec.js';
import { wrapperScript } from './wrapper-script.js';

/**
 * Inside a prepared directory: the spec for the preparing host (the shim's freshness checks
 * compare mtimes with it), one `spec.<variant>` per variant the wrappers choose from at run
 * time, the wrappers, a link to the preparing host's image, and a copy of the lock it was
 * prepared from, which `module load` compares with the module's lock line by line.
 */
export const PREPARED = { spec: 'spec', bin: 'bin', rootfs: 'rootfs', lock: 'envlock.lock' } as const;

/** One variant the wrappers may run: its spec carries the `arch` and `cpu-needs` lines it was chosen for. */
export interface PreparedVariant {
  /** File-name part: linux-amd64-v3. */
  tag: string;
  spec: LaunchSpec;
}

export interface PrepareInput {
  /** The stable name (ROOT/NAME/VERSION/.envlock/<lock hex prefix>, or a cache dir): a symlink to the current version. */
  outDir: string;
  /** Shown in messages: analysis/2.0. */
  label: string;
  /** The spec for this host's best variant (core/enter/wrapper-spec.ts); its image is what `rootfs` links to. */
  spec: LaunchSpec;
  /** Every variant found in a store, best first; the launcher runs the first one the node's CPU can (none: `spec` alone). */
  variants?: readonly PreparedVariant[];
  commands: readonly string[];
  launcherPath: string;
  /** The wrappers' spec lines for binds under the runner's $HOME, `~` standing for it (home-binds.ts). */
  homeLines?: readonly string[];
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

/** `.NAME.v-<24 hex>`: one prepared version of `outDir`, beside it. */
function versionName(outDir: string): string {
  return `.${path.basename(outDir)}.v-${randomBytes(12).toString('hex')}`;
}

/** Whether `entry` (a name in outDir's directory) is one of outDir's versions. */
export function isVersionOf(outDir: string, entry: string): boolean {
  const prefix = `.${path.basename(outDir)}.v-`;
  return entry.startsWith(prefix) && /^[0-9a-f]{24}$/.test(entry.slice(prefix.length));
}

/** A new file, never one that is there (O_EXCL|O_NOFOLLOW), with exactly `mode` whatever the umask. */
async function writeNew(file: string, data: string | Uint8Array, mode: number): Promise<void> {
  const handle = await fs.open(file, FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL | FS.O_NOFOLLOW, mode);
  try {
    await handle.chmod(mode);
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}

/** A new directory with exactly `mode` (chmod through a handle that never follows a link). */
async function makeDir(dir: string, mode: number): Promise<void> {
  await fs.mkdir(dir, { mode });
  const handle = await fs.open(dir, FS.O_RDONLY | FS.O_DIRECTORY | FS.O_NOFOLLOW);
  try {
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
}

/**
 * Points the symlink `outDir` at `version` with one rename(2), so a wrapper or `module load`
 * running meanwhile sees the old set or the new one, never a gap. A directory left at `outDir`
 * by an older envlock is removed first (once: a symlink replaces it for good).
 */
async function flip(outDir: string, version: string): Promise<string | undefined> {
  const previous = await fs.readlink(outDir).catch(() => undefined);
  const link = tempSibling(outDir);
  await fs.symlink(version, link);
  try {
    await fs.rename(link, outDir);
  } catch (error) {
    if (!['EISDIR', 'ENOTEMPTY', 'EEXIST', 'ENOTDIR'].includes(errnoCode(error) ?? '')) throw error;
    await fs.rm(outDir, { recursive: true, force: true });
    await fs.rename(link, outDir);
  } finally {
    await fs.rm(link, { force: true }).catch(() => undefined);
  }
  return previous;
}

/**
 * Removes outDir's versions but the current one and the one before it: a wrapper that resolved
 * the old link an instant ago may still be opening its spec there.
 */
async function pruneVersions(outDir: string, keep: readonly (string | undefined)[]): Promise<void> {
  const dir = path.dirname(outDir);
  for (const entry of await fs.readdir(dir).catch(() => [] as string[])) {
    if (isVersionOf(outDir, entry) && !keep.includes(entry)) await fs.rm(path.join(dir, entry), { recursive: true, force: true });
  }
}

export async function prepareModuleRuntime(input: PrepareInput): Promise<PreparedRuntime> {
  const outDir = path.resolve(input.outDir);
  const version = versionName(outDir);
  const work = path.join(path.dirname(outDir), version);
  const specFile = path.join(outDir, PREPARED.spec);
  const wrapperDir = path.join(outDir, PREPARED.bin);
  const comments = (spec: LaunchSpec): LaunchSpec => ({ ...spec, comments: [`module ${input.label}`, `lock ${input.lockDigest}`, ...(spec.comments ?? [])] });
  const variants = input.variants ?? [];
  // Rendered first: a value the spec cannot hold is the declaration's fault, not an I/O error.
  const primary = renderSpec(comments(input.spec));
  const rendered = variants.map((v) => ({ file: `${PREPARED.spec}.${v.tag}`, text: renderSpec(comments(v.spec)) }));
  const candidates = rendered.length === 0 ? [specFile] : rendered.map((r) => path.join(outDir, r.file));
  try {
    // Not recursive: mkdir(2) of the unpredictable name fails rather than reuse what someone planted.
    for (const dir of [work, path.join(work, PREPARED.bin)]) await makeDir(dir, 0o755);
    await writeNew(path.join(work, PREPARED.spec), primary, 0o644);
    for (const r of rendered) await writeNew(path.join(work, r.file), r.text, 0o644);
    await fs.symlink(input.spec.rootfs ?? input.spec.squashfs!, path.join(work, PREPARED.rootfs));
    if (input.lockBytes !== undefined) await writeNew(path.join(work, PREPARED.lock), input.lockBytes, 0o644);
    for (const command of input.commands) {
      const text = wrapperScript({ command, label: input.label, launcherPath: input.launcherPath, specFile, candidates, homeLines: input.homeLines, sources: input.sources });
      await writeNew(path.join(work, PREPARED.bin, command), text, 0o755);
    }
    const previous = await flip(outDir, version);
    await pruneVersions(outDir, [version, previous]);
  } catch (error) {
    await fs.rm(work, { recursive: true, force: true }).catch(() => undefined);
    throw ioError(error, `the wrappers of module ${input.label} in ${outDir}`);
  }
  return { specFile, wrapperDir };
}
