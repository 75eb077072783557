// The upward search for a project's declaration: nearest first, never above $HOME from inside it.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { discoverProjectDir, searchedDirectories } from '../../../core/project-dir.js';

let dir: string;
beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'envlock-projdir-')));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('discoverProjectDir', () => {
  it('finds the nearest directory with envlock.yaml or envlock.toml', () => {
    fs.mkdirSync(path.join(dir, 'p/inner/deep'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'p/envlock.yaml'), '');
    fs.writeFileSync(path.join(dir, 'p/inner/envlock.toml'), '');
    expect(discoverProjectDir(path.join(dir, 'p/inner/deep'), undefined)).toBe(path.join(dir, 'p/inner'));
    expect(discoverProjectDir(path.join(dir, 'p'), undefined)).toBe(path.join(dir, 'p'));
  });

  it('ignores a directory named like the declaration', () => {
    fs.mkdirSync(path.join(dir, 'p/envlock.yaml'), { recursive: true });
    expect(discoverProjectDir(path.join(dir, 'p'), dir)).toBeUndefined();
  });

  it('stops at $HOME when the search starts inside it, and at / otherwise', () => {
    const home = path.join(dir, 'home');
    fs.mkdirSync(path.join(home, 'a'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'envlock.yaml'), '');
    expect(discoverProjectDir(path.join(home, 'a'), home)).toBeUndefined();
    expect(searchedDirectories(path.join(home, 'a'), home)).toEqual([path.join(home, 'a'), home]);
    expect(discoverProjectDir(path.join(home, 'a'), path.join(dir, 'other'))).toBe(dir);
    expect(searchedDirectories('/usr/share', '/')).toEqual(['/usr/share', '/usr', '/']);
  });
});
