// Runs layer tests through every destination (unpack-destinations.ts), as root in-process and as
// the unprivileged user `nobody` in a child process, the way users run envlock. The child runs a
// fresh esbuild bundle of unpack-runner.ts, so both halves test the same, current sources.

import { spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { expect } from 'vitest';
import { NOBODY } from './cli.js';
import type { Sandbox } from './hostile-layers.js';
import { tarEntries, type TarEntry } from './tar-writer.js';
import { DESTINATIONS, destination } from './unpack-destinations.js';
import { treeDigest } from '../../core/unpack/tree-digest.js';
import { runUnpack, type LayerRequest, type UnpackError, type UnpackOutcome } from './unpack-runner.js';

export type Caller = 'root' | 'nobody';

export interface Way {
  destination: string;
  caller: Caller;
}

/** Every destination, as root and as nobody: `describe.each(MATRIX)('… ($destination, $caller)', …)`. */
export const MATRIX: Way[] = DESTINATIONS.flatMap((d) => (['root', 'nobody'] as const).map((caller) => ({ destination: d.name, caller })));
/** Every destination as root only, for tests about meaning rather than privilege. */
export const AS_ROOT: Way[] = DESTINATIONS.map((d) => ({ destination: d.name, caller: 'root' as const }));

/** A layer: tar entries, raw bytes, or bytes with options. */
export type LayerSpec = TarEntry[] | Buffer | ({ data: Buffer; chunkSize?: number } & Partial<Omit<LayerRequest, 'file' | 'chunkSize'>>);

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let bundle: string | undefined;

function runnerBundle(): string {
  if (bundle !== undefined) return bundle;
  const dir = path.join(repo, 'node_modules', '.cache', 'envlock-test');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const target = path.join(dir, 'unpack-runner.mjs');
  const temp = `${target}.${process.pid}.tmp`;
  buildSync({ entryPoints: [path.join(repo, 'test/helpers/unpack-runner.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: temp, logLevel: 'error', external: ['vitest'] });
  renameSync(temp, target);
  bundle = target;
  return target;
}

/** Unpacks the layers, in order, into box.rootfs through the way's destination and caller. */
export async function unpack(box: Sandbox, way: Way, layers: LayerSpec[]): Promise<UnpackOutcome> {
  // The layer files live outside the sandbox, so its before/after snapshots never see them.
  const inputs = mkdtempSync(path.join(os.tmpdir(), 'envlock-layers-'));
  try {
    const requests: LayerRequest[] = layers.map((spec, i) => {
      const { data, chunkSize, ...options } = Array.isArray(spec) ? { data: tarEntries(spec) } : Buffer.isBuffer(spec) ? { data: spec } : spec;
      const file = path.join(inputs, `layer-${i + 1}`);
      writeFileSync(file, data, { mode: 0o644 });
      return { file, compression: 'none', chunkSize: chunkSize ?? 1536, ...options };
    });
    const request = { rootfs: box.rootfs, destination: way.destination, layers: requests };
    if (way.caller === 'root') return await written(box, way, await runUnpack(request));
    for (const owned of [inputs, box.parent, box.rootfs]) chownSync(owned, NOBODY.uid, NOBODY.gid);
    const requestFile = path.join(inputs, 'request.json');
    writeFileSync(requestFile, JSON.stringify(request), { mode: 0o644 });
    const child = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, runnerBundle(), requestFile], { encoding: 'utf8', timeout: 60_000 });
    if (child.status !== 0) throw new Error(`the unpack runner failed as nobody (${child.status}):\n${child.stderr}`);
    return await written(box, way, JSON.parse(child.stdout) as UnpackOutcome);
  } finally {
    rmSync(inputs, { recursive: true, force: true });
  }
}

/**
 * What a squashfs destination wrote is exactly the applier's image: its tree digest, recomputed
 * from the image as unsquashfs reads it back, is the one the applier computed from memory (the
 * tree form's, docs/security.md "Tree digest").
 */
async function written(box: Sandbox, way: Way, outcome: UnpackOutcome): Promise<UnpackOutcome> {
  if (outcome.ok && way.destination === 'squashfs') expect(await treeDigest(destination(way.destination).view(box.rootfs))).toBe(outcome.treeDigest);
  return outcome;
}

/** The outcome must be a success; returns it. */
export function succeeded(outcome: UnpackOutcome): Extract<UnpackOutcome, { ok: true }> {
  if (!outcome.ok) throw new Error(`expected success, got ${outcome.error.code}: ${outcome.error.message}`);
  return outcome;
}

/** The outcome must be this refusal: code, exit status 1, a message matching, and a hint. */
export function refused(outcome: UnpackOutcome, code: string, message: RegExp): UnpackError {
  if (outcome.ok) throw new Error(`expected ${code}, but the layers unpacked`);
  expect(outcome.error.code).toBe(code);
  expect(outcome.error.exitCode).toBe(1);
  expect(outcome.error.message).toMatch(message);
  expect(outcome.error.hint).toBeTruthy();
  return outcome.error;
}
