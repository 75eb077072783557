// `envlock list`: the project's environments, each with its image, whether the lock covers it
// and is current, whether this host's variant is pulled (and in which form), and its description.

import path from 'node:path';
import type { CommandSpec } from '../command-spec.js';
import { chooseImage } from '../../core/arch/choose.js';
import { isEnvlockError } from '../../core/errors.js';
import { shortDigest } from '../../core/oci/digest.js';
import { hostCpu, loadProjectDeclaration } from '../../core/project.js';
import { readLockfile, staleReasons } from '../../lockfiles/index.js';
import { renderTable } from '../output/table.js';

interface ListedEnvironment {
  name: string;
  image: string;
  description: string | null;
  /** locked: current lock entry; stale: the lock no longer fits the declaration; missing: none. */
  lock: 'locked' | 'stale' | 'missing';
  /** The locked manifest this host would run, if any. */
  manifest: string | null;
  /** pulled (tree or squashfs), not-pulled, or why this host has no image to pull. */
  pulled: 'tree' | 'squashfs' | 'not-pulled' | 'not-locked' | 'host-unsupported';
}

interface ListResult {
  file: string;
  environments: ListedEnvironment[];
  staleReasons: string[];
}

const PULLED_TEXT: Record<ListedEnvironment['pulled'], string> = {
  tree: 'pulled',
  squashfs: 'pulled (squashfs)',
  'not-pulled': 'not pulled',
  'not-locked': '-',
  'host-unsupported': 'not for this host',
};

export const command: CommandSpec<ListResult> = {
  name: 'list',
  summary: 'List the environments of this project with their lock and pull state.',
  usage: 'envlock list',
  description: `
Shows every environment of the project: its image as declared, whether envlock.lock holds it and
still fits the declaration (stale entries need \`envlock lock\`), whether the image this host would
run is in a store (\`envlock pull\` fetches it), and its description. No network is used.`,
  flags: [],
  positionals: [],
  examples: ['envlock list', 'envlock list --json'],
  async run(_args, ctx) {
    const decl = await loadProjectDeclaration(ctx);
    const lock = await readLockfile(path.dirname(decl.file));
    const reasons = staleReasons(decl, lock);
    const [{ Store }, { findImage }] = await Promise.all([import('../../core/store/store.js'), import('../../core/store/find.js')]);
    const store = Store.open(ctx);
    const host = await hostCpu();
    const environments: ListedEnvironment[] = decl.environments.map((env) => {
      const locked = lock?.environments.find((e) => e.name === env.name);
      // A reason names its environment in backticks; one that names none (format, hash) is everyone's.
      const stale = reasons.some((r) => r.includes(`\`${env.name}\``) || !r.includes('`'));
      const listed: ListedEnvironment = {
        name: env.name,
        image: env.image,
        description: env.description ?? null,
        lock: locked === undefined ? 'missing' : stale ? 'stale' : 'locked',
        manifest: null,
        pulled: 'not-locked',
      };
      if (locked === undefined) return listed;
      try {
        const image = chooseImage(locked.images, host, { environment: env.name }).image;
        listed.manifest = image.manifest.digest;
        listed.pulled = findImage(store, image.manifest.digest)?.form ?? 'not-pulled';
      } catch (error) {
        if (!isEnvlockError(error)) throw error;
        listed.pulled = 'host-unsupported';
      }
      return listed;
    });
    const rows = environments.map((e) => [e.name, e.image, e.lock === 'locked' && e.manifest ? shortDigest(e.manifest) : e.lock === 'missing' ? 'not locked' : e.lock, PULLED_TEXT[e.pulled], e.description ?? '']);
    const note = reasons.length > 0 ? `envlock.lock is out of date: ${reasons.join('; ')}. Run \`envlock lock\`.\n` : '';
    return {
      result: { file: decl.file, environments, staleReasons: reasons },
      text: `${renderTable(['ENVIRONMENT', 'IMAGE', 'LOCK', 'PULLED', 'DESCRIPTION'], rows)}${note}`,
    };
  },
};
