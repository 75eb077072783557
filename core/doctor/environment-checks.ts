// Doctor checks that need the project: each locked environment's fate on this host, the
// registries its lock names, and the host devices it would receive.

import type { Context } from '../context.js';
import { chooseImage } from '../arch/choose.js';
import type { HostCpu } from '../arch/host.js';
import { isEnvlockError } from '../errors.js';
import type { Project } from '../project.js';
import { platformString } from '../../lockfiles/model.js';
import type { Check } from './checks.js';

export function checkEnvironments(project: Project, cpu: HostCpu & { os: string }): Check[] {
  return project.lock.environments.map((env) => {
    try {
      const { image } = chooseImage(env.images, cpu, { environment: env.name });
      return { area: `env ${env.name}`, status: 'ok', summary: `Runs here as ${platformString(image.platform)}${image.arch.microarch ? ` (${image.arch.microarch})` : ''}.` };
    } catch (error) {
      if (!isEnvlockError(error)) throw error;
      return { area: `env ${env.name}`, status: 'fail', summary: error.message, ...(error.hint ? { fix: error.hint } : {}) };
    }
  });
}

export async function checkRegistries(project: Project, ctx: Context): Promise<Check[]> {
  const hosts = new Set<string>();
  const { parseImageReference } = await import('../source/image-source.js');
  for (const env of project.lock.environments) {
    try {
      const ref = await parseImageReference(env.reference, ctx, { baseDir: project.dir });
      if (ref.kind === 'registry') hosts.add(ref.registry);
    } catch {
      // An unparsable reference is the lock command's error to report.
    }
  }
  if (hosts.size === 0) return [];
  if (ctx.offline) return [...hosts].map((host) => ({ area: `registry ${host}`, status: 'warn' as const, summary: 'Not checked (--offline).' }));
  const { request } = await import('undici');
  const { loadRegistryConfig } = await import('../registry/config.js');
  const { endpointsFor } = await import('../registry/endpoints.js');
  const { registryReference } = await import('../registry/reference.js');
  const config = await loadRegistryConfig(ctx);
  return Promise.all([...hosts].map(async (host): Promise<Check> => {
    const endpoint = endpointsFor(config, registryReference(host, 'library/probe', 'latest'), false).at(-1);
    const base = endpoint ? `${endpoint.scheme}://${endpoint.host}` : `https://${host}`;
    try {
      const response = await request(`${base}/v2/`, { method: 'GET', headersTimeout: 5000, bodyTimeout: 5000 });
      await response.body.dump();
      const ok = response.statusCode === 200 || response.statusCode === 401;
      return { area: `registry ${host}`, status: ok ? 'ok' : 'warn', summary: `${base}/v2/ answered ${response.statusCode}${response.statusCode === 401 ? ' (needs a token or login; normal)' : ''}.` };
    } catch (error) {
      return { area: `registry ${host}`, status: 'fail', summary: `${base}/v2/ is unreachable (${(error as Error).message}).`, fix: 'Check the network or proxy settings, or pull while this registry is reachable.' };
    }
  }));
}

export async function checkHostDevices(project: Project, ctx: Context): Promise<Check[]> {
  const checks: Check[] = [];
  const { cdiSpecDirs, loadCdiRegistry } = await import('../host/cdi/load.js');
  try {
    const registry = await loadCdiRegistry(cdiSpecDirs(ctx.env));
    const names = [...registry.devices.keys()].sort();
    checks.push({ area: 'cdi', status: 'ok', summary: names.length ? `${names.length} CDI devices: ${names.join(', ')}.` : `No CDI devices in ${registry.dirs.join(', ')}.`, details: { devices: names } });
  } catch (error) {
    checks.push({ area: 'cdi', status: 'fail', summary: isEnvlockError(error) ? error.message : String(error), ...(isEnvlockError(error) && error.hint ? { fix: error.hint } : {}) });
  }
  const { planInjection } = await import('../host/plan.js');
  const { describePlan } = await import('../host/describe-plan.js');
  for (const env of project.decl.environments) {
    const h = env.host;
    if (h.devices.length === 0 && h.gpu === 'none' && h.mpi === 'none' && h.libraries.length === 0) continue;
    try {
      const plan = await planInjection(h, { env: ctx.env });
      checks.push({ area: `host for ${env.name}`, status: 'ok', summary: `Would inject: ${describePlan(plan).join('; ') || 'nothing'}.` });
    } catch (error) {
      checks.push({ area: `host for ${env.name}`, status: 'fail', summary: isEnvlockError(error) ? error.message : String(error), ...(isEnvlockError(error) && error.hint ? { fix: error.hint } : {}) });
    }
  }
  return checks;
}
