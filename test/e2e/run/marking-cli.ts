// A copy of the built package whose full CLI (dist/bundle/main.mjs) leaves a mark each time it
// loads, so a test can tell a command the entry's fast path answered from one the full CLI did,
// by what happened and not by timing. Optionally of another version, as after an upgrade.

import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { restampBundleVersion } from '../../helpers/bundle-version.js';
import { makeTempDir, REPO_ROOT } from '../../helpers/cli.js';

export interface MarkingCli {
  /** The copied bin (dist/bundle/envlock.js). */
  entry: string;
  /** Variables that make the full CLI mark: pass them to the command. */
  env: Record<string, string>;
  /** Forgets earlier marks. */
  reset(): void;
  /** Whether the full CLI loaded since the last reset. */
  fullCliRan(): boolean;
}

export function markingCli(options: { version?: string } = {}): MarkingCli {
  const pkg = makeTempDir('marking-pkg');
  chmodSync(pkg, 0o755);
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ ...manifest, version: options.version ?? manifest.version }));
  cpSync(join(REPO_ROOT, 'dist', 'bundle'), join(pkg, 'dist', 'bundle'), { recursive: true });
  if (options.version !== undefined && options.version !== manifest.version) restampBundleVersion(join(pkg, 'dist', 'bundle'), manifest.version, options.version);
  mkdirSync(join(pkg, 'native'));
  cpSync(join(REPO_ROOT, 'native', 'binding.gyp'), join(pkg, 'native', 'binding.gyp'));
  symlinkSync(join(REPO_ROOT, 'native', 'build'), join(pkg, 'native', 'build'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(pkg, 'node_modules'));
  const main = join(pkg, 'dist', 'bundle', 'main.mjs');
  const mark = "import { appendFileSync as __testMark } from 'node:fs';\nif (process.env.ENVLOCK_TEST_FULL_CLI_MARK) __testMark(process.env.ENVLOCK_TEST_FULL_CLI_MARK, 'full\\n');\n";
  const text = readFileSync(main, 'utf8');
  // After the #! line, which must stay first.
  const at = text.startsWith('#!') ? text.indexOf('\n') + 1 : 0;
  writeFileSync(main, text.slice(0, at) + mark + text.slice(at));
  // Written by whichever user runs the command (root or nobody).
  const marks = makeTempDir('marks');
  chmodSync(marks, 0o1777);
  const file = join(marks, 'full-cli');
  return {
    entry: join(pkg, 'dist', 'bundle', 'envlock.js'),
    env: { ENVLOCK_TEST_FULL_CLI_MARK: file },
    reset: () => rmSync(file, { force: true }),
    fullCliRan: () => existsSync(file),
  };
}
