// The module shim in real shells (bash, dash as sh, zsh), as root and as `nobody`: batch scripts,
// wrappers passing arguments, stdin, status and signals, fall-through to real Lmod, bad input.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../../cli/args.js';
import { command as moduleCommand } from '../../../cli/commands/module.js';
import { makeContext } from '../../../core/context.js';
import { REPO_ROOT } from '../../helpers/cli.js';
import { launcher, makeProject, openTempDir } from './fixture.js';

const SHIM = path.join(REPO_ROOT, 'shim', 'envlock.sh');
const RUNNER = fileURLToPath(new URL('./cli-runner.mjs', import.meta.url));
const LMOD_INIT = '/usr/share/lmod/lmod/init/bash';
const SHELLS = ['bash', 'sh', 'zsh'] as const;

let base: string;
let tree: string;
let store: string;
let cli: string;
let launcherBin: string;

async function publish(projectDir: string, args: string[]): Promise<{ wrapperDir: string }> {
  const ctx = makeContext({ cwd: projectDir, env: { HOME: base, ENVLOCK_STORE: store, ENVLOCK_LAUNCHER: launcherBin, ENVLOCK_MODULEPATH: tree } });
  const outcome = await moduleCommand.run(parseArgs(['publish', ...args, '--tree', tree], moduleCommand), ctx);
  return outcome.result as { wrapperDir: string };
}

interface ShellRun { status: number | null; stdout: string; stderr: string }

function run(shell: string, script: string, options: { nobody?: boolean; env?: Record<string, string> } = {}): ShellRun {
  const env: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: '/',
    XDG_CONFIG_HOME: path.join(base, 'config'),
    XDG_CACHE_HOME: path.join(base, 'config', 'cache'),
    ENVLOCK_MODULEPATH: tree,
    ENVLOCK_CLI: cli,
    ENVLOCK_STORE: store,
    ENVLOCK_LAUNCHER: launcherBin,
    LC_ALL: 'C',
    ...options.env,
  };
  const argv = [shell, '-c', script];
  const [cmd, args] = options.nobody
    ? ['/usr/sbin/runuser', ['-u', 'nobody', '--', '/usr/bin/env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv]]
    : [argv[0]!, argv.slice(1)];
  // stdin is /dev/null, not Node's default socket: bash skips BASH_ENV when stdin is a socket
  // (it takes that for a remote-shell start).
  const r = spawnSync(cmd, args, { cwd: '/', env, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const withShim = (body: string): string => `set -eu\n. "${SHIM}"\n${body}`;

beforeAll(async () => {
  base = openTempDir('modules');
  store = path.join(base, 'store');
  tree = path.join(base, 'module tree');
  fs.mkdirSync(tree, { mode: 0o755 });
  fs.mkdirSync(path.join(base, 'config'), { mode: 0o777 });
  fs.chmodSync(path.join(base, 'config'), 0o777);
  fs.mkdirSync(path.join(base, 'config', 'cache'), { mode: 0o777 });
  fs.chmodSync(path.join(base, 'config', 'cache'), 0o777);
  launcherBin = launcher(base);
  cli = path.join(base, 'envlock');
  fs.writeFileSync(cli, `#!/bin/sh\nexec "${process.execPath}" "${RUNNER}" "$@"\n`, { mode: 0o755 });
  const a1 = makeProject(base, store, { env: 'analysis', version: '1.0', commands: ['analysis-tool'] });
  const a2 = makeProject(base, store, { env: 'analysis', version: '2.0', commands: ['analysis-tool'], provides: ['python/3.11'], description: 'Analysis tools' });
  const other = makeProject(base, store, { env: 'other', version: '9.9', commands: ['analysis-tool', 'other-tool'] });
  await publish(a1.dir, ['1.0']);
  await publish(a2.dir, ['2.0']);
  await publish(other.dir, ['9.9']);
}, 120_000);

afterAll(() => {
  if (base) fs.rmSync(base, { recursive: true, force: true });
});

describe('batch scripts', () => {
  for (const shell of SHELLS) {
    it(`runs purge; load; command; list unchanged in ${shell}`, () => {
      const r = run(shell, withShim('module purge\nmodule load analysis\nanalysis-tool --version\nmodule list'));
      expect(r.stderr).toContain('1) analysis/2.0');
      expect(r.stdout).toBe('analysis-tool 2.0\n');
      expect(r.status).toBe(0);
    });
  }

  for (const shell of ['bash', 'sh'] as const) {
    it(`works as nobody in ${shell}`, () => {
      const r = run(shell, withShim('module load analysis/1.0\nanalysis-tool --version\nid -un'), { nobody: true });
      expect(r.stdout).toBe('analysis-tool 1.0\nnobody\n');
      expect(r.status).toBe(0);
    });
  }

  it('works from BASH_ENV in a non-interactive bash', () => {
    const r = run('bash', 'set -eu\nmodule load analysis\nanalysis-tool --version', { env: { BASH_ENV: SHIM } });
    expect(r.stdout).toBe('analysis-tool 2.0\n');
  });

  it('fails cleanly under set -u when ENVLOCK_MODULEPATH is not set at all', () => {
    const r = run('sh', 'unset ENVLOCK_MODULEPATH\n' + withShim('if module load analysis; then echo BAD; fi\nmodule list\nmodule avail\necho ok'));
    expect(r.stdout).toBe('ok\n');
    expect(r.stderr).toContain('The following module(s) are unknown: "analysis"');
    expect(r.stderr).toContain('No modules loaded');
  });

  it('reaches a bash sub-shell through exported functions and variables', () => {
    const r = run('bash', withShim(`module load analysis\nbash -c 'module list -t; analysis-tool --version'`));
    expect(r.stderr).toContain('analysis/2.0');
    expect(r.stdout).toBe('analysis-tool 2.0\n');
  });
});

describe('wrappers', () => {
  it('pass arguments exactly, stdin and the exit status', () => {
    const r = run('bash', withShim(`module load analysis\nanalysis-tool --args 'a b' '' '$(x)' '*'\nprintf 'in\\nput' | analysis-tool --stdin\necho\nset +e\nanalysis-tool --exit 7\necho "st=$?"`));
    expect(r.stdout).toBe('arg:[a b]\narg:[]\narg:[$(x)]\narg:[*]\nin\nput\nst=7\n');
  });

  it('pass SIGTERM to the command and return its status', async () => {
    const wrapper = run('bash', withShim('module load analysis >/dev/null\ncommand -v analysis-tool')).stdout.trim();
    expect(wrapper).toContain('/.envlock/');
    const child = spawn(wrapper, ['--sleep'], { cwd: '/', env: { PATH: '/usr/bin:/bin', HOME: '/' } });
    let out = '';
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('ready')) resolve(); }));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(out).toContain('got-term');
    expect(code).toBe(42);
  });

  it('are started by the kernel with the launcher as interpreter, no shell and no node in between', () => {
    const wrapper = run('bash', withShim('module load analysis >/dev/null\ncommand -v analysis-tool')).stdout.trim();
    const text = fs.readFileSync(wrapper, 'utf8');
    expect(text.split('\n')[0]).toMatch(/^#!\/\S*envlock-launch\S* --wrapper$/);
    expect(text).not.toMatch(/node/);
  });
});

describe('state', () => {
  it('unload restores PATH exactly, even with spaces in it', () => {
    const r = run('sh', withShim(`PATH="/opt/with space:$PATH"; export PATH\nbefore=$PATH\nmodule load analysis other\nmodule unload analysis other\n[ "$PATH" = "$before" ] && echo same\necho "loaded=[\${ENVLOCK_LOADED-}]"`));
    expect(r.stdout).toBe('same\nloaded=[]\n');
  });

  it('lets the later of two modules win a shared command and lists both', () => {
    const r = run('zsh', withShim('module load analysis other\nanalysis-tool --version\nmodule list\nmodule unload other\nanalysis-tool --version'));
    expect(r.stdout).toBe('analysis-tool 9.9\nanalysis-tool 2.0\n');
    expect(r.stderr).toMatch(/1\) analysis\/2\.0\s+2\) other\/9\.9/);
  });

  it('marks default and loaded modules in avail', () => {
    const r = run('bash', withShim('module load analysis/1.0\nmodule avail'));
    expect(r.stderr).toMatch(/analysis\/1\.0 \(L\)/);
    expect(r.stderr).toMatch(/analysis\/2\.0 \(D\)/);
    expect(r.stderr).toContain('D:  Default Module');
  });

  for (const shell of ['sh', 'zsh'] as const) {
    it(`filters avail by a pattern and prints one per line with -t (${shell})`, () => {
      const r = run(shell, withShim('module load other\nmodule avail -t analysis\nmodule -t avail 9.9\nmodule avail oth'));
      expect(r.stderr).toContain(`${tree}:\nanalysis/1.0\nanalysis/2.0\n${tree}:\nother/9.9\n`);
      expect(r.stderr).toMatch(/other\/9\.9 \(L,D\)/);
      expect(r.stderr.split('analysis/1.0').length).toBe(2);
    });
  }

  it('finds a module through a provides alias and ml shorthands work', () => {
    const r = run('sh', withShim('ml python/3.11\nml -t list\nml -analysis other\nml'));
    expect(r.stderr).toContain('analysis/2.0');
    expect(r.stderr).toMatch(/1\) other\/9\.9/);
    expect(r.stderr).not.toMatch(/1\) analysis/);
  });

  it('saves and restores a collection, an empty one too, and refuses a missing one', () => {
    const r = run('bash', withShim([
      'module load analysis/1.0 other', 'module save mine', 'module purge', 'module save empty', 'module restore mine',
      'echo "$ENVLOCK_LOADED"', 'module savelist', 'if module restore nosuch; then echo BAD; fi', 'echo "$ENVLOCK_LOADED"',
      'module restore empty', 'echo "[$ENVLOCK_LOADED]"',
    ].join('\n')));
    expect(r.stdout).toBe('analysis/1.0:other/9.9\nanalysis/1.0:other/9.9\n[]\n');
    expect(r.stderr).toMatch(/\d\) mine/);
    expect(r.stderr).toContain('collection "nosuch" does not exist');
  });
});

describe('the other sub-commands', () => {
  it('swaps, answers is-loaded, and refreshes a lost PATH entry', () => {
    const r = run('bash', withShim([
      'module load analysis/1.0',
      'module swap analysis/1.0 other',
      'module is-loaded other && echo other-loaded',
      'module is-loaded analysis || echo analysis-gone',
      'PATH=/usr/bin:/bin',
      'module refresh',
      'analysis-tool --version',
    ].join('\n')));
    expect(r.stdout).toBe('other-loaded\nanalysis-gone\nanalysis-tool 9.9\n');
  });

  it('lists every module with spider from the pre-rendered listing, and describes one through the CLI', () => {
    const r = run('sh', withShim('module spider\nmodule show analysis\nmodule whatis analysis\nmodule help analysis/2.0\nmodule spider python'), { env: { ENVLOCK_CLI: '/nonexistent' } });
    expect(r.stderr).toContain('analysis: analysis/1.0, analysis/2.0');
    expect(r.stderr).toContain('Analysis tools');
    expect(r.status).not.toBe(0);
    const full = run('sh', withShim('module show analysis\nmodule whatis analysis\nmodule help analysis/2.0\nmodule spider python'));
    expect(full.stderr).toMatch(/prepend_path\("PATH",".*\.envlock\/[0-9a-f]{16}\/bin"\)/);
    expect(full.stderr).toContain('analysis/2.0        : Analysis tools');
    expect(full.stderr).toContain('Module Specific Help for "analysis/2.0"');
    expect(full.stderr).toMatch(/python:[\s\S]*analysis\/2\.0 \(D\)/);
    expect(full.status).toBe(0);
  });
});

describe('modules made by hand', () => {
  function handMade(name: string, owner: 'root' | 'nobody'): string {
    const project = makeProject(base, store, { env: name, version: '1', commands: [`${name}-tool`] });
    const handTree = fs.mkdtempSync(path.join(base, `hand-${owner}-`));
    fs.chmodSync(handTree, 0o755);
    fs.mkdirSync(path.join(handTree, name, '1'), { recursive: true });
    for (const f of ['envlock.yaml', 'envlock.lock']) fs.copyFileSync(path.join(project.dir, f), path.join(handTree, name, '1', f));
    for (const d of [path.join(handTree, name), path.join(handTree, name, '1')]) fs.chmodSync(d, 0o755);
    return handTree;
  }

  it('loads through the CLI, prepares in the tree and writes its index for the next load', () => {
    const handTree = handMade('byhand', 'root');
    const r = run('bash', withShim('module load byhand\nbyhand-tool --version'), { env: { ENVLOCK_MODULEPATH: `${tree}:${handTree}` } });
    expect(r.stdout).toBe('byhand-tool 1\n');
    expect(fs.readFileSync(path.join(handTree, '.envlock-index'), 'utf8')).toMatch(/^byhand 1 D [0-9a-f]{64} /m);
    const again = run('bash', withShim('module load byhand\nbyhand-tool --version'), { env: { ENVLOCK_MODULEPATH: handTree, ENVLOCK_CLI: '/nonexistent' } });
    expect(again.stdout).toBe('byhand-tool 1\n');
  });

  it('lists a tree without an index in avail through the CLI, markers included', () => {
    const handTree = handMade('listed', 'root');
    const r = run('sh', withShim('module avail\nmodule load listed\nmodule avail -t list\nmodule avail listed'), { env: { ENVLOCK_MODULEPATH: `${tree}:${handTree}` } });
    expect(r.stderr).toMatch(new RegExp(`-- ${handTree} -+\\n   listed/1 \\(D\\)\\n`));
    expect(r.stderr).toContain(`${handTree}:\nlisted/1\n`);
    expect(r.stderr).toMatch(new RegExp(`-- ${handTree} -+\\n   listed/1 \\(L,D\\)\\n`));
  });

  it('loads from a tree the user cannot write, preparing in the user cache (as nobody)', () => {
    const handTree = handMade('readonly', 'root');
    const r = run('sh', withShim('module load readonly\nreadonly-tool --version'), { nobody: true, env: { ENVLOCK_MODULEPATH: handTree } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('readonly-tool 1\n');
    expect(fs.existsSync(path.join(handTree, '.envlock-index'))).toBe(false);
    expect(fs.readdirSync(path.join(base, 'config', 'cache', 'envlock', 'modules')).length).toBeGreaterThan(0);
  });

  it('never runs the old image when a lock is replaced behind the index, even with old mtimes', async () => {
    const first = makeProject(base, store, { env: 'swapped', version: '1', commands: ['swapped-tool'] });
    const second = makeProject(base, store, { env: 'swapped', version: '2', commands: ['swapped-tool'] });
    await publish(first.dir, ['1']);
    const dir = path.join(tree, 'swapped', '1');
    const past = new Date(Date.now() - 3_600_000);
    for (const f of ['envlock.yaml', 'envlock.lock']) {
      fs.copyFileSync(path.join(second.dir, f), path.join(dir, f));
      fs.utimesSync(path.join(dir, f), past, past);
    }
    for (const shell of SHELLS) {
      const r = run(shell, withShim('module load swapped\nswapped-tool --version'));
      expect(r.stdout).toBe('swapped-tool 2\n');
    }
  });
});

describe('bad input', () => {
  for (const shell of SHELLS) {
    it(`rejects unknown modules with Lmod's message and keeps the state (${shell})`, () => {
      const r = run(shell, withShim('module load other\nbefore="$PATH|$ENVLOCK_LOADED"\nif module load analysis analysys; then echo loaded; fi\n[ "$PATH|$ENVLOCK_LOADED" = "$before" ] && echo unchanged'));
      expect(r.stdout).toBe('unchanged\n');
      expect(r.stderr).toContain('The following module(s) are unknown: "analysys"');
      expect(r.stderr).toContain('Did you mean "analysis"?');
    });
  }

  it('calls a bare alias that two modules provide ambiguous, and loads one by its full alias', async () => {
    const aliasTree = fs.mkdtempSync(path.join(base, 'alias-tree-'));
    fs.chmodSync(aliasTree, 0o755);
    for (const [env, provides] of [['py-a', 'python/3.12'], ['py-b', 'python/3.13']] as const) {
      const p = makeProject(base, store, { env, version: '1', commands: [`${env}-tool`], provides: [provides] });
      const ctx = makeContext({ cwd: p.dir, env: { HOME: base, ENVLOCK_STORE: store, ENVLOCK_LAUNCHER: launcherBin } });
      await moduleCommand.run(parseArgs(['publish', '1', '--tree', aliasTree], moduleCommand), ctx);
    }
    for (const shell of SHELLS) {
      const r = run(shell, withShim('if module load python; then echo BAD; fi\nmodule load python/3.13\necho "$ENVLOCK_LOADED"'), { env: { ENVLOCK_MODULEPATH: aliasTree } });
      expect(r.stderr).toContain('module name "python" is provided by several modules');
      expect(r.stdout).toBe('py-b/1\n');
    }
  });

  it('fails a set -e script on an unknown module', () => {
    const r = run('sh', withShim('module load nope\necho after'));
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
  });

  for (const shell of SHELLS) {
    it(`never evaluates hostile names (${shell})`, () => {
      const marker = path.join(base, `pwned-${shell}`);
      const names = [`x;touch ${marker}`, `$(touch ${marker})`, `\`touch ${marker}\``, 'a b', '../../etc', '-rf', 'a/*', '"q"'];
      const quoted = names.map((n) => `'${n.replaceAll("'", `'\\''`)}'`);
      // `ml -NAME` means unload NAME, so `ml -rf` is a valid (no-op) unload and is left out.
      const lines = quoted.map((q, i) => `if module load ${q}; then echo BAD; fi\nif module unload ${q}; then echo BAD; fi${names[i]!.startsWith('-') ? '' : `\nif ml ${q}; then echo BAD; fi`}`);
      const r = run(shell, withShim(`${lines.join('\n')}\necho "done:\${ENVLOCK_LOADED-}"`));
      expect(fs.existsSync(marker)).toBe(false);
      expect(r.stdout).toBe('done:\n');
      expect(r.stderr).toContain('holds characters module names never hold');
    });
  }

  it('refuses a module whose lock went stale, at load and in an already loaded wrapper', async () => {
    const stale = makeProject(base, store, { env: 'stale', version: '1', commands: ['stale-tool'] });
    await publish(stale.dir, ['1']);
    const dir = path.join(tree, 'stale', '1');
    const ok = run('bash', withShim('module load stale\nstale-tool --version'));
    expect(ok.stdout).toBe('stale-tool 1\n');
    // A new declaration without a new lock: the lock no longer fits.
    fs.writeFileSync(path.join(dir, 'envlock.yaml'), fs.readFileSync(path.join(dir, 'envlock.yaml'), 'utf8').replace('registry.test/stale:1', 'registry.test/stale:2'));
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(dir, 'envlock.yaml'), later, later);
    const r = run('bash', withShim('if module load stale; then echo BAD; fi\necho "[${ENVLOCK_LOADED-}]"'));
    expect(r.stdout).toBe('[]\n');
    expect(r.stderr).toMatch(/out of date/);
    const preparedRoot = path.join(dir, '.envlock');
    const prepared = fs.readdirSync(preparedRoot)[0]!;
    const direct = spawnSync(path.join(preparedRoot, prepared, 'bin', 'stale-tool'), ['--version'], { encoding: 'utf8' });
    expect(direct.status).toBe(125);
    expect(direct.stderr).toContain('changed since its wrappers were prepared');
  });

  it('names the pull command when the image is in no store', async () => {
    const gone = makeProject(base, store, { env: 'gone', version: '1', commands: ['gone-tool'] });
    await publish(gone.dir, ['1']);
    const rootfs = fs.readlinkSync(path.join(tree, 'gone', '1', '.envlock', fs.readdirSync(path.join(tree, 'gone', '1', '.envlock'))[0]!, 'rootfs'));
    fs.rmSync(rootfs, { recursive: true, force: true });
    const r = run('sh', withShim('if module load gone; then echo BAD; fi'));
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('is not in any store');
    expect(r.stderr).toContain('envlock pull -C');
  });

  it('tolerates a missing tree on ENVLOCK_MODULEPATH and runs under set -u with nothing set', () => {
    const r = run('dash', withShim('module load analysis\nanalysis-tool --version'), { env: { ENVLOCK_MODULEPATH: `/nonexistent:${tree}` } });
    expect(r.stdout).toBe('analysis-tool 2.0\n');
  });
});

describe('falling through to real Lmod', () => {
  for (const [shell, init] of [['sh', 'sh'], ['zsh', 'zsh']] as const) {
    it(`mixes site and envlock modules in ${shell} (Lmod's ${init} init)`, () => {
      const lmodTree = fs.mkdtempSync(path.join(base, 'lmod-'));
      fs.mkdirSync(path.join(lmodTree, 'gcc'));
      fs.writeFileSync(path.join(lmodTree, 'gcc', '12.lua'), 'setenv("SITE_GCC","12")\n');
      const script = `. /usr/share/lmod/lmod/init/${init}\nexport MODULEPATH='${lmodTree}'\nset -eu\n. "${SHIM}"\nmodule load analysis gcc\necho "gcc=$SITE_GCC"\nanalysis-tool --version\nmodule unload gcc analysis\necho "after=\${SITE_GCC-}:\${ENVLOCK_LOADED-}"`;
      const r = run(shell, script);
      expect(r.stdout).toBe('gcc=12\nanalysis-tool 2.0\nafter=:\n');
      expect(r.status).toBe(0);
    });
  }

  it('mixes a site Lua module with an envlock module in one script', () => {
    const lmodTree = path.join(base, 'lmod');
    fs.mkdirSync(path.join(lmodTree, 'gcc'), { recursive: true });
    fs.writeFileSync(path.join(lmodTree, 'gcc', '12.lua'), 'whatis("gcc")\nsetenv("SITE_GCC","12")\n');
    const script = `. ${LMOD_INIT}\nexport MODULEPATH='${lmodTree}'\nset -eu\n. "${SHIM}"\nmodule load gcc analysis\necho "gcc=$SITE_GCC"\nanalysis-tool --version\nmodule list\nif module load nosuchthing; then echo BAD; fi`;
    const r = run('bash', script);
    expect(r.stdout).toBe('gcc=12\nanalysis-tool 2.0\n');
    expect(r.stderr).toContain('analysis/2.0');
    expect(r.stderr).toContain('gcc/12');
    expect(r.stderr).toMatch(/nosuchthing/);
  });
});
