// The module shim next to a real Lmod, in bash and zsh, as a user meets it: a loaded module that
// wraps the very commands the shim uses, collections that keep Lmod's modules, one listing for
// list/avail/spider/overview/keyword, one did-you-mean over both sides, no pager hiding anything.

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../../cli/args.js';
import { command as moduleCommand } from '../../../cli/commands/module.js';
import { makeContext } from '../../../core/context.js';
import { NOBODY, REPO_ROOT } from '../../helpers/cli.js';
import { launcher, makeProject, openTempDir } from './fixture.js';

const SHIM = path.join(REPO_ROOT, 'shim', 'envlock.sh');
const RUNNER = fileURLToPath(new URL('./cli-runner.mjs', import.meta.url));
const SHELLS = ['bash', 'zsh'] as const;
/** Commands the shim itself runs (and `node`, which runs the CLI), all wrapped by one module. */
const WRAPPED = ['awk', 'cat', 'sed', 'sort', 'tr', 'mkdir', 'mktemp', 'rm', 'node'];

let base: string;
let tree: string;
let lmodTree: string;
let store: string;
let cli: string;
let launcherBin: string;

async function publish(projectDir: string, version: string): Promise<void> {
  const ctx = makeContext({ cwd: projectDir, env: { HOME: base, ENVLOCK_STORE: store, ENVLOCK_LAUNCHER: launcherBin, ENVLOCK_MODULEPATH: tree } });
  await moduleCommand.run(parseArgs(['publish', version, '--tree', tree], moduleCommand), ctx);
}

interface ShellRun { status: number | null; stdout: string; stderr: string }

/** A script in `shell` with Lmod initialised (its own init for that shell) and the shim sourced after it. */
function run(shell: (typeof SHELLS)[number], body: string, env: Record<string, string> = {}, nobody = false): ShellRun {
  const script = `. /usr/share/lmod/lmod/init/${shell}\nexport MODULEPATH='${lmodTree}'\nset -eu\n. '${SHIM}'\n${body}`;
  const r = spawnSync(shell, ['-c', script], {
    cwd: '/',
    encoding: 'utf8',
    timeout: 90_000,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(nobody ? { uid: NOBODY.uid, gid: NOBODY.gid } : {}),
    env: {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: base,
      XDG_CONFIG_HOME: path.join(base, 'config'),
      ENVLOCK_MODULEPATH: tree,
      ENVLOCK_CLI: cli,
      ENVLOCK_STORE: store,
      ENVLOCK_LAUNCHER: launcherBin,
      LC_ALL: 'C',
      ...env,
    },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  base = openTempDir('shim-lmod');
  store = path.join(base, 'store');
  tree = path.join(base, 'tree');
  fs.mkdirSync(tree, { mode: 0o755 });
  fs.mkdirSync(path.join(base, 'config'), { mode: 0o755 });
  launcherBin = launcher(base);
  cli = path.join(base, 'envlock');
  // The stand-in CLI names node by its absolute path: the shim must not need `node` from PATH.
  fs.writeFileSync(cli, `#!/bin/sh\nexec "${process.execPath}" "${RUNNER}" "$@"\n`, { mode: 0o755 });
  await publish(makeProject(base, store, { env: 'analysis', version: '1.0', commands: ['analysis-tool'] }).dir, '1.0');
  await publish(makeProject(base, store, { env: 'analysis', version: '2.0', commands: ['analysis-tool'], description: 'Analysis tools for spectra' }).dir, '2.0');
  await publish(makeProject(base, store, { env: 'coreutils', version: '1', commands: WRAPPED }).dir, '1');
  lmodTree = path.join(base, 'lmod');
  for (const [file, text] of [
    ['gcc/12.lua', 'whatis("GNU compilers")\nsetenv("SITE_GCC","12")\n'],
    ['gcc/13.lua', 'whatis("GNU compilers")\nsetenv("SITE_GCC","13")\n'],
    ['openmpi/4.1.lua', 'whatis("Keywords: mpi parallel")\nsetenv("SITE_MPI","4.1")\n'],
  ] as const) {
    fs.mkdirSync(path.dirname(path.join(lmodTree, file)), { recursive: true });
    fs.writeFileSync(path.join(lmodTree, file), text);
  }
}, 120_000);

afterAll(() => {
  if (base) fs.rmSync(base, { recursive: true, force: true });
});

const count = (text: string, part: string) => text.split(part).length - 1;

describe.each(SHELLS)('the shim beside Lmod in %s', (shell) => {
  it('keeps working while a loaded module wraps cat, awk, sed, sort, mkdir, mktemp, rm and node', () => {
    const r = run(shell, [
      'module load coreutils',
      'command -v cat awk node',
      'module avail', 'module spider', 'module spider analysis', 'module load analysis gcc', 'module list',
      'module save wrapped', 'module purge', 'module restore wrapped', 'module -t list',
      'if module load nosuch; then echo BAD; fi',
    ].join('\n'));
    expect(r.stdout.split('\n').filter((l) => l.includes('/.envlock/'))).toHaveLength(3);
    // A wrapper that ran instead of the host's tool prints its marker line.
    expect(`${r.stdout}${r.stderr}`).not.toContain('env:MARK=');
    expect(r.stderr).toContain('analysis/2.0 (D)');
    expect(r.stderr).toContain('analysis: analysis/1.0, analysis/2.0');
    expect(r.stderr).toMatch(/Versions:\s+analysis\/1\.0\s+analysis\/2\.0 \(D\)/);
    // `module load analysis gcc` loads the site's gcc first, so envlock's wrappers come first on PATH.
    expect(r.stderr).toContain('coreutils/1\ngcc/13\nanalysis/2.0\n');
    expect(r.stderr).toContain('The following module(s) are unknown: "nosuch"');
    expect(r.status).toBe(0);
  });

  it('saves and restores Lmod modules with envlock ones, in load order', () => {
    const r = run(shell, [
      'module load gcc/12', 'module load analysis/1.0', 'module load openmpi', 'module save mixed',
      'module purge', 'echo "after purge: [${LOADEDMODULES-}] [${ENVLOCK_LOADED-}]"',
      'module restore mixed', 'echo "gcc=$SITE_GCC mpi=$SITE_MPI"', 'analysis-tool --version', 'module -t list',
    ].join('\n'));
    expect(r.stdout).toBe('after purge: [] []\ngcc=12 mpi=4.1\nanalysis-tool 1.0\n');
    expect(r.stderr).toContain('gcc/12\nanalysis/1.0\nopenmpi/4.1\n');
    expect(fs.readFileSync(path.join(base, 'config', 'envlock', 'collections', 'mixed'), 'utf8')).toBe('site:gcc/12\nanalysis/1.0\nsite:openmpi/4.1\n');
  });

  it('lists loaded modules as one list, envlock\'s marked, in load order', () => {
    const r = run(shell, 'module load gcc\nmodule load analysis\nmodule load openmpi\nmodule list\nmodule -t list');
    expect(count(r.stderr, 'Currently Loaded Modules')).toBe(1);
    expect(r.stderr).toMatch(/1\) gcc\/13\s+2\) analysis\/2\.0 \(E\)\s+3\) openmpi\/4\.1/);
    expect(r.stderr).toContain('E:  envlock module');
    expect(r.stderr).toContain('gcc/13\nanalysis/2.0\nopenmpi/4.1\n');
  });

  it('shows avail as one listing: one legend, Lmod\'s advice once at the end, -t and -d for both sides', () => {
    const r = run(shell, 'module load gcc\nmodule avail');
    expect(r.stderr).toContain(`- ${lmodTree} -`);
    expect(r.stderr).toContain(`- ${tree} -`);
    expect(r.stderr).toContain('analysis/2.0 (D)');
    expect(r.stderr).toMatch(/gcc\/13 \(L,D\)/);
    expect(count(r.stderr, 'Where:')).toBe(1);
    expect(count(r.stderr, 'D:  Default Module')).toBe(1);
    expect(count(r.stderr, 'If the avail list is too long')).toBe(1);
    expect(r.stderr.indexOf('If the avail list is too long')).toBeGreaterThan(r.stderr.indexOf('D:  Default Module'));
    const terse = run(shell, 'module -t avail');
    expect(terse.stderr).toContain(`${tree}:\nanalysis/1.0\nanalysis/2.0\n`);
    expect(terse.stderr).toContain('gcc/12\ngcc/13\n');
    const defaults = run(shell, 'module -d avail\nml -t -d av');
    expect(defaults.stderr).toContain('analysis/2.0');
    expect(defaults.stderr).toContain('gcc/13');
    expect(defaults.stderr).not.toContain('analysis/1.0');
    expect(defaults.stderr).not.toContain('gcc/12');
  });

  it('gives one did-you-mean over both sides for a typo, in load and in spider', () => {
    const r = run(shell, 'if module load analysys; then echo BAD; fi\nif module load gcx; then echo BAD; fi\nif module spider openmpo; then echo BAD; fi\necho done');
    expect(r.stdout).toBe('done\n');
    expect(r.stderr).toContain('The following module(s) are unknown: "analysys"');
    expect(r.stderr).toContain('Did you mean "analysis"?');
    expect(r.stderr).toContain('The following module(s) are unknown: "gcx"');
    expect(r.stderr).toMatch(/Did you mean "gcc[^"]*"\?/);
    expect(r.stderr).toMatch(/Did you mean "openmpi[^"]*"\?/);
    expect(r.stderr).not.toContain('Lmod has detected the following error');
    expect(count(r.stderr, 'are unknown')).toBe(3);
  });

  it('spider lists both sides in one frame; overview and keyword include envlock modules', () => {
    const r = run(shell, 'module spider');
    expect(count(r.stderr, 'The following is a list of the modules')).toBe(1);
    expect(r.stderr).toContain('gcc: gcc/12, gcc/13');
    expect(r.stderr).toContain('analysis: analysis/1.0, analysis/2.0');
    expect(count(r.stderr, 'To learn more about a package')).toBe(1);
    const ov = run(shell, 'module overview');
    expect(ov.stderr).toMatch(/analysis \(2\)/);
    expect(ov.stderr).toMatch(/gcc \(2\)/);
    const kw = run(shell, 'module keyword spectra\nmodule keyword mpi');
    expect(kw.stderr).toContain('analysis: analysis/2.0');
    expect(kw.stderr).toContain('openmpi: openmpi/4.1');
  });
});

describe.each(SHELLS)('the shim beside Lmod in %s, as nobody', (shell) => {
  /** nobody's own HOME and collections; the trees, the store and the CLI stay root's, readable to all. */
  function asNobody(body: string): ShellRun {
    const home = fs.mkdtempSync(path.join(base, 'nobody-'));
    fs.mkdirSync(path.join(home, 'config'));
    execFileSync('chown', ['-R', `${NOBODY.uid}:${NOBODY.gid}`, home]);
    fs.chmodSync(home, 0o755);
    return { ...run(shell, body, { HOME: home, XDG_CONFIG_HOME: path.join(home, 'config') }, true), home } as ShellRun & { home: string };
  }

  it('keeps working while a loaded module wraps the commands the shim uses', () => {
    const r = asNobody([
      'module load coreutils', 'id -u', 'module avail', 'module spider analysis', 'module load analysis gcc', 'module -t list',
      'if module load nosuch; then echo BAD; fi',
    ].join('\n'));
    expect(r.stdout).toBe('65534\n');
    expect(`${r.stdout}${r.stderr}`).not.toContain('env:MARK=');
    expect(r.stderr).toContain('analysis/2.0 (D)');
    expect(r.stderr).toContain('coreutils/1\ngcc/13\nanalysis/2.0\n');
    expect(r.stderr).toContain('The following module(s) are unknown: "nosuch"');
    expect(r.status).toBe(0);
  });

  it('saves and restores Lmod modules with envlock ones, in load order, in its own collections', () => {
    const r = asNobody([
      'module load gcc/12', 'module load analysis/1.0', 'module load openmpi', 'module save mixed',
      'module purge', 'module restore mixed', 'echo "gcc=$SITE_GCC mpi=$SITE_MPI"', 'analysis-tool --version', 'module -t list',
    ].join('\n')) as ShellRun & { home: string };
    expect(r.stdout).toBe('gcc=12 mpi=4.1\nanalysis-tool 1.0\n');
    expect(r.stderr).toContain('gcc/12\nanalysis/1.0\nopenmpi/4.1\n');
    expect(fs.readFileSync(path.join(r.home, 'config', 'envlock', 'collections', 'mixed'), 'utf8')).toBe('site:gcc/12\nanalysis/1.0\nsite:openmpi/4.1\n');
  });
});

describe('Lmod\'s pager in a terminal', () => {
  it('never hides envlock\'s section behind the pager', async () => {
    const session = `envlock-pager-${process.pid}`;
    const rc = path.join(base, 'pager.rc');
    fs.writeFileSync(rc, `. /usr/share/lmod/lmod/init/bash\nexport MODULEPATH='${lmodTree}'\n. '${SHIM}'\nPS1='ready$ '\n`);
    const env = [`ENVLOCK_MODULEPATH=${tree}`, `ENVLOCK_CLI=${cli}`, `ENVLOCK_STORE=${store}`, `HOME=${base}`, 'PATH=/usr/local/bin:/usr/bin:/bin', 'TERM=xterm', 'LESS='];
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '100', '-y', '50', 'env', '-i', ...env, 'bash', '--rcfile', rc, '-i']);
    const screen = () => execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' });
    const waitFor = async (test: (s: string) => boolean): Promise<string> => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const text = screen();
        if (test(text) || Date.now() > deadline) return text;
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    try {
      await waitFor((s) => s.includes('ready$'));
      execFileSync('tmux', ['send-keys', '-t', session, 'clear; module avail; echo avail-done', 'Enter']);
      const text = await waitFor((s) => s.includes('avail-done') && !s.includes('avail-done;'));
      expect(text).toContain(`- ${tree} -`);
      expect(text).toContain(`- ${lmodTree} -`);
      expect(text).toContain('avail-done');
      expect(text).not.toMatch(/\(END\)|^:$/m);
    } finally {
      try {
        execFileSync('tmux', ['kill-session', '-t', session], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  });
});
