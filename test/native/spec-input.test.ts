// Where the spec comes from, as root and as nobody: through a descriptor, so the command's
// environment (proxy credentials included) never shows in the launcher's argv, which every
// user of the node can read for the whole job; the descriptor is not left to the command;
// and a spec file anyone may write is refused.

import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLERS, LAUNCHER, ensureNativeBuild, makeRootfs, processesWith, publicTempDir, removeTree, runWithSpecFd, waitUntil } from './fixture.js';

let rootfs: string;
let work: string;
/** An image whose /etc/passwd and /etc/group run to 40 KiB, their last lines far past the start. */
let longEtc: string;
const FILLER = Array.from({ length: 800 }, (_, i) => `filler${i}:x:${10000 + i}:${10000 + i}::/nonexistent:/bin/false\n`).join('');

beforeAll(() => {
  ensureNativeBuild();
  rootfs = makeRootfs();
  longEtc = makeRootfs({ full: true });
  writeFileSync(path.join(longEtc, 'etc', 'passwd'), `root:x:0:0:root:/root:/bin/sh\n${FILLER}last:x:4242:4242::/home/last:/bin/sh\n`);
  writeFileSync(path.join(longEtc, 'etc', 'group'), `root:x:0:\n${FILLER.replaceAll('::/nonexistent:/bin/false', ':')}lastgroup:x:4343:\n`);
  work = publicTempDir('envlock-specin-');
  chmodSync(work, 0o777);
});

afterAll(() => {
  removeTree(rootfs);
  removeTree(longEtc);
  removeTree(work);
});

const SECRET = 'https_proxy=http://alice:s3cret-token@proxy.example:3128';

describe.each(CALLERS)('spec input as $name', ({ name, prefix }) => {
  it('keeps the environment out of every argv and leaves no spec descriptor to the command', async () => {
    const tag = `envlock-specfd-${process.pid}-${name}`;
    const ready = path.join(work, `${tag}.ready`);
    const spec = `envlock-launch-spec 1\nrootfs ${rootfs}\nenv PATH=/bin\nenv ${SECRET}\ncwd ${work}\n`;
    const pending = runWithSpecFd(spec, ['sh', '-c', `echo "$https_proxy"; [ -e /proc/$$/fd/3 ] && echo fd3-leaked || echo no-fd3; touch ${ready}; sleep 1; : ${tag}`], { prefix });
    expect(await waitUntil(() => { try { return readFileSync(ready, 'utf8') === ''; } catch { return false; } })).toBe(true);
    const seen = processesWith(tag);
    expect(seen.some((p) => p.exe === LAUNCHER)).toBe(true);
    for (const p of seen) expect(p.cmdline).not.toContain('s3cret');
    const result = await pending;
    expect(result.stdout).toBe('http://alice:s3cret-token@proxy.example:3128\nno-fd3\n');
  });

  it('refuses a spec file every user may write', async () => {
    const file = path.join(work, `open-${name}.spec`);
    writeFileSync(file, `envlock-launch-spec 1\nrootfs ${rootfs}\n`);
    chmodSync(file, 0o666);
    const result = await runWithSpecFd('', ['true'], { prefix, args: ['--spec', file] });
    expect(result.stderr).toBe(`envlock-launch: spec ${file} is writable by every user; refusing it (chmod o-w)\n`);
    expect(result.status).toBe(125);
  });

  it('reads a spec far longer than a page, whole, and refuses one of 1 MiB or more', async () => {
    const long = 'x'.repeat(40 << 10);
    const spec = `envlock-launch-spec 1\nrootfs ${rootfs}\nenv PATH=/bin\nenv LONG=${long}\nenv LAST=seen\ncwd ${work}\n`;
    const result = await runWithSpecFd(spec, ['sh', '-c', 'echo "${#LONG} $LAST"'], { prefix });
    expect(result.stdout).toBe(`${long.length} seen\n`);
    expect(result.status).toBe(0);
    const huge = `envlock-launch-spec 1\nrootfs ${rootfs}\n${'env PAD=y\n'.repeat((1 << 20) / 10)}`;
    const refused = await runWithSpecFd(huge, ['true'], { prefix });
    expect(refused.stderr).toBe('envlock-launch: spec fd 3 is larger than 1048576 bytes\n');
    expect(refused.status).toBe(125);
  });

  it("keeps every line of an image's long /etc/passwd and /etc/group", async () => {
    const spec = `envlock-launch-spec 1\nrootfs ${longEtc}\nenv PATH=/bin\ncwd /\n`;
    const result = await runWithSpecFd(spec, ['sh', '-c', 'grep ^last: /etc/passwd; grep -c ^filler /etc/passwd; grep lastgroup /etc/group'], { prefix });
    expect(result.stdout).toBe('last:x:4242:4242::/home/last:/bin/sh\n800\nlastgroup:x:4343:\n');
    expect(result.status).toBe(0);
  });
});
