// Which project a command works on: the nearest directory at or above the one the user is in that
// holds envlock.yaml or envlock.toml, as uv, cargo, pixi and git find theirs. The search stops at
// the filesystem root, and at $HOME for a directory inside it, so a stray file above a home is
// never picked up. The command itself still runs where the user is (ctx.cwd).

import { statSync } from 'node:fs';
import path from 'node:path';
import type { Context } from './context.js';
import { DECLARATION_FILES } from './declaration/model.js';

function hasDeclaration(dir: string): boolean {
  for (const name of DECLARATION_FILES) {
    try {
      // Most directories searched have no declaration: asked without an exception (cheaper).
      if (statSync(path.join(dir, name), { throwIfNoEntry: false })?.isFile()) return true;
    } catch {
      // Unreadable: not this directory's.
    }
  }
  return false;
}

/** True when `dir` is `home` or below it. */
function inside(dir: string, home: string): boolean {
  return dir === home || dir.startsWith(home.endsWith(path.sep) ? home : `${home}${path.sep}`);
}

/** The directories searched from `start`, nearest first: up to $HOME when inside it, else to /. */
export function searchedDirectories(start: string, home: string | undefined): string[] {
  const from = path.resolve(start);
  const resolvedHome = home === undefined || home === '' ? undefined : path.resolve(home);
  // `from` is resolved, so absolute: its root is '/'.
  const boundary = resolvedHome !== undefined && resolvedHome !== '/' && inside(from, resolvedHome) ? resolvedHome : undefined;
  const dirs: string[] = [];
  for (let dir = from; ; ) {
    dirs.push(dir);
    const parent = path.dirname(dir);
    if (dir === boundary || parent === dir) return dirs;
    dir = parent;
  }
}

/** The nearest project directory at or above `start`, or undefined when there is none. */
export function discoverProjectDir(start: string, home: string | undefined): string | undefined {
  return searchedDirectories(start, home).find(hasDeclaration);
}

const found = new WeakMap<Context, string>();

/** The project directory for this command (found once per context); ctx.cwd when there is none. */
export function projectDir(ctx: Context): string {
  let dir = found.get(ctx);
  if (dir === undefined) {
    dir = discoverProjectDir(ctx.cwd, ctx.home) ?? ctx.cwd;
    found.set(ctx, dir);
  }
  return dir;
}
