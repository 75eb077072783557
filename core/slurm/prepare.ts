// What the SPANK plugin asks once per node and step: the launch spec of environment NAME,
// decided exactly as `envlock run NAME` decides it from the step's working directory (lock
// check, CPU variant, binds, edits, host injection), plus a few lines only the plugin reads:
// which variables each task takes from its own environment, and the lease that keeps gc off.

import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import type { Context } from '../context.js';
import { PASS_NAMES, PASS_PREFIXES } from '../environment/compose.js';
import { EnvlockError, isEnvlockError } from '../errors.js';
import type { ImageLocation, PreparedEnvironment } from '../enter/prepared.js';
import { escapeField, renderSpec, type LaunchSpec } from '../runtime/spec.js';
import { leaseFor } from '../store/lease.js';
import { checkSlurmName } from './names.js';
import { quoted } from '../shown.js';

export interface SlurmPrepareRequest {
  name: string;
  /** --envlock-project: the project directory, relative to the step's working directory. */
  project?: string;
  /** The node, for messages (SLURMD_NODENAME). */
  node?: string;
}

export interface SlurmPrepared {
  spec: LaunchSpec;
  /** Names a task takes from its own environment (Slurm's per-task variables and the like). */
  pass: string[];
  passPrefixes: string[];
  /** Names the declaration, markers or envlock decide; a task's own value never replaces them. */
  owned: string[];
  image: string;
  lease?: { dir: string; name: string };
}

function projectDirectory(request: SlurmPrepareRequest, ctx: Context): string {
  if (request.project === undefined) return ctx.cwd;
  const dir = path.resolve(ctx.cwd, request.project);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) {
    throw new EnvlockError('FLAG_VALUE', `The project directory ${dir} given to --envlock-project does not exist${request.node ? ` on node ${request.node}` : ''}.`, {
      hint: 'Pass a directory that holds envlock.yaml and envlock.lock and that every node can see.',
      details: { path: dir },
    });
  }
  return dir;
}

/** The writable store's leases/ when the image lies in that store and the caller may write it. */
function slurmLease(image: ImageLocation, writable: string): SlurmPrepared['lease'] {
  const lease = leaseFor(image.store, image.manifest, writable);
  if (lease === undefined) return undefined;
  try {
    accessSync(writable, constants.W_OK);
  } catch {
    return undefined;
  }
  return lease;
}

/** `run`'s decision for NAME: from the prepared-run cache when it holds it, else the long way. */
async function decide(request: SlurmPrepareRequest, projectCtx: Context, stepCtx: Context): Promise<{ spec: LaunchSpec; prepared: PreparedEnvironment }> {
  const [{ cacheSlot, cachedEnvironment, readCache, writeCache }, { launchSpecFor }] = await Promise.all([import('../enter/prepared-cache.js'), import('../enter/prepared.js')]);
  const invocation = { command: ['true'], binds: [], overrides: {}, fakeRoot: false, hostTmp: false };
  const slot = cacheSlot(projectCtx);
  const cache = slot ? readCache(slot) : undefined;
  if (slot && cache) {
    const { pickEnvironmentName } = await import('../enter/pick-environment.js');
    const picked = pickEnvironmentName(cache.environments, slot.declarationFile, request.name, true, 'run');
    const prepared = cachedEnvironment(cache, picked.name, slot, projectCtx.env);
    if (prepared) return { spec: launchSpecFor(prepared, invocation, stepCtx).spec, prepared };
  }
  const [{ loadProject }, { pickEnvironment }, { planRun }] = await Promise.all([import('../project.js'), import('../enter/pick-environment.js'), import('../enter/run-plan.js')]);
  const project = await loadProject(projectCtx, { command: 'run' });
  const picked = pickEnvironment(project.decl, request.name, true, 'run');
  let plan;
  try {
    plan = await planRun(project, { env: picked.env, ...invocation }, stepCtx);
  } catch (error) {
    if (isEnvlockError(error) && error.code === 'IMAGE_NOT_PULLED') {
      throw new EnvlockError('IMAGE_NOT_PULLED', `The image of ${quoted(request.name)} is not in any store${request.node ? ` on node ${request.node}` : ''}.`, {
        hint: `Run \`envlock pull ${request.name}\` on a login node (or have the site store it), then start the step again.`,
        cause: error,
      });
    }
    throw error;
  }
  // As `run` does: only what depends on no per-node injection is remembered.
  if (slot && plan.injected.length === 0 && plan.spec.devices?.length === 0 && cacheSlot(projectCtx)?.key === slot.key) {
    await writeCache(slot, project.decl.environments.map((e) => e.name), plan.prepared);
  }
  return { spec: plan.spec, prepared: plan.prepared };
}

export async function prepareForSlurm(request: SlurmPrepareRequest, ctx: Context): Promise<SlurmPrepared> {
  checkSlurmName(request.name);
  const dir = projectDirectory(request, ctx);
  // Nothing is fetched on a compute node: the image must already be in a store.
  const stepCtx = { ...ctx, offline: true };
  const decided = await decide(request, { ...stepCtx, cwd: dir }, stepCtx);
  // Tasks are slurmstepd's children: no PID namespace, so signals and proctrack reach them.
  // The plugin holds the step's lease itself (spank-lease, for slurmstepd), not each task.
  const { lease: _perTask, ...common } = decided.spec;
  const spec: LaunchSpec = { ...common, pidNamespace: false };
  const { edits, markers, image } = decided.prepared;
  const owned = new Set(['HOME', ...Object.keys(edits.env), ...Object.keys(edits.prependPath), ...Object.keys(edits.appendPath), ...edits.unset, ...Object.keys(markers)]);
  const { storeRoots } = await import('../store/paths.js');
  const lease = slurmLease(image, storeRoots(ctx).writable);
  return {
    spec,
    pass: [...PASS_NAMES].filter((n) => !owned.has(n)).sort(),
    passPrefixes: [...PASS_PREFIXES],
    owned: [...owned].sort(),
    image: image.path,
    ...(lease ? { lease } : {}),
  };
}

/** The plugin's input: the launcher's spec, then `spank-` lines in the same escaping. */
export function renderSlurmPrepared(prepared: SlurmPrepared): string {
  const line = (keyword: string, ...fields: string[]) => [keyword, ...fields.map((f) => escapeField(f, keyword))].join(' ');
  const out = [renderSpec(prepared.spec).trimEnd(), line('spank-image', prepared.image)];
  for (const name of prepared.pass) out.push(line('spank-pass', name));
  for (const prefix of prepared.passPrefixes) out.push(line('spank-pass-prefix', prefix));
  for (const name of prepared.owned) out.push(line('spank-owned', name));
  if (prepared.lease) out.push(line('spank-lease', prepared.lease.dir, prepared.lease.name));
  return `${out.join('\n')}\n`;
}
