// `envlock modulefiles --format lua|tcl --out DIR`: writes a Lmod (Lua) or Tcl modulefile for
// every module on ENVLOCK_MODULEPATH, each loading the module's prepared wrappers.

import fs from 'node:fs/promises';
import path from 'node:path';
import { EnvlockError, errnoCode } from '../../core/errors.js';
import { readTree } from '../../core/modules/catalog.js';
import { moduleLabel } from '../../core/modules/module-info.js';
import { prepareModule } from '../../core/modules/module-runtime.js';
import { luaModulefile, tclModulefile, type ModulefileFormat } from '../../core/modules/modulefile-text.js';
import { modulePathRoots } from '../../core/modules/tree.js';
import { Store } from '../../core/store/store.js';
import { flag } from '../args.js';
import type { CommandSpec } from '../command-spec.js';
import { moduleCacheDir } from '../../core/modules/cache-dir.js';
import { launcherPath } from '../../core/runtime/launcher-path.js';

export interface ModulefilesResult {
  out: string;
  format: ModulefileFormat;
  written: string[];
  /** Modules left out, with the reason (stale lock, image not pulled…). */
  skipped: { module: string; reason: string }[];
}

export const command: CommandSpec<ModulefilesResult> = {
  name: 'modulefiles',
  summary: 'Write Lmod (Lua) or Tcl modulefiles for the envlock modules.',
  usage: 'envlock modulefiles --format lua|tcl --out DIR',
  description:
    'For every module in the trees on ENVLOCK_MODULEPATH, writes DIR/NAME/VERSION.lua (or DIR/NAME/VERSION for Tcl) whose load puts ' +
    'the module\'s wrappers on PATH; add DIR to MODULEPATH. The default version is marked with a `default` symlink (Lua) or `.version` (Tcl).',
  flags: [
    { name: 'format', type: 'string', valueName: 'FORMAT', choices: ['lua', 'tcl'], description: 'lua for Lmod (default), tcl for Environment Modules.' },
    { name: 'out', type: 'string', valueName: 'DIR', description: 'Directory to write the modulefile tree into.' },
  ],
  positionals: [],
  examples: ['envlock modulefiles --format lua --out /sw/modulefiles/envlock', 'envlock modulefiles --format tcl --out ~/modulefiles'],
  async run(args, ctx) {
    const format = (flag.str(args, 'format') ?? 'lua') as ModulefileFormat;
    const outFlag = flag.str(args, 'out');
    if (outFlag === undefined) throw new EnvlockError('USAGE', '`envlock modulefiles` needs --out DIR.', { hint: 'Run `envlock modulefiles --format lua --out DIR`.' });
    const roots = modulePathRoots(ctx.env.ENVLOCK_MODULEPATH, ctx.cwd);
    if (roots.length === 0) throw new EnvlockError('MODULE_TREE_INVALID', 'ENVLOCK_MODULEPATH names no module tree.', { hint: 'Set ENVLOCK_MODULEPATH to the trees to write modulefiles for.' });
    const out = path.resolve(ctx.cwd, outFlag);
    const store = Store.open(ctx);
    const launcher = launcherPath(ctx.env, ctx.cwd);
    const cacheDir = moduleCacheDir(ctx);
    const result: ModulefilesResult = { out, format, written: [], skipped: [] };
    const seen = new Set<string>();
    for (const root of roots) {
      for (const entry of (await readTree(root, { home: ctx.home })).entries) {
        const label = moduleLabel(entry.module);
        if (seen.has(label)) continue;
        seen.add(label);
        if (entry.info === undefined) {
          result.skipped.push({ module: label, reason: entry.problem ?? 'cannot be read' });
          continue;
        }
        let prepared;
        try {
          prepared = await prepareModule(entry.info, { store, launcherPath: launcher, cacheDir, env: ctx.env });
        } catch (error) {
          if (!(error instanceof EnvlockError)) throw error;
          result.skipped.push({ module: label, reason: error.message });
          continue;
        }
        const env = entry.info.lock?.environments.find((e) => e.name === entry.info!.environment.name);
        const input = { info: entry.info, wrapperDir: prepared.wrapperDir, image: env?.resolved ?? entry.info.environment.image };
        const nameDir = path.join(out, entry.module.name);
        const file = path.join(nameDir, format === 'lua' ? `${entry.module.version}.lua` : entry.module.version);
        try {
          await fs.mkdir(nameDir, { recursive: true });
          await fs.writeFile(file, format === 'lua' ? luaModulefile(input) : tclModulefile(input), { mode: 0o644 });
          if (entry.module.isDefault) {
            if (format === 'lua') {
              await fs.rm(path.join(nameDir, 'default'), { force: true });
              await fs.symlink(path.basename(file), path.join(nameDir, 'default'));
            } else {
              await fs.writeFile(path.join(nameDir, '.version'), `#%Module1.0\nset ModulesVersion "${entry.module.version}"\n`);
            }
          }
        } catch (error) {
          throw new EnvlockError('IO', `Cannot write ${file}: ${errnoCode(error) ?? String(error)}.`, { hint: 'Check that --out names a directory writable by you.', cause: error });
        }
        result.written.push(file);
      }
    }
    const lines = [`Wrote ${result.written.length} ${format} modulefile(s) to ${out}; add it to MODULEPATH.`];
    for (const s of result.skipped) lines.push(`skipped ${s.module}: ${s.reason}`);
    return { result, text: `${lines.join('\n')}\n` };
  },
};
