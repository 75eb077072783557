// Finding the declaration in a directory: one file, neither, both, or a near-miss name.

import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findDeclaration, loadDeclaration } from '../../../core/declaration/load.js';
import { EnvlockError } from '../../../core/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'envlock-decl-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<EnvlockError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(EnvlockError);
  return error as EnvlockError;
}

describe('findDeclaration', () => {
  it('finds either format and says which', async () => {
    expect(await findDeclaration(dir)).toBeUndefined();
    await writeFile(path.join(dir, 'envlock.toml'), 'version = 1\n');
    expect(await findDeclaration(dir)).toEqual({ file: path.join(dir, 'envlock.toml'), format: 'toml' });
  });

  it('refuses both files at once, naming both and which to remove', async () => {
    await writeFile(path.join(dir, 'envlock.yaml'), '');
    await writeFile(path.join(dir, 'envlock.toml'), '');
    const error = await rejection(findDeclaration(dir));
    expect(error.code).toBe('DECLARATION_AMBIGUOUS');
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain(path.join(dir, 'envlock.yaml'));
    expect(error.message).toContain(path.join(dir, 'envlock.toml'));
    expect(error.hint).toContain('remove the other');
    expect(error.hint).toContain('rm envlock.toml');
  });

  it('ignores a directory that happens to be called envlock.yaml', async () => {
    await mkdir(path.join(dir, 'envlock.yaml'));
    expect(await findDeclaration(dir)).toBeUndefined();
  });
});

describe('loadDeclaration', () => {
  it('reads and validates the file, resolving binds against its directory and the given home', async () => {
    await writeFile(path.join(dir, 'envlock.yaml'), 'version: 1\nenvironments:\n  e:\n    image: a\n    binds: [data, "~/x:/x"]\n');
    const decl = await loadDeclaration(dir, { home: '/home/someone' });
    expect(decl.file).toBe(path.join(dir, 'envlock.yaml'));
    expect(decl.environments[0]?.binds.map((b) => b.source)).toEqual([path.join(dir, 'data'), '/home/someone/x']);
  });

  it('says how to start when there is no declaration', async () => {
    const error = await rejection(loadDeclaration(dir));
    expect(error.code).toBe('DECLARATION_MISSING');
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe(`No envlock.yaml or envlock.toml in ${dir}.`);
    expect(error.hint).toContain('envlock init');
  });

  it('points at envlock.yml, which it does not read', async () => {
    await writeFile(path.join(dir, 'envlock.yml'), 'version: 1\n');
    const error = await rejection(loadDeclaration(dir));
    expect(error.code).toBe('DECLARATION_MISSING');
    expect(error.hint).toBe('Rename envlock.yml to envlock.yaml; envlock reads only envlock.yaml or envlock.toml.');
  });

  it('names the file in syntax and validation errors', async () => {
    await writeFile(path.join(dir, 'envlock.toml'), 'version = 1\n[environments.e]\nimage = 1\n');
    const error = await rejection(loadDeclaration(dir));
    expect(error.code).toBe('DECLARATION_INVALID');
    expect(error.message).toContain(`${path.join(dir, 'envlock.toml')} is invalid: environments.e.image`);
  });
});
