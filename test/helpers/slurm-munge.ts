// munged for the test clusters: Slurm authenticates every message with MUNGE through the socket
// in /run/munge. A running munged is reused (several clusters, engineers or CI jobs share one);
// otherwise one is started as the munge user, with a key made first if the host has none.

import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync } from 'node:fs';

const SOCKET_DIR = '/run/munge';
const KEY = '/etc/munge/munge.key';

function mungeWorks(): boolean {
  // A credential that decodes proves the socket answers and the key is readable by munged.
  const made = spawnSync('sh', ['-c', 'munge -n | unmunge'], { encoding: 'utf8', timeout: 5000 });
  return made.status === 0;
}

function mungeIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync('id', [flag, 'munge'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Makes sure a munged answers on /run/munge; throws with the reason when it cannot. */
export async function ensureMunge(): Promise<void> {
  if (mungeWorks()) return;
  const { uid, gid } = mungeIds();
  if (!Number.isInteger(uid)) throw new Error('the munge user does not exist: install the munge package');
  mkdirSync(SOCKET_DIR, { recursive: true, mode: 0o755 });
  chownSync(SOCKET_DIR, uid, gid);
  if (!existsSync(KEY)) {
    const key = spawnSync('runuser', ['-u', 'munge', '--', 'mungekey', '--create', `--keyfile=${KEY}`], { encoding: 'utf8' });
    if (key.status !== 0 && !existsSync(KEY)) throw new Error(`mungekey failed: ${key.stderr}`);
  }
  // munged daemonises; a second starter racing us fails on munged's own lock, which is fine.
  const started = spawnSync('runuser', ['-u', 'munge', '--', 'munged'], { encoding: 'utf8' });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (mungeWorks()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`munged did not start: ${started.stderr || started.stdout}`);
}
