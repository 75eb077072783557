// Ctrl-C while a pull unpacks, as root and as nobody: pressed twice (an impatient user), it still
// leaves no temporary root filesystem behind (a second SIGINT used to kill envlock in the middle
// of removing it), says what really happened and how to go on, and the next pull finishes from
// the downloads it kept instead of fetching them again.

import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI_PATH, makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';
import { busyboxEntries } from '../../helpers/busybox-layer.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { buildImage, pushImage, type BuiltImage } from '../../helpers/image-builder.js';
import { tarEntries, type TarEntry } from '../../helpers/tar-writer.js';
import { lockedProject } from './pull-helpers.js';

const registry = inject('registry');
let image: BuiltImage;
let proxy: FaultProxy;

/** busybox and 12 000 small files: seconds of unpacking, so a Ctrl-C lands in the middle of it. */
function manyFilesLayer(): Buffer {
  const entries: TarEntry[] = [...busyboxEntries()];
  for (let d = 0; d < 60; d++) {
    entries.push({ path: `data/d${d}/`, type: 'dir' });
    for (let f = 0; f < 200; f++) entries.push({ path: `data/d${d}/f${f}`, type: 'file', mode: 0o644, content: Buffer.from(`${d}/${f}\n`) });
  }
  return tarEntries(entries);
}

beforeAll(async () => {
  image = buildImage({ layers: [manyFilesLayer()], platform: { os: 'linux', architecture: 'amd64' }, createdBy: `many-files-${Date.now()}` });
  await pushImage(registry, 'many-files', 'latest', image);
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
    const child = spawn(caller.asUser ? 'setpriv' : process.execPath, [
      ...(caller.asUser ? ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath] : []), CLI_PATH, 'pull',
    ], { cwd: dir, env: { ...process.env, HOME: dir, ENVLOCK_STORE: store, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    const deadline = Date.now() + 60_000;
    while (!/unpacking layer 1\/1 \S+: started/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    const code = await closed;
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('error: Stopped by Ctrl-C (SIGINT) before the command finished.');
    expect(stderr).toContain('hint: Run the same command again to continue: finished downloads and a partly downloaded blob are kept and resumed');
    expect(stderr).not.toMatch(/\n\s+at |nothing half-done was kept/);
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
