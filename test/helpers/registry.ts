// Starts a real CNCF distribution registry (Debian's docker-registry) on 127.0.0.1 for tests, with
// no auth, htpasswd (bcrypt) or bearer-token auth, and stops it by PID.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, closeSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTokenServer, type TokenServer, type TokenServerOptions } from './token-server.js';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export interface RegistryOptions {
  auth?: 'none' | 'htpasswd' | 'token';
  /** user → password for htpasswd mode, and for the token server's Basic check in token mode. */
  users?: Record<string, string>;
  /** Token mode: the realm announced in WWW-Authenticate; default the token server's own URL. */
  tokenRealm?: string;
  /** Token mode: repositories the token server lets anyone pull. */
  publicRepos?: string[];
  /** Token mode: further token server options (expiresIn, oauthPost). */
  token?: Omit<TokenServerOptions, 'users' | 'publicRepos'>;
  /** Extra top-level YAML sections, serialised as JSON (valid YAML), e.g. { proxy: {...} }. */
  extraConfig?: Record<string, unknown>;
}

export interface RunningRegistry {
  /** "127.0.0.1:PORT" */
  host: string;
  /** "http://127.0.0.1:PORT" */
  url: string;
  /** Temporary directory with the config, storage and logs (removed by stop()). */
  dir: string;
  logFile: string;
  /** Token mode only: the token server the registry trusts. */
  tokenServer?: TokenServer;
  /** "METHOD path status" for every request, from the registry's access log. */
  requestLog(): Promise<string[]>;
  stop(): Promise<void>;
}

export const DEFAULT_USERS: Record<string, string> = { tester: 'secret-pass' };

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) killGroup(child, 'SIGKILL');
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  // The wrapper leads its own process group (detached), so -pid reaches the registry too.
  if (child.pid) try { process.kill(-child.pid, signal); } catch { /* already gone */ }
}

/**
 * Runs the registry under a small sh watchdog that kills it when our end of its stdin closes:
 * on stop(), and also when this process dies without running exit hooks (SIGKILL, a timeout).
 */
export const WATCHDOG = 'exec 3<&0; "$0" serve "$1" </dev/null & child=$!; (read _ <&3; kill -TERM $child 2>/dev/null) & wait $child';

/** A free TCP port on 127.0.0.1, found by binding port 0 and closing again. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function htpasswdFile(path: string, users: Record<string, string>): void {
  const lines = Object.entries(users).map(([user, password]) => {
    // distribution's htpasswd backend accepts bcrypt only (-B).
    const made = spawnSync('htpasswd', ['-Bbn', user, password], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`htpasswd failed: ${made.stderr || made.error?.message}`);
    return made.stdout.trim();
  });
  writeFileSync(path, lines.join('\n') + '\n');
}

function q(value: string): string {
  return JSON.stringify(value);
}

export async function startRegistry(options: RegistryOptions = {}): Promise<RunningRegistry> {
  const auth = options.auth ?? 'none';
  const dir = mkdtempSync(join(tmpdir(), 'envlock-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const logFile = join(dir, 'registry.log');
  let tokenServer: TokenServer | undefined;
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  formatter: text',
    '  accesslog:',
    '    disabled: false',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${q(join(dir, 'data'))}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: ${q(host)}`,
    `  secret: ${q(randomBytes(16).toString('hex'))}`,
  ];
  if (auth === 'htpasswd') {
    const file = join(dir, 'htpasswd');
    htpasswdFile(file, options.users ?? DEFAULT_USERS);
    lines.push('auth:', '  htpasswd:', '    realm: envlock-test', `    path: ${q(file)}`);
  } else if (auth === 'token') {
    tokenServer = await startTokenServer({ ...(options.token ?? {}), users: options.users ?? DEFAULT_USERS, publicRepos: options.publicRepos ?? [] });
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${q(options.tokenRealm ?? tokenServer.realm)}`,
      `    service: ${q(tokenServer.service)}`,
      `    issuer: ${q(tokenServer.issuer)}`,
      `    rootcertbundle: ${q(tokenServer.certFile)}`,
    );
  }
  for (const [key, value] of Object.entries(options.extraConfig ?? {})) lines.push(`${key}: ${JSON.stringify(value)}`);
  const configFile = join(dir, 'config.yml');
  writeFileSync(configFile, lines.join('\n') + '\n');

  // The access log (Apache combined format) goes to stdout, the rest to stderr: both to one file.
  const fd = openSync(logFile, 'a');
  const child = spawn('sh', ['-c', WATCHDOG, REGISTRY_BINARY, configFile], { stdio: ['pipe', fd, fd], detached: true });
  closeSync(fd);
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  child.stdin?.on('error', () => { /* the watchdog may be gone already */ });
  running.add(child);
  installExitHook();
  let exited = false;
  child.once('exit', () => {
    exited = true;
    running.delete(child);
  });

  const stop = async (): Promise<void> => {
    if (!exited && child.pid) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin?.end();
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    child.stdin?.destroy();
    await tokenServer?.stop();
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      await stop();
      throw new Error(`docker-registry exited during start-up:\n${log.slice(-2000)}`);
    }
    try {
      const response = await fetch(`http://${host}/v2/`);
      await response.arrayBuffer();
      if (response.status === 200 || (auth !== 'none' && response.status === 401)) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not answer on ${host} within 20 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    host,
    url: `http://${host}`,
    dir,
    logFile,
    ...(tokenServer ? { tokenServer } : {}),
    async requestLog() {
      const text = await readFile(logFile, 'utf8').catch(() => '');
      const out: string[] = [];
      for (const line of text.split('\n')) {
        const match = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3}) /.exec(line);
        if (match) out.push(`${match[1]} ${match[2]} ${match[3]}`);
      }
      return out;
    },
    stop,
  };
}
