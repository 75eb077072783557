// A project as the commands after `lock` see it: the declaration, its lockfile (checked fresh
// unless --frozen), and the host facts they choose images by.

import path from 'node:path';
import type { Context, Env } from './context.js';
import { loadDeclaration } from './declaration/load.js';
import type { Declaration } from './declaration/model.js';
import { detectHostCpu, hostCpuFromFeatures, hostPlatform, type HostCpu } from './arch/host.js';
import { maskCpuFeatures } from './arch/cpu-mask.js';
import { assertFresh, readLockfile, LOCKFILE_NAME, type Lockfile, type LockedEnvironment } from '../lockfiles/index.js';
import { EnvlockError } from './errors.js';
import { projectDir, searchedDirectories } from './project-dir.js';
import { quoted } from './shown.js';

export interface Project {
  decl: Declaration;
  lock: Lockfile;
  dir: string;
  lockPath: string;
}

export interface LoadProjectOptions {
  /** The command, for "run `envlock lock`, then `envlock X` again". */
  command: string;
  /** Use the lock as it is even when the declaration has moved on. */
  frozen?: boolean;
}

/**
 * The declaration of the project the user is in: the nearest envlock.yaml/.toml at or above
 * ctx.cwd (project-dir.ts); the message of a missing one names the whole range searched.
 */
export async function loadProjectDeclaration(ctx: Context): Promise<Declaration> {
  const dir = projectDir(ctx);
  return loadDeclaration(dir, { home: ctx.home, searched: dir === ctx.cwd ? searchedDirectories(ctx.cwd, ctx.home) : [dir] });
}

export async function loadProject(ctx: Context, options: LoadProjectOptions): Promise<Project> {
  const decl = await loadProjectDeclaration(ctx);
  const dir = path.dirname(decl.file);
  const lock = await readLockfile(dir);
  if (options.frozen) {
    if (lock === undefined) {
      throw new EnvlockError('LOCK_MISSING', `There is no ${LOCKFILE_NAME} beside ${path.basename(decl.file)}.`, { hint: `Run \`envlock lock\`, then \`envlock ${options.command}\` again.` });
    }
  } else {
    assertFresh(decl, lock, { command: options.command });
  }
  return { decl, lock: lock!, dir, lockPath: path.join(dir, LOCKFILE_NAME) };
}

export function lockedEnvironment(project: Project, name: string): LockedEnvironment {
  const locked = project.lock.environments.find((e) => e.name === name);
  if (!locked) throw new EnvlockError('LOCK_STALE', `${LOCKFILE_NAME} has no entry for environment ${quoted(name)}.`, { hint: 'Run `envlock lock`.' });
  return locked;
}

/**
 * This host's CPU, detected one way everywhere (pull, run, doctor, module preparation): CPUID
 * with XGETBV for the register state the OS enabled, as glibc decides which x86-64 levels it
 * may load. /proc/cpuinfo is only a fallback for a build without the addon: hypervisors and
 * kernels hide flags there (AMD EPYC guests list no `abm` while CPUID reports LZCNT), and a
 * second opinion made `pull` choose one variant and `run` want another.
 */
export async function hostCpu(env: Env = {}): Promise<HostCpu & { os: string }> {
  let cpu: HostCpu | undefined;
  try {
    const { nativeHostCpu } = await import('./runtime/cpu.js');
    cpu = nativeHostCpu();
  } catch {
    cpu = undefined;
  }
  cpu ??= detectHostCpu();
  // ENVLOCK_CPU_MASK takes features away for every command alike (core/arch/cpu-mask.ts).
  if (env.ENVLOCK_CPU_MASK) {
    const extra = { ...(cpu.vendor === undefined ? {} : { vendor: cpu.vendor }), ...(cpu.model === undefined ? {} : { model: cpu.model }) };
    cpu = hostCpuFromFeatures(cpu.architecture, maskCpuFeatures(cpu.architecture, cpu.features, env), extra);
  }
  return { ...cpu, os: hostPlatform().os };
}
