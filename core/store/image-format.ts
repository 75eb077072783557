// Which form a pull stores an image in (docs/store.md "Image formats"): --image-format, else
// ENVLOCK_IMAGE_FORMAT, else the writable store's store.toml, else auto. auto means squashfs
// where this host can mount it unprivileged, tree otherwise, and says why either way.

import fs from 'node:fs/promises';
import path from 'node:path';
import type { Env } from '../context.js';
import { EnvlockError, errnoCode } from '../errors.js';
import type { SquashfsSupport, SupportProbes } from '../squashfs/host-support.js';
import type { ImageForm } from './find.js';

export type ImageFormatSetting = ImageForm | 'auto';
export const IMAGE_FORMATS: readonly ImageFormatSetting[] = ['squashfs', 'tree', 'auto'];
export const IMAGE_FORMAT_VAR = 'ENVLOCK_IMAGE_FORMAT';
/** A store's own settings, at its root; written by whoever administers the store. */
export const STORE_SETTINGS_FILE = 'store.toml';

export interface FormatRequest {
  setting: ImageFormatSetting;
  /** Where the setting came from, as a user would name it. */
  source: string;
}

export interface FormatChoice extends FormatRequest {
  format: ImageForm;
  /** Why this form, as a clause: "auto: this host can mount squashfs images unprivileged". */
  reason: string;
  /** Present when the squashfs support of this host was probed. */
  support?: SquashfsSupport;
}

function parseSetting(value: string, source: string, code: 'FLAG_VALUE' | 'CONFIG_INVALID'): ImageFormatSetting {
  if ((IMAGE_FORMATS as readonly string[]).includes(value)) return value as ImageFormatSetting;
  throw new EnvlockError(code, `${source} is ${JSON.stringify(value)}, which is not an image format.`, {
    hint: 'Use squashfs, tree or auto.',
    details: { value, allowed: IMAGE_FORMATS },
  });
}

/** The image-format of a store's store.toml; undefined when it has no such file or key. */
export async function storeImageFormat(root: string): Promise<ImageFormatSetting | undefined> {
  const file = path.join(root, STORE_SETTINGS_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return undefined;
    throw new EnvlockError('STORE_IO', `The store settings ${file} cannot be read (${errnoCode(error) ?? String(error)}).`, { hint: 'Check its permissions.', cause: error });
  }
  const { default: TOML } = await import('@iarna/toml');
  let parsed: Record<string, unknown>;
  try {
    parsed = TOML.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new EnvlockError('CONFIG_INVALID', `The store settings ${file} are not valid TOML: ${(error as Error).message.split('\n')[0]}`, { hint: `Fix the file; it holds one line such as image-format = "squashfs".`, cause: error });
  }
  const value = parsed['image-format'];
  if (value === undefined) return undefined;
  return parseSetting(String(value), `image-format in ${file}`, 'CONFIG_INVALID');
}

/** --image-format, else ENVLOCK_IMAGE_FORMAT, else the writable store's setting, else auto. */
export async function requestedFormat(flag: string | undefined, env: Env, storeRoot: string): Promise<FormatRequest> {
  if (flag !== undefined) return { setting: parseSetting(flag, '--image-format', 'FLAG_VALUE'), source: '--image-format' };
  const fromEnv = env[IMAGE_FORMAT_VAR];
  if (fromEnv !== undefined && fromEnv !== '') return { setting: parseSetting(fromEnv, IMAGE_FORMAT_VAR, 'CONFIG_INVALID'), source: IMAGE_FORMAT_VAR };
  const fromStore = await storeImageFormat(storeRoot);
  if (fromStore !== undefined) return { setting: fromStore, source: path.join(storeRoot, STORE_SETTINGS_FILE) };
  return { setting: 'auto', source: 'the default' };
}

/** Settles auto against this host; a forced squashfs that cannot be mounted here is exit 4. */
export async function chooseImageFormat(request: FormatRequest, env: Env, probes?: SupportProbes): Promise<FormatChoice> {
  if (request.setting === 'tree') return { ...request, format: 'tree', reason: `${request.source} asks for tree` };
  const { squashfsSupport } = await import('../squashfs/host-support.js');
  const support = await squashfsSupport(env, probes);
  if (request.setting === 'squashfs') {
    if (!support.ok) {
      throw new EnvlockError('SQUASHFS_UNAVAILABLE', `The squashfs image format is asked for by ${request.source}, but this host cannot use squashfs images unprivileged: ${support.reason}.`, {
        hint: `${support.fix ?? ''} Or pull with --image-format tree.`.trim(),
        details: { source: request.source, reason: support.reason, fix: support.fix },
      });
    }
    return { ...request, format: 'squashfs', reason: `${request.source} asks for squashfs`, support };
  }
  if (support.ok) return { ...request, format: 'squashfs', reason: 'auto: this host can mount squashfs images unprivileged', support };
  return { ...request, format: 'tree', reason: `auto: squashfs is not possible here, since ${support.reason}`, support };
}

/** One line for --verbose and doctor: "squashfs (auto: …)" or "tree (auto: …; fix: …)". */
export function describeChoice(choice: FormatChoice): string {
  const fix = choice.format === 'tree' && choice.support?.fix !== undefined ? ` Fix: ${choice.support.fix}` : '';
  return `${choice.format} (${choice.reason}).${fix}`;
}

/** The forms a pull with this setting accepts as already done. */
export function acceptedForms(setting: ImageFormatSetting): readonly ImageForm[] {
  return setting === 'auto' ? ['squashfs', 'tree'] : [setting];
}
