// `envlock export NAME --oci DIR`: write a locked environment's image from the store as an OCI
// image layout, byte for byte (same index and manifest digests), for skopeo, podman, apptainer or
// an air-gapped cluster's `image: oci:DIR`.

import path from 'node:path';
import type { CommandSpec } from '../command-spec.js';
import { flag } from '../args.js';
import { findEnvironment } from '../../core/declaration/select.js';
import { EnvlockError } from '../../core/errors.js';
import { loadProject, lockedEnvironment } from '../../core/project.js';
import { platformString } from '../../lockfiles/index.js';
import { quoted } from '../../core/shown.js';

interface ExportResult {
  directory: string;
  tag: string;
  digest: string;
  blobs: number;
}

export const command: CommandSpec<ExportResult> = {
  name: 'export',
  summary: 'Write a locked environment\'s image as an OCI image layout directory.',
  usage: 'envlock export NAME --oci DIR [--tag TAG]',
  description: `
Writes the image of environment NAME exactly as locked (the same index and manifest digests) into
the OCI image layout DIR, tagged TAG (default: NAME). Every locked image must be in the store: run
\`envlock pull NAME --all-platforms\` first. Another envlock (or skopeo, podman, apptainer) can
then use \`oci:DIR:TAG\` with no registry and no network.`,
  flags: [
    { name: 'oci', type: 'string', valueName: 'DIR', description: 'The OCI layout directory to write (created or added to).' },
    { name: 'tag', type: 'string', valueName: 'TAG', description: 'The reference name in the layout (default: NAME).' },
    { name: 'frozen', type: 'boolean', description: 'Use envlock.lock as it is, even if the declaration changed since.' },
  ],
  positionals: [{ name: 'NAME', description: 'The environment to export.', required: true }],
  examples: ['envlock export analysis --oci /media/transfer/analysis'],
  async run(args, ctx) {
    const name = args.positionals[0];
    const out = flag.str(args, 'oci');
    if (name === undefined || out === undefined || args.positionals.length > 1) {
      throw new EnvlockError('USAGE', 'envlock export needs one environment NAME and --oci DIR.', { hint: 'Run `envlock export NAME --oci DIR`.' });
    }
    const project = await loadProject(ctx, { command: 'export', frozen: flag.bool(args, 'frozen') });
    findEnvironment(project.decl, name);
    const locked = lockedEnvironment(project, name);
    const tag = flag.str(args, 'tag') ?? name;
    const { Store } = await import('../../core/store/store.js');
    const { findBlob } = await import('../../core/store/blob-store.js');
    const { writeLayout } = await import('../../core/oci/layout.js');
    const store = Store.open(ctx);
    const blobs = new Map<string, string>();
    const need = (digest: string, what: string) => {
      const file = findBlob(store, digest);
      if (file === undefined) {
        throw new EnvlockError('IMAGE_NOT_PULLED', `The ${what} of ${quoted(name)} (${digest}) is not in the store.`, { hint: `Run \`envlock pull ${name} --all-platforms\`, then export again.` });
      }
      blobs.set(digest, file);
    };
    for (const image of locked.images) {
      const where = `image for ${platformString(image.platform)}`;
      need(image.manifest.digest, `manifest of the ${where}`);
      need(image.config.digest, `config of the ${where}`);
      for (const layer of image.layers) need(layer.digest, `layer ${layer.digest.slice(7, 19)} of the ${where}`);
    }
    if (locked.index) need(locked.index.digest, 'image index');
    const top = locked.index ?? locked.images[0]!.manifest;
    const directory = path.resolve(ctx.cwd, out);
    await writeLayout(directory, { blobs, manifests: [{ descriptor: { mediaType: top.mediaType, digest: top.digest, size: top.size }, refName: tag }] });
    return { result: { directory, tag, digest: top.digest, blobs: blobs.size }, text: `Wrote ${name} (${top.digest}) to ${directory} as oci:${directory}:${tag}.\n` };
  },
};
