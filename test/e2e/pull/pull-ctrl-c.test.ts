// Ctrl-C while a pull unpacks, as root and as nobody: pressed twice (an impatient user), it still
// leaves no temporary root filesystem behind (a second SIGINT used to kill envlock in the middle
// of removing it), says what really happened and how to go on, and the next pull finishes from
// the downloads it kept instead of fetching them again.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import type { BuiltImage } from '../../helpers/image-builder.js';
import { lockedProject } from './pull-helpers.js';
import { pushManyFilesImage, startPullUntilUnpacking } from './pull-mid-unpack.js';

const registry = inject('registry');
let image: BuiltImage;
let proxy: FaultProxy;

beforeAll(async () => {
  // Seconds of unpacking, so a Ctrl-C lands in the middle of it.
  image = await pushManyFilesImage(registry, 'many-files');
  proxy = await startFaultProxy(registry);
}, 120_000);
afterAll(async () => {
  await proxy.stop();
  removeTempDirs();
});

const CALLERS = [{ name: 'root' }, { name: 'nobody', asUser: 'nobody' as const }];

describe.each(CALLERS)('Ctrl-C twice while a pull unpacks, as $name', (caller) => {
  it('leaves no temporary rootfs, tells the truth, and the next pull reuses the kept download', async () => {
    const forUser = caller.asUser ? { forUser: caller.asUser } : {};
    const dir = await lockedProject(`${proxy.host}/many-files:latest`, forUser);
    const store = join(makeTempDir('store', forUser), 's');
    const layer = image.layers[0]!.digest;
    const { child, stderr, closed } = await startPullUntilUnpacking(dir, { HOME: dir, ENVLOCK_STORE: store }, caller.asUser);
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    const code = await closed;
    expect(code, stderr()).toBe(130);
    expect(stderr()).toContain('error: Stopped by Ctrl-C (SIGINT) before the command finished.');
    expect(stderr()).toContain('hint: Run the same command again to continue: finished downloads and a partly downloaded blob are kept and resumed');
    expect(stderr()).not.toMatch(/\n\s+at |nothing half-done was kept/);
    expect(readdirSync(join(store, 'tmp')).filter((n) => n.startsWith('rootfs-'))).toEqual([]);
    expect(readdirSync(join(store, 'rootfs', 'sha256')).filter((n) => !n.endsWith('.lock'))).toEqual([]);
    // What the hint promises: the finished download is kept, and the next pull only unpacks.
    proxy.requests.length = 0;
    const again = await runCli(['pull'], { cwd: dir, env: { ENVLOCK_STORE: store }, ...(caller.asUser ? { asUser: caller.asUser } : {}) });
    expect(again.code, again.stderr).toBe(0);
    expect(proxy.requests.filter((r) => r.path.endsWith(layer))).toEqual([]);
    expect(readdirSync(join(store, 'rootfs', 'sha256')).filter((n) => !n.includes('.'))).toHaveLength(1);
  });
});
