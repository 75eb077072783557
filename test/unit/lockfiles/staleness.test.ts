// Stale reasons for each kind of change, snapshotted as exact string lists, and assertFresh's
// LOCK_MISSING / LOCK_STALE errors with exit status 3.

import { describe, expect, test } from 'vitest';
import type { Declaration } from '../../../core/declaration/model.js';
import { declarationHash } from '../../../lockfiles/declaration-hash.js';
import { assertFresh, staleReasons } from '../../../lockfiles/staleness.js';
import { environmentDecl, sampleDeclaration, sampleLock, thrown } from './sample.js';

function changed(edit: (decl: Declaration) => void): Declaration {
  const decl = sampleDeclaration();
  edit(decl);
  return decl;
}

describe('staleReasons', () => {
  test('is empty when the lock matches the declaration', () => {
    expect(staleReasons(sampleDeclaration(), sampleLock())).toEqual([]);
  });

  test('run-time fields need no re-lock', () => {
    const decl = changed((d) => {
      d.environments[0]!.env = { OMP_NUM_THREADS: '64' };
      d.environments[1]!.binds = [{ source: '/data', target: '/data', readOnly: true }];
      d.environments[1]!.commands = ['hydro-run'];
      d.environments[0]!.platforms.reverse();
    });
    expect(staleReasons(decl, sampleLock())).toEqual([]);
  });

  test('no lock at all', () => {
    expect(staleReasons(sampleDeclaration(), undefined)).toEqual(['no envlock.lock exists']);
  });

  test.each<[string, (d: Declaration) => void, string[]]>([
    ['an added environment', (d) => void d.environments.push(environmentDecl({ name: 'analysis', image: 'busybox:1.36' })), ['environment `analysis` was added']],
    ['a removed environment', (d) => void d.environments.pop(), ['environment `hydrology` was removed']],
    ['a renamed environment', (d) => void (d.environments[1]!.name = 'hydro'), ['environment `hydro` was added', 'environment `hydrology` was removed']],
    ['a changed image', (d) => void (d.environments[1]!.image = 'oci:images/hydro:1.1'), ['image of `hydrology` changed from oci:images/hydro:1.0 to oci:images/hydro:1.1']],
    ['a removed platform', (d) => void (d.environments[0]!.platforms = ['linux/amd64']), ['platform linux/arm64 is no longer declared for `chemistry`']],
    ['an added platform', (d) => void d.environments[0]!.platforms.push('linux/ppc64le'), ['platform linux/ppc64le was added for `chemistry`']],
    ['a changed cpu minimum', (d) => void (d.environments[0]!.cpu = 'x86-64-v3'), ['cpu minimum of `chemistry` changed from x86-64-v2 to x86-64-v3']],
    ['a new cpu minimum', (d) => void (d.environments[1]!.cpu = 'haswell'), ['cpu minimum of `hydrology` changed from none to haswell']],
    ['a dropped cpu minimum', (d) => void (d.environments[0]!.cpu = undefined), ['cpu minimum of `chemistry` changed from x86-64-v2 to none']],
    ['changed host devices', (d) => void d.environments[1]!.host.devices.push('nvidia.com/gpu=0'), ['host devices of `hydrology` changed']],
    ['a changed host gpu', (d) => void (d.environments[1]!.host.gpu = 'auto'), ['host gpu of `hydrology` changed from nvidia to auto']],
    ['a changed host mpi', (d) => void (d.environments[0]!.host.mpi = 'none'), ['host mpi of `chemistry` changed from host to none']],
    ['changed host libraries', (d) => void (d.environments[0]!.host.libraries = []), ['host libraries of `chemistry` changed']],
  ])('%s', (_, edit, expected) => {
    expect(staleReasons(changed(edit), sampleLock())).toEqual(expected);
  });

  test('many changes at once come in environment order, then field order', () => {
    const decl = changed((d) => {
      d.environments.push(environmentDecl({ name: 'Zeta', image: 'busybox:1' }));
      d.environments.push(environmentDecl({ name: 'analysis', image: 'busybox:1' }));
      const chem = d.environments[0]!;
      chem.host.libraries = [];
      chem.cpu = 'x86-64-v4';
      chem.platforms = ['linux/arm64/v8', 'linux/amd64'];
      chem.image = '127.0.0.1:5000/chem/toolkit:3.0';
      d.environments.splice(1, 1);
    });
    expect(staleReasons(decl, sampleLock())).toEqual([
      'environment `Zeta` was added',
      'environment `analysis` was added',
      'image of `chemistry` changed from 127.0.0.1:5000/chem/toolkit:2.1 to 127.0.0.1:5000/chem/toolkit:3.0',
      'platform linux/arm64 is no longer declared for `chemistry`',
      'platform linux/arm64/v8 was added for `chemistry`',
      'cpu minimum of `chemistry` changed from x86-64-v2 to x86-64-v4',
      'host libraries of `chemistry` changed',
      'environment `hydrology` was removed',
    ]);
  });

  test('environment order is by code point, not by the Slovak locale ("ch" after "h")', () => {
    const decl = changed((d) => {
      d.environments[0]!.image = 'chem:2';
      d.environments[1]!.image = 'hydro:2';
    });
    expect(staleReasons(decl, sampleLock()).map((r) => r.split(' ')[2])).toEqual(['`chemistry`', '`hydrology`']);
  });

  test('a lock whose recorded hash differs though every field matches is stale', () => {
    const lock = sampleLock();
    lock.declarationHash = `sha256:${'1'.repeat(64)}`;
    expect(staleReasons(sampleDeclaration(), lock)).toEqual(['declaration changed since the lock was written']);
  });

  test('the hash reason is not added when field reasons already explain the change', () => {
    const decl = changed((d) => void (d.environments[0]!.cpu = 'x86-64-v3'));
    expect(declarationHash(decl)).not.toBe(sampleLock().declarationHash);
    expect(staleReasons(decl, sampleLock())).toHaveLength(1);
  });

  test('a lock of an older format is stale with a format reason first', () => {
    const lock = { ...sampleLock(), version: 0 } as unknown as Parameters<typeof staleReasons>[1];
    expect(staleReasons(sampleDeclaration(), lock)).toEqual(['lockfile format 0 is older than format 1, which this envlock writes']);
  });
});

describe('assertFresh', () => {
  test('passes quietly when the lock is fresh', () => {
    expect(() => assertFresh(sampleDeclaration(), sampleLock(), { command: 'run' })).not.toThrow();
  });

  test('LOCK_MISSING with exit status 3 when there is no lock', () => {
    const error = thrown(() => assertFresh(sampleDeclaration(), undefined, { command: 'run' }));
    expect(error.code).toBe('LOCK_MISSING');
    expect(error.exitCode).toBe(3);
    expect(error.message).toBe('No envlock.lock exists beside envlock.yaml, and `envlock run` needs one.');
    expect(error.hint).toBe('Run `envlock lock` to create it, then run `envlock run` again.');
    expect(error.details).toEqual({ file: '/srv/project/envlock.lock', declaration: '/srv/project/envlock.yaml', reasons: ['no envlock.lock exists'] });
  });

  test('LOCK_STALE with exit status 3 lists every reason', () => {
    const decl = changed((d) => {
      d.environments[0]!.cpu = 'x86-64-v3';
      d.environments.pop();
    });
    const error = thrown(() => assertFresh(decl, sampleLock(), { command: 'pull' }));
    expect(error.code).toBe('LOCK_STALE');
    expect(error.exitCode).toBe(3);
    expect(error.message).toBe(
      'envlock.lock is out of date with envlock.yaml: cpu minimum of `chemistry` changed from x86-64-v2 to x86-64-v3; environment `hydrology` was removed.',
    );
    expect(error.hint).toBe('Run `envlock lock` to update it, then run `envlock pull` again.');
    expect(error.details?.reasons).toHaveLength(2);
  });

  test('under `lock --check` the hint does not ask to run the check again', () => {
    const decl = changed((d) => void d.environments.pop());
    const error = thrown(() => assertFresh(decl, sampleLock(), { command: 'lock --check' }));
    expect(error.code).toBe('LOCK_STALE');
    expect(error.hint).toBe('Run `envlock lock` to update it.');
  });
});
