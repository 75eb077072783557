// The tar reader sees what Go's archive/tar and Python's tarfile see (issue 12.2): header-only
// entries carry no data whatever their size says, names are bytes that must be UTF-8, extended
// attributes are ignored with one info line, and the header encodings real archivers write
// (ustar prefix, GNU long names, base-256 numbers, v7 directories) all read the same. Python's
// tarfile, run on the very same bytes, is the reference where it helps.

import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CANARY_TEXT, fixChecksum, makeSandbox, snapshotOutside, type Sandbox } from '../../helpers/hostile-layers.js';
import { tarEntries, type TarEntry } from '../../helpers/tar-writer.js';
import { destination } from '../../helpers/unpack-destinations.js';
import { MATRIX, refused, succeeded, unpack, type LayerSpec } from '../../helpers/unpack-matrix.js';

interface Listed {
  name: string;
  type: string;
  size: number;
  sha256?: string;
}

/** What Python's tarfile reads from these bytes (stream mode, no extraction). */
function pythonList(tar: Buffer): Listed[] {
  const script = [
    'import sys, tarfile, json, hashlib',
    'out = []',
    "with tarfile.open(fileobj=sys.stdin.buffer, mode='r|') as t:",
    '    for m in t:',
    "        d = {'name': m.name, 'type': m.type.decode('latin1'), 'size': m.size}",
    "        if m.isreg(): d['sha256'] = hashlib.sha256(t.extractfile(m).read()).hexdigest()",
    '        out.append(d)',
    'print(json.dumps(out))',
  ].join('\n');
  const run = spawnSync('python3', ['-c', script], { input: tar, maxBuffer: 1 << 26 });
  if (run.status !== 0) throw new Error(`python3 tarfile failed: ${run.stderr.toString()}`);
  return JSON.parse(run.stdout.toString()) as Listed[];
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** One ustar header block for a raw (byte) name, built by patching the test writer's output. */
function rawHeader(entry: TarEntry, name: Buffer, field: 'name' | 'linkname' = 'name'): Buffer {
  const blocks = tarEntries([entry]);
  const at = field === 'name' ? 0 : 157;
  blocks.fill(0, at, at + 100);
  name.copy(blocks, at);
  fixChecksum(blocks, 0);
  return blocks.subarray(0, blocks.length - 1024);
}

describe.each(MATRIX)('reading tar as Go does ($destination, as $caller)', (way) => {
  let box: Sandbox;
  let before: string;
  beforeEach(() => {
    box = makeSandbox();
    before = snapshotOutside(box);
  });
  afterEach(() => {
    try {
      expect(snapshotOutside(box)).toBe(before);
      expect(fs.readFileSync(box.canary, 'utf8')).toBe(CANARY_TEXT);
    } finally {
      box.cleanup();
    }
  });
  const run = (...layers: LayerSpec[]) => unpack(box, way, layers.map((l) => (Buffer.isBuffer(l) ? { data: l, layerName: 'layer 1 of test/reader' } : l)));
  const inRoot = (rel: string) => path.join(destination(way.destination).view(box.rootfs), rel);

  it('header-only entries carry no data whatever their size says: a file hidden from node-tar is seen, one only node-tar saw is not', async () => {
    // "d/" claims 512 bytes of data. Go and Python read the next block as the header of "cover"
    // (1024 bytes of content); node-tar skipped it and read "evil" out of cover's content.
    const evil = tarEntries([{ path: 'evil', type: 'file', content: 'pwned' }]).subarray(0, 1024);
    const cover = tarEntries([{ path: 'cover', type: 'file', content: evil }]).subarray(0, 512 + 1024);
    const dir = tarEntries([{ path: 'd/', type: 'dir' }]).subarray(0, 512);
    dir.write('00000001000\0', 124, 12, 'latin1');
    fixChecksum(dir, 0);
    const symlink = tarEntries([{ path: 'link', type: 'symlink', linkTarget: 'd' }]).subarray(0, 512);
    symlink.write('00000001000\0', 124, 12, 'latin1');
    fixChecksum(symlink, 0);
    const tar = Buffer.concat([dir, cover, symlink, tarEntries([{ path: 'after', type: 'file', content: 'seen by all' }])]);
    expect(pythonList(tar).map((m) => m.name)).toEqual(['d', 'cover', 'link', 'after']);
    succeeded(await run(tar));
    expect(fs.readdirSync(inRoot('')).sort()).toEqual(['after', 'cover', 'd', 'link']);
    expect(sha(fs.readFileSync(inRoot('cover')))).toBe(pythonList(tar).find((m) => m.name === 'cover')!.sha256);
    expect(fs.readFileSync(inRoot('after'), 'utf8')).toBe('seen by all');
  });

  it.each([
    ['caf\\xe9', Buffer.from([0x63, 0x61, 0x66, 0xe9])],
    ['caf\\xe8', Buffer.from([0x63, 0x61, 0x66, 0xe8])],
  ])('refuses the name %s, which is not UTF-8, instead of folding it into caf\\uFFFD (LAYER_UNSUPPORTED)', async (shown, bytes) => {
    const tar = Buffer.concat([rawHeader({ path: 'x', type: 'file', content: 'one' }, bytes), Buffer.alloc(1024)]);
    const error = refused(await run(tar), 'LAYER_UNSUPPORTED', /has a name that is not valid UTF-8, which envlock does not unpack\.$/);
    expect(error.message).toBe(`The entry "${shown}" in layer 1 of test/reader has a name that is not valid UTF-8, which envlock does not unpack.`);
    expect(fs.readdirSync(inRoot(''))).toEqual([]);
  });

  it('refuses two files caf\\xe9 and caf\\xe8 (which once became one file), and a link target that is not UTF-8', async () => {
    const two = Buffer.concat([
      rawHeader({ path: 'x', type: 'file', content: 'e9' }, Buffer.from('caf\xe9', 'latin1')),
      rawHeader({ path: 'y', type: 'file', content: 'e8' }, Buffer.from('caf\xe8', 'latin1')),
      Buffer.alloc(1024),
    ]);
    refused(await run(two), 'LAYER_UNSUPPORTED', /^The entry "caf\\xe9"/);
    const link = Buffer.concat([rawHeader({ path: 'l', type: 'symlink', linkTarget: 'x' }, Buffer.from('\xff\xfe', 'latin1'), 'linkname'), Buffer.alloc(1024)]);
    refused(await run(link), 'LAYER_UNSUPPORTED', /^The entry "l" in layer 1 of test\/reader has a link target that is not valid UTF-8/);
  });

  it('ignores extended attributes (capabilities, SELinux labels, overlay markers) with one info line, never fatal', async () => {
    const tar = tarEntries([
      { path: 'bin/ping', type: 'file', mode: 0o755, content: 'ping', paxHeaders: { 'SCHILY.xattr.security.capability': '\u0001\u0000\u0000\u0002\u0000\u0020\u0000\u0000', 'SCHILY.xattr.security.selinux': 'system_u:object_r:ping_exec_t:s0' } },
      { path: 'etc/', type: 'dir', paxHeaders: { 'LIBARCHIVE.xattr.trusted.overlay.opaque': 'eQ==' } },
      { path: 'etc/hosts', type: 'file', content: 'h', paxHeaders: { 'SCHILY.xattr.user.origin': 'layer' } },
    ]);
    const outcome = succeeded(await run(tar));
    expect(fs.readFileSync(inRoot('bin/ping'), 'utf8')).toBe('ping');
    expect(outcome.info).toEqual(['Ignored the extended attributes (file capabilities, SELinux labels, overlay markers) of 3 entries: "bin/ping", "etc/", "etc/hosts".']);
    expect(outcome.warn).toEqual([]);
  });

  it('reads base-256 sizes and refuses a negative one (node-tar CVE-2026-59874 looped forever)', async () => {
    const tar = tarEntries([{ path: 'big-field', type: 'file', content: 'binary size' }]);
    tar.fill(0, 124, 136);
    tar[124] = 0x80;
    tar[135] = 11;
    fixChecksum(tar, 0);
    succeeded(await run(tar));
    expect(fs.readFileSync(inRoot('big-field'), 'utf8')).toBe('binary size');
    const negative = Buffer.from(tar);
    negative.fill(0xff, 124, 136);
    fixChecksum(negative, 0);
    box.cleanup();
    box = makeSandbox();
    before = snapshotOutside(box);
    refused(await run(negative), 'LAYER_CORRUPT', /a header has a negative size/);
  });

  it('reads a v7 archive, where a trailing slash marks a directory of type NUL', async () => {
    const tar = tarEntries([{ path: 'olddir/', type: 'file', typeflag: '\0' }, { path: 'olddir/f', type: 'file', content: 'v7', typeflag: '\0' }]);
    for (const at of [0, 512]) {
      tar.fill(0, at + 257, at + 265); // no ustar magic
      fixChecksum(tar, at);
    }
    // Python keeps the NUL type of the file; both read "olddir" as a directory.
    expect(pythonList(tar).map((m) => [m.name, m.type])).toEqual([['olddir', '5'], ['olddir/f', '\0']]);
    succeeded(await run(tar));
    expect(fs.lstatSync(inRoot('olddir')).isDirectory()).toBe(true);
    expect(fs.readFileSync(inRoot('olddir/f'), 'utf8')).toBe('v7');
  });

  it.each([
    ['ustar (prefix field)', '--format=ustar', 90],
    ['GNU (long names and links)', '--format=gnu', 120],
    ['PAX', '--format=pax', 120],
  ])('reads what GNU tar writes in the %s format exactly as Python does', async (_name, format, linkLength) => {
    const src = fs.mkdtempSync(path.join(os.tmpdir(), 'envlock-src-'));
    const deep = path.join(src, 'usr', 'share', 'd'.repeat(60), 'e'.repeat(60));
    fs.mkdirSync(deep, { recursive: true });
    fs.writeFileSync(path.join(deep, 'f'.repeat(90)), 'long name\n');
    fs.symlinkSync(`../${'l'.repeat(linkLength)}`, path.join(src, 'usr', 'long-link'));
    fs.writeFileSync(path.join(src, 'usr', 'plain'), 'plain\n');
    fs.linkSync(path.join(src, 'usr', 'plain'), path.join(src, 'usr', 'hard'));
    const made = spawnSync('tar', [format, '--sort=name', '-C', src, '-cf', '-', 'usr'], { maxBuffer: 1 << 24 });
    fs.rmSync(src, { recursive: true });
    expect(made.status, made.stderr.toString()).toBe(0);
    const expected = pythonList(made.stdout);
    succeeded(await run(made.stdout));
    for (const member of expected) {
      const where = inRoot(member.name);
      if (member.type === '0') expect(sha(fs.readFileSync(where))).toBe(member.sha256);
      if (member.type === '2') expect(fs.lstatSync(where).isSymbolicLink()).toBe(true);
      if (member.type === '5') expect(fs.lstatSync(where).isDirectory()).toBe(true);
    }
    expect(fs.readlinkSync(inRoot('usr/long-link'))).toBe(`../${'l'.repeat(linkLength)}`);
    expect(fs.statSync(inRoot('usr/hard')).ino).toBe(fs.statSync(inRoot('usr/plain')).ino);
  });
});

describe('extended attributes written by GNU tar --xattrs', () => {
  it.each(MATRIX)('unpack without error, the attributes ignored ($destination, as $caller)', async (way) => {
    const box = makeSandbox();
    try {
      const src = fs.mkdtempSync(path.join(box.parent, 'src-'));
      fs.mkdirSync(path.join(src, 'bin'));
      fs.copyFileSync('/bin/true', path.join(src, 'bin', 'ping'));
      // A file capability, as Debian's iputils-ping ships it (setcap needs root: this test runs as root).
      expect(spawnSync('setcap', ['cap_net_raw+ep', path.join(src, 'bin', 'ping')]).status).toBe(0);
      const made = spawnSync('tar', ['--xattrs', '--xattrs-include=*', '--format=pax', '-C', src, '-cf', '-', 'bin'], { maxBuffer: 1 << 24 });
      expect(made.stdout.includes(Buffer.from('SCHILY.xattr.security.capability'))).toBe(true);
      fs.rmSync(src, { recursive: true });
      const outcome = succeeded(await unpack(box, way, [made.stdout]));
      expect(outcome.info).toEqual(['Ignored the extended attributes (file capabilities, SELinux labels, overlay markers) of 1 entry: "bin/ping".']);
      expect(fs.statSync(path.join(destination(way.destination).view(box.rootfs), 'bin/ping')).size).toBe(fs.statSync('/bin/true').size);
    } finally {
      box.cleanup();
    }
  });
});
