// `envlock doctor`'s checks: can this host run envlock environments, and each locked one? Each
// check returns a status and one sentence; a failing one says what to do and who must do it.

import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../context.js';
import { isEnvlockError } from '../errors.js';
import type { HostCpu } from '../arch/host.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  area: string;
  status: CheckStatus;
  summary: string;
  fix?: string;
  details?: Record<string, unknown>;
}

export async function checkUserNamespaces(): Promise<Check> {
  try {
    const { probeUserNamespaces } = await import('../runtime/userns.js');
    const probe = probeUserNamespaces();
    if (probe.ok) return { area: 'user namespaces', status: 'ok', summary: 'Unprivileged user and mount namespaces work.' };
    return { area: 'user namespaces', status: 'fail', summary: probe.reason ?? 'Unprivileged user namespaces are not available.', ...(probe.fix ? { fix: probe.fix } : {}), details: { ...probe } };
  } catch (error) {
    const message = isEnvlockError(error) ? error.message : String(error);
    return { area: 'user namespaces', status: 'fail', summary: message, fix: 'Rebuild the native runtime with `npm rebuild envlock`.' };
  }
}

export function checkCpu(cpu: HostCpu & { os: string }): Check {
  return {
    area: 'cpu',
    status: 'ok',
    summary: `${cpu.os}/${cpu.architecture}, level ${cpu.level}${cpu.vendor ? `, ${cpu.vendor}` : ''}${cpu.model ? ` ${cpu.model}` : ''}, ${cpu.features.size} features.`,
    details: { level: cpu.level, features: [...cpu.features].sort() },
  };
}

export async function checkStore(ctx: Context): Promise<Check[]> {
  const { storeRoots } = await import('../store/paths.js');
  const roots = storeRoots(ctx);
  let probe = roots.writable;
  while (!existsSync(probe) && path.dirname(probe) !== probe) probe = path.dirname(probe);
  const checks: Check[] = [];
  try {
    const stats = await fs.statfs(probe);
    const free = stats.bavail * stats.bsize;
    const writable = await fs.access(probe, fs.constants.W_OK).then(() => true, () => false);
    const gib = (free / 1024 ** 3).toFixed(1);
    checks.push({
      area: 'store',
      status: !writable ? 'fail' : free < 1024 ** 3 ? 'warn' : 'ok',
      summary: `${roots.writable}: ${gib} GiB free${writable ? '' : ', not writable'}.`,
      ...(!writable ? { fix: 'Point --store or ENVLOCK_STORE at a directory you can write.' } : free < 1024 ** 3 ? { fix: 'Free space or choose another store with ENVLOCK_STORE.' } : {}),
      details: { path: roots.writable, freeBytes: free, writable },
    });
  } catch (error) {
    checks.push({ area: 'store', status: 'fail', summary: `${roots.writable}: cannot be inspected (${String(error)}).` });
  }
  for (const ro of roots.readOnly) {
    checks.push({ area: 'site store', status: existsSync(ro) ? 'ok' : 'warn', summary: `${ro} (read-only)${existsSync(ro) ? '' : ' does not exist'}.` });
  }
  return checks;
}
