// Which environment `run`/`shell` mean: the one named, else the only one, else `default`.

import path from 'node:path';
import type { Declaration, EnvironmentDecl } from '../declaration/model.js';
import { EnvlockError } from '../errors.js';
import { didYouMean } from '../suggest.js';

export interface Picked {
  env: EnvironmentDecl;
  /** Whether the first word was the environment's name (and so is not part of the command). */
  consumedName: boolean;
}

export function pickEnvironment(decl: Declaration, first: string | undefined, mustBeName: boolean, command: string): Picked {
  const names = decl.environments.map((e) => e.name);
  const named = first === undefined ? undefined : decl.environments.find((e) => e.name === first);
  if (named) return { env: named, consumedName: true };
  if (mustBeName && first !== undefined) {
    throw new EnvlockError('ENVIRONMENT_UNKNOWN', `There is no environment \`${first}\` in ${path.basename(decl.file)}.${didYouMean(first, names)}`, { hint: `Pick one of: ${names.join(', ')}.` });
  }
  const fallback = decl.environments.length === 1 ? decl.environments[0] : decl.environments.find((e) => e.name === 'default');
  if (fallback) return { env: fallback, consumedName: false };
  throw new EnvlockError('ENVIRONMENT_UNKNOWN', `${path.basename(decl.file)} declares ${names.length} environments, so \`envlock ${command}\` needs a name.${first ? didYouMean(first, names) : ''}`, {
    hint: `Run \`envlock ${command} NAME ...\` with one of: ${names.join(', ')}.`,
  });
}
