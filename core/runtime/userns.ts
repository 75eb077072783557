// Can this host create unprivileged user namespaces? Runs the addon's probe and explains a
// failure with the kernel setting behind it and the fix an administrator must apply
// (pitfalls 3.5: max_user_namespaces, unprivileged_userns_clone, AppArmor restriction).

import { readFileSync } from 'node:fs';
import { EnvlockError } from '../errors.js';
import { loadNative, type NativeAddon, type RawUsernsProbe } from './native.js';

export interface UsernsSysctls {
  maxUserNamespaces?: number;
  unprivilegedUsernsClone?: number;
  apparmorRestrict?: number;
}

export interface UsernsProbe {
  ok: boolean;
  reason?: string;
  fix?: string;
  stage?: string;
  errno?: number;
}

const FILES: Record<keyof UsernsSysctls, string> = {
  maxUserNamespaces: '/proc/sys/user/max_user_namespaces',
  unprivilegedUsernsClone: '/proc/sys/kernel/unprivileged_userns_clone',
  apparmorRestrict: '/proc/sys/kernel/apparmor_restrict_unprivileged_userns',
};

/** Reads the three sysctls; a file that does not exist (another kernel) is left out. */
export function readUsernsSysctls(read: (file: string) => string = (f) => readFileSync(f, 'utf8')): UsernsSysctls {
  const out: UsernsSysctls = {};
  for (const [key, file] of Object.entries(FILES) as [keyof UsernsSysctls, string][]) {
    try {
      const value = Number.parseInt(read(file).trim(), 10);
      if (Number.isFinite(value)) out[key] = value;
    } catch {
      // absent on this kernel: nothing to explain with it
    }
  }
  return out;
}

const ADMIN = 'An administrator must apply it (persist it in /etc/sysctl.d/).';

/** Turns the raw probe and the sysctls into one reason and one fix. */
export function explainUserns(raw: RawUsernsProbe, sysctls: UsernsSysctls): UsernsProbe {
  if (raw.ok) return { ok: true };
  const base = { ok: false, stage: raw.stage, errno: raw.errno };
  const failed = `${raw.stage ?? 'probe'} failed: ${raw.message ?? 'unknown error'}`;
  if (sysctls.maxUserNamespaces === 0) {
    return { ...base, reason: `user namespaces are disabled: user.max_user_namespaces is 0 (${failed})`, fix: `Run \`sysctl -w user.max_user_namespaces=15000\` as root. ${ADMIN}` };
  }
  if (sysctls.unprivilegedUsernsClone === 0) {
    return { ...base, reason: `unprivileged user namespaces are disabled: kernel.unprivileged_userns_clone is 0 (${failed})`, fix: `Run \`sysctl -w kernel.unprivileged_userns_clone=1\` as root. ${ADMIN}` };
  }
  if (sysctls.apparmorRestrict === 1 && raw.stage !== 'unshare') {
    return { ...base, reason: `AppArmor restricts unprivileged user namespaces: kernel.apparmor_restrict_unprivileged_userns is 1 (${failed})`, fix: `Install an AppArmor profile with \`userns,\` for the envlock-launch path, or run \`sysctl -w kernel.apparmor_restrict_unprivileged_userns=0\` as root. ${ADMIN}` };
  }
  if (raw.stage === 'unshare' && (raw.errno === 28 || raw.errno === 87)) {
    return { ...base, reason: `the user namespace limit is reached (${failed})`, fix: `Raise user.max_user_namespaces with sysctl as root, or end processes holding namespaces. ${ADMIN}` };
  }
  if (raw.stage === 'unshare' && raw.errno === 22) {
    return { ...base, reason: `this kernel has no user namespace support (${failed})`, fix: 'Use a kernel built with CONFIG_USER_NS=y.' };
  }
  if (raw.stage === 'unshare' && raw.errno === 1) {
    return { ...base, reason: `creating a user namespace is not permitted here, e.g. by a seccomp filter, a container or a chroot (${failed})`, fix: 'Run envlock directly on the host, or ask the administrator to allow unprivileged user namespaces.' };
  }
  return { ...base, reason: failed, fix: 'Run `envlock doctor` and report its output to your administrator.' };
}

export function probeUserNamespaces(native: NativeAddon = loadNative(), sysctls: UsernsSysctls = readUsernsSysctls()): UsernsProbe {
  return explainUserns(native.probeUserNamespaces(), sysctls);
}

/** Throws USERNS_UNAVAILABLE with the reason and the fix when the probe fails. */
export function assertUserNamespaces(native?: NativeAddon, sysctls?: UsernsSysctls): void {
  const probe = probeUserNamespaces(native, sysctls);
  if (probe.ok) return;
  throw new EnvlockError('USERNS_UNAVAILABLE', `This host does not let envlock create a user namespace: ${probe.reason}.`, {
    hint: probe.fix,
    details: { stage: probe.stage, errno: probe.errno },
  });
}
