// Reading envlock.lock: the version is read first, every field is checked, and each failure
// is a LOCK_* error naming the file and the exact field, with the exit status the table fixes.

import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { parseLockfile, readLockfile, sniffVersion } from '../../../lockfiles/parse.js';
import { GOLDEN, rejected, sampleLock, thrown } from './sample.js';

const golden = readFileSync(GOLDEN, 'utf8');
const DIGEST = /sha256:[0-9a-f]{64}/;

/** The golden text with its first match of `pattern` replaced. */
function edited(pattern: string | RegExp, replacement: string): string {
  const text = golden.replace(pattern, replacement);
  if (text === golden) throw new Error(`fixture edit did not apply: ${pattern}`);
  return text;
}

function invalid(text: string) {
  const error = thrown(() => parseLockfile(text, 'envlock.lock'));
  expect(error.code).toBe('LOCK_INVALID');
  expect(error.exitCode).toBe(1);
  expect(error.hint).toBe('Run `envlock lock` to write it again; envlock.lock is generated and must not be edited by hand.');
  return error;
}

describe('the version field', () => {
  test('a newer format is refused with LOCK_VERSION_UNSUPPORTED', () => {
    const error = thrown(() => parseLockfile(edited('version = 1', 'version = 2'), 'envlock.lock'));
    expect(error.code).toBe('LOCK_VERSION_UNSUPPORTED');
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe('envlock.lock was written by a newer envlock (format 2); this envlock reads format 1.');
    expect(error.hint).toBe('Upgrade envlock to a release that reads lockfile format 2.');
  });

  test('the version is checked before any other field, so new fields do not hide it', () => {
    const text = edited('version = 1', 'version = 3\nsignature = "new-in-3"').replace(DIGEST, 'blake3:abc');
    const error = thrown(() => parseLockfile(text, 'envlock.lock'));
    expect(error.code).toBe('LOCK_VERSION_UNSUPPORTED');
    expect(error.message).toContain('(format 3)');
  });

  test('a newer format that is not even TOML this envlock can read is still called newer', () => {
    const text = 'version = 7\nenvlock-version = "9.0.0"\n[[environment]]\nname = {{ future syntax }}\n';
    const error = thrown(() => parseLockfile(text, 'envlock.lock'));
    expect(error.code).toBe('LOCK_VERSION_UNSUPPORTED');
    expect(error.message).toBe('envlock.lock was written by a newer envlock (format 7); this envlock reads format 1.');
  });

  test('a version beyond 2^53 is still a newer format', () => {
    const error = thrown(() => parseLockfile(edited('version = 1', 'version = 9007199254740993'), 'envlock.lock'));
    expect(error.code).toBe('LOCK_VERSION_UNSUPPORTED');
    expect(error.message).toContain('(format 9007199254740993)');
    const huge = thrown(() => parseLockfile(edited('version = 1', 'version = 99999999999999999999'), 'envlock.lock'));
    expect(huge.code).toBe('LOCK_VERSION_UNSUPPORTED');
    expect(huge.message).toContain('(format 99999999999999999999)');
  });

  test('a missing version is LOCK_INVALID', () => {
    expect(invalid(edited('version = 1\n', '')).message).toBe('envlock.lock is not a valid lockfile: version is missing.');
  });

  test('a version that is not an integer is LOCK_INVALID', () => {
    expect(invalid(edited('version = 1', 'version = "1"')).message).toBe('envlock.lock is not a valid lockfile: version must be an integer, not "1".');
    expect(invalid(edited('version = 1', 'version = 1.5')).message).toBe('envlock.lock is not a valid lockfile: version must be an integer, not number.');
  });

  test('format 0 does not exist', () => {
    expect(invalid(edited('version = 1', 'version = 0')).message).toBe(
      'envlock.lock is not a valid lockfile: version is 0, which is not a lockfile format (formats start at 1).',
    );
  });

  test('sniffVersion reads only the top-level table', () => {
    expect(sniffVersion('# c\nversion = 12 # comment\n')).toBe(12n);
    expect(sniffVersion('[[environment]]\nversion = 12\n')).toBeUndefined();
    expect(sniffVersion('name = "x"\n')).toBeUndefined();
  });
});

describe('LOCK_SYNTAX', () => {
  test('names the line and column of the error', () => {
    const text = edited('cpu = "x86-64-v2"', 'cpu = x86-64-v2');
    const line = text.split('\n').findIndex((l) => l.startsWith('cpu = ')) + 1;
    const error = thrown(() => parseLockfile(text, 'envlock.lock'));
    expect(error.code).toBe('LOCK_SYNTAX');
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(new RegExp(`^envlock\\.lock is not valid TOML at line ${line}, column 7: .+\\.$`));
    expect(error.message).not.toContain('\n');
    expect(error.details).toMatchObject({ line, column: 7 });
    expect(error.hint).toContain('merge-conflict markers');
  });

  test('merge-conflict markers are a syntax error, not a crash', () => {
    const text = edited('[[environment]]\nname = "hydrology"', '<<<<<<< HEAD\n[[environment]]\nname = "hydrology"');
    expect(thrown(() => parseLockfile(text)).code).toBe('LOCK_SYNTAX');
  });
});

describe('LOCK_INVALID names the field', () => {
  test.each([
    ['an unknown top-level key', ['envlock-version =', 'generated-at = 2026-01-01\nenvlock-version ='], 'generated-at is not a lockfile field'],
    ['an unknown key with a near miss', ['resolved =', 'resolve = "x"\nresolved ='], 'environment[0].resolve is not a lockfile field (did you mean `resolved`?)'],
    ['an unknown descriptor key', ['size = 1530 }', 'size = 1530, urls = [] }'], 'environment[0].index.urls is not a lockfile field'],
    ['a bad declaration hash', [/declaration-hash = "[^"]*"/, 'declaration-hash = "sha256:XYZ"'], 'declaration-hash must be a sha256 or sha512 digest (sha256:<64 lower-case hex digits>), not "sha256:XYZ"'],
    ['an upper-case layer digest', [/(layers = \[\n {2}\{ [^}]*?digest = ")sha256:1468add5/, '$1sha256:1468ADD5'], 'environment[0].image[0].layers[0].digest must be a sha256 or sha512 digest'],
    ['a negative size', ['size = 2300', 'size = -1'], 'environment[0].image[0].config.size must be a non-negative integer, not -1'],
    ['a fractional size', ['size = 2300', 'size = 2300.5'], 'environment[0].image[0].config.size must be a non-negative integer, not 2300.5'],
    ['a size beyond 2^53', ['size = 2300', 'size = 9007199254740993'], 'environment[0].image[0].config.size is larger than 2^53 - 1 bytes, which envlock cannot count exactly'],
    ['a size beyond 2^64', ['size = 2300', 'size = 18446744073709551617'], 'environment[0].image[0].config.size is larger than 2^53 - 1 bytes'],
    ['a string size', ['size = 2300', 'size = "2300"'], 'environment[0].image[0].config.size must be a non-negative integer, not "2300"'],
    ['an empty media type', ['media-type = "application/vnd.oci.image.config.v1+json"', 'media-type = ""'], 'environment[0].image[0].config.media-type must not be empty'],
    ['a media type with spaces', ['media-type = "application/vnd.oci.image.config.v1+json"', 'media-type = "text / plain"'], 'environment[0].image[0].config.media-type must be a media type'],
    ['a missing config', [/config = \{[^\n]*\n/, ''], 'environment[0].image[0].config is missing'],
    ['a bad image platform', ['platform = "linux/amd64/v2"', 'platform = "linux"'], 'environment[0].image[0].platform must be a platform os/arch or os/arch/variant, not "linux"'],
    ['a bad declared platform', ['platforms = ["linux/amd64", "linux/arm64"]', 'platforms = ["linux/amd64", "Linux/ARM64"]'], 'environment[0].platforms[1] must be a platform'],
    ['a repeated platform', ['platforms = ["linux/amd64", "linux/arm64"]', 'platforms = ["linux/amd64", "linux/amd64"]'], 'environment[0].platforms[1] repeats "linux/amd64"'],
    ['a repeated feature', ['features = ["asimd", "fp"]', 'features = ["asimd", "asimd"]'], 'environment[0].image[3].features[1] repeats "asimd"'],
    ['a non-string feature', ['features = ["asimd", "fp"]', 'features = [3, 4]'], 'environment[0].image[3].features[0] must be a string, not 3'],
    ['a missing host', [/host = \{ devices = \["nvidia[^\n]*\n/, ''], 'environment[1].host is missing'],
    ['a host gpu that is not a string', ['gpu = "nvidia"', 'gpu = true'], 'environment[1].host.gpu must be a string, not true'],
    ['an empty environment name', ['name = "hydrology"', 'name = ""'], 'environment[1].name must not be empty'],
    ['a repeated environment name', ['name = "hydrology"', 'name = "chemistry"'], 'environment[1].name repeats the environment name "chemistry"'],
    ['a date where a string belongs', ['envlock-version = "0.1.0"', 'envlock-version = 2026-11-29'], 'envlock-version must be a string, not a date'],
    ['an image table that is not an array', [/\[\[environment\.image\]\]\nplatform = "linux\/amd64"\n/, '[environment.image]\nplatform = "linux/amd64"\n'], 'environment[1].image must be an array, not a table'],
    ['layers that are not an array', [/layers = \[\n(?: {2}[^\n]*\n)*\]\n*$/, 'layers = "none"\n'], 'environment[1].image[0].layers must be an array, not "none"'],
  ] as Array<[string, [string | RegExp, string], string]>)('%s', (_, [pattern, replacement], expected) => {
    const error = invalid(edited(pattern, replacement));
    expect(error.message.startsWith(`envlock.lock is not a valid lockfile: ${expected}`)).toBe(true);
    expect(error.message.endsWith('.')).toBe(true);
  });

  test('the field path is also in the details for --json', () => {
    const error = invalid(edited('size = 2300', 'size = -1'));
    expect(error.details).toEqual({ file: 'envlock.lock', field: 'environment[0].image[0].config.size' });
  });
});

describe('readLockfile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'envlock-lockfile-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('returns undefined when there is no envlock.lock', async () => {
    expect(await readLockfile(dir)).toBeUndefined();
  });

  test('reads the model from dir/envlock.lock', async () => {
    await writeFile(path.join(dir, 'envlock.lock'), golden);
    expect(await readLockfile(dir)).toStrictEqual(sampleLock());
  });

  test('names the full path in errors', async () => {
    await writeFile(path.join(dir, 'envlock.lock'), golden.replace('version = 1', 'version = 2'));
    const error = await rejected(readLockfile(dir));
    expect(error.code).toBe('LOCK_VERSION_UNSUPPORTED');
    expect(error.message.startsWith(`${path.join(dir, 'envlock.lock')} was written by a newer envlock`)).toBe(true);
  });

  test('bytes that are not UTF-8 are LOCK_SYNTAX', async () => {
    await writeFile(path.join(dir, 'envlock.lock'), Buffer.from([0x76, 0x3d, 0xff, 0xfe, 0x0a]));
    const error = await rejected(readLockfile(dir));
    expect(error.code).toBe('LOCK_SYNTAX');
    expect(error.message).toBe(`${path.join(dir, 'envlock.lock')} is not UTF-8 text.`);
  });

  test('a directory in the way is an IO error, not "absent"', async () => {
    await mkdir(path.join(dir, 'envlock.lock'));
    const error = await rejected(readLockfile(dir));
    expect(error.code).toBe('IO');
    expect(error.message).toMatch(/^Could not read .*envlock\.lock: /);
  });
});
