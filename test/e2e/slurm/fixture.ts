// The world the Slurm tests run in: a real four-node cluster (with envlock's SPANK plugin in
// plugstack.conf when asked), a fault proxy in front of the shared registry that counts every
// request, envlock installed by scripts/install.sh with `envlock` on the jobs' PATH (and the
// plugin from that install), a site store that an administrator (root) pulled into and users
// may only read, and user projects owned by `nobody`.

import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, inject } from 'vitest';
import { makeTempDir, runCli } from '../../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { startSlurmCluster, type SlurmCluster } from '../../helpers/slurm-cluster.js';
import { installedEnvlock } from '../../helpers/slurm-install.js';
import { runJob, type JobOptions, type JobResult } from '../../helpers/slurm-jobs.js';

export interface World {
  cluster: SlurmCluster;
  proxy: FaultProxy;
  /** Directory holding the `envlock` that jobs find on PATH (install.sh --bin-dir). */
  bin: string;
  /** A directory of this world's own, readable by everyone. */
  scratch: string;
  /** The plugstack.conf line `envlock slurm plugstack` printed (plugin worlds only). */
  plugstack?: string;
  stop(): Promise<void>;
}

export interface UserProject {
  dir: string;
  /** What a job of this user carries: HOME, their own writable store, the site store. */
  env: Record<string, string>;
}

/** An image reference through the counting proxy. */
export function imageRef(world: World, name = 'busybox:latest'): string {
  return `${world.proxy.host}/${name}`;
}

export function yamlFor(world: World, extra = ''): string {
  return `version: 1\nenvironments:\n  bb:\n    image: ${imageRef(world)}\n    platforms: [linux/amd64]\n    env: { GREETING: "hello from the declaration" }\n${extra}`;
}

/** Long enough for the first test file of a run to install envlock (a native build). */
export const WORLD_TIMEOUT_MS = 600_000;

export async function startWorld(options: { plugin?: boolean } = {}): Promise<World> {
  const installed = await installedEnvlock();
  const proxy = await startFaultProxy(inject('registry'));
  const cluster = await startSlurmCluster();
  const scratch = makeTempDir('slurm-world');
  chmodSync(scratch, 0o755);
  const world: World = {
    cluster,
    proxy,
    bin: installed.binDir,
    scratch,
    async stop() {
      await cluster.stop();
      await proxy.stop();
    },
  };
  if (options.plugin) {
    // What the administrator runs after installing: the installed envlock names its own plugin.
    world.plugstack = execFileSync(join(installed.binDir, 'envlock'), ['slurm', 'plugstack'], { cwd: scratch, encoding: 'utf8' }).trim();
    expect(world.plugstack.split(' ')[1]).toBe(join(installed.prefix, 'lib', 'node_modules', 'envlock', 'native', 'build', 'Release', 'envlock_spank.so'));
    cluster.setPlugstack([world.plugstack]);
  }
  return world;
}

/** The administrator's side: lock and pull as root into a site store everybody may read. */
export async function sitePull(world: World, yaml: string, extraEnv: Record<string, string> = {}): Promise<{ site: string; dir: string }> {
  const dir = makeTempDir('slurm-admin');
  const site = join(makeTempDir('slurm-site'), 'store');
  writeFileSync(join(dir, 'envlock.yaml'), yaml);
  const env = { ENVLOCK_STORE: site, ...extraEnv };
  for (const args of [['lock'], ['pull', '-q']]) {
    const result = await runCli(args, { cwd: dir, env });
    expect(result.code, result.stderr).toBe(0);
  }
  execFileSync('chmod', ['-R', 'a+rX', join(site, '..'), dir]);
  return { site, dir };
}

/** A user's project: the admin's declaration and lock, a HOME and an empty store of their own. */
export function userProject(from: { dir: string; site?: string }, options: { sharedStore?: string } = {}): UserProject {
  const dir = makeTempDir('slurm-user', { forUser: 'nobody' });
  for (const file of ['envlock.yaml', 'envlock.lock']) {
    if (existsSync(join(from.dir, file))) copyFileSync(join(from.dir, file), join(dir, file));
  }
  execFileSync('chown', ['-R', 'nobody:nogroup', dir]);
  const env: Record<string, string> = {
    HOME: makeTempDir('slurm-home', { forUser: 'nobody' }),
    ENVLOCK_STORE: options.sharedStore ?? join(makeTempDir('slurm-store', { forUser: 'nobody' }), 'store'),
  };
  if (from.site) env.ENVLOCK_STORE_RO = from.site;
  return { dir, env };
}

/** Runs a Slurm client as nobody in the user's project, with envlock on PATH. */
export function asUser(world: World, project: UserProject, argv: string[], options: Partial<JobOptions> = {}): Promise<JobResult> {
  return runJob(world.cluster, argv, { cwd: project.dir, asUser: 'nobody', bin: world.bin, ...options, env: { ...project.env, ...(options.env ?? {}) } });
}

/** Blob and manifest downloads the proxy saw (HEAD checks and /v2/ pings excluded). */
export function downloads(world: World, since = 0): string[] {
  return world.proxy.requests.slice(since).filter((r) => r.method === 'GET' && /\/(blobs|manifests)\//.test(r.path)).map((r) => r.path);
}

/** What a store holds: blob and image entries (a user store that stayed empty has none). */
export function storeEntries(store: string): string[] {
  const out: string[] = [];
  for (const sub of ['blobs/sha256', 'rootfs/sha256', 'squashfs/sha256']) {
    const dir = join(store, sub);
    if (existsSync(dir)) out.push(...readdirSync(dir).map((e) => `${sub}/${e}`));
  }
  return out;
}
