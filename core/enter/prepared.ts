// What entering one environment needs once the declaration and lock have been read and the
// image chosen: everything but the per-invocation parts (command, flags, the caller's cwd and
// variables). `run` builds it the long way, or reads it back from the prepared-run cache.

import { existsSync } from 'node:fs';
import os from 'node:os';
import type { Context } from '../context.js';
import { composeEnvironment } from '../environment/compose.js';
import { EnvlockError } from '../errors.js';
import type { BindMount, DeviceNode, LaunchSpec } from '../runtime/spec.js';

export interface PreparedEnvironment {
  name: string;
  rootfs: string;
  imageEnv: string[];
  entrypoint: string[];
  cmd: string[];
  workingDir?: string;
  /** The declaration's edits, with injected search paths already in front. */
  edits: { env: Record<string, string>; prependPath: Record<string, string[]>; appendPath: Record<string, string[]>; unset: string[] };
  binds: BindMount[];
  devices: DeviceNode[];
  markers: Record<string, string>;
}

/** The per-invocation part: what the command line and the caller add. */
export interface Invocation {
  command: string[];
  binds: BindMount[];
  overrides: Record<string, string>;
  cwd?: string;
  fakeRoot: boolean;
  hostTmp: boolean;
  extraEnv?: Record<string, string>;
}

export function checkBindSources(binds: readonly BindMount[]): void {
  for (const bind of binds) {
    if (!bind.optional && !existsSync(bind.source)) {
      throw new EnvlockError('BIND_INVALID', `The bind source ${bind.source} does not exist on this host.`, { hint: `Create it, or remove the bind to ${bind.destination}.` });
    }
  }
}

export function launchSpecFor(prepared: PreparedEnvironment, run: Invocation, ctx: Context): { spec: LaunchSpec; argv: string[] } {
  const argv = run.command.length > 0 ? run.command : [...prepared.entrypoint, ...prepared.cmd];
  if (argv.length === 0) {
    throw new EnvlockError('USAGE', `No command was given and the image of \`${prepared.name}\` defines none.`, { hint: `Run \`envlock run ${prepared.name} -- COMMAND [ARGS]\`.` });
  }
  const binds = [...prepared.binds, ...run.binds];
  checkBindSources(binds);
  const markers = { ...prepared.markers, ...(run.extraEnv ?? {}) };
  const env = composeEnvironment({ imageEnv: prepared.imageEnv, host: ctx.env, decl: prepared.edits, markers, overrides: run.overrides });
  if (ctx.home) env.set('HOME', ctx.home);
  const cwd = run.cwd ?? (run.command.length === 0 && prepared.workingDir ? prepared.workingDir : ctx.cwd);
  const spec: LaunchSpec = {
    rootfs: prepared.rootfs,
    binds,
    devices: prepared.devices,
    env: [...env.entries()],
    cwd,
    bindCwd: run.cwd === undefined && cwd === ctx.cwd,
    ...(ctx.home && existsSync(ctx.home) ? { home: ctx.home } : {}),
    user: os.userInfo().username,
    fakeRoot: run.fakeRoot,
    privateTmp: !run.hostTmp,
  };
  return { spec, argv };
}
