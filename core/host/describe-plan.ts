// Renders an injection plan as plain lines — what would be injected, from where — for
// `envlock doctor` and `envlock run --dry-run`. Pure formatting; no I/O.

import type { InjectionPlan } from './plan-types.js';

/** One line per injected item, then notes; an empty plan says so in one line. */
export function describePlan(plan: InjectionPlan): string[] {
  const lines: string[] = [];
  const empty =
    plan.deviceNodes.length + plan.mounts.length + plan.libraries.length + plan.symlinks.length + plan.hooksToRun.length === 0 &&
    Object.keys(plan.env).length === 0;
  if (empty) lines.push('host injection: nothing');
  for (const [name, value] of Object.entries(plan.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    lines.push(`env ${name}=${value}`);
  }
  for (const [name, dirs] of Object.entries(plan.prependPath)) lines.push(`path ${name} += ${dirs.join(':')} (prepended)`);
  for (const d of plan.deviceNodes) {
    lines.push(`device ${d.containerPath} <- ${d.hostPath}${d.permissions === undefined ? '' : ` (${d.permissions})`}  [${d.source}]`);
  }
  for (const m of plan.mounts) {
    lines.push(`mount ${m.containerPath} <- ${m.hostPath}${m.options.length === 0 ? '' : ` (${m.options.join(',')})`}  [${m.source}]`);
  }
  for (const l of plan.libraries) lines.push(`library ${plan.libraryDir}/${l.soname} <- ${l.hostPath}  [${l.source}]`);
  for (const s of plan.symlinks) lines.push(`symlink ${s.link} -> ${s.target}  [${s.source}]`);
  if (plan.ldcache) lines.push(`ldcache ${plan.ldcacheFolders.join(', ')} (added to the loader path; the root is read-only)`);
  for (const h of plan.hooksToRun) lines.push(`hook ${h.hook.hookName}: ${[h.hook.path, ...h.hook.args.slice(1)].join(' ')}  [${h.source}]`);
  for (const n of plan.notes) lines.push(`note: ${n}`);
  if (plan.sources.length > 0) lines.push(`sources: ${plan.sources.join('; ')}`);
  return lines;
}
