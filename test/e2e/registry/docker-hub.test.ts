// Docker Hub names end to end, without ever reaching Docker Hub: `python`-style names lock as
// docker.io/library/…, a registries.conf mirror for docker.io serves them, and without a mirror
// envlock goes to the Hub's API host. Every CLI here runs in a mount namespace whose /etc/hosts
// sends the Hub's names to 127.0.0.1, where nothing listens on 443, so no request can leave.

import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DOCKER_HUB_API_HOST, DOCKER_HUB_LEGACY, DOCKER_HUB } from '../../../core/registry/docker-hub.js';
import { buildImage } from '../../helpers/image-builder.js';
import { busyboxLayer } from '../../helpers/busybox-layer.js';
import { pushImage } from '../../helpers/registry-push.js';
import { makeTempDir, removeTempDirs, runCli, type CliResult } from '../../helpers/cli.js';

const registry = inject('registry');
afterAll(() => removeTempDirs());

const USERS = [undefined, 'nobody'] as const;
let hostsFile: string;

beforeAll(async () => {
  const image = buildImage({ layers: [busyboxLayer()], config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'] }, platform: { os: 'linux', architecture: 'amd64' }, createdBy: 'docker-hub test' });
  await pushImage(registry, 'hub/library/busybox', 'latest', image);
  await pushImage(registry, 'hub/rocker/r-ver', '4.4', image);
  const hostsDir = makeTempDir('hosts');
  chmodSync(hostsDir, 0o755);
  hostsFile = join(hostsDir, 'hosts');
  writeFileSync(hostsFile, `127.0.0.1 localhost\n127.0.0.1 ${DOCKER_HUB_API_HOST} ${DOCKER_HUB} ${DOCKER_HUB_LEGACY}\n`, { mode: 0o644 });
}, 60_000);

/** The CLI in a private mount namespace with the guarding /etc/hosts bound over the real one. */
function guarded(user: 'nobody' | undefined): string[] {
  return ['unshare', ...(user ? ['-r'] : []), '-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hostsFile];
}

function project(user: 'nobody' | undefined, mirror: boolean): { dir: string; env: Record<string, string> } {
  const dir = makeTempDir('hub', user ? { forUser: user } : {});
  writeFileSync(join(dir, 'envlock.yaml'), 'version: 1\nenvironments:\n  py:\n    image: busybox\n  r:\n    image: rocker/r-ver:4.4\n');
  const conf = join(dir, 'registries.conf');
  writeFileSync(conf, `[[registry]]\nprefix = "docker.io"\nlocation = "docker.io"\n${mirror ? `\n[[registry.mirror]]\nlocation = "${registry}/hub"\n` : ''}`);
  if (user) execFileSync('chown', ['-R', 'nobody:nogroup', dir]);
  return { dir, env: { CONTAINERS_REGISTRIES_CONF: conf } };
}

async function cli(args: string[], user: 'nobody' | undefined, p: { dir: string; env: Record<string, string> }, store: string): Promise<CliResult> {
  return runCli(args, { cwd: p.dir, env: { ...p.env, ENVLOCK_STORE: store }, wrap: guarded(user), ...(user ? { asUser: user } : {}) });
}

describe('Docker Hub references', () => {
  for (const user of USERS) {
    it(`locks one- and two-part Hub names as docker.io/… through a registries.conf mirror, then pulls and runs them${user ? ' as nobody' : ''}`, async () => {
      const p = project(user, true);
      const store = join(makeTempDir('store', user ? { forUser: user } : {}), 's');
      const locked = await cli(['lock'], user, p, store);
      expect(locked.stderr).toBe('');
      expect(locked.code).toBe(0);
      const lock = readFileSync(join(p.dir, 'envlock.lock'), 'utf8');
      expect(lock).toContain('docker.io/library/busybox:latest');
      expect(lock).toContain('docker.io/rocker/r-ver:4.4');
      expect(lock).not.toContain(registry);
      const pulled = await cli(['pull'], user, p, store);
      expect(pulled.code).toBe(0);
      const ran = await cli(['run', 'py', '--', 'cat', '/etc/os-release'], user, p, store);
      expect(ran.stderr).toBe('');
      expect(ran.stdout).toContain('ID=envlock-test');
      expect(ran.code).toBe(0);
    });
  }

  it('goes to the Hub\'s API host, not to docker.io, when no mirror answers', async () => {
    const p = project(undefined, false);
    const result = await cli(['lock', '--json'], undefined, p, join(makeTempDir('store'), 's'));
    expect(result.code).toBe(1);
    const error = result.json<{ error: { code: string; message: string; hint: string } }>().error;
    expect(error.code).toBe('REGISTRY_UNREACHABLE');
    expect(error.message).toContain(`The registry ${DOCKER_HUB_API_HOST} for docker.io/library/busybox:latest could not be reached`);
    expect(error.hint).toMatch(/mirror/);
  });
});
