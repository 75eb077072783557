// Validates one environment table of a declaration and fills every default, so the model
// that leaves here is complete: empty lists and maps, no GPU and no host MPI unless asked.

import type { EnvironmentDecl, HostRequest } from './model.js';
import { readBinds } from './binds.js';
import { checkKeys, describeType, readChoice, readList, readPatterned, readString, readTable, unique, type Table } from './fields.js';
import { childPath, type IssueList } from './issues.js';
import {
  CDI_DEVICE, CDI_DEVICE_RULE, COMMAND_NAME, COMMAND_NAME_RULE, CPU_LEVELS, CPU_NAME, CPU_NAME_RULE,
  LIBRARY_NAME, LIBRARY_NAME_RULE, MODULE_NAME, MODULE_NAME_RULE, VARIABLE_NAME, VARIABLE_NAME_RULE,
} from './names.js';
import { checkPlatform, platformProblem } from './platform.js';
import { quoted } from '../shown.js';
import { checkEnvironmentSize } from './environment-size.js';

export const ENVIRONMENT_KEYS = [
  'image', 'description', 'platforms', 'cpu', 'env', 'prepend-path', 'append-path', 'unset', 'binds', 'host', 'commands', 'provides',
] as const;
export const HOST_KEYS = ['devices', 'gpu', 'mpi', 'libraries'] as const;
export const GPU_CHOICES = ['none', 'nvidia', 'amd', 'auto'] as const;
export const MPI_CHOICES = ['none', 'host'] as const;

export interface EnvironmentBase {
  /** Directory of the declaration file, for relative bind sources. */
  dir: string;
  home: string;
}

function readImage(value: unknown, where: string, issues: IssueList): string {
  if (value === undefined) {
    issues.add(where, 'is required: the image reference this environment is built from, such as `python:3.12-slim`.');
    return '';
  }
  const image = readString(value, where, issues, 'an image reference (a string)');
  if (image === undefined) return '';
  // The reference grammar is checked by the resolver; here only what can never be a reference.
  if (image.trim() === '' || /[\s\0]/.test(image)) {
    issues.add(where, `${quoted(image)} is not an image reference: it is empty or contains white space.`);
    return '';
  }
  return image;
}

function readPlatforms(value: unknown, where: string, issues: IssueList): string[] {
  const platforms = readList(value, where, issues, (v, p) => {
    const text = readString(v, p, issues, 'a platform such as `linux/amd64`');
    if (text === undefined) return undefined;
    const checked = checkPlatform(text);
    if ('platform' in checked) return checked.platform;
    issues.add(p, platformProblem(text, checked.problem), { code: 'PLATFORM_INVALID' });
    return undefined;
  });
  return unique(platforms);
}

function readCpu(value: unknown, where: string, issues: IssueList): string | undefined {
  const cpu = readString(value, where, issues, 'a CPU level or microarchitecture name');
  if (cpu === undefined) return undefined;
  // Only the shape is checked here; the arch module knows which names exist.
  const lower = cpu.toLowerCase();
  const badLevel = /^x86[-_]64[-_]v/.test(lower) && !(CPU_LEVELS as readonly string[]).includes(lower);
  if (badLevel || !CPU_NAME.test(cpu)) {
    const spelled = lower.replace(/^x86_64/, 'x86-64');
    const fix = spelled !== cpu && (CPU_LEVELS as readonly string[]).includes(spelled) ? ` Did you mean ${quoted(spelled)}?` : '';
    issues.add(where, `${quoted(cpu)} is not valid: ${CPU_NAME_RULE}.${fix}`);
    return undefined;
  }
  return cpu;
}

function readVariableNames(value: unknown, where: string, issues: IssueList): string[] {
  return unique(readList(value, where, issues, (v, p) => readPatterned(v, p, issues, VARIABLE_NAME, VARIABLE_NAME_RULE)));
}

/** A map from variable names to values read by `read`; entries are built with fromEntries so `__proto__` stays a plain key. */
function readVariableMap<T>(value: unknown, where: string, issues: IssueList, read: (v: unknown, p: string) => T | undefined): Record<string, T> {
  const table = readTable(value, where, issues, 'a map of variable names to values');
  if (table === undefined) return {};
  const entries: [string, T][] = [];
  for (const [name, v] of Object.entries(table)) {
    const at = childPath(where, name);
    if (!VARIABLE_NAME.test(name)) {
      issues.add(at, `${quoted(name)} is not a variable name: ${VARIABLE_NAME_RULE}.`);
      continue;
    }
    const read_ = read(v, at);
    if (read_ !== undefined) entries.push([name, read_]);
  }
  return Object.fromEntries(entries);
}

function readPathEntry(value: unknown, where: string, issues: IssueList): string | undefined {
  const entry = readString(value, where, issues, 'a directory (a string)');
  if (entry === undefined) return undefined;
  if (entry === '') {
    issues.add(where, 'the directory is empty; an empty entry would add the current directory to the search path.');
    return undefined;
  }
  if (entry.includes(':')) {
    issues.add(where, `${quoted(entry)} contains \`:\`; list each directory as its own entry.`);
    return undefined;
  }
  return entry;
}

/** prepend-path / append-path: each variable takes a list of directories, or one directory as a string. */
function readPathEdits(value: unknown, where: string, issues: IssueList): Record<string, string[]> {
  return readVariableMap(value, where, issues, (v, p) => {
    if (typeof v === 'string') {
      const one = readPathEntry(v, p, issues);
      return one === undefined ? [] : [one];
    }
    if (!Array.isArray(v)) {
      issues.add(p, `expected a list of directories or one directory, got ${describeType(v)}.`);
      return undefined;
    }
    return readList(v, p, issues, (item, ip) => readPathEntry(item, ip, issues));
  });
}

function readHost(value: unknown, where: string, issues: IssueList): HostRequest {
  const host: HostRequest = { devices: [], gpu: 'none', mpi: 'none', libraries: [] };
  const table = readTable(value, where, issues, 'a map with devices, gpu, mpi and libraries');
  if (table === undefined) return host;
  checkKeys(table, HOST_KEYS, where, issues);
  if (table.devices !== undefined) {
    host.devices = unique(readList(table.devices, childPath(where, 'devices'), issues, (v, p) => readPatterned(v, p, issues, CDI_DEVICE, CDI_DEVICE_RULE)));
  }
  if (table.gpu !== undefined) host.gpu = readChoice(table.gpu, childPath(where, 'gpu'), issues, GPU_CHOICES) ?? 'none';
  if (table.mpi !== undefined) host.mpi = readChoice(table.mpi, childPath(where, 'mpi'), issues, MPI_CHOICES) ?? 'none';
  if (table.libraries !== undefined) {
    host.libraries = unique(readList(table.libraries, childPath(where, 'libraries'), issues, (v, p) => readPatterned(v, p, issues, LIBRARY_NAME, LIBRARY_NAME_RULE)));
  }
  return host;
}

/** Validates one environment; problems go to `issues`, and the returned model is complete either way. */
export function readEnvironment(name: string, table: Table, where: string, base: EnvironmentBase, issues: IssueList): EnvironmentDecl {
  checkKeys(table, ENVIRONMENT_KEYS, where, issues);
  const at = (key: string) => childPath(where, key);
  const has = (key: string) => table[key] !== undefined;
  const env: EnvironmentDecl = {
    name,
    image: readImage(table.image, at('image'), issues),
    platforms: has('platforms') ? readPlatforms(table.platforms, at('platforms'), issues) : [],
    cpu: has('cpu') ? readCpu(table.cpu, at('cpu'), issues) : undefined,
    description: has('description') ? readString(table.description, at('description'), issues) : undefined,
    env: has('env') ? readVariableMap(table.env, at('env'), issues, (v, p) => readString(v, p, issues)) : {},
    prependPath: has('prepend-path') ? readPathEdits(table['prepend-path'], at('prepend-path'), issues) : {},
    appendPath: has('append-path') ? readPathEdits(table['append-path'], at('append-path'), issues) : {},
    unset: has('unset') ? readVariableNames(table.unset, at('unset'), issues) : [],
    binds: has('binds') ? readBinds(table.binds, at('binds'), base, issues) : [],
    host: has('host') ? readHost(table.host, at('host'), issues) : { devices: [], gpu: 'none', mpi: 'none', libraries: [] },
    commands: has('commands') ? unique(readList(table.commands, at('commands'), issues, (v, p) => readPatterned(v, p, issues, COMMAND_NAME, COMMAND_NAME_RULE))) : [],
    provides: has('provides') ? unique(readList(table.provides, at('provides'), issues, (v, p) => readPatterned(v, p, issues, MODULE_NAME, MODULE_NAME_RULE))) : [],
  };
  // Setting and unsetting one variable has no clear order in a declaration, so it is refused.
  for (const variable of env.unset) {
    // Index into the list as written (before repeats were dropped), so the path points at the line.
    const index = (table.unset as unknown[]).indexOf(variable);
    if (Object.hasOwn(env.env, variable)) issues.add(childPath(at('unset'), index), `${quoted(variable)} is also set in ${at('env')}; keep only one of the two.`);
  }
  checkEnvironmentSize(env, where, issues);
  return env;
}
