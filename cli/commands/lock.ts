// `envlock lock`: resolve every environment to digests and CPU requirements, write envlock.lock
// atomically, and show what changed. `--check` only compares and never touches the network.

import path from 'node:path';
import type { CommandSpec } from '../command-spec.js';
import { flag } from '../args.js';
import { loadProjectDeclaration } from '../../core/project.js';
import { normalisePlatform } from '../../core/declaration/platform.js';
import { EnvlockError, isEnvlockError } from '../../core/errors.js';
import { shortDigest } from '../../core/oci/digest.js';
import { assertFresh, readLockfile, writeLockfile, platformString, LOCKFILE_NAME, type Lockfile } from '../../lockfiles/index.js';
import { renderTable } from '../output/table.js';
import { freshLockOutcome, lockCheckSnapshot, recordFreshLock } from '../fast/lock-check.js';

interface LockResult {
  file: string;
  written: boolean;
  fresh?: boolean;
  environments: { name: string; change: string; digest: string; platforms: string[] }[];
}

export const command: CommandSpec<LockResult> = {
  name: 'lock',
  summary: 'Resolve every environment to content digests and CPU requirements; write envlock.lock.',
  usage: 'envlock lock [--check] [--update NAME]... [--platform OS/ARCH[/VARIANT]]...',
  description: `
Resolves each environment's image against its registry (or OCI layout) to the index digest, the
manifest for every declared platform and CPU variant, the config and every layer, and writes
envlock.lock. Environments resolve in parallel. Re-locking an unchanged declaration against
unchanged registries writes byte-identical output. Nothing is written when any environment fails.`,
  flags: [
    { name: 'check', type: 'boolean', description: 'Only check that envlock.lock matches the declaration; exit 3 with the reasons if not. No network.' },
    { name: 'update', type: 'list', valueName: 'NAME', description: 'Re-resolve only these environments; keep the others as locked.' },
    { name: 'platform', type: 'list', valueName: 'OS/ARCH[/VARIANT]', description: 'Also lock this platform in this run.' },
  ],
  positionals: [],
  examples: ['envlock lock', 'envlock lock --check', 'envlock lock --update analysis', 'envlock lock --platform linux/arm64'],
  async run(args, ctx) {
    const check = flag.bool(args, 'check');
    // What a fresh verdict is recorded against, so the next identical check is answered at once.
    const before = check ? lockCheckSnapshot(ctx.cwd, ctx.home) : undefined;
    const decl = await loadProjectDeclaration(ctx);
    const dir = path.dirname(decl.file);
    const file = path.join(dir, LOCKFILE_NAME);
    if (check) {
      const lock = await readLockfile(dir);
      assertFresh(decl, lock, { command: 'lock --check' });
      recordFreshLock(before, decl.file, ctx.env, ctx.home);
      return freshLockOutcome(dir, decl.file);
    }
    let previous: Lockfile | undefined;
    try {
      previous = await readLockfile(dir);
    } catch (error) {
      if (!isEnvlockError(error)) throw error;
      ctx.reporter.warn(`${error.message} It will be replaced.`);
    }
    const extraPlatforms = flag.list(args, 'platform').map((p) => normalisePlatform(p));
    const update = flag.list(args, 'update');
    const { openSources } = await import('../../core/resolve/open-source.js');
    const sources = await openSources(ctx, { metadataOnly: true });
    let outcome;
    try {
      const { lockProject } = await import('../../core/resolve/lock-project.js');
      outcome = await lockProject(decl, previous, sources, ctx, { ...(update.length > 0 ? { update } : {}), extraPlatforms });
    } finally {
      await sources.close();
    }
    if (ctx.signal.aborted) throw ctx.signal.reason instanceof EnvlockError ? ctx.signal.reason : new EnvlockError('INTERRUPTED', 'Interrupted; envlock.lock was not changed.');
    const { written } = await writeLockfile(dir, outcome.lock);
    const environments = outcome.entries.map((e) => ({
      name: e.name,
      change: e.change,
      digest: e.locked.index?.digest ?? e.locked.images[0]?.manifest.digest ?? '',
      platforms: e.locked.images.map((i) => platformString(i.platform)),
    }));
    const table = renderTable(
      ['ENVIRONMENT', 'PLATFORMS', 'DIGEST', 'CHANGE'],
      environments.map((e) => [e.name, e.platforms.join(' '), e.digest ? shortDigest(e.digest) : '-', e.change]),
    );
    const summary = written ? `Wrote ${LOCKFILE_NAME}.` : `${LOCKFILE_NAME} unchanged.`;
    return { result: { file, written, environments }, text: `${table}${summary}\n` };
  },
};
