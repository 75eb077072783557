// The declaration hash covers exactly what changes resolution (image, platforms, cpu, host)
// and nothing read at run time (env edits, binds, commands, provides, description).

import { describe, expect, test } from 'vitest';
import type { Declaration, EnvironmentDecl } from '../../../core/declaration/model.js';
import { canonicalJson, canonicallyEqual, declarationHash, environmentInputs } from '../../../lockfiles/declaration-hash.js';
import { sampleLock } from './sample.js';
import { sampleDeclaration } from './sample.js';

function withChemistry(change: (env: EnvironmentDecl) => void): Declaration {
  const decl = sampleDeclaration();
  change(decl.environments[0]!);
  return decl;
}

const base = declarationHash(sampleDeclaration());

describe('declarationHash', () => {
  test('is a fixed sha256 digest for a fixed declaration (changing it makes every lock stale)', () => {
    expect(base).toBe('sha256:20730bbd49b0369916935f5c98cf2c3021a1d83d91d27adb25c8136d304e456b');
  });

  test.each<[string, (env: EnvironmentDecl) => void]>([
    ['the environment variables', (env) => void (env.env = { OMP_NUM_THREADS: '8' })],
    ['the path edits', (env) => void (env.prependPath = { PATH: ['/opt/bin'] })],
    ['the unset list', (env) => void (env.unset = ['PYTHONPATH'])],
    ['the binds', (env) => void (env.binds = [{ source: '/scratch', target: '/scratch', readOnly: false }])],
    ['the commands', (env) => void (env.commands = ['python3', 'pip'])],
    ['the provides', (env) => void (env.provides = ['python/3.11'])],
    ['the description', (env) => void (env.description = 'Chemistry tools')],
    ['the order of platforms', (env) => void env.platforms.reverse()],
  ])('does not change with %s', (_, change) => {
    expect(declarationHash(withChemistry(change))).toBe(base);
  });

  test('does not change with the order of host devices or libraries', () => {
    const one = withChemistry((env) => {
      env.host.devices = ['a.com/x=1', 'b.com/x=1'];
      env.host.libraries = ['libmpi.so.40', 'libz.so.1'];
    });
    const other = withChemistry((env) => {
      env.host.devices = ['b.com/x=1', 'a.com/x=1'];
      env.host.libraries = ['libz.so.1', 'libmpi.so.40'];
    });
    expect(declarationHash(one)).toBe(declarationHash(other));
    expect(declarationHash(one)).not.toBe(base);
  });

  test('does not change with the order of environments or the file it came from', () => {
    const decl = sampleDeclaration();
    decl.environments.reverse();
    decl.file = '/elsewhere/envlock.toml';
    decl.format = 'toml';
    expect(declarationHash(decl)).toBe(base);
  });

  test.each<[string, (env: EnvironmentDecl) => void]>([
    ['the image', (env) => void (env.image = '127.0.0.1:5000/chem/toolkit:2.2')],
    ['a platform', (env) => void env.platforms.pop()],
    ['the cpu minimum', (env) => void (env.cpu = 'x86-64-v3')],
    ['the cpu minimum removed', (env) => void (env.cpu = undefined)],
    ['the host devices', (env) => void (env.host.devices = ['amd.com/gpu=all'])],
    ['the host gpu', (env) => void (env.host.gpu = 'auto')],
    ['the host mpi', (env) => void (env.host.mpi = 'none')],
    ['the host libraries', (env) => void (env.host.libraries = [])],
    ['the name', (env) => void (env.name = 'chem')],
  ])('changes with %s', (_, change) => {
    expect(declarationHash(withChemistry(change))).not.toBe(base);
  });
});

describe('environmentInputs and canonicalJson', () => {
  test('environmentInputs keeps only the resolution inputs, with sets sorted', () => {
    const env = withChemistry((e) => {
      e.platforms = ['linux/arm64', 'linux/amd64'];
      e.host.devices = ['b.com/x=1', 'a.com/x=1'];
    }).environments[0]!;
    expect(environmentInputs(env)).toStrictEqual({
      name: 'chemistry',
      image: '127.0.0.1:5000/chem/toolkit:2.1',
      platforms: ['linux/amd64', 'linux/arm64'],
      cpu: 'x86-64-v2',
      host: { devices: ['a.com/x=1', 'b.com/x=1'], gpu: 'none', mpi: 'host', libraries: ['libmpi.so.40'] },
    });
  });

  test('canonicalJson sorts keys by code point and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: [1, 'x'], C: { z: null, y: undefined }, ch: true, h: false })).toBe('{"C":{"z":null},"a":[1,"x"],"b":1,"ch":true,"h":false}');
  });

  test('canonicallyEqual agrees with comparing canonicalJson texts', () => {
    const lock = sampleLock();
    const values: unknown[] = [
      lock, lock.environments[0], lock.environments[1], structuredClone(lock.environments[0]),
      { ...lock.environments[0], cpu: undefined }, { ...lock.environments[1], cpu: undefined }, { ...lock.environments[0], images: [] },
      { a: 1, b: undefined }, { a: 1 }, { b: undefined, a: 1 }, { a: '1' }, { a: [1, undefined] }, { a: [1, null] }, { a: [1] }, { a: {} }, { a: [] },
      [], {}, null, 0, '0', false, 'x', [null], [undefined], [[]], [{}], { '': 1 }, { constructor: 1 },
    ];
    for (const a of values) {
      for (const b of values) expect(canonicallyEqual(a, b), `${canonicalJson(a)} vs ${canonicalJson(b)}`).toBe(canonicalJson(a) === canonicalJson(b));
    }
  });
});
