// `envlock module SUB`: the Node side of the module shim. publish and index write module trees;
// resolve, unknown, show, whatis, help and spider are what the shell functions fall back to.

import path from 'node:path';
import { launcherPath } from '../../core/runtime/launcher-path.js';
import type { Context } from '../../core/context.js';
import { EnvlockError, isEnvlockError } from '../../core/errors.js';
import { preparedDirOf, readTree, reindexTree, type TreeCatalog } from '../../core/modules/catalog.js';
import { availText, helpText, keywordText, overviewText, showText, spiderAllText, spiderNameText, whatisText } from '../../core/modules/describe.js';
import { moduleCacheDir } from '../../core/modules/cache-dir.js';
import { moduleLabel, type ModuleInfo } from '../../core/modules/module-info.js';
import { prepareModule } from '../../core/modules/module-runtime.js';
import { PREPARED } from '../../core/modules/prepare.js';
import { publishModule } from '../../core/modules/publish.js';
import { findModule, resolveModules, unknownModules } from '../../core/modules/resolve.js';
import { modulePathRoots } from '../../core/modules/tree.js';
import { Store } from '../../core/store/store.js';
import { flag } from '../args.js';
import type { CommandOutcome, CommandSpec, ParsedArgs } from '../command-spec.js';
import { projectDir } from '../../core/project-dir.js';
import { quoted } from '../../core/shown.js';

export const SUBCOMMANDS = ['publish', 'index', 'resolve', 'unknown', 'show', 'display', 'whatis', 'help', 'spider', 'avail', 'keyword', 'overview'] as const;

function roots(ctx: Context): string[] {
  const found = modulePathRoots(ctx.env.ENVLOCK_MODULEPATH, ctx.cwd);
  if (found.length === 0) {
    throw new EnvlockError('MODULE_TREE_INVALID', 'ENVLOCK_MODULEPATH names no module tree.', {
      hint: 'Set ENVLOCK_MODULEPATH to the directories that hold envlock modules, separated by `:`.',
    });
  }
  return found;
}

async function catalogs(ctx: Context): Promise<TreeCatalog[]> {
  return Promise.all(roots(ctx).map((root) => readTree(root, { home: ctx.home })));
}

function names(args: ParsedArgs): string[] {
  return [...args.positionals.slice(1), ...args.rest];
}

function one(args: ParsedArgs, sub: string): string {
  const list = names(args);
  if (list.length !== 1) throw new EnvlockError('USAGE', `\`envlock module ${sub}\` needs exactly one module name.`, { hint: `Run \`envlock module ${sub} NAME\`.` });
  return list[0]!;
}

async function infoOf(ctx: Context, requested: string): Promise<{ info: ModuleInfo; trees: TreeCatalog[] }> {
  const trees = await catalogs(ctx);
  const [entry] = resolveModules(trees, [requested]);
  if (entry!.info === undefined) {
    throw new EnvlockError('MODULE_TREE_INVALID', `Module ${moduleLabel(entry!.module)} cannot be read: ${entry!.problem ?? 'unknown problem'}`, {
      hint: `Fix or remove ${entry!.module.dir}.`,
    });
  }
  return { info: entry!.info, trees };
}

/** The shell's slow path: checks the lock, prepares the wrappers, prints one index line. */
async function resolveOne(ctx: Context, requested: string): Promise<CommandOutcome> {
  const { info } = await infoOf(ctx, requested);
  const store = Store.open(ctx);
  const prepared = await prepareModule(info, { store, launcherPath: launcherPath(ctx.env, ctx.cwd), cacheDir: moduleCacheDir(ctx), env: ctx.env });
  // Prepared inside the tree: refresh its index so the next load takes the fast path.
  if (!path.isAbsolute(prepared.prepDir)) await reindexTree(info.root, { home: ctx.home }).catch(() => undefined);
  const absolute = path.dirname(prepared.wrapperDir);
  const list = (items: string[]): string => (items.length === 0 ? '-' : items.join(','));
  const line = [info.name, info.version, info.isDefault ? 'D' : '-', info.lockHex, list(info.environment.provides), list(info.environment.commands), absolute].join(' ');
  return { result: { module: moduleLabel(info), wrapperDir: prepared.wrapperDir, specFile: prepared.specFile }, text: `${line}\n` };
}

export const command: CommandSpec = {
  name: 'module',
  summary: 'Publish environments as modules, and answer the module shim.',
  usage: 'envlock module publish --version V [--tree DIR] [--name N] [--default] | index [DIR] | show|whatis|help|spider [NAME]',
  description:
    'publish copies this project\'s declaration and lock into a module tree (default: the first directory of ENVLOCK_MODULEPATH), ' +
    'pulls the image when no store has it (not with --offline), prepares the command wrappers and rewrites the tree\'s index. index rewrites the index of a tree. The other sub-commands are what ' +
    'the `module` shell function calls for work it does not do in the shell itself (keyword and overview search and count the trees of ENVLOCK_MODULEPATH).',
  flags: [
    { name: 'tree', type: 'string', valueName: 'DIR', description: 'Module tree to publish into (default: first of ENVLOCK_MODULEPATH).' },
    { name: 'name', type: 'string', valueName: 'NAME', description: 'Module name (default: the environment\'s name).' },
    { name: 'module-version', type: 'string', valueName: 'V', description: 'Module version, such as 2.0 (alias: the second positional of publish).' },
    { name: 'default', type: 'boolean', description: 'publish: mark this version as the default (a `default` symlink, as Lmod reads it); avail: list only defaults.' },
    { name: 'no-index', type: 'boolean', description: 'Do not rewrite the tree\'s index (run `envlock module index` after a batch).' },
    { name: 'pattern', type: 'string', valueName: 'TEXT', description: 'avail: list only modules whose NAME/VERSION holds TEXT.' },
    { name: 'terse', short: 't', type: 'boolean', description: 'avail: one module per line.' },
  ],
  positionals: [
    { name: 'sub', description: SUBCOMMANDS.join(', '), required: true },
    { name: 'args', description: 'Module names, or the version for publish.', variadic: true },
  ],
  examples: ['envlock module publish 2.0 --tree /sw/envlock --default', 'envlock module index /sw/envlock', 'envlock module spider analysis'],
  async run(args, ctx) {
    const sub = args.positionals[0];
    switch (sub) {
      case 'publish': {
        const version = flag.str(args, 'module-version') ?? args.positionals[1];
        if (version === undefined) throw new EnvlockError('USAGE', '`envlock module publish` needs the module version.', { hint: 'Run `envlock module publish 2.0 --tree DIR`.' });
        const tree = flag.str(args, 'tree') ?? roots(ctx)[0]!;
        const result = await publishModule({
          sourceDir: projectDir(ctx), root: path.resolve(ctx.cwd, tree), name: flag.str(args, 'name'), version, makeDefault: flag.bool(args, 'default'), skipIndex: flag.bool(args, 'no-index'),
          home: ctx.home, store: Store.open(ctx), launcherPath: launcherPath(ctx.env, ctx.cwd), cacheDir: moduleCacheDir(ctx), env: ctx.env,
          // An image in no store is pulled (lazily imported: the network code stays off the fast
          // paths), unless --offline says not to touch the network.
          ensurePulled: ctx.offline ? undefined : async (dir) => {
            const { pullProject } = await import('../../core/pull/pull-project.js');
            await pullProject({ ...ctx, cwd: dir });
          },
        });
        return { result, text: `Published ${result.label} in ${result.dir}\n` };
      }
      case 'index': {
        const dirs = names(args).length > 0 ? names(args).map((d) => path.resolve(ctx.cwd, d)) : roots(ctx);
        const written = [];
        for (const dir of dirs) written.push(await reindexTree(dir, { home: ctx.home }));
        const text = written.map((w) => `${w.file}: ${w.entries.length} module(s)${w.tree.problems.length + w.tree.entries.filter((e) => e.problem).length > 0 ? ', some skipped (run `envlock module spider`)' : ''}\n`).join('');
        return { result: written.map((w) => ({ file: w.file, modules: w.entries.length })), text };
      }
      case 'resolve':
        return resolveOne(ctx, one(args, sub));
      case 'unknown': {
        const trees = await catalogs(ctx).catch(() => [] as TreeCatalog[]);
        // The shim passes the site's module names (Lmod's terse avail), for one did-you-mean over both.
        const site = (ctx.env._ENVLOCK_SITE_NAMES ?? '').split('\n').filter((n) => n !== '');
        const error = unknownModules(trees, names(args), site);
        return { result: { unknown: names(args) }, text: `envlock: ${error.message}\n\n${error.hint}\n` };
      }
      case 'show':
      case 'display': {
        const { info } = await infoOf(ctx, one(args, sub));
        const prep = preparedDirOf(info, moduleCacheDir(ctx));
        const wrappers = prep === undefined ? undefined : path.join(path.isAbsolute(prep) ? prep : path.join(info.dir, prep), PREPARED.bin);
        return { result: { module: moduleLabel(info) }, text: showText(info, wrappers) };
      }
      case 'whatis':
        return { result: {}, text: whatisText((await infoOf(ctx, one(args, sub))).info) };
      case 'help':
        return { result: {}, text: helpText((await infoOf(ctx, one(args, sub))).info) };
      case 'avail': {
        // The shim's fallback for trees without an index: the trees named, else every tree.
        const dirs = names(args).length > 0 ? names(args).map((d) => path.resolve(ctx.cwd, d)) : roots(ctx);
        const trees = await Promise.all(dirs.map((root) => readTree(root, { home: ctx.home })));
        const loaded = (ctx.env.ENVLOCK_LOADED ?? '').split(':').filter((l) => l !== '');
        const text = availText(trees, { loaded, pattern: flag.str(args, 'pattern'), terse: flag.bool(args, 'terse'), defaultOnly: flag.bool(args, 'default'), width: Number(ctx.env.COLUMNS) });
        return { result: { trees: trees.map((t) => ({ root: t.root, modules: t.entries.map((e) => moduleLabel(e.module)) })) }, text };
      }
      case 'keyword': {
        if (names(args).length === 0) throw new EnvlockError('USAGE', '`envlock module keyword` needs a word to look for.', { hint: 'Run `envlock module keyword WORD`.' });
        return { result: {}, text: keywordText(await catalogs(ctx), names(args)) };
      }
      case 'overview':
        return { result: {}, text: overviewText(await catalogs(ctx), Number(ctx.env.COLUMNS) >= 20 ? Number(ctx.env.COLUMNS) : 80) };
      case 'spider': {
        const trees = await catalogs(ctx);
        const requested = names(args)[0];
        if (requested === undefined) return { result: {}, text: spiderAllText(trees) };
        const matches = spiderMatches(trees, requested);
        if (matches.length === 0) throw unknownModules(trees, [requested]);
        return { result: { modules: matches.map(moduleLabel) }, text: spiderNameText(requested, matches) };
      }
      default:
        throw new EnvlockError('USAGE', sub === undefined ? '`envlock module` needs a sub-command.' : `\`envlock module\` has no sub-command ${quoted(sub)}.`, {
          hint: `Use one of: ${SUBCOMMANDS.join(', ')}.`,
        });
    }
  },
};

/** Every module named `requested` (any version), or that resolves from it through an alias. */
function spiderMatches(trees: TreeCatalog[], requested: string): ModuleInfo[] {
  const infos = trees.flatMap((t) => t.entries.flatMap((e) => (e.info ? [e.info] : [])));
  const direct = infos.filter((i) => i.name === requested || moduleLabel(i) === requested);
  if (direct.length > 0) return direct;
  try {
    const hit = findModule(trees, requested);
    return hit?.info ? [hit.info] : [];
  } catch (error) {
    if (isEnvlockError(error) && error.code === 'MODULE_AMBIGUOUS') return infos.filter((i) => i.environment.provides.some((p) => p === requested || p.split('/')[0] === requested));
    throw error;
  }
}
