// Builds native/ (the envlock-launch launcher and the addon) with node-gyp against the headers of
// the Node that runs this script when they are installed beside it, so no download is needed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const prefix = path.resolve(path.dirname(process.execPath), '..');
const args = ['rebuild', '--directory', 'native'];
if (existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
// Optional parts are built where their libraries are installed; ENVLOCK_BUILD_WITHOUT=squashfs
// (or slurm, or both, comma-separated) leaves them out anyway (how the degraded build is tested on a host that has everything).
const without = (process.env.ENVLOCK_BUILD_WITHOUT ?? '').split(',');
if (without.includes('squashfs')) args.push('--envlock_squashfs=0', '--envlock_sqfs_writer=0');
if (without.includes('slurm')) args.push('--envlock_spank=0');
// npm tells scripts where its bundled node-gyp is; fall back to one on PATH.
const gyp = process.env.npm_config_node_gyp;
const result = gyp ? spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit' }) : spawnSync('node-gyp', args, { stdio: 'inherit' });
if (result.status !== 0) {
  process.stderr.write('envlock: building the native runtime failed; install python3, make and g++ (apt-get install python3 make g++) and run `npm rebuild envlock` or `npm ci` again.\n');
  process.exit(result.status ?? 1);
}
// Squashfs support is optional at build time (native/probe.sh): the launcher mounts images with
// squashfuse, the addon writes them with libsquashfs. Say once what was left out.
const missing = [];
const launcher = path.join('native', 'build', 'Release', 'envlock-launch');
const features = spawnSync(launcher, ['--features'], { encoding: 'utf8' });
if (features.status === 0 && !features.stdout.split('\n').includes('squashfs')) missing.push('squashfs mounting in the launcher (libsquashfuse-dev, libfuse3-dev)');
try {
  const addon = createRequire(import.meta.url)(path.resolve('native', 'build', 'Release', 'envlock_native.node'));
  if (typeof addon.SqfsWriter !== 'function') missing.push('the squashfs image writer (libsquashfs-dev)');
} catch {
  // a broken addon is reported where it is loaded
}
if (missing.length > 0) {
  process.stderr.write(`envlock: note: built without ${missing.join(' and ')}; images will use the tree format. Install what is named and run \`npm rebuild envlock\` to enable squashfs images (\`envlock doctor\` explains).\n`);
}
// The Slurm plugin is built only against Slurm's headers (native/binding.gyp); say so once.
if (!existsSync(path.join('native', 'build', 'Release', 'envlock_spank.so'))) {
  process.stderr.write(without.includes('slurm')
    ? 'envlock: note: the SPANK plugin for `srun --envlock` was left out (ENVLOCK_BUILD_WITHOUT=slurm).\n'
    : 'envlock: note: no Slurm headers (slurm/spank.h), so the SPANK plugin for `srun --envlock` was not built; install libslurm-dev and run `npm rebuild envlock` to add it.\n');
}
