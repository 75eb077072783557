// `envlock pull` with nothing to pull, without parsing anything. Which images a pull wants is a
// function of the declaration and lock bytes, the flags, the stores and this CPU: the full CLI
// records that plan (core/pull/warm-pull.ts), and the fast path answers from it only after the
// same read-only checks of the stores a full pull makes first, every time.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { maskCpuFeatures } from '../../core/arch/cpu-mask.js';
import { makeContext, type Context } from '../../core/context.js';
import { shortDigest } from '../../core/oci/digest.js';
import { warmPullResult, type PulledEnvironment, type PullPlan } from '../../core/pull/warm-pull.js';
import { loadExecAddon } from '../../core/runtime/native.js';
import { storeRoots } from '../../core/store/paths.js';
import { STORE_SETTINGS_FILE } from '../../core/store/image-format.js';
import { Store } from '../../core/store/store.js';
import { envlockVersion } from '../../core/version.js';
import { successEnvelope } from '../output/envelope.js';
import { formatBytes } from '../output/plain-reporter.js';
import { renderTable } from '../output/table.js';
import { scanArgs } from './args.js';
import { buildId } from './build-id.js';
import { answersDir, findProjectDir, isDirectory, readAnswer, readProjectFiles, writeAnswer, type ProjectFiles, type Question } from './records.js';
import type { Env, FastAnswer } from './types.js';

export interface PullOutcome {
  result: { store: string; environments: PulledEnvironment[] };
  text: string;
}

/** What `pull` prints; the full CLI and the fast path share it. */
export function pullOutcome(storeRoot: string, environments: PulledEnvironment[]): PullOutcome {
  const rows = environments.map((r) => [r.name, r.platform, shortDigest(r.manifest), r.unpacked ? 'pulled' : 'up to date', r.bytesDownloaded > 0 ? formatBytes(r.bytesDownloaded) : '-']);
  return {
    result: { store: storeRoot, environments },
    text: renderTable(['ENVIRONMENT', 'PLATFORM', 'MANIFEST', 'STATUS', 'DOWNLOADED'], rows),
  };
}

/**
 * Whether the project is a module (ROOT/NAME/VERSION of a tree the shim reads): a pull then
 * prepares its wrappers again, which only the full CLI does.
 */
export function isModuleProject(dir: string, cwd: string, modulePath: string | undefined): boolean {
  const root = path.dirname(path.dirname(dir));
  const listed = (modulePath ?? '').split(':').filter(Boolean).map((p) => path.resolve(cwd, p));
  return listed.includes(root) || existsSync(path.join(root, '.envlock-index'));
}

/** The pull's own flags as both the full CLI and the fast path read them. */
export interface PullRequest {
  names: string[];
  platforms: string[];
  allPlatforms: boolean;
  frozen: boolean;
  /** --image-format as given (the fast path takes only command lines without it). */
  imageFormat: string | null;
}

/** This CPU as every command sees it (ENVLOCK_CPU_MASK applied), when the choice of image depends on it. */
function cpuKey(request: PullRequest, env: Env): string | null {
  if (request.allPlatforms || request.platforms.length > 0) return null;
  const cpu = loadExecAddon().cpuFeatures();
  return `${cpu.architecture}/${cpu.vendor ?? ''}/${maskCpuFeatures(cpu.architecture, cpu.features, env).sort().join(',')}`;
}

function storeSettings(root: string): string | null {
  try {
    return readFileSync(path.join(root, STORE_SETTINGS_FILE), 'utf8');
  } catch {
    return null;
  }
}

function question(ctx: Context, request: PullRequest, files: ProjectFiles, build: string): Question {
  const roots = storeRoots(ctx);
  return {
    kind: 'pull',
    inputs: {
      build,
      version: envlockVersion(),
      home: ctx.home,
      cwd: ctx.cwd,
      stores: [roots.writable, ...roots.readOnly],
      ...request,
      offline: ctx.offline,
      cpu: cpuKey(request, ctx.env),
      modulePath: ctx.env.ENVLOCK_MODULEPATH ?? null,
      imageFormat: ctx.env.ENVLOCK_IMAGE_FORMAT ?? null,
      // The writable store's own image-format setting (core/store/image-format.ts), as bytes.
      storeSettings: storeSettings(roots.writable),
    },
    files,
  };
}

/** A plan as recorded, checked for shape (the record is the caller's own, but may be old). */
function asPlan(value: unknown, files: ProjectFiles): PullPlan | undefined {
  const plan = value as PullPlan | undefined;
  if (plan === undefined || plan === null || plan.dir !== files.dir || !Array.isArray(plan.entries) || !Array.isArray(plan.used) || typeof plan.lockPath !== 'string') return undefined;
  return plan.entries.every((e) => typeof e.name === 'string' && Array.isArray(e.images)) ? plan : undefined;
}

export function warmPullAnswer(argv: readonly string[], env: Env): FastAnswer | undefined {
  const args = scanArgs(argv, 'pull', { booleans: ['frozen', 'all-platforms'], lists: ['platform'], positionals: true });
  const build = buildId();
  if (args === undefined || build === undefined) return undefined;
  const cwd = args.directory === undefined ? process.cwd() : path.resolve(args.directory);
  if (!isDirectory(cwd)) return undefined;
  const ctx = makeContext({ cwd, env, offline: args.offline, json: args.json, quiet: args.quiet, ...(args.store === undefined ? {} : { storeOverride: args.store }) });
  const files = readProjectFiles(findProjectDir(cwd, ctx.home));
  if (files === undefined || isModuleProject(files.dir, cwd, env.ENVLOCK_MODULEPATH)) return undefined;
  const request: PullRequest = { names: args.positionals, platforms: args.lists.get('platform') ?? [], allPlatforms: args.booleans.has('all-platforms'), frozen: args.booleans.has('frozen'), imageFormat: null };
  const plan = asPlan(readAnswer(answersDir(env, ctx.home), question(ctx, request, files, build)), files);
  if (plan === undefined) return undefined;
  const store = Store.open(ctx);
  const environments = warmPullResult(ctx, store, plan);
  if (environments === undefined) return undefined;
  const outcome = pullOutcome(store.root, environments);
  return { stdout: args.json ? successEnvelope('pull', outcome.result) : outcome.text, exitCode: 0 };
}

/** The project's files before the full CLI reads them, to record its plan against. */
export function pullSnapshot(ctx: Context): ProjectFiles | undefined {
  return buildId() === undefined ? undefined : readProjectFiles(findProjectDir(ctx.cwd, ctx.home));
}

/** Records the plan of a pull the full CLI just finished, so the next one is answered at once. */
export function recordPullPlan(files: ProjectFiles | undefined, ctx: Context, request: PullRequest, plan: PullPlan): void {
  const build = buildId();
  if (files === undefined || build === undefined || files.dir !== plan.dir || isModuleProject(plan.dir, ctx.cwd, ctx.env.ENVLOCK_MODULEPATH)) return;
  try {
    writeAnswer(answersDir(ctx.env, ctx.home), question(ctx, request, files, build), plan);
  } catch {
    // No addon to ask about the CPU: nothing is recorded, and the next pull is a full one.
  }
}
