// Finds and loads CDI spec files from the spec directories into a registry of devices.
// Priority follows the reference implementation (pkg/cdi doc "Device Precedence"): a later
// directory outranks an earlier one; the same device twice at equal priority is a conflict.

import fs from 'node:fs/promises';
import path from 'node:path';
import yaml from 'js-yaml';
import { EnvlockError, errnoCode } from '../../errors.js';
import type { Env } from '../../context.js';
import type { CdiDevice, CdiSpec } from './spec-types.js';
import { validateCdiSpec } from './validate.js';

/** Static specs first, generated ones (higher priority) second (CDI pkg/cdi/spec-dirs.go). */
export const DEFAULT_CDI_DIRS = ['/etc/cdi', '/var/run/cdi'] as const;
const SPEC_EXTENSIONS = new Set(['.json', '.yaml', '.yml']);

export interface RegisteredDevice {
  qualifiedName: string;
  device: CdiDevice;
  spec: CdiSpec;
}

export interface CdiRegistry {
  /** Directories scanned, lowest priority first. */
  dirs: string[];
  specs: CdiSpec[];
  /** Fully qualified name → the winning definition. */
  devices: Map<string, RegisteredDevice>;
}

/**
 * The directories to scan: the defaults (under hostRoot), then the absolute entries of
 * ENVLOCK_CDI_DIRS (colon-separated) from the given environment, so site-chosen directories win.
 */
export function cdiSpecDirs(env: Env, hostRoot = '/'): string[] {
  const dirs: string[] = DEFAULT_CDI_DIRS.map((d) => path.join(hostRoot, d));
  for (const dir of (env.ENVLOCK_CDI_DIRS ?? '').split(':')) {
    // Relative entries are ignored: a spec directory must not depend on the working directory.
    if (path.isAbsolute(dir)) dirs.push(path.normalize(dir));
  }
  return dirs;
}

async function listSpecFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new EnvlockError('IO', `Cannot read the CDI spec directory ${dir}.`, { cause: error, hint: 'Check its permissions.' });
  }
  // Code-point order, so the result never depends on the locale.
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const files: string[] = [];
  for (const name of names) {
    if (!SPEC_EXTENSIONS.has(path.extname(name))) continue;
    const file = path.join(dir, name);
    const stat = await fs.stat(file).catch(() => undefined);
    if (stat?.isFile()) files.push(file);
  }
  return files;
}

/** Reads and validates one spec file (YAML with the JSON schema only, or JSON). */
export async function readCdiSpec(file: string, priority: number): Promise<CdiSpec> {
  const text = await fs.readFile(file, 'utf8').catch((error: unknown) => {
    throw new EnvlockError('IO', `Cannot read the CDI spec ${file}.`, { cause: error, hint: 'Check its permissions.' });
  });
  let raw: unknown;
  try {
    raw = path.extname(file) === '.json' ? JSON.parse(text) : yaml.load(text, { schema: yaml.JSON_SCHEMA, filename: file });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new EnvlockError('CDI_INVALID', `CDI spec ${file} is invalid: it does not parse (${reason}).`, {
      cause: error,
      hint: 'Fix or remove the spec file, or regenerate it with the vendor tool (for NVIDIA GPUs: `nvidia-ctk cdi generate`).',
      details: { file },
    });
  }
  return validateCdiSpec(raw, file, priority);
}

/** Loads every spec in `dirs` (lowest priority first) and indexes their devices. */
export async function loadCdiRegistry(dirs: string[]): Promise<CdiRegistry> {
  const specs: CdiSpec[] = [];
  const devices = new Map<string, RegisteredDevice>();
  for (const [priority, dir] of dirs.entries()) {
    for (const file of await listSpecFiles(dir)) {
      const spec = await readCdiSpec(file, priority);
      specs.push(spec);
      for (const device of spec.devices) {
        const qualifiedName = `${spec.kind}=${device.name}`;
        const previous = devices.get(qualifiedName);
        if (previous !== undefined && previous.spec.priority === priority) {
          throw new EnvlockError(
            'CDI_CONFLICT',
            `CDI device ${qualifiedName} is defined by both ${previous.spec.file} and ${spec.file}.`,
            {
              hint: 'Remove one of the two definitions, or move the preferred file to a later CDI directory (ENVLOCK_CDI_DIRS).',
              details: { device: qualifiedName, files: [previous.spec.file, spec.file] },
            },
          );
        }
        // A later directory has a higher priority and replaces the earlier definition.
        devices.set(qualifiedName, { qualifiedName, device, spec });
      }
    }
  }
  return { dirs, specs, devices };
}
