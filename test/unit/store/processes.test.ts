// Multi-process behaviour of the store, with real child processes running the compiled store
// module: one download for many pullers, and a full disk on a real (1 MiB tmpfs) filesystem.

import { execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestBlob } from '../../../core/store/blob-store.js';
import { digestOf, fakeSource, makeStore, randomData, removeDir, tempDir } from './helpers.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
let buildDir: string;
let dir: string;

beforeAll(async () => {
  dir = await tempDir();
  // A temp build with a node_modules link, so the compiled code resolves the project's
  // dependencies without writing into the repository.
  buildDir = await tempDir('envlock-store-build-');
  await fs.symlink(path.join(repo, 'node_modules'), path.join(buildDir, 'node_modules'));
  const sources = (await fs.readdir(path.join(repo, 'core', 'store'))).filter((n) => n.endsWith('.ts')).map((n) => path.join(repo, 'core', 'store', n));
  const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = ['--outDir', buildDir, '--rootDir', repo, '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--skipLibCheck', '--types', 'node', '--esModuleInterop', ...sources];
  const result = spawnSync(process.execPath, [tsc, ...args], { encoding: 'utf8' });
  expect(result.status, result.stdout + result.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  if (buildDir !== undefined) await fs.rm(buildDir, { recursive: true, force: true });
  if (dir !== undefined) await removeDir(dir);
});

describe('ingestBlob across processes', () => {
  it('downloads a blob once when 8 processes pull it at the same moment, and all succeed', async () => {
    const data = randomData(64 * 1024, 11);
    const digest = digestOf(data);
    const dataFile = path.join(dir, 'blob.bin');
    const logDir = path.join(dir, 'fetches');
    await fs.writeFile(dataFile, data);
    await fs.mkdir(logDir);
    const storeRoot = path.join(dir, 'store');
    const startAt = String(Date.now() + 2_000);
    const script = path.join(here, 'fixtures', 'ingest-child.mjs');
    const children = Array.from({ length: 8 }, () => run(process.execPath, [script, buildDir, storeRoot, dataFile, digest, logDir, startAt], { timeout: 60_000 }));
    const results = (await Promise.all(children)).map((c) => JSON.parse(c.stdout) as { ok: boolean; downloaded: boolean; path: string });

    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.filter((r) => r.downloaded)).toHaveLength(1);
    expect(new Set(results.map((r) => r.path))).toEqual(new Set([path.join(storeRoot, 'blobs', 'sha256', digest.slice(7))]));
    expect(await fs.readdir(logDir)).toHaveLength(1);
    expect(await fs.readFile(path.join(storeRoot, 'blobs', 'sha256', digest.slice(7)))).toEqual(data);
    expect(await fs.readdir(path.join(storeRoot, 'tmp'))).toEqual([]);
    expect(await fs.readdir(path.join(storeRoot, 'locks'))).toEqual([]);
  }, 60_000);
});

describe('a puller killed with SIGKILL', () => {
  it('leaves a partial and a dead lock that the next pull breaks at once and resumes from', async () => {
    const data = randomData(256 * 1024, 12);
    const digest = digestOf(data);
    const dataFile = path.join(dir, 'killed.bin');
    const logDir = path.join(dir, 'killed-fetches');
    await fs.writeFile(dataFile, data);
    await fs.mkdir(logDir);
    const storeRoot = path.join(dir, 'killed-store');
    const script = path.join(here, 'fixtures', 'ingest-child.mjs');
    const child = spawn(process.execPath, [script, buildDir, storeRoot, dataFile, digest, logDir, String(Date.now())], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const partial = path.join(storeRoot, 'tmp', `${digest.slice(7)}.partial`);
    for (let i = 0; i < 500; i += 1) {
      if (((await fs.stat(partial).catch(() => undefined))?.size ?? 0) >= 16 * 1024) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    await exited;
    const kept = (await fs.stat(partial)).size;
    expect(kept).toBeGreaterThan(0);
    expect(await fs.readdir(path.join(storeRoot, 'locks'))).toEqual([`blob-${digest.slice(7)}.lock`]);

    // A minute of stale timeout: only the dead-pid rule lets this finish quickly.
    const store = makeStore(storeRoot, [], { lockStaleMs: 60_000 });
    const source = fakeSource(data);
    const started = Date.now();
    const result = await ingestBlob(store, { digest, size: data.length }, source.fetch);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(source.calls).toEqual([kept]);
    expect(result).toMatchObject({ downloaded: true, fetched: data.length - kept });
    expect(await fs.readFile(result.path)).toEqual(data);
    expect(await fs.readdir(path.join(storeRoot, 'locks'))).toEqual([]);
  }, 60_000);
});

describe('a full store filesystem', () => {
  it('refuses early with both numbers, maps ENOSPC mid-write to STORE_FULL, resumes once space is freed, and maps EROFS to STORE_READ_ONLY', async () => {
    const mountPoint = path.join(dir, 'small');
    await fs.mkdir(mountPoint);
    const script = path.join(here, 'fixtures', 'disk-full-child.mjs');
    // A private mount namespace keeps the tmpfs out of the host's mount table; without root,
    // a user namespace (-r) grants the right to mount tmpfs.
    const asRoot = process.getuid?.() === 0;
    let stdout: string;
    try {
      ({ stdout } = await run('unshare', [asRoot ? '-m' : '-rm', '--propagation', 'private', process.execPath, script, buildDir, mountPoint], { timeout: 60_000 }));
    } catch (error) {
      if (!asRoot) throw error;
      ({ stdout } = await run('unshare', ['-rm', process.execPath, script, buildDir, mountPoint], { timeout: 60_000 }));
    }
    const out = JSON.parse(stdout) as Record<string, Record<string, unknown>>;
    const store = path.join(mountPoint, 'store');

    expect(out.early).toMatchObject({ ok: false, code: 'STORE_FULL', calls: 0 });
    expect(out.early!.message).toMatch(new RegExp(`^The store at ${store} has \\d+ bytes free but blob sha256:[a-f0-9]{64} needs 2097152 more bytes\\.$`));

    expect(out.mid).toMatchObject({ ok: false, code: 'STORE_FULL', present: false });
    expect(out.mid!.message).toMatch(new RegExp(`^The store at ${store} ran out of space while writing blob [a-f0-9]{12} \\(614400 bytes needed\\)\\.$`));
    expect(out.mid!.partialBytes).toBeGreaterThan(0);

    expect(out.resumed).toMatchObject({ ok: true, downloaded: true, present: true });
    expect((out.resumed!.calls as number[])[0]).toBe(out.mid!.partialBytes);

    expect(out.readOnly).toEqual({
      ok: false,
      code: 'STORE_READ_ONLY',
      message: `The store at ${path.join(mountPoint, 'ro', 'store')} is not writable (EROFS while writing its directory layout).`,
    });
  }, 60_000);
});
