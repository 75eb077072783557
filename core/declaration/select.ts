// Picking environments out of a declaration by name, for commands that take an ENV argument:
// an unknown name gets ENVIRONMENT_UNKNOWN with the nearest declared name.

import { EnvlockError } from '../errors.js';
import { didYouMean } from '../suggest.js';
import type { Declaration, EnvironmentDecl } from './model.js';
import { quoted } from '../shown.js';

/** The environment called `name`, or ENVIRONMENT_UNKNOWN listing what the declaration has. */
export function findEnvironment(decl: Declaration, name: string): EnvironmentDecl {
  const found = decl.environments.find((e) => e.name === name);
  if (found !== undefined) return found;
  const names = decl.environments.map((e) => e.name);
  throw new EnvlockError('ENVIRONMENT_UNKNOWN', `Environment ${quoted(name)} is not declared in ${decl.file}.${didYouMean(name, names)}`, {
    hint: `Use one of: ${names.join(', ')}; or add ${quoted(name)} to the declaration.`,
    details: { file: decl.file, environment: name, declared: names },
  });
}

/** The named environments in the order asked (each once), or all of them when no name is given. */
export function selectEnvironments(decl: Declaration, names: readonly string[]): EnvironmentDecl[] {
  if (names.length === 0) return decl.environments;
  return [...new Set(names)].map((name) => findEnvironment(decl, name));
}
