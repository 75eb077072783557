// registries.conf in action: mirrors answer for an unreachable primary, a failing mirror falls
// back to the primary, and `insecure` decides between plain HTTP and TLS for a named host.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseRegistryReference } from '../../../core/registry/reference.js';
import { startFaultProxy } from '../../helpers/fault-proxy.js';
import { freePort } from '../../helpers/registry.js';
import { clientEnv, failure, tempHome } from './client-env.js';

const host = inject('registry');
const images = inject('testImages');

function registriesConf(home: string, text: string): Record<string, string> {
  const file = path.join(home, 'registries.conf');
  fs.writeFileSync(file, text);
  return { CONTAINERS_REGISTRIES_CONF: file };
}

describe('mirrors', () => {
  it('pulls through a mirror when the primary is unreachable, by tag and by digest', async () => {
    const primary = `127.0.0.1:${await freePort()}`;
    const home = tempHome();
    const env = await clientEnv(registriesConf(home, `[[registry]]\nlocation = "${primary}"\n\n[[registry.mirror]]\nlocation = "${host}"\n`), {}, home);
    try {
      const ref = parseRegistryReference(`${primary}/busybox:latest`);
      expect((await env.client.resolveManifest(ref)).descriptor.digest).toBe(images.busybox);
      const manifest = await env.client.getManifest(ref, images.busyboxAmd64);
      expect(await env.client.getBlobJSON(ref, manifest.json.config!.digest)).toMatchObject({ architecture: 'amd64' });
    } finally {
      await env.close();
    }
  });

  it('falls back to the primary when a mirror fails, and reports the primary when both fail', async () => {
    const mirror = await startFaultProxy(host, [{ path: '/v2/', action: { kind: 'status', status: 404 } }]);
    const home = tempHome();
    const env = await clientEnv(registriesConf(home, `[[registry]]\nlocation = "${host}"\n\n[[registry.mirror]]\nlocation = "${mirror.host}"\n`), {}, home);
    try {
      expect((await env.client.resolveManifest(parseRegistryReference(`${host}/busybox:latest`))).descriptor.digest).toBe(images.busybox);
      expect(mirror.requests.map((r) => r.status)).toEqual([404]);
      const error = await failure(env.client.resolveManifest(parseRegistryReference(`${host}/busybox:missing`)));
      expect(error.code).toBe('REGISTRY_NOT_FOUND');
      expect(error.message).toContain(`at \`${host}\``);
    } finally {
      await env.close();
      await mirror.stop();
    }
  });

  it('sends unqualified names to the first unqualified-search-registries entry', async () => {
    const home = tempHome();
    const env = await clientEnv(registriesConf(home, `unqualified-search-registries = ["${host}", "127.0.0.1:1"]\n`), {}, home);
    try {
      const { parseImageReference } = await import('../../../core/source/image-source.js');
      const ref = await parseImageReference('busybox', env.ctx);
      expect(ref.canonical()).toBe(`${host}/busybox:latest`);
      expect((await parseImageReference('busybox', env.ctx, { config: env.client.config })).canonical()).toBe(`${host}/busybox:latest`);
      expect((await parseImageReference('oci:img:1', env.ctx, { baseDir: '/decl' })).canonical()).toBe('oci:/decl/img:1');
      if (ref.kind !== 'registry') throw new Error('expected a registry reference');
      expect((await env.client.resolveManifest(ref)).descriptor.digest).toBe(images.busybox);
    } finally {
      await env.close();
    }
  });
});

describe('insecure', () => {
  let server: net.Server;
  let port: number;
  const firstBytes: number[] = [];
  beforeAll(async () => {
    // Records the first byte of each connection: 0x16 is a TLS handshake record, a letter is HTTP.
    server = net.createServer((socket) => {
      socket.once('data', (data) => {
        firstBytes.push(data[0]!);
        socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

  // No DNS control in tests: a lookup override maps the names to 127.0.0.1, like curl --resolve.
  const lookup: net.LookupFunction = (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
  };

  it('speaks plain HTTP to a host marked insecure and TLS to one that is not', async () => {
    const home = tempHome();
    const env = await clientEnv(registriesConf(home, `[[registry]]\nlocation = "plain.registry.test:${port}"\ninsecure = true\n`), { lookup, retry: { attempts: 1 } }, home);
    try {
      firstBytes.length = 0;
      const plain = await failure(env.client.resolveManifest(parseRegistryReference(`plain.registry.test:${port}/x:1`)));
      expect(plain.code).toBe('REGISTRY_NOT_FOUND');
      expect(String.fromCharCode(firstBytes[0]!)).toBe('G');
      const tls = await failure(env.client.resolveManifest(parseRegistryReference(`secure.registry.test:${port}/x:1`)));
      expect(firstBytes[1]).toBe(0x16);
      expect(tls.code).toBe('REGISTRY_TLS');
      expect(tls.message).toMatch(new RegExp(`^The TLS connection to secure\\.registry\\.test:${port} for secure\\.registry\\.test:${port}/x:1 failed`));
      expect(tls.hint).toContain('insecure = true');
    } finally {
      await env.close();
    }
  });
});
