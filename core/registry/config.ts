// Registry configuration: containers-registries.conf(5) (v2 TOML) plus envlock's own
// `[registry."host"]` tables, merged into a list of entries the client looks endpoints up in.

import fs from 'node:fs/promises';
import path from 'node:path';
import { parseToml } from '../toml-parser.js';
import type { Context } from '../context.js';
import { EnvlockError, errnoCode } from '../errors.js';
import { quoted } from '../shown.js';

export type PullFromMirror = 'all' | 'digest-only' | 'tag-only';

export interface MirrorEntry {
  location: string;
  insecure: boolean;
  pullFromMirror: PullFromMirror;
}

export interface RegistryEntry {
  /** "host[/path]" or "*.domain"; matched against registry/repository. */
  prefix: string;
  /** Where the prefix really lives ("" when blocked-only entries omit it). */
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrors: MirrorEntry[];
}

export interface RegistryConfig {
  unqualifiedSearchRegistries: string[];
  registries: RegistryEntry[];
  /** Files that were read, for messages. */
  files: string[];
}

export const SYSTEM_REGISTRIES_CONF = '/etc/containers/registries.conf';

export function emptyRegistryConfig(): RegistryConfig {
  return { unqualifiedSearchRegistries: [], registries: [], files: [] };
}

function configInvalid(file: string, why: string, cause?: unknown): EnvlockError {
  return new EnvlockError('CONFIG_INVALID', `The registry configuration ${file} is invalid: ${why}.`, {
    hint: 'Fix the file (see containers-registries.conf(5) and docs/registries.md).',
    cause,
  });
}

async function readToml(file: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return undefined;
    throw new EnvlockError('IO', `Could not read the registry configuration ${file}.`, { hint: 'Check its permissions.', cause: error });
  }
  try {
    return parseToml(text);
  } catch (error) {
    throw configInvalid(file, (error as Error).message.split('\n')[0] ?? 'TOML syntax error', error);
  }
}

function asBool(file: string, value: unknown, key: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw configInvalid(file, `${quoted(key)} must be true or false`);
  return value;
}

function asString(file: string, value: unknown, key: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw configInvalid(file, `${quoted(key)} must be a string`);
  return value;
}

function asPullFromMirror(file: string, value: unknown): PullFromMirror {
  if (value === undefined) return 'all';
  if (value === 'all' || value === 'digest-only' || value === 'tag-only') return value;
  throw configInvalid(file, '`pull-from-mirror` must be "all", "digest-only" or "tag-only"');
}

/** Parses the v2 format of containers-registries.conf(5). The v1 tables are not supported. */
export function parseRegistriesConf(file: string, doc: Record<string, unknown>): RegistryConfig {
  const config = emptyRegistryConfig();
  config.files.push(file);
  const search = doc['unqualified-search-registries'];
  if (search !== undefined) {
    if (!Array.isArray(search) || !search.every((s) => typeof s === 'string')) {
      throw configInvalid(file, '`unqualified-search-registries` must be a list of strings');
    }
    config.unqualifiedSearchRegistries = search as string[];
  }
  const list = doc.registry;
  if (list === undefined) return config;
  if (!Array.isArray(list)) throw configInvalid(file, '`registry` must be an array of tables ([[registry]])');
  for (const raw of list as Record<string, unknown>[]) {
    const location = asString(file, raw.location, 'location') ?? '';
    const prefix = asString(file, raw.prefix, 'prefix') ?? location;
    if (prefix === '') throw configInvalid(file, 'a [[registry]] entry needs a `location` or a `prefix`');
    const mirrors: MirrorEntry[] = [];
    const rawMirrors = raw.mirror ?? [];
    if (!Array.isArray(rawMirrors)) throw configInvalid(file, '`registry.mirror` must be an array of tables ([[registry.mirror]])');
    const entryPull = asPullFromMirror(file, raw['pull-from-mirror']);
    for (const m of rawMirrors as Record<string, unknown>[]) {
      const mirrorLocation = asString(file, m.location, 'mirror.location');
      if (mirrorLocation === undefined || mirrorLocation === '') throw configInvalid(file, 'a [[registry.mirror]] entry needs a `location`');
      mirrors.push({
        location: mirrorLocation,
        insecure: asBool(file, m.insecure, 'mirror.insecure'),
        pullFromMirror: m['pull-from-mirror'] === undefined ? entryPull : asPullFromMirror(file, m['pull-from-mirror']),
      });
    }
    config.registries.push({
      prefix,
      location: location === '' ? prefix : location,
      insecure: asBool(file, raw.insecure, 'insecure'),
      blocked: asBool(file, raw.blocked, 'blocked'),
      mirrors,
    });
  }
  return config;
}

/**
 * envlock's own tables: `[registry."host:port"]` with `insecure = true` and
 * `mirrors = ["host[/path]", …]`. Each becomes a registries.conf-style entry for that host.
 */
export function parseEnvlockRegistryTables(file: string, doc: Record<string, unknown>): RegistryEntry[] {
  const table = doc.registry;
  if (table === undefined) return [];
  if (typeof table !== 'object' || table === null || Array.isArray(table)) {
    throw configInvalid(file, '`registry` must be a table of hosts, like [registry."example.org"]');
  }
  const entries: RegistryEntry[] = [];
  for (const [host, raw] of Object.entries(table as Record<string, Record<string, unknown>>)) {
    const mirrors = raw.mirrors ?? [];
    if (!Array.isArray(mirrors) || !mirrors.every((m) => typeof m === 'string' && m !== '')) {
      throw configInvalid(file, `\`registry."${host}".mirrors\` must be a list of host names`);
    }
    const insecureMirrors = asBool(file, raw['insecure-mirrors'], `registry."${host}".insecure-mirrors`);
    entries.push({
      prefix: host,
      location: host,
      insecure: asBool(file, raw.insecure, `registry."${host}".insecure`),
      blocked: false,
      mirrors: (mirrors as string[]).map((location) => ({ location, insecure: insecureMirrors, pullFromMirror: 'all' as const })),
    });
  }
  return entries;
}

/** Where containers tools look: $CONTAINERS_REGISTRIES_CONF alone, else the user file, else the system one. */
export function registriesConfCandidates(ctx: Pick<Context, 'env' | 'home'>, systemPath = SYSTEM_REGISTRIES_CONF): string[] {
  const explicit = ctx.env.CONTAINERS_REGISTRIES_CONF;
  if (explicit !== undefined && explicit !== '') return [explicit];
  const configHome = ctx.env.XDG_CONFIG_HOME || path.join(ctx.home, '.config');
  return [path.join(configHome, 'containers', 'registries.conf'), systemPath];
}

export function envlockConfigPath(ctx: Pick<Context, 'env' | 'home'>): string {
  const explicit = ctx.env.ENVLOCK_CONFIG;
  if (explicit !== undefined && explicit !== '') return explicit;
  const configHome = ctx.env.XDG_CONFIG_HOME || path.join(ctx.home, '.config');
  return path.join(configHome, 'envlock', 'config.toml');
}

export interface LoadRegistryConfigOptions {
  /** Overrides /etc/containers/registries.conf (tests). */
  systemPath?: string;
}

/**
 * Reads the first registries.conf that exists (the user file replaces the system file, as in
 * containers-registries.conf(5); drop-in directories are not read), then envlock's config,
 * whose entries are matched first.
 */
export async function loadRegistryConfig(ctx: Pick<Context, 'env' | 'home'>, options: LoadRegistryConfigOptions = {}): Promise<RegistryConfig> {
  let config = emptyRegistryConfig();
  for (const file of registriesConfCandidates(ctx, options.systemPath)) {
    const doc = await readToml(file);
    if (doc !== undefined) {
      config = parseRegistriesConf(file, doc);
      break;
    }
  }
  const own = envlockConfigPath(ctx);
  const doc = await readToml(own);
  if (doc !== undefined) {
    config.registries.unshift(...parseEnvlockRegistryTables(own, doc));
    config.files.push(own);
  }
  return config;
}
