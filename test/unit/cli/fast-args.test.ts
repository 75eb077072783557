// The fast paths' command-line scan (cli/fast/args.ts) accepts only what it fully understands,
// in the forms the full parser accepts; everything else goes to the full CLI.

import { describe, expect, it } from 'vitest';
import { scanArgs } from '../../../cli/fast/args.js';

const lock = (argv: string[]) => scanArgs(argv, 'lock', { booleans: ['check'] });
const pull = (argv: string[]) => scanArgs(argv, 'pull', { booleans: ['frozen', 'all-platforms'], lists: ['platform'], positionals: true });

describe('scanArgs', () => {
  it('takes global flags before and after the command, in both spellings', () => {
    const got = lock(['-C', 'dir', '--json', 'lock', '--offline', '--check', '-q', '--store=s']);
    expect(got).toMatchObject({ command: 'lock', directory: 'dir', json: true, offline: true, quiet: true, store: 's' });
    expect(got?.booleans.has('check')).toBe(true);
    expect(lock(['--directory=dir', 'lock'])?.directory).toBe('dir');
  });

  it('collects positionals and repeated list flags of the command', () => {
    const got = pull(['pull', 'a', '--platform', 'linux/amd64', 'b', '--platform=linux/arm64', '--frozen']);
    expect(got?.positionals).toEqual(['a', 'b']);
    expect(got?.lists.get('platform')).toEqual(['linux/amd64', 'linux/arm64']);
    expect(got?.booleans.has('frozen')).toBe(true);
  });

  it('gives up on anything it does not know, and on repeats the full parser may treat otherwise', () => {
    for (const argv of [
      ['lock', '--check', '--verbose'],
      ['lock', '--update', 'x'],
      ['lock', 'extra'],
      ['lock', '--check', '--check'],
      ['lock', '--check=yes'],
      ['-C', 'a', '-C', 'b', 'lock'],
      ['-C'],
      ['-C', '', 'lock'],
      ['-qC', 'dir', 'lock'],
      ['lock', '--', '--check'],
      ['--check', 'lock'],
      ['run', 'lock'],
      [],
    ]) expect(lock(argv), argv.join(' ')).toBeUndefined();
    expect(pull(['pull', '-1'])).toBeUndefined();
  });
});
