// `envlock init` in-process: what it writes, that it reads back, and when it refuses.

import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseArgs } from '../../../cli/args.js';
import { command, nameFromImage } from '../../../cli/commands/init.js';
import { makeContext } from '../../../core/context.js';
import { loadDeclaration } from '../../../core/declaration/load.js';
import { ENVIRONMENT_KEYS, HOST_KEYS } from '../../../core/declaration/environment.js';
import { EnvlockError } from '../../../core/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'envlock-init-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function init(...argv: string[]) {
  return command.run(parseArgs(argv, command), makeContext({ cwd: dir, env: { HOME: dir } }));
}

async function initError(...argv: string[]): Promise<EnvlockError> {
  const error = await init(...argv).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(EnvlockError);
  return error as EnvlockError;
}

describe('envlock init without --image', () => {
  it.each(['yaml', 'toml'] as const)('writes a valid, fully commented envlock.%s', async (format) => {
    const outcome = await init('--format', format);
    const file = path.join(dir, `envlock.${format}`);
    expect(outcome.result).toEqual({ file, format, environment: 'default', replaced: [] });
    expect(outcome.text).toBe(`Wrote envlock.${format} with environment \`default\`. Set the image of \`default\`, then run \`envlock lock\`.\n`);
    const decl = await loadDeclaration(dir);
    expect(decl.format).toBe(format);
    expect(decl.environments.map((e) => [e.name, e.image, e.platforms])).toEqual([['default', 'debian:bookworm-slim', []]]);
    // Every key is explained in the file, even those left commented out.
    const text = await readFile(file, 'utf8');
    for (const key of [...ENVIRONMENT_KEYS, ...HOST_KEYS]) expect(text).toMatch(new RegExp(`^\\s*#?\\s*(\\[.*\\.)?${key}\\]?\\s*[:=\\]]`, 'm'));
    expect(text.split('\n').filter((l) => l.trimStart().startsWith('#')).length).toBeGreaterThan(20);
    expect(text).toMatch(/# An example to replace with the image you need\.\n\s*image/);
    // Nothing but the new file is left behind (the temp file was renamed).
    expect(await readdir(dir)).toEqual([`envlock.${format}`]);
  });

  it('writes YAML by default', async () => {
    expect((await init()).result.format).toBe('yaml');
  });

  it('gives YAML and TOML templates that read back to the same environments', async () => {
    await init('--image', 'registry.example.org/lab/tool:2', '--platform', 'linux/x86_64', '--platform', 'linux/arm64');
    const yaml = await loadDeclaration(dir);
    await init('--image', 'registry.example.org/lab/tool:2', '--platform', 'linux/x86_64', '--platform', 'linux/arm64', '--format', 'toml', '--force');
    const toml = await loadDeclaration(dir);
    expect(toml.format).toBe('toml');
    expect(toml.environments).toEqual(yaml.environments);
  });
});

describe('envlock init --image', () => {
  it('names the environment after the repository and records the platforms', async () => {
    const outcome = await init('--image', 'registry.example.org/science/PyTorch_GPU:2.3@sha256:' + 'a'.repeat(64), '--platform', 'linux/aarch64');
    expect(outcome.result.environment).toBe('pytorch_gpu');
    expect(outcome.text).toContain('Next: run `envlock lock`');
    const [env] = (await loadDeclaration(dir)).environments;
    expect(env?.image).toBe('registry.example.org/science/PyTorch_GPU:2.3@sha256:' + 'a'.repeat(64));
    expect(env?.platforms).toEqual(['linux/arm64']);
    expect(await readFile(path.join(dir, 'envlock.yaml'), 'utf8')).not.toContain('An example to replace');
  });

  it('uses --name, also for names TOML must quote', async () => {
    const outcome = await init('--image', 'python:3.12', '--name', 'py3.12', '--format', 'toml');
    expect(outcome.result.environment).toBe('py3.12');
    expect((await loadDeclaration(dir)).environments.map((e) => e.name)).toEqual(['py3.12']);
  });

  it.each([
    ['python:3.12-slim', 'python'],
    ['localhost:5000/tools', 'tools'],
    ['oci:./layouts/my-image:1.0', 'my-image'],
    ['oci-archive:build/app.tar:latest', 'app'],
    ['registry.example.org/---:x', 'default'],
  ])('derives the name of %s as %s', (image, name) => {
    expect(nameFromImage(image)).toBe(name);
  });

  it('refuses an image with white space and a bad --name as usage errors', async () => {
    const image = await initError('--image', 'py thon');
    expect(image.code).toBe('FLAG_VALUE');
    expect(image.exitCode).toBe(2);
    const name = await initError('--name', 'My Env');
    expect(name.code).toBe('FLAG_VALUE');
    expect(name.exitCode).toBe(2);
    expect(name.message).toContain('`My Env`');
    expect(name.hint).toContain('`my-env`');
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses an unknown platform with PLATFORM_INVALID and writes nothing', async () => {
    const error = await initError('--platform', 'linux/amd46');
    expect(error.code).toBe('PLATFORM_INVALID');
    expect(error.message).toContain('Did you mean `linux/amd64`?');
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('envlock init with an existing declaration', () => {
  it.each(['envlock.yaml', 'envlock.toml'])('refuses to touch %s without --force', async (existing) => {
    await writeFile(path.join(dir, existing), 'mine\n');
    const error = await initError();
    expect(error.code).toBe('DECLARATION_EXISTS');
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe(`${existing} already exists in ${dir}; envlock init did not touch it.`);
    expect(error.hint).toContain('--force');
    expect(await readFile(path.join(dir, existing), 'utf8')).toBe('mine\n');
  });

  it('replaces it with --force, removing the other format so the project stays unambiguous', async () => {
    await writeFile(path.join(dir, 'envlock.yaml'), 'old\n');
    await writeFile(path.join(dir, 'envlock.toml'), 'old\n');
    const outcome = await init('--force', '--format', 'toml', '--image', 'busybox');
    expect(outcome.result.replaced).toEqual([path.join(dir, 'envlock.yaml'), path.join(dir, 'envlock.toml')]);
    expect(outcome.text).toContain('(replaced envlock.yaml and envlock.toml)');
    expect(await readdir(dir)).toEqual(['envlock.toml']);
    expect((await loadDeclaration(dir)).environments[0]?.name).toBe('busybox');
  });
});
