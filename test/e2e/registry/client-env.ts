// Shared set-up for the registry e2e tests: a temporary HOME (so no real credentials or
// registries.conf are read) and a client with short retry delays.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeContext, type Context } from '../../../core/context.js';
import { EnvlockError } from '../../../core/errors.js';
import { createRegistryClient, type ClientOptions, type RegistryClient } from '../../../core/registry/client.js';
import { loadRegistryConfig } from '../../../core/registry/config.js';

export interface ClientEnv {
  home: string;
  ctx: Context;
  client: RegistryClient;
  close(): Promise<void>;
}

export function tempHome(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'envlock-e2e-registry-'));
}

/** A client whose config comes only from files in `home` (or the env given). */
export async function clientEnv(env: Record<string, string> = {}, options: ClientOptions = {}, home = tempHome()): Promise<ClientEnv> {
  const ctx = makeContext({
    env: { HOME: home, CONTAINERS_REGISTRIES_CONF: path.join(home, 'no-registries.conf'), PATH: '/usr/bin:/bin', ...env },
  });
  const config = await loadRegistryConfig(ctx);
  const client = await createRegistryClient(ctx, { config, retry: { attempts: 5, baseDelayMs: 20, maxDelayMs: 5000 }, ...options });
  return {
    home,
    ctx,
    client,
    async close() {
      await client.close();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

export async function failure(promise: Promise<unknown>): Promise<EnvlockError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof EnvlockError)) throw new Error(`expected an EnvlockError, got ${String(error)}`);
  return error;
}

export function basicAuthFile(home: string, host: string, user: string, password: string): string {
  const file = path.join(home, 'auth.json');
  fs.writeFileSync(file, JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } } }));
  return file;
}
