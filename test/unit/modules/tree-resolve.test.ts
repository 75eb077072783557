// Reading module trees (default versions as Lmod marks them) and resolving requested names.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TreeCatalog } from '../../../core/modules/catalog.js';
import type { ModuleInfo } from '../../../core/modules/module-info.js';
import { findModule, resolveModules } from '../../../core/modules/resolve.js';
import { modulePathRoots, scanTree } from '../../../core/modules/tree.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function makeTree(layout: Record<string, string[]>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'envlock-tree-'));
  dirs.push(root);
  for (const [name, versions] of Object.entries(layout)) {
    for (const v of versions) {
      fs.mkdirSync(path.join(root, name, v), { recursive: true });
      fs.writeFileSync(path.join(root, name, v, 'envlock.yaml'), 'version: 1\n');
    }
  }
  return root;
}

const defaults = async (root: string): Promise<string[]> => (await scanTree(root)).modules.filter((m) => m.isDefault).map((m) => `${m.name}/${m.version}`);

describe('scanTree', () => {
  it('takes the highest version when nothing is marked', async () => {
    expect(await defaults(makeTree({ a: ['1.9', '1.10', '1.2'] }))).toEqual(['a/1.10']);
  });

  it('honours a default symlink, a default file and a Tcl .version file', async () => {
    const root = makeTree({ a: ['1', '2'], b: ['1', '2'], c: ['1', '2'] });
    fs.symlinkSync('1', path.join(root, 'a', 'default'));
    fs.writeFileSync(path.join(root, 'b', 'default'), '1\n');
    fs.writeFileSync(path.join(root, 'c', '.version'), '#%Module1.0\nset ModulesVersion "1"\n');
    expect(await defaults(root)).toEqual(['a/1', 'b/1', 'c/1']);
  });

  it('skips directories without a declaration and reports bad names', async () => {
    const root = makeTree({ a: ['1'] });
    fs.mkdirSync(path.join(root, 'a', 'empty'));
    fs.mkdirSync(path.join(root, 'bad name', '1'), { recursive: true });
    fs.writeFileSync(path.join(root, 'bad name', '1', 'envlock.yaml'), '');
    const scan = await scanTree(root);
    expect(scan.modules.map((m) => m.version)).toEqual(['1']);
    expect(scan.problems[0]).toMatch(/bad name is not a valid module name/);
  });

  it('fails with MODULE_TREE_INVALID for a tree that cannot be read', async () => {
    await expect(scanTree('/nonexistent/tree')).rejects.toMatchObject({
      code: 'MODULE_TREE_INVALID', exitCode: 1, message: 'Module tree /nonexistent/tree cannot be read: ENOENT.',
    });
  });

  it('splits ENVLOCK_MODULEPATH like MODULEPATH', () => {
    expect(modulePathRoots('/a::b:/a', '/base')).toEqual(['/a', '/base/b']);
  });
});

function catalog(root: string, modules: { name: string; version: string; isDefault?: boolean; provides?: string[] }[]): TreeCatalog {
  return {
    root,
    problems: [],
    entries: modules.map((m) => {
      const module = { root, name: m.name, version: m.version, dir: `${root}/${m.name}/${m.version}`, isDefault: m.isDefault ?? false };
      const info = { ...module, environment: { provides: m.provides ?? [] } } as unknown as ModuleInfo;
      return { module, info };
    }),
  };
}

describe('resolving names', () => {
  const site = catalog('/site', [
    { name: 'analysis', version: '1.0' },
    { name: 'analysis', version: '2.0', isDefault: true, provides: ['python/3.11'] },
    { name: 'other', version: '1', isDefault: true, provides: ['python/3.12'] },
  ]);
  const mine = catalog('/mine', [{ name: 'analysis', version: '3.0', isDefault: true }]);
  const label = (trees: TreeCatalog[], name: string): string | undefined => {
    const hit = findModule(trees, name);
    return hit && `${hit.module.root}:${hit.module.name}/${hit.module.version}`;
  };

  it('prefers NAME/VERSION, then the default of NAME in the first tree, then aliases', () => {
    expect(label([mine, site], 'analysis')).toBe('/mine:analysis/3.0');
    expect(label([mine, site], 'analysis/1.0')).toBe('/site:analysis/1.0');
    expect(label([site], 'python/3.11')).toBe('/site:analysis/2.0');
    expect(label([site], 'nothing')).toBeUndefined();
  });

  it('calls a bare alias name provided by two modules ambiguous', () => {
    expect(() => findModule([site], 'python')).toThrow(expect.objectContaining({
      code: 'MODULE_AMBIGUOUS', exitCode: 1, message: 'Module name "python" is provided by 2 modules in /site: analysis/2.0, other/1.',
    }));
  });

  it('lists every unknown name at once, with a suggestion', () => {
    expect(() => resolveModules([site], ['analysys', 'analysis', 'zzz'])).toThrow(expect.objectContaining({
      code: 'MODULE_UNKNOWN', exitCode: 1, message: 'The following module(s) are unknown: "analysys" "zzz".',
      hint: 'Did you mean "analysis"? Run `module spider` to list every module.',
    }));
  });
});
