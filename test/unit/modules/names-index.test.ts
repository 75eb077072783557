// Module names, Lmod-like version order, and the index file format the shell shim reads.

import { describe, expect, it } from 'vitest';
import { compareVersions, highestVersion, isModulePart } from '../../../core/modules/names.js';
import { INDEX_HEADER, parseIndex, serializeIndex, type IndexEntry } from '../../../core/modules/index-file.js';

describe('module names and versions', () => {
  it('accepts the module-name characters and rejects shell characters and dot parts', () => {
    for (const ok of ['analysis', '2.0', 'gcc-12.1_x+y']) expect(isModulePart(ok)).toBe(true);
    for (const bad of ['', '.', '..', 'a b', 'a/b', '$(x)', 'a;b', 'a*', "a'b"]) expect(isModulePart(bad)).toBe(false);
  });

  it('orders digit runs as numbers, as Lmod picks a default', () => {
    expect(compareVersions('3.10', '3.9')).toBe(1);
    expect(compareVersions('2', '1.99')).toBe(1);
    expect(compareVersions('1.0', '1.0.1')).toBe(-1);
    expect(compareVersions('1.2', '1.2')).toBe(0);
    expect(highestVersion(['1.9', '1.10', '1.2'])).toBe('1.10');
    expect(highestVersion([])).toBeUndefined();
  });
});

describe('index file', () => {
  const entries: IndexEntry[] = [
    { name: 'tools', version: '0.1', isDefault: true, lockHex: 'b'.repeat(64), provides: [], commands: ['t'], prepDir: '/cache/dir with space' },
    { name: 'analysis', version: '2.0', isDefault: true, lockHex: 'a'.repeat(64), provides: ['python/3.11', 'python'], commands: ['analysis-tool', 'sh'], prepDir: '.envlock/aaaa' },
  ];

  it('writes a header and sorted space-separated lines with the prepared directory last', () => {
    const text = serializeIndex(entries);
    expect(text).toBe(
      `${INDEX_HEADER}\n` +
        `analysis 2.0 D ${'a'.repeat(64)} python/3.11,python analysis-tool,sh .envlock/aaaa\n` +
        `tools 0.1 D ${'b'.repeat(64)} - t /cache/dir with space\n`,
    );
    expect(serializeIndex([...entries].reverse())).toBe(text);
  });

  it('reads back what it wrote and ignores a file with another header', () => {
    const back = parseIndex(serializeIndex(entries))!;
    expect(back.map((e) => e.prepDir)).toEqual(['.envlock/aaaa', '/cache/dir with space']);
    expect(back[0]!.provides).toEqual(['python/3.11', 'python']);
    expect(back[1]!.provides).toEqual([]);
    expect(parseIndex('# envlock-module-index 2\nx 1 D h - - p\n')).toBeUndefined();
  });
});
