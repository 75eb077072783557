// Which environment `run`/`shell` mean: the one named, else the only one, else `default`.

import path from 'node:path';
import type { Declaration, EnvironmentDecl } from '../declaration/model.js';
import { EnvlockError } from '../errors.js';
import { didYouMean } from '../suggest.js';
import { quoted } from '../shown.js';

export interface Picked {
  env: EnvironmentDecl;
  /** Whether the first word was the environment's name (and so is not part of the command). */
  consumedName: boolean;
}

export function pickEnvironment(decl: Declaration, first: string | undefined, mustBeName: boolean, command: string): Picked {
  const picked = pickEnvironmentName(decl.environments.map((e) => e.name), decl.file, first, mustBeName, command);
  return { env: decl.environments.find((e) => e.name === picked.name)!, consumedName: picked.consumedName };
}

/** The same choice over bare names (the prepared-run cache knows names, not declarations). */
export function pickEnvironmentName(names: readonly string[], file: string, first: string | undefined, mustBeName: boolean, command: string): { name: string; consumedName: boolean } {
  if (first !== undefined && names.includes(first)) return { name: first, consumedName: true };
  if (mustBeName && first !== undefined) {
    throw new EnvlockError('ENVIRONMENT_UNKNOWN', `There is no environment ${quoted(first)} in ${path.basename(file)}.${didYouMean(first, names)}`, { hint: `Pick one of: ${names.join(', ')}.` });
  }
  const fallback = names.length === 1 ? names[0] : names.find((n) => n === 'default');
  if (fallback !== undefined) return { name: fallback, consumedName: false };
  throw new EnvlockError('ENVIRONMENT_UNKNOWN', `${path.basename(file)} declares ${names.length} environments, so \`envlock ${command}\` needs a name.${first ? didYouMean(first, names) : ''}`, {
    hint: `Run \`envlock ${command} NAME ...\` with one of: ${names.join(', ')}.`,
  });
}
