// A minimal, runnable root filesystem as one tar layer: the host's static busybox (Debian's
// busybox-static) with applet symlinks, identity files and the usual top-level directories.

import { readFileSync } from 'node:fs';
import { tarEntries, type TarEntry } from './tar-writer.js';

/** Applets linked in bin/ (each a relative symlink to `busybox`). */
export const BUSYBOX_APPLETS = [
  'sh', 'ls', 'cat', 'id', 'true', 'false', 'echo', 'env', 'sleep', 'whoami', 'pwd', 'printf',
  'test', 'uname', 'grep', 'head', 'wc', 'mkdir', 'rm', 'touch', 'stat', 'readlink', 'kill', 'ps',
  'hostname', 'mount', 'cut', 'sed', 'tr', 'sort', 'date', 'dd', 'chmod', 'ln', 'cp', 'mv', 'find', 'tee', 'nproc',
] as const;

/** Recognisable content for `cat /etc/os-release` in tests. */
export const OS_RELEASE = 'ID=envlock-test\nNAME="envlock test busybox"\nVERSION_ID=1\n';

let busyboxBytes: Buffer | undefined;

/** The host's /bin/busybox; it must be statically linked (busybox-static) to run in any rootfs. */
export function hostBusybox(): Buffer {
  busyboxBytes ??= readFileSync('/bin/busybox');
  return busyboxBytes;
}

export function busyboxEntries(): TarEntry[] {
  const dirs: TarEntry[] = [
    { path: 'bin/', type: 'dir' },
    { path: 'dev/', type: 'dir' },
    { path: 'etc/', type: 'dir' },
    { path: 'home/', type: 'dir' },
    { path: 'proc/', type: 'dir', mode: 0o555 },
    { path: 'root/', type: 'dir', mode: 0o700 },
    { path: 'sys/', type: 'dir', mode: 0o555 },
    { path: 'tmp/', type: 'dir', mode: 0o1777 },
    { path: 'usr/', type: 'dir' },
    { path: 'usr/bin/', type: 'dir' },
    { path: 'var/', type: 'dir' },
  ];
  const files: TarEntry[] = [
    { path: 'bin/busybox', type: 'file', mode: 0o755, content: hostBusybox() },
    ...BUSYBOX_APPLETS.map((name): TarEntry => ({ path: `bin/${name}`, type: 'symlink', linkTarget: 'busybox' })),
    // For `#!/usr/bin/env sh` scripts.
    { path: 'usr/bin/env', type: 'symlink', linkTarget: '../../bin/busybox' },
    { path: 'etc/os-release', type: 'file', content: OS_RELEASE },
    { path: 'etc/passwd', type: 'file', content: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' },
    { path: 'etc/group', type: 'file', content: 'root:x:0:\nnogroup:x:65534:\n' },
    { path: 'etc/hostname', type: 'file', content: 'envlock-test\n' },
  ];
  return [...dirs, ...files];
}

/** An uncompressed tar of the busybox rootfs, followed by any extra entries. */
export function busyboxLayer(extra: readonly TarEntry[] = []): Buffer {
  return tarEntries([...busyboxEntries(), ...extra]);
}
