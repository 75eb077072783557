// Builds native/ (the envlock-launch launcher and the addon) with node-gyp against the headers of
// the Node that runs this script when they are installed beside it, so no download is needed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const prefix = path.resolve(path.dirname(process.execPath), '..');
const args = ['rebuild', '--directory', 'native'];
if (existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
// npm tells scripts where its bundled node-gyp is; fall back to one on PATH.
const gyp = process.env.npm_config_node_gyp;
const result = gyp ? spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit' }) : spawnSync('node-gyp', args, { stdio: 'inherit' });
if (result.status !== 0) {
  process.stderr.write('envlock: building the native runtime failed; install python3, make and g++ (apt-get install python3 make g++) and run `npm rebuild envlock` or `npm ci` again.\n');
  process.exit(result.status ?? 1);
}
// Squashfs support is optional at build time (native/probe.sh); say once when it is off.
const launcher = path.join('native', 'build', 'Release', 'envlock-launch');
const features = spawnSync(launcher, ['--features'], { encoding: 'utf8' });
if (features.status === 0 && !features.stdout.split('\n').includes('squashfs')) {
  process.stderr.write('envlock: note: the launcher was built without squashfs support (libsquashfuse-dev and libfuse3-dev are missing); images will use the tree format. Install them and run `npm rebuild envlock` to enable it.\n');
}
