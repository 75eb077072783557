// Turns a parsed document (plain data from YAML or TOML) into the Declaration model, or one
// error listing every problem. The version is read first, so a file from a newer envlock
// gets a clear message instead of a pile of unknown keys.

import { EnvlockError } from '../errors.js';
import { readEnvironment } from './environment.js';
import { checkKeys, describeType, isTable } from './fields.js';
import { childPath, IssueList, issuesError } from './issues.js';
import { DECLARATION_VERSION, type Declaration, type EnvironmentDecl } from './model.js';
import { ENVIRONMENT_NAME_RULE, isEnvironmentName } from './names.js';
import { quoted } from '../shown.js';

export const TOP_LEVEL_KEYS = ['version', 'environments'] as const;

export interface ValidateOptions {
  /** Absolute path of the declaration; relative bind sources resolve against its directory. */
  file: string;
  format: 'yaml' | 'toml';
  /** Directory that `~` in bind sources stands for. */
  home: string;
  /** Directory of the file (computed from `file` by the loader). */
  dir: string;
}

function checkVersion(doc: Record<string, unknown>, file: string, issues: IssueList): void {
  const version = doc.version;
  if (version === undefined) {
    issues.add('version', `is missing; the first line should be \`version: ${DECLARATION_VERSION}\` (YAML) or \`version = ${DECLARATION_VERSION}\` (TOML).`);
    return;
  }
  const number = typeof version === 'bigint' ? Number(version) : version;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 1) {
    issues.add('version', `expected the whole number ${DECLARATION_VERSION}, got ${describeType(version)}.`);
    return;
  }
  if (number > DECLARATION_VERSION) {
    throw new EnvlockError('DECLARATION_INVALID', `Declaration ${file} was written for a newer envlock (declaration version ${number}; this envlock reads version ${DECLARATION_VERSION}).`, {
      hint: 'Upgrade envlock, or ask whoever wrote the file which envlock version it needs.',
      details: { file, version: number, supported: DECLARATION_VERSION },
    });
  }
}

/** Validates a whole document. Throws DECLARATION_INVALID (or PLATFORM_INVALID) naming every bad key. */
export function validateDeclaration(doc: unknown, options: ValidateOptions): Declaration {
  const { file } = options;
  const issues = new IssueList();
  if (!isTable(doc)) {
    const what = doc === undefined || doc === null ? 'empty' : `${describeType(doc)}, not a map of keys`;
    issues.add('', `the file is ${what}; it needs \`version\` and \`environments\`.`, { hint: 'Run `envlock init --force` to write a fresh, commented declaration.' });
    throw issuesError(file, issues.items);
  }
  checkVersion(doc, file, issues);
  checkKeys(doc, TOP_LEVEL_KEYS, '', issues);
  const environments: EnvironmentDecl[] = [];
  const envs = doc.environments;
  if (envs === undefined) {
    issues.add('environments', 'is missing; declare at least one environment with an `image`.');
  } else if (!isTable(envs)) {
    issues.add('environments', `expected a map from environment names to their settings, got ${describeType(envs)}.`);
  } else if (Object.keys(envs).length === 0) {
    issues.add('environments', 'is empty; declare at least one environment with an `image`.');
  } else {
    for (const [name, value] of Object.entries(envs)) {
      const where = childPath('environments', name);
      if (!isEnvironmentName(name)) issues.add(where, `${quoted(name)} is not a valid environment name: ${ENVIRONMENT_NAME_RULE}.`);
      if (!isTable(value)) {
        issues.add(where, `expected a map with at least \`image\`, got ${describeType(value)}.`);
        continue;
      }
      environments.push(readEnvironment(name, value, where, options, issues));
    }
  }
  issues.throwIfAny(file);
  // Code-point order, never localeCompare: the lockfile and every listing depend on it.
  environments.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { version: DECLARATION_VERSION, file, format: options.format, environments };
}
