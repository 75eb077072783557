// Regressions of the launcher's hardening, as root and as nobody, for a tree (with and
// without the overlay skeleton) and a squashfs image: the root never honours setuid bits or
// device nodes, and the working directory bound is the one the spec asks for.

import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderSpec } from '../../core/runtime/spec.js';
import { CALLERS, asSquashfsSpec, ensureNativeBuild, launcherFeatures, makeRootfs, makeSquashfs, openFuseToUsers, publicTempDir, removeTree, runWithSpecFd } from './fixture.js';
import { skipWithout } from '../helpers/features.js';

let rootfs: string;
let full: string;
let image: string;
let work: string;

beforeAll(() => {
  ensureNativeBuild();
  openFuseToUsers();
  rootfs = makeRootfs();
  full = makeRootfs({ full: true });
  image = makeSquashfs(full);
  work = publicTempDir('envlock-harden-');
});

afterAll(() => {
  for (const dir of [rootfs, full, path.dirname(image), work]) removeTree(dir);
});

const ROOTS = [
  { root: 'a tree needing no overlay', spec: (cwd: string) => renderSpec({ rootfs: full, env: [['PATH', '/bin']], cwd, bindCwd: true }) },
  { root: 'a tree under the overlay', spec: (cwd: string) => renderSpec({ rootfs, env: [['PATH', '/bin']], cwd, bindCwd: true }) },
  { root: 'a squashfs image', spec: (cwd: string) => asSquashfsSpec(renderSpec({ rootfs: full, env: [['PATH', '/bin']], cwd, bindCwd: true }), image) },
];

const cases = CALLERS.flatMap((caller) => ROOTS.map((root) => ({ ...caller, ...root })));

describe.each(cases)('$root as $name', ({ name, prefix, root, spec }) => {
  const skip = root.includes('squashfs') && skipWithout('squashfs', launcherFeatures().includes('squashfs'));

  it.skipIf(skip)('honours no setuid bit or device node in the image: the root is ro,nosuid,nodev', async () => {
    const result = await runWithSpecFd(spec('/'), ['cat', '/proc/self/mountinfo'], { prefix });
    expect(result.stderr).toBe('');
    // proc(5) mountinfo: field 5 is the mount point, field 6 the per-mount options.
    const root = result.stdout.split('\n').map((line) => line.split(' ')).find((fields) => fields[4] === '/');
    const options = root![5]!.split(',');
    expect(options).toEqual(expect.arrayContaining(['ro', 'nosuid', 'nodev']));
  });

  it.skipIf(skip)('loses no output of a -C run: the directory the spec names is bound, not the one the launcher started in', async () => {
    // envlock -C DIR: Node resolves DIR, the launcher starts elsewhere (here: /).
    const asked = path.join(work, `asked-${name}-${root.replace(/\W+/g, '-')}`);
    rmSync(asked, { recursive: true, force: true });
    mkdirSync(asked);
    chmodSync(asked, 0o777);
    writeFileSync(path.join(asked, 'input'), 'in\n', { mode: 0o644 });
    const result = await runWithSpecFd(spec(asked), ['sh', '-c', 'pwd; cat input; echo out > results.txt'], { prefix, cwd: '/' });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`${asked}\nin\n`);
    expect(result.status).toBe(0);
    // The output landed on the host, in the directory the user asked for.
    expect(existsSync(path.join(asked, 'results.txt'))).toBe(true);
    expect(readFileSync(path.join(asked, 'results.txt'), 'utf8')).toBe('out\n');
  });

  it.skipIf(skip)('names the failing call and its own errno, never close()\'s EBADF after a failed open', async () => {
    // The same destination bound twice, first from a directory, then from a file: the old
    // launcher reported "create mount point /skel/data/x: Bad file descriptor (errno 9)".
    const dir = publicTempDir(`envlock-twice-${name}-`);
    const file = path.join(dir, 'file');
    writeFileSync(file, 'x\n', { mode: 0o644 });
    const text = spec('/').replace(/\n$/, `\nbind ${dir} /data/x ro\nbind ${file} /data/x ro\n`);
    const result = await runWithSpecFd(text, ['true'], { prefix, env: { PATH: '/usr/bin:/bin', ENVLOCK_WARM: '0' } });
    expect(result.stderr).not.toContain('Bad file descriptor');
    expect(result.stderr).toMatch(new RegExp(`^envlock-launch: bind ${file}: Not a directory \\(errno 20; mount at mounts\\.c:\\d+\\)\\n$`));
    expect(result.status).toBe(125);
    removeTree(dir);
  });
});
