// A copy of this checkout whose native parts are built as on a host that lacks one library's
// headers: an empty directory is bound over them in a private mount namespace, so no other build
// on this machine is touched. The copy shares node_modules and the built dist/ (root only, for unshare).

import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { makeTempDir, REPO_ROOT } from './cli.js';

export interface CopyBuild {
  /** The copy's root: native/build/Release holds what was built. */
  pkg: string;
  /** The copy's CLI, which loads the copy's native parts. */
  cli: string;
  /** The native build (scripts/build-native.mjs): its status and the notes on stderr. */
  built: SpawnSyncReturns<string>;
}

/** Builds a copy with `headers` (e.g. /usr/include/slurm) hidden; the copy is readable by nobody too. */
export function buildCopyWithoutHeaders(headers: string, options: { timeoutMs: number }): CopyBuild {
  const root = makeTempDir(`no-${basename(headers)}`);
  chmodSync(root, 0o755);
  const empty = join(root, 'empty');
  const pkg = join(root, 'pkg');
  mkdirSync(empty);
  mkdirSync(join(pkg, 'scripts'), { recursive: true });
  cpSync(join(REPO_ROOT, 'native'), join(pkg, 'native'), { recursive: true, filter: (src) => !src.includes(`${join('native', 'build')}`) });
  for (const file of ['package.json', 'scripts/build-native.mjs']) cpSync(join(REPO_ROOT, file), join(pkg, file));
  cpSync(join(REPO_ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(pkg, 'node_modules'));
  // build-native.mjs finds node-gyp through a variable only npm sets: name npm's own, else the checkout's.
  const npmRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
  const gyp = [join(npmRoot, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), join(REPO_ROOT, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')].find(existsSync);
  const built = spawnSync('unshare', ['-m', 'sh', '-c', `mount --bind '${empty}' ${headers} && exec '${process.execPath}' scripts/build-native.mjs`], {
    cwd: pkg,
    encoding: 'utf8',
    env: { ...process.env, ...(gyp ? { npm_config_node_gyp: gyp } : {}) },
    timeout: options.timeoutMs,
  });
  execFileSync('chmod', ['-R', 'a+rX', pkg]);
  return { pkg, cli: join(pkg, 'dist', 'bundle', 'envlock.js'), built };
}
