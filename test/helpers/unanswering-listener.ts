// A TCP port on 127.0.0.1 where a connect neither succeeds nor is refused: a listener in a child
// Node whose only thread is blocked, so it never accepts, with a backlog of 1 that two client
// connections fill. Linux then drops every further SYN, and a new connect stays pending until the
// client gives up (Node turns a backlog of 0 into its default of 511, hence 1).

import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

export interface UnansweringListener {
  /** host:port, as an image reference names a registry. */
  host: string;
  port: number;
  /** Whether a fresh connect is still pending after `ms` (neither connected nor refused). */
  connectPendsFor(ms: number): Promise<boolean>;
  stop(): Promise<void>;
}

const LISTENER = `
const server = require('node:net').createServer();
server.listen({ host: '127.0.0.1', port: Number(process.argv[1]), backlog: 1 }, () => {
  process.stdout.write(server.address().port + '\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
});`;

function connectOnce(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** `port` 0 picks a free one; a given port lets a lock written against another server point here. */
export async function startUnansweringListener(options: { port?: number } = {}): Promise<UnansweringListener> {
  const child: ChildProcess = spawn(process.execPath, ['-e', LISTENER, String(options.port ?? 0)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the listener exited (${code})`)));
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  // The kernel completes the handshakes itself while the queue has room (backlog + 1 entries).
  const fillers = [await connectOnce(port), await connectOnce(port)];
  const pending = new Set<net.Socket>();
  return {
    host: `127.0.0.1:${port}`,
    port,
    connectPendsFor(ms) {
      return new Promise((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port });
        pending.add(socket);
        const timer = setTimeout(() => resolve(true), ms);
        const settled = () => {
          clearTimeout(timer);
          resolve(false);
        };
        socket.once('connect', settled);
        socket.once('error', settled);
      });
    },
    async stop() {
      for (const socket of [...fillers, ...pending]) socket.destroy();
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
