// `envlock verify`: re-hash every blob a lock uses, compare every pulled rootfs with the tree
// digest recorded when it was unpacked and every squashfs image with the file digest recorded
// when it was built; say what is damaged and how to repair it.

import path from 'node:path';
import type { CommandSpec } from '../command-spec.js';
import { selectEnvironments } from '../../core/declaration/select.js';
import { EnvlockError } from '../../core/errors.js';
import { shortDigest } from '../../core/oci/digest.js';
import { loadProject, lockedEnvironment } from '../../core/project.js';
import { flag } from '../args.js';
import { renderTable } from '../output/table.js';
import type { VerifyReport } from '../../core/store/verify.js';

interface VerifyResult {
  checked: number;
  damaged: VerifyReport[];
  notPulled: string[];
  /** Entries this user cannot read, per image: not checked, not damage. */
  unchecked: { kind: string; digest: string; path: string; reason: string }[];
}

/**
 * What could not be checked because this user cannot read it (a site store's /etc/shadow): named,
 * with why, and who can check it all. Not damage: the rest of the image was compared.
 */
function uncheckedText(reports: readonly VerifyReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    if (r.unchecked === undefined || r.unchecked.length === 0) continue;
    const shown = r.unchecked.slice(0, 5).map((u) => `${u.path} (${u.reason})`).join(', ');
    const more = r.unchecked.length > 5 ? `, and ${r.unchecked.length - 5} more` : '';
    const owner = r.path === undefined ? 'its store' : path.dirname(path.dirname(path.dirname(r.path)));
    lines.push(`Not checked in ${r.kind} ${shortDigest(r.digest)}: ${shown}${more}. Everything else in it was checked. For a full check, run \`envlock verify\` as the owner of ${owner} (see docs/store.md).`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

export const command: CommandSpec<VerifyResult> = {
  name: 'verify',
  summary: 'Re-hash the locked blobs and check each pulled image against its recorded digest.',
  usage: 'envlock verify [NAME]... [--frozen]',
  description: `
Checks what the store holds for the locked environments: every blob is hashed again and compared
with its digest, every unpacked rootfs is compared with the tree digest recorded at unpack time
(paths, types, modes, link targets and file contents), and every squashfs image with the size and
sha256 of the file recorded when it was built. Damage is reported with the command
that repairs it; images that were never pulled are listed but are not damage. Files you cannot
read (a site store's /etc/shadow) are named as not checked, and everything else in the image is
compared file by file; only what could be read and is wrong is damage. Exit 1 on damage.`,
  flags: [{ name: 'frozen', type: 'boolean', description: 'Use envlock.lock as it is, even if the declaration changed since.' }],
  positionals: [{ name: 'NAME', description: 'Environments to verify (default: all).', variadic: true }],
  async run(args, ctx) {
    const project = await loadProject(ctx, { command: 'verify', frozen: flag.bool(args, 'frozen') });
    const { Store } = await import('../../core/store/store.js');
    const { verifyBlob } = await import('../../core/store/verify.js');
    const { verifyImage } = await import('../../core/store/verify-squashfs.js');
    const store = Store.open(ctx);
    const reports: VerifyReport[] = [];
    const notPulled: string[] = [];
    const seen = new Set<string>();
    for (const env of selectEnvironments(project.decl, args.positionals)) {
      for (const image of lockedEnvironment(project, env.name).images) {
        const forms = seen.has(image.manifest.digest) ? [] : await verifyImage(store, image.manifest.digest);
        if (forms.length === 0 && !seen.has(image.manifest.digest)) {
          notPulled.push(`${env.name} ${image.manifest.digest}`);
          continue;
        }
        reports.push(...forms);
        // The manifest and index too: export and repair read them (a truncated manifest was missed).
        const index = lockedEnvironment(project, env.name).index;
        for (const desc of [...(index ? [index] : []), image.manifest, image.config, ...image.layers]) {
          if (seen.has(desc.digest)) continue;
          seen.add(desc.digest);
          const report = await verifyBlob(store, desc.digest);
          // A blob may be gone (gc of blobs is allowed once unpacked): only wrong bytes are damage.
          if (report.problem !== 'missing') reports.push(report);
        }
        seen.add(image.manifest.digest);
      }
    }
    const damaged = reports.filter((r) => !r.ok);
    const unchecked = reports.flatMap((r) => (r.unchecked ?? []).map((u) => ({ kind: r.kind, digest: r.digest, path: u.path, reason: u.reason })));
    const result = { checked: reports.length, damaged, notPulled, unchecked };
    if (damaged.length > 0) {
      const lines = damaged.map((d) => `${d.kind} ${shortDigest(d.digest)}: ${d.problem}${d.path ? ` (${d.path})` : ''}${d.changed?.length ? `; changed: ${d.changed.join(', ')}` : ''}`);
      const readOnly = damaged.some((d) => d.readOnly);
      throw new EnvlockError('STORE_DAMAGED', `${damaged.length} of ${reports.length} store objects are damaged:\n  ${lines.join('\n  ')}`, {
        hint: readOnly ? 'Ask the administrator of the read-only store to re-pull it; for your own store run `envlock pull --repair`.' : 'Run `envlock pull --repair` to replace them.',
        details: { damaged },
      });
    }
    const text = renderTable(['CHECKED', 'DAMAGED', 'NOT PULLED'], [[String(reports.length), '0', String(notPulled.length)]]);
    return { result, text: text + uncheckedText(reports) };
  },
};
