// Resolves requested CDI device names to one merged set of edits: each spec's top-level
// containerEdits once (SPEC.md "OCI Edits": applied when any of its devices is requested),
// then each device's own edits; contradictory edits between them are a CDI_CONFLICT.

import { EnvlockError } from '../../errors.js';
import { didYouMean } from '../../suggest.js';
import type { CdiRegistry, RegisteredDevice } from './load.js';
import { parseQualifiedName } from './names.js';
import type { CdiDeviceNode, CdiEdits, CdiHook, CdiMount } from './spec-types.js';

/** Where an edit came from, for conflict messages, `doctor` and `--dry-run`. */
export interface EditOrigin {
  file: string;
  /** The fully qualified device, or "vendor.com/class (spec-wide edits)". */
  owner: string;
}

export interface Sourced<T> {
  value: T;
  origin: EditOrigin;
}

export interface ResolvedCdiEdits {
  devices: string[];
  env: Sourced<{ name: string; value: string }>[];
  deviceNodes: Sourced<CdiDeviceNode>[];
  mounts: Sourced<CdiMount>[];
  hooks: Sourced<CdiHook>[];
  additionalGids: number[];
  notes: string[];
}

function originText(o: EditOrigin): string {
  return `${o.owner} in ${o.file}`;
}

function conflict(what: string, a: EditOrigin, b: EditOrigin): never {
  throw new EnvlockError('CDI_CONFLICT', `CDI edits conflict: ${what} (${originText(a)}; ${originText(b)}).`, {
    hint: 'Request only one of these devices, or fix the spec files so they agree.',
    details: { files: [a.file, b.file], owners: [a.owner, b.owner] },
  });
}

/** Expands the requested names: `=all` means every device of that kind unless a device is literally named "all". */
function lookup(registry: CdiRegistry, requested: string): RegisteredDevice[] {
  const parsed = parseQualifiedName(requested);
  if (typeof parsed === 'string') {
    throw new EnvlockError('CDI_DEVICE_UNKNOWN', `CDI device ${requested} cannot be resolved: ${parsed}.`, {
      hint: 'Name devices as vendor.com/class=name, for example nvidia.com/gpu=all.',
    });
  }
  const exact = registry.devices.get(requested);
  if (exact !== undefined) return [exact];
  const ofKind = [...registry.devices.values()].filter((d) => d.spec.kind === parsed.kind);
  if (parsed.name === 'all' && ofKind.length > 0) return ofKind;
  const known = ofKind.map((d) => d.qualifiedName).sort();
  const dirs = registry.dirs.join(', ');
  const message =
    known.length === 0
      ? `CDI device ${requested} is unknown: no spec file in ${dirs} defines kind ${parsed.kind}.`
      : `CDI device ${requested} is unknown; kind ${parsed.kind} has ${known.join(', ')}.${didYouMean(requested, known)}`;
  throw new EnvlockError('CDI_DEVICE_UNKNOWN', message, {
    hint:
      known.length === 0
        ? 'Ask the site administrator for a CDI spec (for NVIDIA GPUs: `nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml`), or set ENVLOCK_CDI_DIRS.'
        : 'Request one of the listed devices.',
    details: { device: requested, known },
  });
}

/** Merges the edits of the requested devices; identical duplicates collapse, contradictions throw. */
export function resolveDevices(names: string[], registry: CdiRegistry): ResolvedCdiEdits {
  const out: ResolvedCdiEdits = { devices: [], env: [], deviceNodes: [], mounts: [], hooks: [], additionalGids: [], notes: [] };
  const envByName = new Map<string, Sourced<{ name: string; value: string }>>();
  const pathOwners = new Map<string, { hostPath: string; origin: EditOrigin }>();
  const hookKeys = new Set<string>();
  const specsApplied = new Set<string>();

  const claimPath = (containerPath: string, hostPath: string, origin: EditOrigin): boolean => {
    const previous = pathOwners.get(containerPath);
    if (previous === undefined) {
      pathOwners.set(containerPath, { hostPath, origin });
      return true;
    }
    if (previous.hostPath !== hostPath) {
      conflict(`${containerPath} is mapped from ${previous.hostPath} and from ${hostPath}`, previous.origin, origin);
    }
    return false;
  };

  const apply = (edits: CdiEdits, origin: EditOrigin): void => {
    for (const entry of edits.env) {
      const eq = entry.indexOf('=');
      const name = entry.slice(0, eq);
      const value = entry.slice(eq + 1);
      const previous = envByName.get(name);
      if (previous !== undefined) {
        if (previous.value.value !== value) {
          conflict(`${name} is set to "${previous.value.value}" and to "${value}"`, previous.origin, origin);
        }
        continue;
      }
      const item = { value: { name, value }, origin };
      envByName.set(name, item);
      out.env.push(item);
    }
    for (const node of edits.deviceNodes) {
      if (claimPath(node.path, node.hostPath, origin)) out.deviceNodes.push({ value: node, origin });
    }
    for (const mount of edits.mounts) {
      if (claimPath(mount.containerPath, mount.hostPath, origin)) out.mounts.push({ value: mount, origin });
    }
    for (const hook of edits.hooks) {
      const key = JSON.stringify([hook.hookName, hook.path, hook.args, hook.env]);
      if (hookKeys.has(key)) continue;
      hookKeys.add(key);
      out.hooks.push({ value: hook, origin });
    }
    for (const gid of edits.additionalGids) if (!out.additionalGids.includes(gid)) out.additionalGids.push(gid);
    for (const field of edits.ignored) {
      out.notes.push(`${field} from ${originText(origin)} is ignored: it needs privileges envlock does not use.`);
    }
  };

  for (const requested of names) {
    for (const found of lookup(registry, requested)) {
      if (out.devices.includes(found.qualifiedName)) continue;
      out.devices.push(found.qualifiedName);
      if (!specsApplied.has(found.spec.file)) {
        specsApplied.add(found.spec.file);
        apply(found.spec.edits, { file: found.spec.file, owner: `${found.spec.kind} (spec-wide edits)` });
      }
      apply(found.device.edits, { file: found.spec.file, owner: found.qualifiedName });
    }
  }
  return out;
}
