// Shared set-up for pull tests: a locked project against a registry (or a proxy in front of it),
// and an image with one large, incompressible layer so a pull can be cut off mid-blob.

import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { buildImage, pushImage, type BuiltImage } from '../../helpers/image-builder.js';
import { busyboxEntries } from '../../helpers/busybox-layer.js';
import { tarEntries } from '../../helpers/tar-writer.js';
import { makeTempDir, runCli } from '../../helpers/cli.js';

export async function lockedProject(image: string, options: { forUser?: 'nobody'; platforms?: string } = {}): Promise<string> {
  const dir = makeTempDir('pull', options.forUser ? { forUser: options.forUser } : {});
  writeFileSync(join(dir, 'envlock.yaml'), `version: 1\nenvironments:\n  e:\n    image: ${image}\n    platforms: ${options.platforms ?? '[linux/amd64]'}\n`);
  const locked = await runCli(['lock'], { cwd: dir });
  expect(locked.stderr).toBe('');
  expect(locked.code).toBe(0);
  if (options.forUser) execFileSync('chown', ['-R', 'nobody:nogroup', dir]);
  return dir;
}

/** busybox plus a 24 MiB file of random bytes (gzip cannot shrink it), pushed as REPO:latest (big). */
export async function pushBigImage(registry: string, repo = 'big'): Promise<BuiltImage> {
  const layer = tarEntries([...busyboxEntries(), { path: 'data/', type: 'dir' }, { path: 'data/random.bin', type: 'file', mode: 0o644, content: randomBytes(24 * 1024 * 1024) }]);
  const image = buildImage({ layers: [layer], platform: { os: 'linux', architecture: 'amd64' }, createdBy: `big-${Date.now()}` });
  await pushImage(registry, repo, 'latest', image);
  return image;
}

export function listTree(dir: string): string[] {
  return execFileSync('find', [dir, '-mindepth', '1'], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
}
