// envlock installed the way a site installs it for batch jobs: scripts/install.sh from a copy of
// this checkout into a prefix, with `envlock` linked into a bin directory the jobs have on PATH.
// One install per content of the checkout (and Node), shared by every Slurm test file and kept
// for later runs until the code changes; older installs of this checkout are removed.

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './cli.js';

export interface InstalledEnvlock {
  /** install.sh --prefix: the package lies in PREFIX/lib/node_modules/envlock. */
  prefix: string;
  /** install.sh --bin-dir: holds the `envlock` link, as /usr/local/bin would. */
  binDir: string;
}

/**
 * Files of a fresh clone (tracked and new, not ignored: no build outputs) that the install
 * builds from; tests and benchmarks are left out, so editing a test does not install again.
 */
function checkoutFiles(): string[] {
  const listed = spawnSync('git', ['-C', REPO_ROOT, 'ls-files', '--cached', '--others', '--exclude-standard', '-z'], { encoding: 'utf8' });
  // A copy without git (scripts/test.sh tests one when the checkout is private): all but builds.
  const all = listed.status === 0 ? listed.stdout.split('\0') : walk('');
  return all.filter((f) => f !== '' && !/^(test|bench)\//.test(f) && existsSync(join(REPO_ROOT, f)) && statSync(join(REPO_ROOT, f)).isFile()).sort();
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
    const rel = dir === '' ? entry.name : `${dir}/${entry.name}`;
    if (['.git', 'node_modules', 'dist', 'native/build'].includes(rel)) continue;
    if (entry.isDirectory()) out.push(...walk(rel));
    else out.push(rel);
  }
  return out;
}

function contentKey(files: string[]): string {
  const hash = createHash('sha256').update(process.execPath).update('\0');
  for (const file of files) hash.update(file).update('\0').update(readFileSync(join(REPO_ROOT, file))).update('\0');
  return hash.digest('hex').slice(0, 16);
}

// Under flock (the test files of a run start together): drops installs of older content, then,
// unless this content is installed, copies the checkout (file list on stdin; node_modules linked,
// since install.sh only builds with it), runs install.sh and marks the prefix complete.
const INSTALL = `
set -euo pipefail
root=$1; key=$2; repo=$3; dir=$root/$key
for old in "$root"/*/; do [ "$old" = "$dir/" ] || rm -rf "$old"; done
[ -f "$dir/complete" ] && exit 0
rm -rf "$dir"
mkdir -p "$dir/src"
tr '\\n' '\\0' | tar -C "$repo" --null -T - -cf - | tar -C "$dir/src" -xf -
ln -s "$repo/node_modules" "$dir/src/node_modules"
(cd "$dir/src" && bash scripts/install.sh --prefix "$dir/opt/envlock" --bin-dir "$dir/bin") > "$dir/install.log" 2>&1 \\
  || { cat "$dir/install.log" >&2; exit 1; }
rm -rf "$dir/src"
chmod -R a+rX "$dir"
touch "$dir/complete"
`;

export async function installedEnvlock(): Promise<InstalledEnvlock> {
  const files = checkoutFiles();
  const root = join(REPO_ROOT, 'node_modules', '.cache', 'envlock-install');
  const key = contentKey(files);
  mkdirSync(root, { recursive: true, mode: 0o755 });
  await new Promise<void>((resolve, reject) => {
    const child = spawn('flock', [join(root, '.lock'), 'bash', '-c', INSTALL, 'install', root, key, REPO_ROOT], { stdio: ['pipe', 'ignore', 'pipe'] });
    child.stdin.end(`${files.join('\n')}\n`);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`scripts/install.sh failed (exit ${code}):\n${stderr}`))));
  });
  const dir = join(root, key);
  return { prefix: join(dir, 'opt', 'envlock'), binDir: join(dir, 'bin') };
}
