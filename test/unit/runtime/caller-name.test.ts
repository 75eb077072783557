// The caller's name for the passwd entry inside the environment: /etc/passwd's line for the uid,
// else what NSS says; either way the name `id -un` prints on this host.

import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { callerName, nameInPasswd } from '../../../core/runtime/caller-name.js';

const PASSWD = [
  '# a comment: 0:0:',
  'root:x:0:0:root:/root:/bin/bash',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'ten:x:10:0::/:/bin/sh',
  'gid-only:x:77:1000::/:/bin/sh',
  'broken-line',
  '',
  'late:x:1000:1000::/home/late:/bin/bash',
].join('\n');

describe('nameInPasswd', () => {
  it('finds the line whose third field is the uid, exactly', () => {
    expect(nameInPasswd(PASSWD, 0)).toBe('root');
    expect(nameInPasswd(PASSWD, 1)).toBe('daemon');
    expect(nameInPasswd(PASSWD, 10)).toBe('ten');
    expect(nameInPasswd(PASSWD, 1000)).toBe('late');
  });

  it('answers nothing for a uid no line has (a gid or a prefix is not a match)', () => {
    expect(nameInPasswd(PASSWD, 100)).toBeUndefined();
    expect(nameInPasswd(PASSWD, 2)).toBeUndefined();
    expect(nameInPasswd('', 0)).toBeUndefined();
  });
});

describe('callerName', () => {
  it('is the name this host gives the caller', () => {
    expect(callerName()).toBe(os.userInfo().username);
    expect(callerName()).toBe(execFileSync('id', ['-un'], { encoding: 'utf8' }).trim());
  });
});
