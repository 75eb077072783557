// What a launcher was built with, in its own words (`envlock-launch --features`, one word a
// line). A site's ENVLOCK_LAUNCHER can be older or smaller than this envlock: the squashfs
// check and the module wrappers ask before they depend on a feature.

import { spawnSync } from 'node:child_process';
import { errnoCode } from '../errors.js';

export interface LauncherFeatures {
  /** What it lists; undefined when it could not say (not started, or older than `--features`). */
  words?: string[];
  /** The errno name or message when it could not be started. */
  why?: string;
}

const asked = new Map<string, LauncherFeatures>();

/** Asked once per launcher and process (`modulefiles` prepares every module of a tree). */
export function launcherFeatures(launcher: string): LauncherFeatures {
  let features = asked.get(launcher);
  if (features === undefined) asked.set(launcher, (features = ask(launcher)));
  return features;
}

function ask(launcher: string): LauncherFeatures {
  const run = spawnSync(launcher, ['--features'], { encoding: 'utf8', timeout: 10_000 });
  if (run.error !== undefined) return { why: errnoCode(run.error) ?? run.error.message };
  if (run.status !== 0) return {};
  return { words: run.stdout.split('\n').filter((word) => word !== '') };
}
