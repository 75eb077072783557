// `envlock init`: writes a commented envlock.yaml (or envlock.toml) to start a project from,
// checked by parsing it back before it is atomically put in place.

import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseDeclaration } from '../../core/declaration/load.js';
import { DECLARATION_FILES } from '../../core/declaration/model.js';
import { ENVIRONMENT_NAME_RULE, isEnvironmentName, sanitiseEnvironmentName } from '../../core/declaration/names.js';
import { normalisePlatform } from '../../core/declaration/platform.js';
import type { DeclarationFormat } from '../../core/declaration/syntax.js';
import { renderTemplate } from '../../core/declaration/template.js';
import { EnvlockError, errnoCode } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/fs/atomic-write.js';
import { flag } from '../args.js';
import type { CommandSpec } from '../command-spec.js';
import { quoted } from '../../core/shown.js';

export interface InitResult {
  file: string;
  format: DeclarationFormat;
  environment: string;
  /** Declarations that --force replaced (the other format is removed so the project stays unambiguous). */
  replaced: string[];
}

/** The image the template starts from when no --image is given: small, and on every platform. */
export const TEMPLATE_IMAGE = 'debian:bookworm-slim';

/** The environment name an image suggests: its repository's last path component, made valid. */
export function nameFromImage(image: string): string {
  let ref = image.replace(/^(oci-archive|oci):/, '');
  ref = ref.split('@')[0]!;
  const last = ref.split('/').filter((p) => p !== '').pop() ?? '';
  const withoutTag = last.includes(':') ? last.slice(0, last.indexOf(':')) : last;
  const base = withoutTag.replace(/\.(tar|tar\.gz|tgz|oci)$/i, '');
  return sanitiseEnvironmentName(base) ?? 'default';
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw new EnvlockError('IO', `Cannot look at ${file}: ${errnoCode(error) ?? String(error)}.`, { hint: 'Check the permissions of the directory.', cause: error });
  }
}

/** Writes next to the target and renames, so a reader never sees half a file. */
async function writeAtomically(file: string, text: string): Promise<void> {
  try {
    await writeFileAtomic(file, text);
  } catch (error) {
    throw new EnvlockError('IO', `Cannot write ${file}: ${errnoCode(error) ?? String(error)}.`, { hint: 'Check that the directory exists and is writable by you.', cause: error });
  }
}

export const command: CommandSpec<InitResult> = {
  name: 'init',
  summary: 'Write a commented envlock.yaml (or .toml) to start from.',
  usage: 'envlock init [--image REF] [--name NAME] [--platform OS/ARCH]... [--format yaml|toml] [--force]',
  description: 'Writes a declaration in the current directory that explains every key in comments. With --image, its one environment uses that image; without, it starts from a small example image to replace.',
  flags: [
    { name: 'image', type: 'string', valueName: 'REF', description: 'Image reference for the environment (default: an example image to replace).' },
    { name: 'name', type: 'string', valueName: 'NAME', description: 'Name of the environment (default: taken from the image, else `default`).' },
    { name: 'platform', type: 'list', valueName: 'OS/ARCH', description: 'Platform to lock, such as linux/amd64; repeat for several.' },
    { name: 'format', type: 'string', valueName: 'FORMAT', choices: ['yaml', 'toml'], description: 'Write envlock.yaml (default) or envlock.toml.' },
    { name: 'force', type: 'boolean', description: 'Replace an existing envlock.yaml or envlock.toml.' },
  ],
  positionals: [],
  examples: ['envlock init', 'envlock init --image python:3.12-slim --platform linux/amd64 --platform linux/arm64', 'envlock init --format toml --name analysis'],
  async run(args, ctx) {
    const format = (flag.str(args, 'format') ?? 'yaml') as DeclarationFormat;
    const image = flag.str(args, 'image');
    if (image !== undefined && (image.trim() === '' || /[\s\0]/.test(image))) {
      throw new EnvlockError('FLAG_VALUE', `Flag \`--image\` got ${quoted(image)}, which is not an image reference.`, { hint: 'Pass a reference such as `python:3.12-slim`.' });
    }
    const requested = flag.str(args, 'name');
    if (requested !== undefined && !isEnvironmentName(requested)) {
      throw new EnvlockError('FLAG_VALUE', `Flag \`--name\` got ${quoted(requested)}, which is not a valid environment name: ${ENVIRONMENT_NAME_RULE}.`, {
        hint: `Pass a name such as \`${sanitiseEnvironmentName(requested) ?? 'analysis'}\`.`,
      });
    }
    const name = requested ?? (image === undefined ? 'default' : nameFromImage(image));
    const platforms = [...new Set(flag.list(args, 'platform').map(normalisePlatform))];

    const file = path.join(ctx.cwd, `envlock.${format}`);
    const present: string[] = [];
    for (const candidate of DECLARATION_FILES) if (await exists(path.join(ctx.cwd, candidate))) present.push(candidate);
    if (present.length > 0 && !flag.bool(args, 'force')) {
      throw new EnvlockError('DECLARATION_EXISTS', `${present.join(' and ')} already exist${present.length === 1 ? 's' : ''} in ${ctx.cwd}; envlock init did not touch ${present.length === 1 ? 'it' : 'them'}.`, {
        hint: 'Edit the existing file, or run `envlock init --force` to replace it.',
        details: { files: present.map((p) => path.join(ctx.cwd, p)) },
      });
    }

    const text = renderTemplate({ format, name, image: image ?? TEMPLATE_IMAGE, platforms, example: image === undefined });
    // Parse the text back: a template that envlock itself cannot read would be a bug, caught here before writing.
    parseDeclaration(text, file, format, { home: ctx.home });
    await writeAtomically(file, text);
    const replaced: string[] = [];
    for (const other of present) {
      if (other === path.basename(file)) {
        replaced.push(file);
      } else {
        // Leaving the other format next to the new file would make every later command ambiguous.
        await rm(path.join(ctx.cwd, other), { force: true });
        replaced.push(path.join(ctx.cwd, other));
      }
    }
    const note = replaced.length > 0 ? ` (replaced ${replaced.map((r) => path.basename(r)).join(' and ')})` : '';
    const next = image === undefined ? `Set the image of ${quoted(name)}, then run \`envlock lock\`.` : 'Next: run `envlock lock` to pin it.';
    return {
      result: { file, format, environment: name, replaced },
      text: `Wrote ${path.basename(file)} with environment ${quoted(name)}${note}. ${next}\n`,
    };
  },
};
