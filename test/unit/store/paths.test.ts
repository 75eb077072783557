import { describe, expect, it } from 'vitest';
import { storeRoots } from '../../../core/store/paths.js';

const base = { cwd: '/w', home: '/home/u', storeOverride: undefined as string | undefined };

describe('storeRoots', () => {
  it('defaults to $HOME/.local/share/envlock with no read-only stores', () => {
    expect(storeRoots({ ...base, env: {} })).toEqual({ writable: '/home/u/.local/share/envlock', readOnly: [] });
  });

  it('uses an absolute XDG_DATA_HOME and ignores a relative one', () => {
    expect(storeRoots({ ...base, env: { XDG_DATA_HOME: '/data' } }).writable).toBe('/data/envlock');
    expect(storeRoots({ ...base, env: { XDG_DATA_HOME: 'rel' } }).writable).toBe('/home/u/.local/share/envlock');
  });

  it('prefers --store over ENVLOCK_STORE over XDG, resolving relative paths against cwd', () => {
    const env = { ENVLOCK_STORE: 'envstore', XDG_DATA_HOME: '/data' };
    expect(storeRoots({ ...base, env }).writable).toBe('/w/envstore');
    expect(storeRoots({ ...base, env, storeOverride: '/flag' }).writable).toBe('/flag');
  });

  it('splits ENVLOCK_STORE_RO on colons, ignoring empty parts, duplicates and the writable store', () => {
    const env = { ENVLOCK_STORE: '/mine', ENVLOCK_STORE_RO: ':/site/a::/site/b:/site/a:/mine:' };
    expect(storeRoots({ ...base, env }).readOnly).toEqual(['/site/a', '/site/b']);
  });
});
