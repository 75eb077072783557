// Runs a Docker credential helper (`docker-credential-<name> get`, the server URL on stdin,
// `{"Username","Secret"}` on stdout; docker/cli login docs "Credential helper protocol").

import { spawn } from 'node:child_process';
import type { Env } from '../context.js';

export interface HelperCredentials {
  username: string;
  secret: string;
}

const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MAX_OUTPUT = 64 * 1024;

/**
 * Asks a helper for credentials. A missing helper, a non-zero exit ("credentials not found"),
 * a timeout or unreadable output all mean "no credentials": the request then goes anonymous
 * and a 401 explains what is missing. stdout is never logged: it holds secrets.
 */
export function runCredentialHelper(name: string, serverUrl: string, env: Env, timeoutMs = 10_000): Promise<HelperCredentials | undefined> {
  if (!HELPER_NAME.test(name)) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (value: HelperCredentials | undefined): void => {
      if (!settled) {
        settled = true;
        resolve(value);
      }
    };
    let child;
    try {
      child = spawn(`docker-credential-${name}`, ['get'], { env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'ignore'] });
    } catch {
      finish(undefined);
      return;
    }
    const running = child;
    // The helper's own children may keep stdout open after it is killed: stop waiting at once.
    const timer = setTimeout(() => {
      running.kill('SIGKILL');
      running.stdout.destroy();
      finish(undefined);
    }, timeoutMs);
    running.on('exit', () => clearTimeout(timer));
    const chunks: Buffer[] = [];
    let length = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > MAX_OUTPUT) child.kill('SIGKILL');
      else chunks.push(chunk);
    });
    child.on('error', () => finish(undefined));
    child.stdin.on('error', () => {});
    child.on('close', (code) => {
      if (code !== 0) return finish(undefined);
      try {
        const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Username?: unknown; Secret?: unknown };
        if (typeof parsed.Secret !== 'string' || parsed.Secret === '') return finish(undefined);
        finish({ username: typeof parsed.Username === 'string' ? parsed.Username : '', secret: parsed.Secret });
      } catch {
        finish(undefined);
      }
    });
    child.stdin.end(serverUrl);
  });
}
