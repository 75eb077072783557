// After the build: make the CLI entry points executable so `bin` works without a wrapper, and
// rebuild the native parts when their sources changed since they were built (after a rebase
// that changes the launcher's spec format, a stale launcher fails every run).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

for (const entry of ['../dist/bundle/envlock.js', '../dist/cli/main.js']) {
  const file = new URL(entry, import.meta.url);
  if (existsSync(file)) chmodSync(file, 0o755);
}

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const built = ['envlock-launch', 'envlock_native.node', 'envlock_exec.node'].map((name) => path.join(root, 'native', 'build', 'Release', name));
// Not built yet (npm ci builds native/ before this) or built elsewhere: nothing to compare.
if (built.every((file) => existsSync(file))) {
  const oldestBuild = Math.min(...built.map((file) => statSync(file).mtimeMs));
  const sources = [path.join(root, 'native', 'binding.gyp'), ...readdirSync(path.join(root, 'native', 'src'), { recursive: true }).map((name) => path.join(root, 'native', 'src', String(name)))];
  const changed = sources.filter((file) => statSync(file).isFile() && statSync(file).mtimeMs > oldestBuild);
  if (changed.length > 0) {
    process.stderr.write(`envlock: ${path.relative(root, changed[0])}${changed.length > 1 ? ` and ${changed.length - 1} more` : ''} changed since native/ was built; rebuilding it.\n`);
    const result = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-native.mjs')], { cwd: root, stdio: 'inherit' });
    if (result.status !== 0) process.exit(result.status ?? 1);
  }
}
