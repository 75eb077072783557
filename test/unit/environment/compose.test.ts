import { describe, expect, it } from 'vitest';
import { composeEnvironment, DEFAULT_PATH, parseEnvList } from '../../../core/environment/compose.js';

const noEdits = { env: {}, prependPath: {}, appendPath: {}, unset: [] };

describe('composeEnvironment', () => {
  it('starts from the image Env and keeps a default PATH when the image has none', () => {
    const env = composeEnvironment({ imageEnv: ['A=1', 'B=x=y'], host: {}, decl: noEdits });
    expect(Object.fromEntries(env)).toEqual({ A: '1', B: 'x=y', PATH: DEFAULT_PATH });
  });

  it('passes scheduler, locale and terminal variables from the host but not arbitrary ones', () => {
    const env = composeEnvironment({
      imageEnv: [],
      host: { SLURM_JOB_ID: '42', LC_ALL: 'C', TERM: 'xterm', SECRET_TOKEN: 'no', LD_PRELOAD: '/evil.so', PATH: '/host/bin' },
      decl: noEdits,
    });
    expect(env.get('SLURM_JOB_ID')).toBe('42');
    expect(env.get('LC_ALL')).toBe('C');
    expect(env.get('TERM')).toBe('xterm');
    expect(env.has('SECRET_TOKEN')).toBe(false);
    expect(env.has('LD_PRELOAD')).toBe(false);
    expect(env.get('PATH')).toBe(DEFAULT_PATH);
  });

  it('applies setenv, prepend-path, append-path and unset in the modulefile order', () => {
    const env = composeEnvironment({
      imageEnv: ['PATH=/usr/bin:/bin', 'DROP=me', 'MANPATH='],
      host: {},
      decl: {
        env: { OMP_NUM_THREADS: '8' },
        prependPath: { PATH: ['/opt/a/bin', '/opt/b/bin'], NEWVAR: ['/x'] },
        appendPath: { MANPATH: ['/opt/man'], PATH: ['/last'] },
        unset: ['DROP'],
      },
    });
    expect(env.get('PATH')).toBe('/opt/a/bin:/opt/b/bin:/usr/bin:/bin:/last');
    expect(env.get('NEWVAR')).toBe('/x');
    expect(env.get('MANPATH')).toBe('/opt/man');
    expect(env.get('OMP_NUM_THREADS')).toBe('8');
    expect(env.has('DROP')).toBe(false);
  });

  it('lets --env overrides win over everything, markers over the declaration', () => {
    const env = composeEnvironment({
      imageEnv: ['X=image'],
      host: {},
      decl: { ...noEdits, env: { X: 'decl', ENVLOCK_ENV: 'fake' } },
      markers: { ENVLOCK_ENV: 'real' },
      overrides: { X: 'flag' },
    });
    expect(env.get('X')).toBe('flag');
    expect(env.get('ENVLOCK_ENV')).toBe('real');
  });

  it('parses Env lists with later duplicates winning and malformed items ignored', () => {
    expect(Object.fromEntries(parseEnvList(['A=1', 'A=2', 'noequals', '=bad']))).toEqual({ A: '2' });
  });
});
