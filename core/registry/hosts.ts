// Facts about registry host names: loopback detection (which decides plain HTTP, as containerd's
// MatchLocalhost does) and the private-address test that guards token realms against SSRF.

import net from 'node:net';

/** "host:port" / "[v6]:port" / "host" -> the bare host name or address, lower-cased. */
export function hostName(hostPort: string): string {
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']');
    return (end === -1 ? hostPort.slice(1) : hostPort.slice(1, end)).toLowerCase();
  }
  const colon = hostPort.lastIndexOf(':');
  // A bare IPv6 address has several colons and no port.
  if (colon !== -1 && hostPort.indexOf(':') === colon) return hostPort.slice(0, colon).toLowerCase();
  return hostPort.toLowerCase();
}

export function isLoopbackHost(hostPort: string): boolean {
  const host = hostName(hostPort);
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  if (net.isIPv6(host)) return host === '::1' || host === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(host);
  return false;
}

/** Loopback, link-local or RFC 1918 / RFC 4193 literals: places a remote realm must not send us. */
export function isInternalAddress(hostPort: string): boolean {
  if (isLoopbackHost(hostPort)) return true;
  const host = hostName(hostPort);
  if (net.isIPv4(host)) {
    const [a, b] = host.split('.').map(Number) as [number, number];
    return a === 10 || a === 0 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
  }
  if (net.isIPv6(host)) return /^(fe80|fc|fd)/.test(host);
  return false;
}

/** The URL origin of a registry host for a scheme ("http://127.0.0.1:5000"). */
export function originOf(hostPort: string, scheme: 'http' | 'https'): string {
  return `${scheme}://${hostPort}`;
}
