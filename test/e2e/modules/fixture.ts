// Builds what the module tests need without a registry: a busybox rootfs placed in a store where
// a fake lock's manifest digest points, a project (declaration + lock) per module, the launcher.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDeclaration } from '../../../core/declaration/load.js';
import { declarationHash, serializeLockfile, type Lockfile } from '../../../lockfiles/index.js';
import { rootfsPathIn } from '../../../core/store/layout.js';
import { REPO_ROOT } from '../../helpers/cli.js';
import { BUSYBOX_APPLETS } from '../../helpers/busybox-layer.js';
import { launcherSources } from '../../../scripts/launcher-sources.mjs';

export const BUILT_LAUNCHER = path.join(REPO_ROOT, 'native', 'build', 'Release', 'envlock-launch');

/** A temp dir everyone may read and traverse (tests also run as `nobody`). */
export function openTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `envlock-${prefix}-`));
  fs.chmodSync(dir, 0o755);
  return dir;
}

/** The built launcher, or one compiled here from native/src when the addon build has not run. */
export function launcher(base: string): string {
  if (fs.existsSync(BUILT_LAUNCHER)) return BUILT_LAUNCHER;
  const out = path.join(base, 'envlock-launch');
  execFileSync('gcc', ['-std=gnu11', '-O2', '-o', out, ...launcherSources(REPO_ROOT)]);
  return out;
}

const digestOf = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

/** A runnable busybox rootfs at `dir` with `tool` printing its version, args and stdin handling. */
export function makeRootfs(dir: string, tools: readonly string[], version: string): void {
  for (const d of ['bin', 'etc', 'dev', 'proc', 'sys', 'tmp', 'root', 'home', 'usr/bin']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(dir, 'bin', 'busybox'));
  fs.chmodSync(path.join(dir, 'bin', 'busybox'), 0o755);
  for (const applet of BUSYBOX_APPLETS) fs.symlinkSync('busybox', path.join(dir, 'bin', applet));
  for (const f of ['passwd', 'group', 'hosts', 'resolv.conf']) fs.writeFileSync(path.join(dir, 'etc', f), '');
  fs.writeFileSync(path.join(dir, 'etc', 'os-release'), `ID=envlock-test\nVERSION_ID=${version}\n`);
  const tool = (toolName: string): string => [
    '#!/bin/sh',
    `if [ "\${1-}" = --version ]; then echo "${toolName} ${version}"; exit 0; fi`,
    'if [ "${1-}" = --args ]; then shift; for a in "$@"; do echo "arg:[$a]"; done; exit 0; fi',
    'if [ "${1-}" = --exit ]; then exit "$2"; fi',
    'if [ "${1-}" = --stdin ]; then cat; exit 0; fi',
    'if [ "${1-}" = --sleep ]; then trap "echo got-term; exit 42" TERM; echo ready; sleep 30 & wait; exit 0; fi',
    'echo "env:MARK=${MARK-}"',
  ].join('\n');
  // A tool named like a busybox applet (a module that wraps `cat`) goes to /usr/bin, first on
  // the image's PATH, so the applet's symlink (and busybox behind it) stays as it is.
  for (const t of tools) {
    const where = (BUSYBOX_APPLETS as readonly string[]).includes(t) ? path.join(dir, 'usr', 'bin', t) : path.join(dir, 'bin', t);
    fs.writeFileSync(where, `${tool(t)}\n`, { mode: 0o755 });
  }
  fs.chmodSync(dir, 0o755);
}

export interface FakeProject {
  dir: string;
  manifestDigest: string;
}

/**
 * A project directory with envlock.yaml (one environment exporting `commands`) and an envlock.lock
 * whose declaration hash matches, locked to a made-up manifest digest; its rootfs is placed in
 * `storeRoot` under that digest, as `envlock pull` would leave it.
 */
export function makeProject(base: string, storeRoot: string, options: { env: string; version: string; commands: string[]; provides?: string[]; description?: string; mark?: string }): FakeProject {
  const dir = fs.mkdtempSync(path.join(base, `proj-${options.env}-`));
  const yaml = [
    'version: 1',
    'environments:',
    `  ${options.env}:`,
    `    image: registry.test/${options.env}:${options.version}`,
    '    platforms: [linux/amd64]',
    options.description ? `    description: ${JSON.stringify(options.description)}` : '',
    `    commands: [${options.commands.join(', ')}]`,
    options.provides ? `    provides: [${options.provides.join(', ')}]` : '',
    `    env: { MARK: ${JSON.stringify(options.mark ?? `${options.env}-${options.version}`)} }`,
  ].filter((l) => l !== '').join('\n');
  fs.writeFileSync(path.join(dir, 'envlock.yaml'), `${yaml}\n`);
  const decl = parseDeclaration(`${yaml}\n`, path.join(dir, 'envlock.yaml'), 'yaml', { home: base });
  const manifestDigest = digestOf(`manifest ${options.env} ${options.version} ${dir}`);
  const desc = (kind: string) => ({ mediaType: `application/vnd.oci.image.${kind}.v1+json`, digest: digestOf(`${kind} ${manifestDigest}`), size: 100 });
  const lock: Lockfile = {
    version: 1,
    envlockVersion: '0.1.0',
    declarationHash: declarationHash(decl),
    environments: [{
      name: options.env,
      reference: `registry.test/${options.env}:${options.version}`,
      resolved: `registry.test/${options.env}:${options.version}`,
      platforms: ['linux/amd64'],
      host: { devices: [], gpu: 'none', mpi: 'none', libraries: [] },
      images: [{
        platform: { os: 'linux', architecture: 'amd64' },
        manifest: { ...desc('manifest'), digest: manifestDigest },
        config: desc('config'),
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(`layer ${manifestDigest}`), size: 1 }],
        arch: { features: [] },
      }],
    }],
  };
  fs.writeFileSync(path.join(dir, 'envlock.lock'), serializeLockfile(lock));
  const rootfs = rootfsPathIn(storeRoot, manifestDigest);
  fs.mkdirSync(rootfs, { recursive: true });
  for (let d = rootfs; d.startsWith(storeRoot); d = path.dirname(d)) fs.chmodSync(d, 0o755);
  makeRootfs(rootfs, options.commands.filter((c) => c !== 'sh'), options.version);
  // The meta record pull writes beside a rootfs: lookups use an entry only when it names the lock's layers.
  const image = lock.environments[0]!.images[0]!;
  fs.writeFileSync(`${rootfs}.json`, `${JSON.stringify({ manifestDigest, config: image.config.digest, layers: image.layers, unpackedAt: new Date(0).toISOString() })}\n`, { mode: 0o644 });
  return { dir, manifestDigest };
}
