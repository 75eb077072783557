// The C sources of the envlock-launch executable, as native/binding.gyp lists them (the entry
// library's and the launcher's own), for building a launcher by hand with a plain `cc` (tests of
// a build without optional parts, a bench on a machine without node-gyp's build). Run directly,
// prints one absolute path per line.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Absolute paths of the launcher's C files, in binding.gyp's order, without repeats. */
export function launcherSources(root = ROOT) {
  // binding.gyp is JSON apart from its `#` comment lines.
  const text = readFileSync(path.join(root, 'native', 'binding.gyp'), 'utf8').split('\n').filter((line) => !line.trim().startsWith('#')).join('\n');
  const targets = JSON.parse(text).targets;
  const sources = ['envlock-entry', 'envlock-launch'].flatMap((name) => targets.find((t) => t.target_name === name)?.sources ?? []);
  return [...new Set(sources)].filter((file) => file.endsWith('.c')).map((file) => path.join(root, 'native', file));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(`${launcherSources().join('\n')}\n`);
