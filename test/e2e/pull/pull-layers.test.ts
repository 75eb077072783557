// Real-world and hostile layers through the real `envlock pull`, as root and as nobody (issues
// 12.2, 12.3, 13.5): a layer GNU tar wrote with file capabilities, a sticky /tmp and sparse files
// pulls and means what it says; a header-only entry hides nothing; a name that is not UTF-8, a
// gzip bomb and a zstd frame with a 1 GiB window are refused early, naming what to do.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync, closeSync, existsSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { busyboxEntries } from '../../helpers/busybox-layer.js';
import { makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';
import { fixChecksum, zstdWideWindowFrame } from '../../helpers/hostile-layers.js';
import { buildImage, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, pushImage, sha256 } from '../../helpers/image-builder.js';
import { tarEntries } from '../../helpers/tar-writer.js';
import { lockedProject } from './pull-helpers.js';

const registry = inject('registry');
afterAll(() => removeTempDirs());

const MiB = 1024 * 1024;
const CALLERS = [{ name: 'root' }, { name: 'nobody', asUser: 'nobody' as const }];
// Every image form: the bounds and the reader sit before the destination, and must hold for both.
const WAYS = CALLERS.flatMap((caller) => (['tree', 'squashfs'] as const).map((format) => ({ ...caller, format })));
const platform = { os: 'linux', architecture: 'amd64' };
let seq = 0;

/** A layer as GNU tar writes it: a capability on bin/ping, a sticky tmp/, sparse files in two formats. */
function realWorldLayers(): { layers: Buffer[]; sparseSha: string } {
  const src = mkdtempSync(join(os.tmpdir(), 'envlock-src-'));
  try {
    mkdirSync(join(src, 'bin'));
    copyFileSync('/bin/true', join(src, 'bin', 'ping'));
    expect(spawnSync('setcap', ['cap_net_raw+ep', join(src, 'bin', 'ping')]).status).toBe(0);
    mkdirSync(join(src, 'tmp'), { mode: 0o1777 });
    spawnSync('chmod', ['1777', join(src, 'tmp')]);
    mkdirSync(join(src, 'var', 'log'), { recursive: true });
    const fd = openSync(join(src, 'var', 'log', 'lastlog'), 'w');
    writeSync(fd, Buffer.from('entry'), 0, 5, 4 * MiB);
    writeSync(fd, Buffer.from('end'), 0, 3, 32 * MiB - 3);
    closeSync(fd);
    const sparseSha = createHash('sha256').update(readFileSync(join(src, 'var', 'log', 'lastlog'))).digest('hex');
    const tar = (args: string[]) => {
      const made = spawnSync('tar', [...args, '-C', src, '-cf', '-', '.'], { maxBuffer: 64 * MiB });
      expect(made.status, made.stderr.toString()).toBe(0);
      return made.stdout;
    };
    // Layer 2: PAX with extended attributes and PAX 1.0 sparse files; layer 3: the same file as an old GNU sparse member.
    const pax = tar(['--xattrs', '--xattrs-include=*', '--sparse', '--format=pax', '--sparse-version=1.0']);
    const gnu = spawnSync('tar', ['--sparse', '--format=gnu', '-C', src, '-cf', '-', './var/log/lastlog'], { maxBuffer: 64 * MiB }).stdout;
    return { layers: [tarEntries(busyboxEntries()), pax, gnu], sparseSha };
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}

describe.each(WAYS)('layers through envlock pull into a $format, as $name', (caller) => {
  const as = caller.asUser ? { asUser: caller.asUser } : {};
  const forUser = caller.asUser ? { forUser: caller.asUser } : {};

  async function pull(name: string, image: ReturnType<typeof buildImage>) {
    const repo = `layers/${name}-${caller.name}-${caller.format}`;
    await pushImage(registry, repo, 'latest', image);
    const dir = await lockedProject(`${registry}/${repo}:latest`, forUser);
    const store = join(makeTempDir('store', forUser), 's');
    const started = Date.now();
    const result = await runCli(['pull', '--json'], { cwd: dir, env: { ENVLOCK_STORE: store, ENVLOCK_IMAGE_FORMAT: caller.format }, ...as });
    return { result, store, dir, ms: Date.now() - started };
  }

  function noImage(store: string): void {
    for (const form of ['rootfs', 'squashfs']) {
      const dir = join(store, form, 'sha256');
      expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    }
  }

  /** Whether the pulled image holds `/name`: the tree itself, or the squashfs file's listing. */
  function imageHas(image: string, name: string): boolean {
    if (caller.format === 'tree') return existsSync(join(image, name));
    return spawnSync('unsquashfs', ['-l', '-d', '', image], { encoding: 'utf8' }).stdout.split('\n').includes(`/${name}`);
  }

  it('issue 13.5: capabilities are ignored with one info line, /tmp keeps its sticky bit, GNU and PAX sparse files are materialised', async () => {
    const { layers, sparseSha } = realWorldLayers();
    const image = buildImage({ layers, platform, createdBy: `real-${caller.name}-${++seq}-${Date.now()}` });
    const { result, store, dir } = await pull('real', image);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/Ignored the extended attributes \(file capabilities, SELinux labels, overlay markers\) of 1 entry: "\.\/bin\/ping"\./);
    const pulled = result.json<{ result: { environments: { rootfs: string }[] } }>().result.environments[0]!.rootfs;
    // A squashfs image is read through squashfs-tools' unsquashfs (as root: modes as stored).
    const rootfs = caller.format === 'tree' ? pulled : join(makeTempDir('view'), 'root');
    if (caller.format === 'squashfs') execFileSync('unsquashfs', ['-no-xattrs', '-quiet', '-no-progress', '-d', rootfs, pulled]);
    expect(statSync(join(rootfs, 'tmp')).mode & 0o7777).toBe(0o1555);
    const lastlog = join(rootfs, 'var/log/lastlog');
    expect(statSync(lastlog).size).toBe(32 * MiB);
    // The holes stayed holes: in the tree, and in the image file, which holds the 32 MiB file in far less.
    expect((caller.format === 'tree' ? statSync(lastlog).blocks * 512 : statSync(pulled).size)).toBeLessThan(4 * MiB);
    expect(createHash('sha256').update(readFileSync(lastlog)).digest('hex')).toBe(sparseSha);
    expect(statSync(join(rootfs, 'bin/ping')).size).toBe(statSync('/bin/true').size);
    // The digest the applier computed in memory is the one verify recomputes from disk.
    const verified = await runCli(['verify', '--json'], { cwd: dir, env: { ENVLOCK_STORE: store }, ...as });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  });

  it('issue 12.2: a header-only entry carries no data, so the file every scanner sees is the one envlock unpacks', async () => {
    const evil = tarEntries([{ path: 'evil', type: 'file', content: 'pwned' }]).subarray(0, 1024);
    const cover = tarEntries([{ path: 'cover', type: 'file', content: evil }]).subarray(0, 1536);
    const dir = tarEntries([{ path: 'd/', type: 'dir' }]).subarray(0, 512);
    dir.write('00000001000\0', 124, 12, 'latin1');
    fixChecksum(dir, 0);
    const image = buildImage({ layers: [tarEntries(busyboxEntries()), Buffer.concat([dir, cover, Buffer.alloc(1024)])], platform, createdBy: `hdr-${caller.name}-${++seq}-${Date.now()}` });
    const { result } = await pull('header-only', image);
    expect(result.code, result.stderr).toBe(0);
    const rootfs = result.json<{ result: { environments: { rootfs: string }[] } }>().result.environments[0]!.rootfs;
    expect(imageHas(rootfs, 'cover')).toBe(true);
    expect(imageHas(rootfs, 'evil')).toBe(false);
  });

  it('issue 12.2: a name that is not UTF-8 is refused with LAYER_UNSUPPORTED naming it, and nothing is stored', async () => {
    const bad = tarEntries([{ path: 'x', type: 'file', content: 'e9' }]);
    bad.fill(0, 0, 100);
    Buffer.from([0x63, 0x61, 0x66, 0xe9]).copy(bad, 0);
    fixChecksum(bad, 0);
    const image = buildImage({ layers: [tarEntries(busyboxEntries()), bad], platform, createdBy: `utf8-${caller.name}-${++seq}-${Date.now()}` });
    const { result, store } = await pull('not-utf8', image);
    expect(result.code).toBe(1);
    const error = result.json<{ error: { code: string; message: string; hint: string } }>().error;
    expect(error.code).toBe('LAYER_UNSUPPORTED');
    expect(error.message).toMatch(/^The entry "caf\\xe9" in layer 2 of .* has a name that is not valid UTF-8/);
    noImage(store);
  });

  it('issue 13.5: a gzip bomb is stopped early by the expansion limit, naming ENVLOCK_MAX_EXPANSION', async () => {
    const header = tarEntries([{ path: 'bomb.bin', type: 'file', content: 'x' }]).subarray(0, 512);
    header.write('77777777777\0', 124, 12, 'latin1'); // 8 GiB of zeros promised
    fixChecksum(header, 0);
    const zeros = gzipSync(Buffer.alloc(64 * MiB), { level: 9 });
    const blob = Buffer.concat([gzipSync(header), zeros, zeros, zeros]);
    const image = buildImage({ layers: [tarEntries(busyboxEntries()), { blob, mediaType: OCI_LAYER_GZIP, diffId: sha256('not reached') }], platform, createdBy: `bomb-${caller.name}-${++seq}-${Date.now()}` });
    const { result, store } = await pull('gzip-bomb', image);
    expect(result.code).toBe(1);
    const error = result.json<{ error: { code: string; message: string; hint: string } }>().error;
    expect(error.code).toBe('LAYER_TOO_LARGE');
    expect(error.message).toMatch(/expands to more than 1000 times its compressed size .* \(ENVLOCK_MAX_EXPANSION=1000\)\.$/);
    expect(error.hint).toMatch(/ENVLOCK_MAX_EXPANSION=/);
    noImage(store);
  });

  it('issue 12.3: a zstd layer whose frame declares a 1 GiB window is refused at once, naming ENVLOCK_ZSTD_WINDOW_LOG_MAX', async () => {
    const tar = tarEntries([{ path: 'payload.txt', type: 'file', content: 'w'.repeat(18_000) }]);
    const blob = zstdWideWindowFrame(tar, 30);
    const image = buildImage({ layers: [tarEntries(busyboxEntries()), { blob, mediaType: OCI_LAYER_ZSTD, diffId: sha256(tar) }], platform, createdBy: `window-${caller.name}-${++seq}-${Date.now()}` });
    const { result, store } = await pull('zstd-window', image);
    expect(result.code).toBe(1);
    const error = result.json<{ error: { code: string; message: string; hint: string } }>().error;
    expect(error.code).toBe('LAYER_TOO_LARGE');
    expect(error.message).toMatch(/is a zstd stream whose frame needs a decoding window larger than the 128 MiB limit \(ENVLOCK_ZSTD_WINDOW_LOG_MAX=27\)\.$/);
    noImage(store);
  });
});

beforeAll(() => {
  // setcap and GNU tar build the real-world layer; both come with the test machine (scripts/test.sh).
  expect(spawnSync('setcap', ['-v', 'cap_net_raw+ep', '/bin/true']).error).toBeUndefined();
});
