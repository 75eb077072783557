// The one plugstack.conf line a Slurm administrator adds to load envlock's SPANK plugin:
// `required|optional PLUGIN envlock=CLI node=NODE`. The plugin runs `NODE CLI slurm prepare`
// once per node and step, so both paths are absolute and fixed when the line is printed.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { EnvlockError } from '../errors.js';
import { nativeBuildDir, packageRoot } from '../runtime/launcher-path.js';

/** The plugin's file name in native/build/Release (scripts/build-native.mjs builds it when it can). */
export const PLUGIN_FILE = 'envlock_spank.so';
/** The per-node helper that builds the environment's mount namespace, beside the plugin. */
export const HOLDER_FILE = 'envlock-spank-holder';

export interface PlugstackLine {
  mode: 'required' | 'optional';
  plugin: string;
  args: string[];
  line: string;
}

export interface PlugstackOptions {
  optional: boolean;
  /** Absolute path of the Node that runs envlock (process.execPath of the CLI). */
  node: string;
  /** The built CLI; defaults to dist/bundle/envlock.js of this package. */
  cli?: string;
  /** Where the plugin lies; defaults to native/build/Release. */
  buildDir?: string;
}

export function plugstackLine(options: PlugstackOptions): PlugstackLine {
  const dir = options.buildDir ?? nativeBuildDir();
  const plugin = path.join(dir, PLUGIN_FILE);
  if (!existsSync(plugin) || !existsSync(path.join(dir, HOLDER_FILE))) {
    throw new EnvlockError('RUNTIME_UNAVAILABLE', `The Slurm plugin ${plugin} was not built, because this host had no Slurm headers (slurm/spank.h) when envlock was installed.`, {
      hint: 'Install the Slurm development headers (Debian: libslurm-dev), then run `npm rebuild envlock`.',
      details: { path: plugin },
    });
  }
  const cli = options.cli ?? path.join(packageRoot(), 'dist', 'bundle', 'envlock.js');
  const args = [`envlock=${cli}`, `node=${options.node}`];
  // plugstack.conf splits its lines on white space; nothing quotes a path there.
  for (const value of [plugin, ...args]) {
    if (/\s/.test(value)) {
      throw new EnvlockError('RUNTIME_UNAVAILABLE', `The path in ${JSON.stringify(value)} contains white space, which plugstack.conf cannot hold.`, {
        hint: 'Install envlock and Node under paths without spaces.',
      });
    }
  }
  const mode = options.optional ? 'optional' : 'required';
  return { mode, plugin, args, line: [mode, plugin, ...args].join(' ') };
}
