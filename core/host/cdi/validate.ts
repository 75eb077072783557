// Strict validation of one parsed CDI spec file (CDI SPEC.md, versions 0.3.0-1.1.x): known
// fields only, the grammar of kinds and names, absolute paths, and the minimum cdiVersion
// implied by the fields used (as the reference implementation's specs-go/version.go does).

import { EnvlockError } from '../../errors.js';
import { deviceNameProblem, kindProblem } from './names.js';
import { emptyEdits, type CdiDeviceNode, type CdiEdits, type CdiHook, type CdiMount, type CdiSpec } from './spec-types.js';

type Version = readonly [number, number];
/** Released spec versions (major, minor); patch releases do not change the format (SPEC.md "Update policy"). */
const KNOWN: Version[] = [[0, 3], [0, 4], [0, 5], [0, 6], [0, 7], [0, 8], [1, 0], [1, 1]];
const HOOK_NAMES = new Set(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
const NODE_TYPES = new Set(['b', 'c', 'u', 'p']);

type Obj = Record<string, unknown>;

class Checker {
  required: Version = [0, 3];
  requiredBy = '';
  constructor(readonly file: string) {}

  fail(where: string, problem: string): never {
    throw new EnvlockError('CDI_INVALID', `CDI spec ${this.file} is invalid: ${where === '' ? '' : `${where}: `}${problem}.`, {
      hint: 'Fix or remove the spec file, or regenerate it with the vendor tool (for NVIDIA GPUs: `nvidia-ctk cdi generate`).',
      details: { file: this.file, field: where },
    });
  }

  /** Records that a field needs at least this spec version. */
  needs(version: Version, why: string): void {
    if (compare(version, this.required) > 0) {
      this.required = version;
      this.requiredBy = why;
    }
  }

  object(value: unknown, where: string, allowed: string[]): Obj {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(where, 'expected an object');
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) this.fail(where === '' ? key : `${where}.${key}`, 'unknown field');
    }
    return value as Obj;
  }

  string(value: unknown, where: string): string {
    if (typeof value !== 'string') this.fail(where, 'expected a string');
    return value;
  }

  strings(value: unknown, where: string): string[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) this.fail(where, 'expected a list of strings');
    return value.map((v, i) => this.string(v, `${where}[${i}]`));
  }

  integer(value: unknown, where: string, min: number, max: number): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(where, `expected a whole number from ${min} to ${max}`);
    }
    return value;
  }

  list(value: unknown, where: string): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) this.fail(where, 'expected a list');
    return value;
  }

  absolute(value: string, where: string): string {
    if (!value.startsWith('/')) this.fail(where, `"${value}" is not an absolute path`);
    return value;
  }

  /** A container path: absolute, and no `..` may climb above the container's root. */
  containerPath(value: string, where: string): string {
    this.absolute(value, where);
    let depth = 0;
    for (const part of value.split('/')) {
      if (part === '..') depth -= 1;
      else if (part !== '' && part !== '.') depth += 1;
      if (depth < 0) this.fail(where, `"${value}" escapes the container root with ".."`);
    }
    return value;
  }
}

function compare(a: Version, b: Version): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}

function parseVersion(c: Checker, value: unknown): Version {
  const text = c.string(value, 'cdiVersion');
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (m === null) c.fail('cdiVersion', `"${text}" is not a semantic version`);
  const version: Version = [Number(m[1]), Number(m[2])];
  if (!KNOWN.some((k) => compare(k, version) === 0)) {
    c.fail('cdiVersion', `version ${text} is not one this envlock knows (0.3.0 to 1.1.x)`);
  }
  return version;
}

function validateEdits(c: Checker, value: unknown, where: string): CdiEdits {
  const edits = emptyEdits();
  if (value === undefined || value === null) return edits;
  const o = c.object(value, where, ['env', 'deviceNodes', 'mounts', 'hooks', 'additionalGids', 'additionalGIDs', 'intelRdt', 'netDevices']);
  edits.env = c.strings(o.env, `${where}.env`).map((e, i) => {
    const eq = e.indexOf('=');
    if (eq <= 0) c.fail(`${where}.env[${i}]`, `"${e}" is not of the form NAME=VALUE`);
    return e;
  });
  edits.deviceNodes = c.list(o.deviceNodes, `${where}.deviceNodes`).map((d, i) => deviceNode(c, d, `${where}.deviceNodes[${i}]`));
  edits.mounts = c.list(o.mounts, `${where}.mounts`).map((m, i) => mount(c, m, `${where}.mounts[${i}]`));
  edits.hooks = c.list(o.hooks, `${where}.hooks`).map((h, i) => hook(c, h, `${where}.hooks[${i}]`));
  for (const key of ['additionalGids', 'additionalGIDs']) {
    const gids = c.list(o[key], `${where}.${key}`).map((g, i) => c.integer(g, `${where}.${key}[${i}]`, 0, 0xffffffff)!);
    if (gids.length > 0) c.needs([0, 7], `${where}.${key}`);
    edits.additionalGids.push(...gids.filter((g) => g !== 0));
  }
  if (o.intelRdt !== undefined) {
    c.object(o.intelRdt, `${where}.intelRdt`, ['closID', 'l3CacheSchema', 'memBwSchema', 'enableCMT', 'enableMBM', 'schemata', 'enableMonitoring']);
    c.needs([0, 7], `${where}.intelRdt`);
    edits.ignored.push('intelRdt');
  }
  if (o.netDevices !== undefined) {
    c.list(o.netDevices, `${where}.netDevices`).forEach((n, i) => c.object(n, `${where}.netDevices[${i}]`, ['hostInterfaceName', 'name']));
    c.needs([1, 1], `${where}.netDevices`);
    edits.ignored.push('netDevices');
  }
  return edits;
}

function deviceNode(c: Checker, value: unknown, where: string): CdiDeviceNode {
  const o = c.object(value, where, ['path', 'hostPath', 'type', 'major', 'minor', 'fileMode', 'permissions', 'uid', 'gid']);
  const path = c.containerPath(c.string(o.path, `${where}.path`), `${where}.path`);
  let hostPath = path;
  if (o.hostPath !== undefined && o.hostPath !== '') {
    hostPath = c.absolute(c.string(o.hostPath, `${where}.hostPath`), `${where}.hostPath`);
    c.needs([0, 5], `${where}.hostPath`);
  }
  const node: CdiDeviceNode = { path, hostPath };
  if (o.type !== undefined && o.type !== '') {
    const type = c.string(o.type, `${where}.type`);
    if (!NODE_TYPES.has(type)) c.fail(`${where}.type`, `"${type}" is not a device type (b, c, u or p)`);
    node.type = type;
  }
  if (o.permissions !== undefined && o.permissions !== '') {
    const permissions = c.string(o.permissions, `${where}.permissions`);
    if (!/^[rwm]+$/.test(permissions)) c.fail(`${where}.permissions`, `"${permissions}" may only contain r, w and m`);
    node.permissions = permissions;
  }
  const major = c.integer(o.major, `${where}.major`, 0, 2 ** 32);
  const minor = c.integer(o.minor, `${where}.minor`, 0, 2 ** 32);
  const fileMode = c.integer(o.fileMode, `${where}.fileMode`, 0, 0o177777);
  const uid = c.integer(o.uid, `${where}.uid`, 0, 0xffffffff);
  const gid = c.integer(o.gid, `${where}.gid`, 0, 0xffffffff);
  if (major !== undefined) node.major = major;
  if (minor !== undefined) node.minor = minor;
  if (fileMode !== undefined) node.fileMode = fileMode;
  if (uid !== undefined) node.uid = uid;
  if (gid !== undefined) node.gid = gid;
  return node;
}

function mount(c: Checker, value: unknown, where: string): CdiMount {
  const o = c.object(value, where, ['hostPath', 'containerPath', 'options', 'type']);
  const hostPath = c.string(o.hostPath, `${where}.hostPath`);
  const containerPath = c.containerPath(c.string(o.containerPath, `${where}.containerPath`), `${where}.containerPath`);
  const options = c.strings(o.options, `${where}.options`);
  const result: CdiMount = { hostPath, containerPath, options };
  if (o.type !== undefined && o.type !== '') {
    result.type = c.string(o.type, `${where}.type`);
    c.needs([0, 4], `${where}.type`);
  }
  // Only bind mounts reach envlock (it cannot mount filesystems by type unprivileged); their source is a host path.
  const isBind = result.type === undefined || result.type === 'bind' || result.type === 'none' || options.includes('bind') || options.includes('rbind');
  if (!isBind) c.fail(`${where}.type`, `mount type "${result.type}" is not a bind mount, which is all envlock can apply without root`);
  c.absolute(hostPath, `${where}.hostPath`);
  return result;
}

function hook(c: Checker, value: unknown, where: string): CdiHook {
  const o = c.object(value, where, ['hookName', 'path', 'args', 'env', 'timeout']);
  const hookName = c.string(o.hookName, `${where}.hookName`);
  if (!HOOK_NAMES.has(hookName)) c.fail(`${where}.hookName`, `"${hookName}" is not an OCI hook name`);
  const path = c.absolute(c.string(o.path, `${where}.path`), `${where}.path`);
  const result: CdiHook = { hookName, path, args: c.strings(o.args, `${where}.args`), env: c.strings(o.env, `${where}.env`) };
  const timeout = c.integer(o.timeout, `${where}.timeout`, 1, 2 ** 31 - 1);
  if (timeout !== undefined) result.timeout = timeout;
  return result;
}

/** Annotations (spec 0.6.0): a map of strings to strings, carried for consumers and otherwise unused. */
function annotations(c: Checker, value: unknown, where: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) c.fail(where, 'expected an object');
  for (const [key, v] of Object.entries(value)) c.string(v, `${where}.${key}`);
  c.needs([0, 6], where);
}

/** Checks one parsed spec document and returns envlock's model of it; throws CDI_INVALID naming the file. */
export function validateCdiSpec(raw: unknown, file: string, priority: number): CdiSpec {
  const c = new Checker(file);
  const o = c.object(raw, '', ['cdiVersion', 'kind', 'annotations', 'devices', 'containerEdits']);
  if (o.cdiVersion === undefined) c.fail('cdiVersion', 'the field is missing');
  const version = parseVersion(c, o.cdiVersion);
  const kind = c.string(o.kind, 'kind');
  const kindIssue = kindProblem(kind);
  if (kindIssue !== undefined) c.fail('kind', kindIssue);
  if (kind.split('/')[1]!.includes('.')) c.needs([0, 6], 'a "." in the class name');
  if (o.annotations !== undefined) annotations(c, o.annotations, 'annotations');
  const rawDevices = c.list(o.devices, 'devices');
  if (rawDevices.length === 0) c.fail('devices', 'a spec must define at least one device');
  const seen = new Set<string>();
  const devices = rawDevices.map((d, i) => {
    const where = `devices[${i}]`;
    const dev = c.object(d, where, ['name', 'annotations', 'containerEdits']);
    const name = c.string(dev.name, `${where}.name`);
    const issue = deviceNameProblem(name);
    if (issue !== undefined) c.fail(`${where}.name`, issue);
    if (/^[0-9]/.test(name)) c.needs([0, 5], `device name "${name}" starting with a digit`);
    if (seen.has(name)) c.fail(`${where}.name`, `device "${name}" is defined twice`);
    seen.add(name);
    if (dev.annotations !== undefined) annotations(c, dev.annotations, `${where}.annotations`);
    return { name, edits: validateEdits(c, dev.containerEdits, `${where}.containerEdits`) };
  });
  const edits = validateEdits(c, o.containerEdits, 'containerEdits');
  if (compare(c.required, version) > 0) {
    c.fail('cdiVersion', `${c.requiredBy} needs cdiVersion ${c.required.join('.')}.0 or newer, but the file says ${String(o.cdiVersion)}`);
  }
  return { file, priority, version: String(o.cdiVersion), kind, devices, edits };
}
