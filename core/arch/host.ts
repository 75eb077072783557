// What this machine is: its OCI platform and its CPU (architecture, features, best level),
// read from /proc/cpuinfo or built from a feature set found elsewhere (a native CPUID probe).

import fs from 'node:fs';
import os from 'node:os';
import { EnvlockError } from '../errors.js';
import { normaliseFeatures, splitFeatureList } from './features.js';
import { findLevel, hostLevel } from './levels.js';

export interface HostCpu {
  architecture: string;
  /** Canonical feature names (features.ts). */
  features: Set<string>;
  /** Best level the features reach: x86-64 … x86-64-v4, armv8-a … armv9.x-a, power9, or "unknown". */
  level: string;
  vendor?: string;
  model?: string;
}

export interface HostPlatform {
  os: 'linux';
  architecture: string;
  variant?: string;
}

/** uname -m spellings (os.machine()) to OCI architecture names. */
const MACHINE_TO_OCI: Readonly<Record<string, string>> = {
  x86_64: 'amd64',
  amd64: 'amd64',
  aarch64: 'arm64',
  arm64: 'arm64',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

/** Node's process.arch spellings to OCI names; Node says ppc64 for little-endian POWER too. */
const NODE_TO_OCI: Readonly<Record<string, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

export interface PlatformProbe {
  /** process.platform; default the real one. */
  system?: string;
  /** uname -m; default os.machine(). */
  machine?: string;
  /** process.arch; default the real one. */
  nodeArch?: string;
}

/**
 * This host's platform. The kernel's machine name is asked first because process.arch is the
 * architecture Node was built for (an x64 Node under emulation on arm64 would lie); process.arch
 * is the fallback. With a detected CPU the variant is its level's (amd64 v3, arm64 v8.2).
 */
export function hostPlatform(cpu?: HostCpu, probe: PlatformProbe = {}): HostPlatform {
  const system = probe.system ?? process.platform;
  const machine = probe.machine ?? os.machine();
  const nodeArch = probe.nodeArch ?? process.arch;
  const architecture = MACHINE_TO_OCI[machine] ?? NODE_TO_OCI[nodeArch];
  if (system !== 'linux' || architecture === undefined) {
    throw new EnvlockError('ARCH_UNSUPPORTED', `This host (${system}/${machine}) is not a platform envlock can run environments on.`, {
      hint: 'Run envlock on Linux on amd64, arm64, ppc64le, s390x or riscv64.',
      details: { system, machine, nodeArch },
    });
  }
  const level = cpu && cpu.architecture === architecture ? findLevel(cpu.level) : undefined;
  return level ? { os: 'linux', architecture, variant: level.variant } : { os: 'linux', architecture };
}

/** The text after "key :" on the lines of /proc/cpuinfo with that key (one per processor). */
function fieldValues(text: string, key: string): string[] {
  const values: string[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === key) values.push(line.slice(colon + 1).trim());
  }
  return values;
}

/**
 * The features every processor has: on hybrid or mismatched systems a process may run on any
 * core, so only the intersection is safe to promise.
 */
function commonFeatures(lines: string[]): string[] {
  let common: Set<string> | undefined;
  for (const line of lines) {
    const words = new Set(splitFeatureList(line));
    common = common === undefined ? words : new Set([...common].filter((w) => words.has(w)));
  }
  return [...(common ?? [])];
}

/** ARM Ltd. and other implementer codes (the "CPU implementer" line) and the parts envlock names. */
const ARM_IMPLEMENTERS: Readonly<Record<string, string>> = {
  '0x41': 'ARM',
  '0x46': 'Fujitsu',
  '0x48': 'HiSilicon',
  '0x4e': 'NVIDIA',
  '0x51': 'Qualcomm',
  '0x61': 'Apple',
  '0xc0': 'Ampere',
};

const ARM_PARTS: Readonly<Record<string, string>> = {
  '0x41:0xd0c': 'neoverse-n1',
  '0x41:0xd40': 'neoverse-v1',
  '0x41:0xd49': 'neoverse-n2',
  '0x41:0xd4f': 'neoverse-v2',
  '0x46:0x001': 'a64fx',
};

/**
 * Parses /proc/cpuinfo: x86 `flags`, arm64 `Features`, POWER `cpu`. Throws CPU_DETECTION_FAILED
 * when an x86 or arm64 text carries no feature line, since every later check would be a guess.
 */
export function parseCpuinfo(text: string, architecture: string): HostCpu {
  if (architecture === 'amd64' || architecture === 'arm64') {
    const key = architecture === 'amd64' ? 'flags' : 'features';
    const lines = fieldValues(text, key);
    if (lines.length === 0) {
      throw new EnvlockError('CPU_DETECTION_FAILED', `The CPU description (/proc/cpuinfo) has no \`${architecture === 'amd64' ? 'flags' : 'Features'}\` line, so envlock cannot tell which CPU features this host has.`, {
        hint: 'Make /proc/cpuinfo readable (mount /proc), or run on a host whose kernel reports CPU features.',
      });
    }
    const features = new Set(normaliseFeatures(architecture, commonFeatures(lines)));
    const cpu: HostCpu = { architecture, features, level: hostLevel(features, architecture) };
    if (architecture === 'amd64') {
      const vendor = fieldValues(text, 'vendor_id')[0];
      const model = fieldValues(text, 'model name')[0];
      if (vendor) cpu.vendor = vendor;
      if (model) cpu.model = model;
    } else {
      const implementer = fieldValues(text, 'cpu implementer')[0]?.toLowerCase();
      const part = fieldValues(text, 'cpu part')[0]?.toLowerCase();
      if (implementer) cpu.vendor = ARM_IMPLEMENTERS[implementer] ?? implementer;
      if (implementer && part) cpu.model = ARM_PARTS[`${implementer}:${part}`] ?? `part ${part}`;
    }
    return cpu;
  }
  if (architecture === 'ppc64le') {
    const cpuLine = fieldValues(text, 'cpu')[0] ?? '';
    const generation = /POWER(\d+)/i.exec(cpuLine)?.[1];
    const cpu: HostCpu = { architecture, features: new Set(), level: generation ? `power${generation}` : 'unknown' };
    if (cpuLine) cpu.model = cpuLine;
    return cpu;
  }
  return { architecture, features: new Set(), level: 'unknown' };
}

/** A HostCpu from features found another way (a native CPUID probe, a test, an override). */
export function hostCpuFromFeatures(architecture: string, features: Iterable<string>, extra: { vendor?: string; model?: string } = {}): HostCpu {
  const set = new Set(normaliseFeatures(architecture, features));
  return { architecture, features: set, level: hostLevel(set, architecture), ...extra };
}

export type ReadText = (file: string, encoding: 'utf8') => string;

/** Reads and parses /proc/cpuinfo; `readFile` is a parameter so tests pass fixtures. */
export function detectHostCpu(readFile: ReadText = fs.readFileSync, architecture?: string): HostCpu {
  const arch = architecture ?? hostPlatform().architecture;
  let text: string;
  try {
    text = readFile('/proc/cpuinfo', 'utf8');
  } catch (error) {
    throw new EnvlockError('CPU_DETECTION_FAILED', 'The CPU description /proc/cpuinfo could not be read, so envlock cannot tell which CPU features this host has.', {
      hint: 'Make /proc/cpuinfo readable (mount /proc) and try again.',
      cause: error,
    });
  }
  return parseCpuinfo(text, arch);
}

/** The host as "linux/amd64/v3", for messages. */
export function hostPlatformString(platform: HostPlatform): string {
  return platform.variant ? `${platform.os}/${platform.architecture}/${platform.variant}` : `${platform.os}/${platform.architecture}`;
}
