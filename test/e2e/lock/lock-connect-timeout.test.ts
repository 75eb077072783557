// ENVLOCK_CONNECT_TIMEOUT, seen by a user: `envlock lock` against a registry whose port takes the
// SYN but never completes a connection stops after the configured seconds, not the default 15,
// with REGISTRY_TIMEOUT, one sentence naming the registry, and nothing written; so does `envlock
// pull` of a lock whose registry went silent that way. A value that is
// not a number of seconds is refused before any request.

import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_TIMEOUTS } from '../../../core/registry/timeouts.js';
import { makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';
import { startFaultProxy } from '../../helpers/fault-proxy.js';
import { startUnansweringListener, type UnansweringListener } from '../../helpers/unanswering-listener.js';

const registry = inject('registry');
let silent: UnansweringListener;

beforeAll(async () => {
  silent = await startUnansweringListener();
});
afterAll(async () => {
  await silent.stop();
  removeTempDirs();
});

/** Seconds the whole command may take: well under the default connect timeout, so it proves the setting applied. */
const BOUND_MS = 10_000;

type User = 'root' | 'nobody';

/** A project locked against the real registry, then declared against `image`; its store is kept apart to compare. */
async function lockedProject(user: User, image: string) {
  const forUser = user === 'nobody' ? { forUser: 'nobody' as const } : {};
  const asUser = user === 'nobody' ? { asUser: 'nobody' as const } : {};
  const dir = makeTempDir(`connect-timeout-${user}`, forUser);
  const env = { HOME: makeTempDir('home', forUser), ENVLOCK_STORE: join(makeTempDir('store', forUser), 'store') };
  writeFileSync(join(dir, 'envlock.yaml'), `version: 1\nenvironments:\n  e:\n    image: ${registry}/busybox:latest\n    platforms: [linux/amd64]\n`);
  const first = await runCli(['lock'], { cwd: dir, env, ...asUser });
  expect(first.code, first.stderr).toBe(0);
  writeFileSync(join(dir, 'envlock.yaml'), `version: 1\nenvironments:\n  e:\n    image: ${image}\n    platforms: [linux/amd64]\n`);
  return { dir, env, asUser, lock: readFileSync(join(dir, 'envlock.lock')) };
}

function listing(path: string): string[] {
  if (!existsSync(path)) return [];
  return readdirSync(path, { recursive: true }).map(String).sort();
}

it('the port really is silent: a connect is still pending after the bound', async () => {
  // Were the setting ignored, envlock would wait the default 15 s: longer than the bound, and
  // nothing else (a refusal, a reset) ends a connect to this port sooner.
  expect(DEFAULT_TIMEOUTS.connectMs).toBeGreaterThan(BOUND_MS);
  expect(await silent.connectPendsFor(BOUND_MS)).toBe(true);
}, 30_000);

describe.each<User>(['root', 'nobody'])('ENVLOCK_CONNECT_TIMEOUT as %s', (user) => {
  it('a registry that never completes the connection: REGISTRY_TIMEOUT after 1 s, nothing written', async () => {
    const { dir, env, asUser, lock } = await lockedProject(user, `${silent.host}/busybox:latest`);
    const store = listing(env.ENVLOCK_STORE);
    const started = Date.now();
    const result = await runCli(['lock', '--json'], { cwd: dir, env: { ...env, ENVLOCK_CONNECT_TIMEOUT: '1' }, ...asUser, timeoutMs: 60_000 });
    const elapsed = Date.now() - started;
    expect(result.signal).toBeNull();
    expect(elapsed).toBeLessThan(BOUND_MS);
    expect(result.code).toBe(1);
    const error = result.json<{ ok: boolean; error: { code: string; message: string } }>().error;
    expect(error.code).toBe('REGISTRY_TIMEOUT');
    expect(error.message).toContain(silent.host);
    expect(readFileSync(join(dir, 'envlock.lock')).equals(lock)).toBe(true);
    expect(listing(env.ENVLOCK_STORE)).toEqual(store);

    const human = await runCli(['lock'], { cwd: dir, env: { ...env, ENVLOCK_CONNECT_TIMEOUT: '1' }, ...asUser, timeoutMs: 60_000 });
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(/^error: /);
    expect(human.stderr).toContain(`The connection to the registry ${silent.host} timed out before it opened, fetching the manifest of ${silent.host}/busybox:latest (UND_ERR_CONNECT_TIMEOUT).`);
    expect(human.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(join(dir, 'envlock.lock')).equals(lock)).toBe(true);
  }, 60_000);

  it.each(['abc', '-1', '0'])('ENVLOCK_CONNECT_TIMEOUT=%s is refused with CONFIG_INVALID before any request', async (value) => {
    const { dir, env, asUser, lock } = await lockedProject(user, `${silent.host}/busybox:latest`);
    const result = await runCli(['lock'], { cwd: dir, env: { ...env, ENVLOCK_CONNECT_TIMEOUT: value }, ...asUser, timeoutMs: 60_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: ENVLOCK_CONNECT_TIMEOUT="${value}" is not a number of seconds.`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(join(dir, 'envlock.lock')).equals(lock)).toBe(true);
    const json = await runCli(['lock', '--json'], { cwd: dir, env: { ...env, ENVLOCK_CONNECT_TIMEOUT: value }, ...asUser, timeoutMs: 60_000 });
    expect(json.json<{ error: { code: string } }>().error.code).toBe('CONFIG_INVALID');
  }, 60_000);

  it('pull from a registry that stopped completing connections: REGISTRY_TIMEOUT after 1 s, nothing stored', async () => {
    // Locked through a proxy whose port then goes silent, so the lock names the silent host.
    const proxy = await startFaultProxy(registry);
    let stopped = false;
    let gone: UnansweringListener | undefined;
    try {
      const forUser = user === 'nobody' ? { forUser: 'nobody' as const } : {};
      const asUser = user === 'nobody' ? { asUser: 'nobody' as const } : {};
      const dir = makeTempDir(`connect-timeout-pull-${user}`, forUser);
      const env = { HOME: makeTempDir('home', forUser), ENVLOCK_STORE: join(makeTempDir('store', forUser), 'store') };
      writeFileSync(join(dir, 'envlock.yaml'), `version: 1\nenvironments:\n  e:\n    image: ${proxy.host}/busybox:latest\n    platforms: [linux/amd64]\n`);
      const locked = await runCli(['lock'], { cwd: dir, env, ...asUser });
      expect(locked.code, locked.stderr).toBe(0);
      const lock = readFileSync(join(dir, 'envlock.lock'));
      const store = listing(env.ENVLOCK_STORE);
      await proxy.stop();
      stopped = true;
      gone = await startUnansweringListener({ port: Number(proxy.host.split(':')[1]) });
      const started = Date.now();
      const result = await runCli(['pull'], { cwd: dir, env: { ...env, ENVLOCK_CONNECT_TIMEOUT: '1' }, ...asUser, timeoutMs: 60_000 });
      expect(result.signal).toBeNull();
      expect(Date.now() - started).toBeLessThan(BOUND_MS);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`The connection to the registry ${proxy.host} timed out before it opened`);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(readFileSync(join(dir, 'envlock.lock')).equals(lock)).toBe(true);
      // The pull lays out an empty store; no blob, image or partial download is in it.
      expect(store).toEqual([]);
      expect(listing(env.ENVLOCK_STORE).filter((path) => !/^[^/]+(\/sha256)?$/.test(path))).toEqual([]);
    } finally {
      if (!stopped) await proxy.stop();
      await gone?.stop();
    }
  }, 60_000);
});
