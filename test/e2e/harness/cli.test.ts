// The CLI runner: fresh HOME and store per run, stdin, JSON parsing, and running as `nobody`.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_PATH, makeTempDir, removeTempDirs, runCli } from '../../helpers/cli.js';

const PROBE = `
const fs = require('node:fs');
let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => {
  fs.writeFileSync(process.env.HOME + '/probe', 'ok');
  console.log(JSON.stringify({ uid: process.getuid(), home: process.env.HOME, store: process.env.ENVLOCK_STORE, extra: process.env.EXTRA ?? null, secret: process.env.ENVLOCK_TEST_SECRET ?? null, cwd: process.cwd(), args: process.argv.slice(2), input }));
  process.stderr.write('to stderr\\n');
  process.exit(Number(process.argv[2] ?? 0));
});
`;

describe('runCli', () => {
  afterAll(() => removeTempDirs());
  const scripts = makeTempDir('probe', { forUser: 'nobody' });
  const entry = join(scripts, 'probe.cjs');
  writeFileSync(entry, PROBE, { mode: 0o644 });

  it('points at the built CLI entry', () => {
    expect(CLI_PATH.endsWith('/dist/bundle/envlock.js')).toBe(true);
  });

  it('runs with a fresh HOME and store, stdin, extra env, exit code and both streams', async () => {
    process.env.ENVLOCK_TEST_SECRET = 'leak';
    const cwd = makeTempDir('cwd');
    const result = await runCli(['3', 'b'], { cwd, entry, input: 'data in', env: { EXTRA: 'yes' } });
    delete process.env.ENVLOCK_TEST_SECRET;
    expect(result.code).toBe(3);
    expect(result.stderr).toBe('to stderr\n');
    const seen = result.json<Record<string, unknown>>();
    expect(seen).toMatchObject({ uid: 0, extra: 'yes', secret: null, cwd, args: ['3', 'b'], input: 'data in' });
    expect(String(seen.home)).toMatch(/envlock-home-/);
    expect(String(seen.store)).toMatch(/envlock-store-.*\/store$/);
  });

  it('runs as nobody with a HOME that nobody can write', async () => {
    const cwd = makeTempDir('cwd', { forUser: 'nobody' });
    const result = await runCli([], { cwd, entry, asUser: 'nobody' });
    expect(result.code).toBe(0);
    const seen = result.json<Record<string, unknown>>();
    expect(seen.uid).toBe(65534);
    expect(String(seen.home)).toMatch(/envlock-home-/);
  });

  it('reports a JSON parse failure with the output', async () => {
    const result = await runCli([], { cwd: makeTempDir('cwd'), entry: join(scripts, 'missing.cjs') });
    expect(result.code).toBe(1);
    expect(() => result.json()).toThrow(/stdout is not JSON/);
  });
});
