// A Debian root made from this host's own Debian packages (dpkg -L), packed with GNU tar as one
// layer: over a thousand real files, merged-/usr symlinks, shared libraries and their symlink
// chains, so image forms are compared on what a real distribution ships. Needs no network.

import { execFileSync, spawnSync } from 'node:child_process';
import { lstatSync, realpathSync } from 'node:fs';
import path from 'node:path';

/** Enough for a shell, coreutils and their libraries; docs, manuals and translations left out. */
export const DEBIAN_PACKAGES = ['base-files', 'libc6', 'libgcc-s1', 'dash', 'bash', 'coreutils', 'grep', 'sed', 'libacl1', 'libattr1', 'libselinux1', 'libpcre2-8-0', 'libgmp10', 'libtinfo6', 'perl-base'];
const LEFT_OUT = /^usr\/share\/(doc|man|info|locale|lintian)\//;

/** Paths relative to /, with every directory component resolved as the host has it. */
export function debianPaths(packages: readonly string[] = DEBIAN_PACKAGES): string[] {
  const listed = execFileSync('dpkg', ['-L', ...packages], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n');
  const out = new Set<string>(['bin', 'lib', 'lib64', 'sbin'].filter((p) => exists(`/${p}`)));
  for (const line of listed) {
    if (!line.startsWith('/') || line === '/.') continue;
    let parent: string;
    try {
      parent = realpathSync(path.dirname(line));
    } catch {
      continue;
    }
    const rel = path.join(parent, path.basename(line)).slice(1);
    if (rel !== '' && !LEFT_OUT.test(`${rel}/`) && exists(`/${rel}`)) out.add(rel);
  }
  return [...out].sort();
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** The packages' files as an uncompressed tar (numeric owners, sorted, fixed mtimes kept). */
export function debianLayer(packages?: readonly string[]): Buffer {
  const list = debianPaths(packages).join('\n');
  const tar = spawnSync('tar', ['-C', '/', '--numeric-owner', '--no-recursion', '-cf', '-', '-T', '-'], { input: list, maxBuffer: 512 << 20 });
  // A directory the packages own (/tmp, /var/tmp) may change while it is read: other tests write
  // into it. Its entry is only its header, so GNU tar's status 1 for that alone is no failure.
  const otherComplaints = tar.stderr.toString().split('\n').filter((line) => line !== '' && !line.endsWith(': file changed as we read it'));
  if (tar.status === 0 || (tar.status === 1 && otherComplaints.length === 0)) return tar.stdout;
  throw new Error(`tar of the Debian packages' files failed (status ${tar.status}): ${tar.stderr.toString().trim()}`);
}
