// What a user sees while envlock waits and downloads, as root and as nobody: a silent registry
// is named within seconds and given up on in tens of seconds, a stream cut every 5 MiB still
// finishes (each attempt gets further), totals and the DOWNLOADED column count every byte once,
// plain progress is one line per layer at start and at most one every few seconds, and Ctrl-C
// says what was kept and how to go on.

import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI_PATH, makeTempDir, REPO_ROOT, removeTempDirs, runCli } from '../../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import type { BuiltImage } from '../../helpers/image-builder.js';
import { lockedProject, pushBigImage } from './pull-helpers.js';
import { formatBytes } from '../../../core/format-bytes.js';

const registry = inject('registry');
const MiB = 1024 * 1024;
let big: BuiltImage;
let bigLayer: string;
/** The layer's size as progress lines print it ("25 MiB"). */
let size: string;
let proxy: FaultProxy;

beforeAll(async () => {
  // Its own repository: other test files push a different big:latest at the same time.
  big = await pushBigImage(registry, 'big-progress');
  bigLayer = big.layers[0]!.digest;
  size = formatBytes(big.layers[0]!.size);
  proxy = await startFaultProxy(registry);
});
afterAll(async () => {
  await proxy.stop();
  removeTempDirs();
});

const blobPath = (digest: string) => new RegExp(`/blobs/${digest}$`);
const short = (digest: string) => digest.slice(7, 19);

type Caller = { name: string; asUser?: 'nobody' };
const CALLERS: Caller[] = [{ name: 'root' }, { name: 'nobody', asUser: 'nobody' }];

describe.each(CALLERS)('waiting and progress, as $name', (caller) => {
  const forUser = caller.asUser ? { forUser: caller.asUser } : {};
  const as = caller.asUser ? { asUser: caller.asUser } : {};
  async function fresh() {
    proxy.setRules([]);
    const dir = await lockedProject(`${proxy.host}/big-progress:latest`, forUser);
    const store = join(makeTempDir('store', forUser), 's');
    proxy.requests.length = 0;
    return { dir, store };
  }

  it('finishes a download cut every 5 MiB, counting progress rather than tries, and every byte once', async () => {
    const { dir, store } = await fresh();
    proxy.setRules([{ method: 'GET', path: blobPath(bigLayer), action: { kind: 'reset', afterBytes: 5 * MiB } }]);
    const result = await runCli(['pull'], { cwd: dir, env: { ENVLOCK_STORE: store, ENVLOCK_PROGRESS_INTERVAL: '0' }, ...as });
    expect(result.stderr).not.toContain('failed');
    expect(result.code, result.stderr).toBe(0);
    // 24 MiB in pieces of at most 5 (a reset loses what was in flight): five tries or more, each resumed.
    const gets = proxy.requests.filter((r) => r.method === 'GET' && r.path.endsWith(bigLayer)).length;
    expect(gets).toBeGreaterThanOrEqual(5);
    expect(result.stderr.match(/Retrying from \d/g)?.length).toBe(gets - 1);
    expect(result.stdout).toMatch(new RegExp(`pulled\\s+${size}\\n`));
    // One start line per layer; a resumed attempt's bytes never push the count past the size.
    expect(result.stderr.split('\n').filter((l) => l.startsWith(`layer ${short(bigLayer)}: started`))).toHaveLength(1);
    const figures = [...result.stderr.matchAll(/: ([\d.]+) MiB of (\d+) MiB/g)];
    // Progress lines were printed (interval 0), so the bound below is checked, not vacuous.
    expect(figures.length).toBeGreaterThan(0);
    for (const m of figures) expect(Number(m[1])).toBeLessThanOrEqual(Number(m[2]));
    expect(result.stderr).toContain(`unpacking layer 1/1 ${short(bigLayer)}: started, ${size}`);
    expect(result.stderr).toContain(`unpacking layer 1/1 ${short(bigLayer)}: done, ${size}`);
  });

  it('gives up after exactly the attempts docs/registries.md names when no attempt gets further', async () => {
    const promised = /gives up after (\d+) attempts in a row/.exec(readFileSync(join(REPO_ROOT, 'docs', 'registries.md'), 'utf8'));
    expect(promised, 'docs/registries.md states the number of attempts').not.toBeNull();
    const { dir, store } = await fresh();
    // Every answer is cut after 64 KiB: each attempt gets no further than the last.
    proxy.setRules([{ method: 'GET', path: blobPath(bigLayer), action: { kind: 'reset', afterBytes: 64 * 1024 } }]);
    const result = await runCli(['pull'], { cwd: dir, env: { ENVLOCK_STORE: store }, ...as });
    expect(result.code).toBe(1);
    expect(proxy.requests.filter((r) => r.method === 'GET' && r.path.endsWith(bigLayer))).toHaveLength(Number(promised![1]));
    // One failure line, for the attempt that ended it; the retried ones only say they retry.
    expect(result.stderr.match(/failed/g)).toHaveLength(1);
  });

  it('prints at most one progress line every few seconds on a long download', async () => {
    const { dir, store } = await fresh();
    proxy.setRules([{ method: 'GET', path: blobPath(bigLayer), action: { kind: 'slow', bytesPerSecond: 32 * MiB } }]);
    const result = await runCli(['pull'], { cwd: dir, env: { ENVLOCK_STORE: store, ENVLOCK_PROGRESS_INTERVAL: '0.5' }, ...as });
    expect(result.code, result.stderr).toBe(0);
    const took = Number(/done, \S+ MiB in ([\d.]+)s/.exec(result.stderr)?.[1]);
    const progress = result.stderr.split('\n').filter((l) => l.includes(` of ${size} (`));
    // One line per interval (0.5 s here) at most, and some: not one per chunk, not silence.
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(took / 0.5) + 1);
  });

  it('says within seconds which registry it waits for, and gives up on a silent one after the read timeout', async () => {
    const { dir, store } = await fresh();
    proxy.setRules([{ method: 'GET', path: blobPath(bigLayer), action: { kind: 'slow', delayMs: 120_000 } }]);
    const started = Date.now();
    let noticed = 0;
    const child = spawn(caller.asUser ? 'setpriv' : process.execPath, [
      ...(caller.asUser ? ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath] : []), CLI_PATH, 'pull',
    ], { cwd: dir, env: { ...process.env, HOME: dir, ENVLOCK_STORE: store, NO_COLOR: '1', ENVLOCK_READ_TIMEOUT: '8' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (noticed === 0 && stderr.includes(`Waiting for ${proxy.host} to answer`)) noticed = Date.now() - started;
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const took = Date.now() - started;
    expect(code).toBe(1);
    expect(stderr).toContain(`Waiting for ${proxy.host} to answer (blob ${bigLayer} of ${proxy.host}/big-progress:latest); envlock gives up after 8 s without an answer.`);
    expect(noticed).toBeGreaterThan(0);
    expect(noticed).toBeLessThan(6_000);
    expect(stderr).toMatch(/REGISTRY_TIMEOUT|did not answer in time/);
    // One wait of 8 s, not five.
    expect(took).toBeLessThan(25_000);
  });

  it('says on Ctrl-C what was kept and how to go on, and the next pull resumes', async () => {
    const { dir, store } = await fresh();
    proxy.setRules([{ method: 'GET', path: blobPath(bigLayer), times: 1, action: { kind: 'slow', bytesPerSecond: 2 * MiB } }]);
    const child = spawn(caller.asUser ? 'setpriv' : process.execPath, [
      ...(caller.asUser ? ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath] : []), CLI_PATH, 'pull',
    ], { cwd: dir, env: { ...process.env, HOME: dir, ENVLOCK_STORE: store, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 20_000;
    while (!stderr.includes(`layer ${short(bigLayer)}: started`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    expect(stderr).toContain('error: Stopped by Ctrl-C (SIGINT) before the command finished.');
    expect(stderr).toContain('hint: Run the same command again to continue: finished downloads and a partly downloaded blob are kept and resumed');
    expect(stderr).not.toContain('nothing half-done was kept');
    expect(readdirSync(join(store, 'tmp')).some((n) => n.endsWith('.partial'))).toBe(true);
    const again = await runCli(['pull'], { cwd: dir, env: { ENVLOCK_STORE: store }, ...as });
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`layer ${short(bigLayer)}: resuming at [\\d.]+ MiB of ${size}`));
  });
});

describe.each(CALLERS)('locks a killed pull leaves behind, as $name', (caller) => {
  it('are cleared by the next pull that has work, and by gc', async () => {
    const forUser = caller.asUser ? { forUser: caller.asUser } : {};
    const as = caller.asUser ? { asUser: caller.asUser } : {};
    proxy.setRules([]);
    const dir = await lockedProject(`${proxy.host}/big-progress:latest`, forUser);
    const other = await lockedProject(`${registry}/busybox:latest`, forUser);
    const store = join(makeTempDir('store', forUser), 's');
    const locks = () => readdirSync(join(store, 'locks')).filter((n) => n.endsWith('.lock'));
    for (const clear of ['pull', 'gc'] as const) {
      proxy.setRules([{ method: 'GET', path: blobPath(bigLayer), times: 1, action: { kind: 'slow', bytesPerSecond: 2 * MiB } }]);
      const child = spawn(caller.asUser ? 'setpriv' : process.execPath, [
        ...(caller.asUser ? ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath] : []), CLI_PATH, 'pull',
      ], { cwd: dir, env: { ...process.env, HOME: dir, ENVLOCK_STORE: store, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const deadline = Date.now() + 20_000;
      while (!stderr.includes(`layer ${short(bigLayer)}: started`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.on('close', resolve));
      expect(locks()).toContain(`blob-${bigLayer.slice(7)}.lock`);
      const next = clear === 'pull'
        ? await runCli(['pull', '-q'], { cwd: other, env: { ENVLOCK_STORE: store }, ...as })
        : await runCli(['gc'], { cwd: other, env: { ENVLOCK_STORE: store }, ...as });
      expect(next.code, next.stderr).toBe(0);
      expect(locks()).toEqual([]);
    }
  });
});

describe('live progress in a terminal', () => {
  it('keeps bars within 80 columns, says so on Ctrl-C, and leaves no dead bar after a resumed pull', async () => {
    proxy.setRules([]);
    const dir = await lockedProject(`${proxy.host}/big-progress:latest`);
    const store = join(makeTempDir('store'), 's');
    proxy.setRules([{ method: 'GET', path: blobPath(bigLayer), times: 1, action: { kind: 'slow', bytesPerSecond: 2 * MiB } }]);
    const session = `envlock-progress-${process.pid}`;
    const env = [`HOME=${dir}`, `ENVLOCK_STORE=${store}`, `PATH=${process.env.PATH}`, 'TERM=xterm-256color', 'PS1=ready$ '];
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '80', '-y', '40', '-c', dir, 'env', '-i', ...env, 'bash', '--norc', '-i']);
    const screen = (joined = false) => execFileSync('tmux', ['capture-pane', '-p', ...(joined ? ['-J'] : []), '-t', session], { encoding: 'utf8' });
    const keys = (...k: string[]) => execFileSync('tmux', ['send-keys', '-t', session, ...k]);
    const waitFor = async (test: (s: string) => boolean, ms = 30_000): Promise<string> => {
      const deadline = Date.now() + ms;
      for (;;) {
        const text = screen(true);
        if (test(text) || Date.now() > deadline) return text;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await waitFor((s) => s.includes('ready$'));
      keys(`${process.execPath} ${CLI_PATH} pull; echo "exit=$?"`, 'Enter');
      const during = await waitFor((s) => /layer \S+ +\[#*\.+\]/.test(s));
      expect(during).toMatch(/layer \S+ +\[#*\.+\] /);
      // Joined as the terminal wrapped them: a progress line that wrapped would be longer than 80.
      for (const line of during.split('\n').filter((l) => !l.startsWith('ready$'))) expect(line.length, line).toBeLessThanOrEqual(80);
      keys('C-c');
      const stopped = await waitFor((s) => s.includes('exit=130'));
      expect(stopped).toContain('Stopped by Ctrl-C (SIGINT) before the command finished.');
      expect(stopped).toContain('hint: Run the same command again to continue');
      keys('clear', 'Enter');
      keys(`${process.execPath} ${CLI_PATH} pull; echo "exit=$?"`, 'Enter');
      const done = await waitFor((s) => s.includes('exit=0') || s.includes('exit=1'), 60_000);
      expect(done).toContain('exit=0');
      expect(done).toMatch(/pulled/);
      // No bar of unfinished work stays on screen once the pull is done.
      expect(done).not.toMatch(/\[[#.]{5,}\]/);
    } finally {
      try {
        execFileSync('tmux', ['kill-session', '-t', session], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  });
});
