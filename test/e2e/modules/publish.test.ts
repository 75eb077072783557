// `envlock module publish` and `envlock module index`: what lands in the tree, the default
// marker, and each error a user can cause (code, exit status, message).

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../../cli/args.js';
import { command } from '../../../cli/commands/module.js';
import { makeContext } from '../../../core/context.js';
import { refreshModuleDir } from '../../../core/modules/after-pull.js';
import { INDEX_HEADER, parseIndex } from '../../../core/modules/index-file.js';
import { Store } from '../../../core/store/store.js';
import { rootfsPathIn } from '../../../core/store/layout.js';
import { launcher, makeProject, openTempDir } from './fixture.js';

let base: string;
let env: Record<string, string>;

beforeAll(() => {
  base = openTempDir('publish');
  env = { HOME: base, ENVLOCK_STORE: path.join(base, 'store'), ENVLOCK_LAUNCHER: launcher(base), ENVLOCK_MODULEPATH: path.join(base, 'tree') };
});
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

const runModule = (cwd: string, argv: string[], extra: Record<string, string> = {}, offline = false) =>
  command.run(parseArgs(argv, command), makeContext({ cwd, env: { ...env, ...extra }, offline }));

describe('envlock module publish', () => {
  it('copies the two files, prepares wrappers, marks the default and writes the index', async () => {
    const p = makeProject(base, env.ENVLOCK_STORE!, { env: 'analysis', version: '1.10', commands: ['analysis-tool'] });
    const q = makeProject(base, env.ENVLOCK_STORE!, { env: 'analysis', version: '1.9', commands: ['analysis-tool'] });
    await runModule(p.dir, ['publish', '1.10']);
    const outcome = await runModule(q.dir, ['publish', '--module-version', '1.9', '--default']);
    expect(outcome.text).toBe(`Published analysis/1.9 in ${path.join(base, 'tree', 'analysis', '1.9')}\n`);
    const dir = path.join(base, 'tree', 'analysis', '1.9');
    expect(fs.readdirSync(dir).sort()).toEqual(['.envlock', 'envlock.lock', 'envlock.yaml']);
    expect(fs.readlinkSync(path.join(base, 'tree', 'analysis', 'default'))).toBe('1.9');
    const index = parseIndex(fs.readFileSync(path.join(base, 'tree', '.envlock-index'), 'utf8'))!;
    expect(index.map((e) => `${e.name}/${e.version}${e.isDefault ? ' D' : ''}`)).toEqual(['analysis/1.10', 'analysis/1.9 D']);
    expect(fs.readFileSync(path.join(base, 'tree', '.envlock-index.d', 'analysis'), 'utf8').startsWith(`${INDEX_HEADER}\n`)).toBe(true);
    const prep = path.join(dir, index[1]!.prepDir);
    expect(fs.readFileSync(path.join(prep, 'envlock.lock'))).toEqual(fs.readFileSync(path.join(dir, 'envlock.lock')));
    expect(fs.readFileSync(path.join(prep, 'spec'), 'utf8')).toContain(`rootfs ${fs.readlinkSync(path.join(prep, 'rootfs'))}`);
    expect(fs.readFileSync(path.join(base, 'tree', '.envlock-spider'), 'utf8')).toContain('analysis: analysis/1.9, analysis/1.10');
  });

  it('refuses a commands: entry the image does not have, before writing anything (MODULE_COMMAND_MISSING)', async () => {
    const p = makeProject(base, env.ENVLOCK_STORE!, { env: 'typo', version: '1', commands: ['typo-tool', 'typo-tol'] });
    // The image has typo-tool only: the second entry is the kind of typo that made a wrapper exit 127.
    fs.rmSync(path.join(rootfsPathIn(env.ENVLOCK_STORE!, p.manifestDigest), 'bin', 'typo-tol'));
    await expect(runModule(p.dir, ['publish', '1'])).rejects.toMatchObject({
      code: 'MODULE_COMMAND_MISSING', exitCode: 1, message: expect.stringContaining('has no program `typo-tol` on the PATH'),
    });
    expect(fs.existsSync(path.join(base, 'tree', 'typo'))).toBe(false);
    // A program behind the image's own symlinks (ls -> busybox) counts.
    const q = makeProject(base, env.ENVLOCK_STORE!, { env: 'linked', version: '1', commands: ['linked-tool', 'ls'] });
    fs.rmSync(path.join(rootfsPathIn(env.ENVLOCK_STORE!, q.manifestDigest), 'usr', 'bin', 'ls'));
    await expect(runModule(q.dir, ['publish', '1'])).resolves.toMatchObject({ text: expect.stringContaining('Published linked/1') });
  });

  it('refuses a lock that no longer fits the declaration (LOCK_STALE, exit 3)', async () => {
    const p = makeProject(base, env.ENVLOCK_STORE!, { env: 'stale', version: '1', commands: ['t'] });
    fs.appendFileSync(path.join(p.dir, 'envlock.yaml'), '    cpu: x86-64-v2\n');
    await expect(runModule(p.dir, ['publish', '1'])).rejects.toMatchObject({ code: 'LOCK_STALE', exitCode: 3, message: expect.stringContaining('envlock.lock is out of date with envlock.yaml') });
  });

  it('refuses, before writing anything, a launcher older than module wrappers, naming it (RUNTIME_UNAVAILABLE)', async () => {
    const p = makeProject(base, env.ENVLOCK_STORE!, { env: 'oldlauncher', version: '1', commands: ['t'] });
    // A site's launcher from before `--wrapper`: it lists its features, without `wrapper`.
    const old = path.join(base, 'old-envlock-launch');
    fs.writeFileSync(old, '#!/bin/sh\n[ "$1" = --features ] && printf "spec-fd\\ncandidate\\ncpu-needs\\nlease\\n" && exit 0\nexit 125\n', { mode: 0o755 });
    await expect(runModule(p.dir, ['publish', '1'], { ENVLOCK_LAUNCHER: old })).rejects.toMatchObject({
      code: 'RUNTIME_UNAVAILABLE', exitCode: 4,
      message: `The wrappers of module oldlauncher/1 cannot use the launcher ${old}: it predates module wrappers (its --features does not list \`wrapper\`).`,
    });
    expect(fs.existsSync(path.join(base, 'tree', 'oldlauncher'))).toBe(false);
    await expect(runModule(p.dir, ['publish', '1'])).resolves.toMatchObject({ text: expect.stringContaining('Published oldlauncher/1') });
  });

  it('refuses a version that is not a module-name part (FLAG_VALUE, exit 2)', async () => {
    const p = makeProject(base, env.ENVLOCK_STORE!, { env: 'badver', version: '1', commands: ['t'] });
    await expect(runModule(p.dir, ['publish', '1;rm'])).rejects.toMatchObject({
      code: 'FLAG_VALUE', exitCode: 2, message: 'Module version `1;rm` is not valid: use letters, digits, `.`, `_`, `+` and `-`.',
    });
  });

  it('names the pull command when the image is in no store and --offline forbids pulling (IMAGE_NOT_PULLED)', async () => {
    const p = makeProject(base, env.ENVLOCK_STORE!, { env: 'nopull', version: '1', commands: ['t'] });
    await expect(runModule(p.dir, ['publish', '1'], { ENVLOCK_STORE: path.join(base, 'empty-store') }, true)).rejects.toMatchObject({
      code: 'IMAGE_NOT_PULLED', exitCode: 1, hint: expect.stringContaining('envlock pull -C'),
    });
  });

  it('refuses a declaration with two environments (MODULE_TREE_INVALID)', async () => {
    const p = makeProject(base, env.ENVLOCK_STORE!, { env: 'two', version: '1', commands: ['t'] });
    fs.appendFileSync(path.join(p.dir, 'envlock.yaml'), '  second:\n    image: registry.test/second:1\n');
    await expect(runModule(p.dir, ['publish', '1'])).rejects.toMatchObject({ code: 'MODULE_TREE_INVALID', exitCode: 1, message: expect.stringContaining('declares 2 environments; a module holds exactly one') });
  });

  it('needs ENVLOCK_MODULEPATH or --tree, and a version', async () => {
    const p = makeProject(base, env.ENVLOCK_STORE!, { env: 'notree', version: '1', commands: ['t'] });
    await expect(runModule(p.dir, ['publish', '1'], { ENVLOCK_MODULEPATH: '' })).rejects.toMatchObject({ code: 'MODULE_TREE_INVALID', message: 'ENVLOCK_MODULEPATH names no module tree.' });
    await expect(runModule(p.dir, ['publish'])).rejects.toMatchObject({ code: 'USAGE', exitCode: 2 });
  });
});

describe('envlock module resolve / unknown', () => {
  it('prints one index line with an absolute prepared directory', async () => {
    const outcome = await runModule(base, ['resolve', '--', 'analysis']);
    expect(outcome.text).toMatch(new RegExp(`^analysis 1\\.9 D [0-9a-f]{64} - analysis-tool ${base}/tree/analysis/1\\.9/\\.envlock/[0-9a-f]{16}\\n$`));
  });

  it('fails with LOCK_MISSING (exit 3) for a module directory without a lock', async () => {
    const p = makeProject(base, env.ENVLOCK_STORE!, { env: 'nolock', version: '1', commands: ['t'] });
    const dir = path.join(base, 'tree', 'nolock', '1');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(p.dir, 'envlock.yaml'), path.join(dir, 'envlock.yaml'));
    await expect(runModule(base, ['resolve', '--', 'nolock'])).rejects.toMatchObject({
      code: 'LOCK_MISSING', exitCode: 3, message: `Module nolock/1 has no envlock.lock in ${dir}.`,
    });
    fs.rmSync(path.join(base, 'tree', 'nolock'), { recursive: true });
  });

  it('fails with MODULE_UNKNOWN and a suggestion for a name no tree has', async () => {
    await expect(runModule(base, ['resolve', '--', 'analysys'])).rejects.toMatchObject({
      code: 'MODULE_UNKNOWN', exitCode: 1, message: 'The following module(s) are unknown: "analysys".', hint: expect.stringContaining('Did you mean "analysis"?'),
    });
  });
});

describe('refreshModuleDir (called after pull)', () => {
  it('prepares a module made by hand and adds it to its tree index; ignores a plain project', async () => {
    const p = makeProject(base, env.ENVLOCK_STORE!, { env: 'pulled', version: '3', commands: ['pulled-tool'] });
    const dir = path.join(base, 'tree', 'pulled', '3');
    fs.mkdirSync(dir, { recursive: true });
    for (const f of ['envlock.yaml', 'envlock.lock']) fs.copyFileSync(path.join(p.dir, f), path.join(dir, f));
    const options = {
      home: base, cwd: base, modulePath: env.ENVLOCK_MODULEPATH, launcherPath: env.ENVLOCK_LAUNCHER!, cacheDir: path.join(base, 'cache'),
      store: Store.open(makeContext({ cwd: base, env })),
    };
    const result = await refreshModuleDir(dir, options);
    expect(result?.label).toBe('pulled/3');
    expect(fs.existsSync(path.join(result!.wrapperDir, 'pulled-tool'))).toBe(true);
    expect(fs.readFileSync(path.join(base, 'tree', '.envlock-index'), 'utf8')).toMatch(/^pulled 3 D /m);
    expect(await refreshModuleDir(p.dir, options)).toBeUndefined();
  });
});
