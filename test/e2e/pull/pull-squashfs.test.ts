// `pull --image-format squashfs` end to end, as root and as nobody, for the busybox and Debian
// test images: one .sqfs per image and no tree, the same bytes from two fresh stores, readable
// by squashfs-tools-ng and Charliecloud, `run` seeing what it sees in the tree form, the tree
// digest shared by both forms, and verify / pull --repair finding and mending damage.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';
import { debianLayer } from '../../helpers/debian-layer.js';
import { buildImage, pushImage } from '../../helpers/image-builder.js';
import { tarEntries } from '../../helpers/tar-writer.js';
import { CALLERS, type Caller } from '../run/run-helpers.js';

const registry = inject('registry');
afterAll(() => removeTempDirs());

/** What the launcher mounts or binds, the same for both forms: not part of the image. */
const PRUNE = String.raw`\( -path /proc -o -path /sys -o -path /dev -o -path /tmp \) -prune`;

/** The two standard images, and how to list and hash their files from inside (busybox has find, Debian has bash). */
const IMAGES = [
  {
    image: 'busybox',
    ref: () => `${registry}/busybox:amd64`,
    listing: `find / ${PRUNE} -o -print | sort`,
    hashes: `find / ${PRUNE} -o -type f -print | sort | xargs sha256sum`,
  },
  {
    image: 'debian',
    ref: () => `${registry}/squashfs-debian:latest`,
    listing: "shopt -s globstar dotglob nullglob; printf '%s\\n' /etc/** /usr/** /var/** /bin /lib /lib64 /sbin",
    hashes: 'shopt -s globstar dotglob nullglob; files=(); for f in /etc/** /usr/**; do [[ -f $f && ! -L $f ]] && files+=("$f"); done; sha256sum "${files[@]}"',
  },
];

beforeAll(async () => {
  // A second layer with the account files a real Debian image has (base-files leaves them to its
  // maintainer scripts), which ch-run binds over.
  const accounts = tarEntries([
    { path: 'etc/', type: 'dir', mode: 0o755 },
    { path: 'etc/passwd', type: 'file', mode: 0o644, content: 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' },
    { path: 'etc/group', type: 'file', mode: 0o644, content: 'root:x:0:\nnogroup:x:65534:\n' },
  ]);
  const debian = buildImage({ layers: [debianLayer(), accounts], platform: { os: 'linux', architecture: 'amd64' }, config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/bash'] } });
  await pushImage(registry, 'squashfs-debian', 'latest', debian);
}, 120_000);

interface Pulled {
  result: { environments: { form: string; rootfs: string; manifest: string; unpacked: boolean }[] };
}

/** A locked project and a fresh store, both the caller's; `cli` runs envlock as the caller there. */
async function world(caller: Caller, ref: string) {
  const forUser = caller.asUser ? { forUser: caller.asUser } : {};
  const dir = makeTempDir('sqfs-pull', forUser);
  writeFileSync(join(dir, 'envlock.yaml'), `version: 1\nenvironments:\n  e:\n    image: ${ref}\n    platforms: [linux/amd64]\n`);
  if (caller.asUser) execFileSync('chown', ['-R', `${caller.asUser}:nogroup`, dir]);
  const home = makeTempDir('home', forUser);
  const newStore = () => join(makeTempDir('store', forUser), 'store');
  const cli = (args: string[], store: string, env: Record<string, string | undefined> = {}) =>
    runCli(args, { cwd: dir, env: { HOME: home, ENVLOCK_STORE: store, ...env }, ...(caller.asUser ? { asUser: caller.asUser } : {}), timeoutMs: 240_000 });
  const locked = await cli(['lock'], newStore());
  expect(locked.code, locked.stderr).toBe(0);
  return { dir, cli, newStore };
}

function entries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).sort() : [];
}

const asCaller = (caller: Caller, argv: string[]) => (caller.asUser ? ['runuser', '-u', caller.asUser, '--', ...argv] : argv);

describe.each(CALLERS.flatMap((caller) => IMAGES.map((image) => ({ ...caller, caller, ...image }))))('pull --image-format squashfs of $image as $name', ({ caller, ref, listing, hashes, image }) => {
  it('gives one .sqfs and no tree, byte-identical across two stores, read by unsquashfs and ch-run, run alike to the tree form, verified and repaired', async () => {
    const w = await world(caller, ref());
    const [storeA, storeB, storeTree] = [w.newStore(), w.newStore(), w.newStore()];
    const pullA = await w.cli(['pull', '--image-format', 'squashfs', '--json'], storeA);
    expect(pullA.code, pullA.stderr).toBe(0);
    const pulled = pullA.json<Pulled>().result.environments[0]!;
    expect(pulled.form).toBe('squashfs');
    expect(pulled.unpacked).toBe(true);
    const hex = pulled.manifest.slice('sha256:'.length);
    const file = join(storeA, 'squashfs', 'sha256', `${hex}.sqfs`);
    expect(pulled.rootfs).toBe(file);
    // One image file and its meta record; no tree, nothing left in tmp/.
    expect(entries(join(storeA, 'squashfs'))).toEqual(['sha256', `sha256/${hex}.json`, `sha256/${hex}.sqfs`]);
    expect(entries(join(storeA, 'rootfs')).filter((e) => e !== 'sha256')).toEqual([]);
    expect(entries(join(storeA, 'tmp'))).toEqual([]);

    const pullB = await w.cli(['pull', '--image-format', 'squashfs'], storeB);
    expect(pullB.code, pullB.stderr).toBe(0);
    const bytes = readFileSync(file);
    expect(readFileSync(join(storeB, 'squashfs', 'sha256', `${hex}.sqfs`)).equals(bytes)).toBe(true);

    // Other tools read it: squashfs-tools-ng's superblock dump, and Charliecloud runs from it.
    const superblock = spawnSync('unsquashfs', ['-s', file], { encoding: 'utf8' });
    expect(superblock.status, superblock.stderr).toBe(0);
    expect(superblock.stdout).toMatch(/zstd/);
    const [chRunCommand, ...chRunArgs] = asCaller(caller, ['env', `USER=${caller.asUser ?? 'root'}`, 'ch-run', file, '--', '/bin/true']);
    const chRun = spawnSync(chRunCommand!, chRunArgs, { encoding: 'utf8', timeout: 60_000 });
    expect(chRun.status, chRun.stderr).toBe(0);

    // The same image as a tree: the same tree digest, and run sees the same files and bytes.
    const pullTree = await w.cli(['pull', '--image-format', 'tree'], storeTree);
    expect(pullTree.code, pullTree.stderr).toBe(0);
    const treeMeta = JSON.parse(readFileSync(join(storeTree, 'rootfs', 'sha256', `${hex}.json`), 'utf8')) as { treeDigest: string };
    const sqfsMeta = JSON.parse(readFileSync(join(storeA, 'squashfs', 'sha256', `${hex}.json`), 'utf8')) as { treeDigest: string; file: { digest: string } };
    expect(sqfsMeta.treeDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(sqfsMeta.treeDigest).toBe(treeMeta.treeDigest);
    expect(sqfsMeta.file.digest).toBe(`sha256:${execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]}`);
    const shell = image === 'debian' ? 'bash' : 'sh';
    for (const command of [listing, hashes]) {
      const fromTree = await w.cli(['--offline', 'run', 'e', '--', shell, '-c', command], storeTree);
      const fromSquashfs = await w.cli(['--offline', 'run', 'e', '--', shell, '-c', command], storeA);
      expect(fromTree.code, fromTree.stderr).toBe(0);
      expect(fromSquashfs.code, fromSquashfs.stderr).toBe(0);
      expect(fromTree.stdout.split('\n').length).toBeGreaterThan(image === 'debian' ? 1000 : 5);
      expect(fromSquashfs.stdout).toBe(fromTree.stdout);
    }
    for (const [command, status] of [['exit 7', 7], ['true', 0], ['false', 1], ['/no/such/command', 127]] as const) {
      const fromTree = await w.cli(['--offline', 'run', 'e', '--', shell, '-c', command], storeTree);
      const fromSquashfs = await w.cli(['--offline', 'run', 'e', '--', shell, '-c', command], storeA);
      expect([fromTree.code, fromSquashfs.code]).toEqual([status, status]);
    }

    // verify passes on the file as built, and fails, naming it, on a truncated or altered one;
    // run never mounts the damaged file, and pull --repair makes it again.
    expect((await w.cli(['verify'], storeA)).code).toBe(0);
    for (const damage of ['truncated', 'altered'] as const) {
      if (damage === 'truncated') truncateSync(file, bytes.length - 4096);
      else {
        const altered = Buffer.from(bytes);
        const middle = Math.floor(bytes.length / 2);
        altered[middle] = bytes[middle]! ^ 0xff;
        writeFileSync(file, altered);
      }
      const verified = await w.cli(['verify'], storeA);
      expect(verified.code).toBe(1);
      expect(verified.stderr).toContain(`squashfs ${hex.slice(0, 12)}`);
      expect(verified.stderr).toMatch(damage === 'truncated' ? /size-mismatch/ : /digest-mismatch/);
      if (damage === 'truncated') {
        const ran = await w.cli(['--offline', 'run', 'e', '--', 'true'], storeA);
        expect(ran.code).not.toBe(0);
        expect(ran.stderr).toMatch(/bytes, its meta record says/);
      }
      const repaired = await w.cli(['pull', '--repair', '--image-format', 'squashfs'], storeA);
      expect(repaired.code, repaired.stderr).toBe(0);
      expect(readFileSync(file).equals(bytes)).toBe(true);
      expect((await w.cli(['verify'], storeA)).code).toBe(0);
    }
  }, 600_000);
});
