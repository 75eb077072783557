// The text of `run --dry-run` and `shell --dry-run`: what would be entered, one line each.

import { platformString } from '../../lockfiles/model.js';
import type { RunPlan } from './run-plan.js';

export function describeRun(plan: RunPlan): string {
  const lines = [
    `image:   ${platformString(plan.image.platform)} ${plan.image.manifest.digest}`,
    `${plan.prepared.image.form === 'squashfs' ? 'squashfs:' : 'rootfs: '} ${plan.rootfs} (read-only)`,
    `command: ${JSON.stringify(plan.argv)}`,
    `cwd:     ${plan.spec.cwd ?? '(current)'}`,
    ...(plan.spec.binds ?? []).map((b) => `bind:    ${b.source} -> ${b.destination}${b.readOnly ? ' (ro)' : ''}`),
    ...(plan.spec.devices ?? []).map((d) => `device:  ${d.source} -> ${d.destination ?? d.source}`),
    ...plan.injected.map((line) => `host:    ${line}`),
  ];
  return `${lines.join('\n')}\n`;
}
