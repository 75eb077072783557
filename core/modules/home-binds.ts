// `~` in a module's bind sources means the home of whoever runs a wrapper, not of whoever
// prepared it (issue 12.6): a module prepared by root in a shared tree bound /root/… for every
// user. Such binds leave the spec and are added by the wrapper from $HOME at run time.

import { loadDeclaration } from '../declaration/load.js';
import type { EnvironmentDecl } from '../declaration/model.js';
import { renderSpec, type BindMount } from '../runtime/spec.js';
import type { ModuleInfo } from './module-info.js';

/** What `~` stands for while a module is prepared: a path no host has, replaced by $HOME in the wrapper. */
export const HOME_MARK = '/.envlock-home-of-the-caller';

const underMark = (p: string): boolean => p === HOME_MARK || p.startsWith(`${HOME_MARK}/`);

/** The module's environment read again with `~` as HOME_MARK (binds are not part of the lock's declaration hash). */
export async function environmentForAnyUser(info: ModuleInfo): Promise<EnvironmentDecl> {
  const declaration = await loadDeclaration(info.dir, { home: HOME_MARK });
  return declaration.environments.find((e) => e.name === info.environment.name) ?? info.environment;
}

/**
 * The spec line of one bind, each path under HOME_MARK written `~`/…: the launcher puts the
 * runner's $HOME there (native/src/wrapper.c). The mark needs no escaping, so it is found as is
 * at the start of an escaped field.
 */
function homeLine(bind: BindMount): string {
  const line = renderSpec({ rootfs: '/', binds: [bind] }).split('\n').find((l) => l.startsWith('bind '))!;
  return line.split(' ').map((f) => (f === HOME_MARK || f.startsWith(`${HOME_MARK}/`) ? `~${f.slice(HOME_MARK.length)}` : f)).join(' ');
}

/**
 * Splits binds into those the spec keeps and the wrapper's spec lines for the ones under `~`;
 * the read-only binds (the store) follow those again, so a bind of `~` never hides them.
 */
export function splitHomeBinds(binds: readonly BindMount[], readOnly: readonly string[]): { kept: BindMount[]; perUser: string[] } {
  const home = binds.filter((b) => underMark(b.source) || underMark(b.destination));
  if (home.length === 0) return { kept: [...binds], perUser: [] };
  const kept = binds.filter((b) => !home.includes(b));
  const again = kept.filter((b) => b.readOnly && readOnly.includes(b.source));
  return { kept, perUser: [...home, ...again].map(homeLine) };
}
