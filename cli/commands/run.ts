// `envlock run [NAME] [--] CMD [ARGS]`: enter the pinned environment and become the command.
// Node is replaced by the launcher (execve), so status, signals and the terminal are the command's.

import type { CommandSpec } from '../command-spec.js';
import { flag } from '../args.js';
import { EnvlockError } from '../../core/errors.js';
import { pickEnvironment } from '../../core/enter/pick-environment.js';
import { planRun, type RunPlan } from '../../core/enter/run-plan.js';
import { loadProject } from '../../core/project.js';
import { platformString } from '../../lockfiles/index.js';
import { RUN_FLAGS, runRequest } from './run-flags.js';

export function describeRun(plan: RunPlan): string {
  const lines = [
    `image:   ${platformString(plan.image.platform)} ${plan.image.manifest.digest}`,
    `rootfs:  ${plan.rootfs} (read-only)`,
    `command: ${JSON.stringify(plan.argv)}`,
    `cwd:     ${plan.spec.cwd ?? '(current)'}`,
    ...(plan.spec.binds ?? []).map((b) => `bind:    ${b.source} -> ${b.destination}${b.readOnly ? ' (ro)' : ''}`),
    ...(plan.spec.devices ?? []).map((d) => `device:  ${d.source} -> ${d.destination ?? d.source}`),
    ...plan.injected.map((line) => `host:    ${line}`),
  ];
  return `${lines.join('\n')}\n`;
}

export const command: CommandSpec<unknown> = {
  name: 'run',
  summary: 'Run a command inside a locked environment, without root.',
  usage: 'envlock run [NAME] [FLAGS] [--] COMMAND [ARGS]...',
  description: `
Enters the environment's pinned root filesystem (read-only) in a new user and mount namespace and
runs COMMAND there; without COMMAND, the image's own Entrypoint and Cmd. NAME may be left out when
the declaration has one environment (or one named \`default\`). The best locked CPU variant for
this host is chosen, and a host that lacks a feature it needs is refused (exit 4) before anything
runs. The image is pulled first if no store has it (unless --offline). The command's exit status
and signals pass through unchanged; envlock's own failures before the command starts exit 125,
a command that cannot be executed 126, one that is not found 127.`,
  flags: RUN_FLAGS,
  positionals: [{ name: 'NAME', description: 'The environment (default: the only one, or `default`).' }],
  passThroughAfter: 1,
  examples: ['envlock run analysis -- python3 train.py', 'envlock run -- sh -c \'echo $ENVLOCK_ENV\'', 'srun envlock run analysis -- ./solver'],
  async run(args, ctx) {
    const project = await loadProject(ctx, { command: 'run', frozen: flag.bool(args, 'frozen') });
    const first = args.positionals[0];
    const picked = pickEnvironment(project.decl, first, args.sawDoubleDash && first !== undefined, 'run');
    const command = [...(picked.consumedName ? [] : args.positionals), ...args.rest];
    const plan = await planRun(project, runRequest(args, picked.env, command, ctx), ctx);
    if (flag.bool(args, 'dry-run')) return { result: { ...plan, environment: picked.env.name }, text: describeRun(plan) };
    await ctx.reporter.close();
    const { launch } = await import('../../core/runtime/launch.js');
    launch(plan.spec, plan.argv, ctx, { debug: flag.bool(args, 'debug') });
    throw new EnvlockError('LAUNCH_FAILED', 'The launcher returned instead of replacing envlock.', { hint: 'Report this as a bug.' });
  },
};
