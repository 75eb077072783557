// Set-up for catching a pull in the middle of unpacking: an image whose one layer takes seconds
// to unpack, and a pull started in the background (as root or nobody) that has just said it
// started unpacking, for the test to signal.

import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { CLI_PATH } from '../../helpers/cli.js';
import { busyboxLayer } from '../../helpers/busybox-layer.js';
import { buildImage, pushImage, type BuiltImage } from '../../helpers/image-builder.js';
import type { TarEntry } from '../../helpers/tar-writer.js';

/** busybox and 12 000 small files, pushed as REPO:latest (a new image each call). */
export async function pushManyFilesImage(registry: string, repo: string): Promise<BuiltImage> {
  const files: TarEntry[] = [];
  for (let d = 0; d < 60; d++) {
    files.push({ path: `data/d${d}/`, type: 'dir' });
    for (let f = 0; f < 200; f++) files.push({ path: `data/d${d}/f${f}`, type: 'file', mode: 0o644, content: Buffer.from(`${d}/${f}\n`) });
  }
  const image = buildImage({ layers: [busyboxLayer(files)], platform: { os: 'linux', architecture: 'amd64' }, createdBy: `${repo}-${Date.now()}` });
  await pushImage(registry, repo, 'latest', image);
  return image;
}

export interface BackgroundPull {
  /** envlock itself: setpriv execs node in place, so this pid is the pull's own, the one to signal. */
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** What the pull has printed on stderr so far. */
  stderr: () => string;
  /** The pull's exit status once it has ended. */
  closed: Promise<number | null>;
}

/**
 * Starts `envlock pull` in `dir` with `env` on top of this process's environment, and returns
 * once it says it started unpacking its one layer (or after a minute without that line).
 */
export async function startPullUntilUnpacking(dir: string, env: Record<string, string>, asUser?: 'nobody'): Promise<BackgroundPull> {
  const child = spawn(asUser ? 'setpriv' : process.execPath, [
    ...(asUser ? ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath] : []), CLI_PATH, 'pull',
  ], { cwd: dir, env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const deadline = Date.now() + 60_000;
  while (!/unpacking layer 1\/1 \S+: started/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return { child, stderr: () => stderr, closed };
}
