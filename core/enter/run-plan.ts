// Everything `run` and `shell` decide before handing over to the launcher: the image this host
// runs, its rootfs (pulled if missing), the environment, binds, host injection, working
// directory and command. Pure decisions; launching is the caller's.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Context } from '../context.js';
import type { EnvironmentDecl } from '../declaration/model.js';
import { chooseImage } from '../arch/choose.js';
import { cflagsFor } from '../arch/microarchs.js';
import { composeEnvironment } from '../environment/compose.js';
import { EnvlockError } from '../errors.js';
import type { Project } from '../project.js';
import { hostCpu, lockedEnvironment } from '../project.js';
import type { BindMount, LaunchSpec } from '../runtime/spec.js';
import type { LockedImage } from '../../lockfiles/model.js';
import { platformString } from '../../lockfiles/model.js';
import { injectionMounts } from './apply-injection.js';

export interface RunRequest {
  env: EnvironmentDecl;
  /** The command and its arguments; empty means the image's Entrypoint + Cmd. */
  command: string[];
  binds: BindMount[];
  overrides: Record<string, string>;
  cwd?: string;
  fakeRoot: boolean;
  hostTmp: boolean;
  /** Extra variables for `shell` (prompt marker). */
  extraEnv?: Record<string, string>;
}

export interface RunPlan {
  spec: LaunchSpec;
  argv: string[];
  image: LockedImage;
  rootfs: string;
  injected: string[];
}

interface ImageConfig {
  config?: { Env?: string[]; Entrypoint?: string[] | null; Cmd?: string[] | null; WorkingDir?: string };
}

/** `SRC[:DST[:ro|rw]]` from --bind; the source must exist (checked here, before anything runs). */
export function parseBindFlag(text: string, cwd: string): BindMount {
  const parts = text.split(':');
  if (parts.length > 3 || parts[0] === '' || (parts[2] !== undefined && parts[2] !== 'ro' && parts[2] !== 'rw')) {
    throw new EnvlockError('BIND_INVALID', `The bind ${JSON.stringify(text)} is not of the form SRC[:DST[:ro|rw]].`, { hint: 'Write e.g. --bind /scratch or --bind /data:/data:ro.' });
  }
  const source = path.resolve(cwd, parts[0]!);
  const destination = parts[1] || source;
  if (!destination.startsWith('/') || destination.split('/').includes('..')) {
    throw new EnvlockError('BIND_INVALID', `The bind destination ${JSON.stringify(destination)} must be an absolute path without "..".`, { hint: 'Write the path inside the environment as /some/dir.' });
  }
  return { source, destination: path.posix.normalize(destination), readOnly: parts[2] === 'ro' };
}

function checkSources(binds: BindMount[]): void {
  for (const bind of binds) {
    if (!bind.optional && !existsSync(bind.source)) {
      throw new EnvlockError('BIND_INVALID', `The bind source ${bind.source} does not exist on this host.`, { hint: `Create it, or remove the bind to ${bind.destination}.` });
    }
  }
}

export function parseEnvFlag(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(text.slice(0, eq))) {
    throw new EnvlockError('FLAG_VALUE', `--env ${JSON.stringify(text)} is not of the form NAME=VALUE.`, { hint: 'Write e.g. --env OMP_NUM_THREADS=8.' });
  }
  return [text.slice(0, eq), text.slice(eq + 1)];
}

async function rootfsFor(project: Project, env: EnvironmentDecl, image: LockedImage, ctx: Context): Promise<{ rootfs: string; config: ImageConfig }> {
  const { Store } = await import('../store/store.js');
  const { findBlob, findRootfs } = await import('../store/find.js');
  const store = Store.open(ctx);
  let rootfs = findRootfs(store, image.manifest.digest);
  if (rootfs === undefined) {
    if (ctx.offline) {
      throw new EnvlockError('IMAGE_NOT_PULLED', `The image of \`${env.name}\` for ${platformString(image.platform)} is not in any store, and envlock is offline.`, { hint: `Run \`envlock pull ${env.name}\` while online.` });
    }
    const { pullImage } = await import('../pull/pull-image.js');
    const { openSources } = await import('../resolve/open-source.js');
    const sources = await openSources(ctx);
    const locked = lockedEnvironment(project, env.name);
    try {
      ctx.reporter.info(`Pulling ${locked.resolved} for ${platformString(image.platform)} first.`);
      rootfs = (await pullImage({ store, image, reference: locked.resolved, ctx, source: async () => (await sources.open(locked.reference, project.dir)).image })).rootfs;
    } finally {
      await sources.close();
    }
  }
  const configFile = findBlob(store, image.config.digest);
  // The config blob may have been collected; the rootfs alone still runs, without image defaults.
  const config = configFile === undefined ? {} : (JSON.parse(readFileSync(configFile, 'utf8')) as ImageConfig);
  return { rootfs, config };
}

export async function planRun(project: Project, request: RunRequest, ctx: Context): Promise<RunPlan> {
  const locked = lockedEnvironment(project, request.env.name);
  const { image } = chooseImage(locked.images, await hostCpu({ native: true }), { environment: request.env.name });
  const { rootfs, config } = await rootfsFor(project, request.env, image, ctx);
  const argv = request.command.length > 0 ? request.command : [...(config.config?.Entrypoint ?? []), ...(config.config?.Cmd ?? [])];
  if (argv.length === 0) {
    throw new EnvlockError('USAGE', `No command was given and the image of \`${request.env.name}\` defines none.`, { hint: `Run \`envlock run ${request.env.name} -- COMMAND [ARGS]\`.` });
  }
  const binds = [...request.env.binds.map((b) => ({ source: b.source, destination: b.target, readOnly: b.readOnly })), ...request.binds];
  const injected: string[] = [];
  const extraPrepend: Record<string, string[]> = {};
  let extraEnv: Record<string, string> = {};
  const devices = [];
  const host = request.env.host;
  if (host.devices.length > 0 || host.gpu !== 'none' || host.mpi !== 'none' || host.libraries.length > 0) {
    const { planInjection } = await import('../host/plan.js');
    const { checkAbi, librariesInPlan } = await import('../host/abi-check.js');
    const { describePlan } = await import('../host/describe-plan.js');
    const plan = await planInjection(host, { env: ctx.env });
    await checkAbi(librariesInPlan(plan), rootfs);
    const mounts = injectionMounts(plan);
    binds.push(...mounts.binds);
    devices.push(...mounts.devices);
    extraEnv = mounts.env;
    Object.assign(extraPrepend, mounts.prependPath);
    injected.push(...describePlan(plan), ...mounts.notes.map((n) => `note: ${n}`));
  }
  checkSources(binds);
  const lockDigest = `sha256:${createHash('sha256').update(readFileSync(project.lockPath)).digest('hex')}`;
  const markers: Record<string, string> = {
    ENVLOCK_ENV: request.env.name,
    ENVLOCK_LOCK_DIGEST: lockDigest,
    ENVLOCK_MANIFEST: image.manifest.digest,
    ENVLOCK_MICROARCH: image.arch.microarch ?? image.arch.level ?? platformString(image.platform),
    ENVLOCK_CFLAGS: cflagsFor(image.arch),
    ...extraEnv,
    ...(request.extraEnv ?? {}),
  };
  const decl = { ...request.env, prependPath: mergePrepend(extraPrepend, request.env.prependPath) };
  const env = composeEnvironment({ imageEnv: config.config?.Env, host: ctx.env, decl, markers, overrides: request.overrides });
  if (ctx.home) env.set('HOME', ctx.home);
  const usesImageDefault = request.command.length === 0;
  const cwd = request.cwd ?? (usesImageDefault && config.config?.WorkingDir ? config.config.WorkingDir : ctx.cwd);
  const spec: LaunchSpec = {
    rootfs,
    binds,
    devices,
    env: [...env.entries()],
    cwd,
    bindCwd: request.cwd === undefined && cwd === ctx.cwd,
    ...(ctx.home && existsSync(ctx.home) ? { home: ctx.home } : {}),
    user: os.userInfo().username,
    fakeRoot: request.fakeRoot,
    privateTmp: !request.hostTmp,
  };
  return { spec, argv, image, rootfs, injected };
}

function mergePrepend(first: Record<string, string[]>, second: Record<string, string[]>): Record<string, string[]> {
  const out: Record<string, string[]> = { ...second };
  for (const [name, dirs] of Object.entries(first)) out[name] = [...dirs, ...(out[name] ?? [])];
  return out;
}
