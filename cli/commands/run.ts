// `envlock run [NAME] [--] CMD [ARGS]`: enter the pinned environment and become the command.
// Node is replaced by the launcher (execve), so status, signals and the terminal are the command's.
// A repeated run of an unchanged project takes the prepared-run cache and parses nothing.

import type { CommandSpec } from '../command-spec.js';
import { flag } from '../args.js';
import { cacheSlot, writeCache } from '../../core/enter/prepared-cache.js';
import { preparedRunHit } from '../../core/enter/prepared-hit.js';
import { enter } from '../../core/enter/enter.js';
import { RUN_FLAGS, invocation } from '../run-flags.js';

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
and signals pass through unchanged. What envlock refuses before anything runs exits as every
command does (1, 2, 3 for a stale or missing lock, 4 for a host that cannot run it); entering the
environment failing (a bind, the launcher) exits 125, a command that cannot be executed 126, one
that is not found 127. \`envlock run --dry-run\` makes the same checks and runs nothing.`,
  flags: RUN_FLAGS,
  positionals: [{ name: 'NAME', description: 'The environment (default: the only one, or `default`).' }],
  passThroughAfter: 1,
  examples: ['envlock run analysis -- python3 train.py', 'envlock run -- sh -c \'echo $ENVLOCK_ENV\'', 'srun envlock run analysis -- ./solver'],
  async run(args, ctx) {
    const first = args.positionals[0];
    const mustBeName = args.sawDoubleDash && first !== undefined;
    const dryRun = flag.bool(args, 'dry-run');
    const slot = cacheSlot(ctx);
    const hit = slot && !dryRun ? preparedRunHit(ctx, args, (command) => invocation(args, command, ctx), slot) : undefined;
    if (hit) return enter(hit.spec, hit.argv, ctx, { debug: flag.bool(args, 'debug') });
    const [{ loadProject }, { pickEnvironment }, { planRun }, { describeRun }] = await Promise.all([
      import('../../core/project.js'),
      import('../../core/enter/pick-environment.js'),
      import('../../core/enter/run-plan.js'),
      import('../../core/enter/describe-run.js'),
    ]);
    const frozen = flag.bool(args, 'frozen');
    const project = await loadProject(ctx, { command: 'run', frozen });
    const picked = pickEnvironment(project.decl, first, mustBeName, 'run');
    const command = [...(picked.consumedName ? [] : args.positionals), ...args.rest];
    const plan = await planRun(project, { env: picked.env, ...invocation(args, command, ctx) }, ctx);
    if (dryRun) return { result: { ...plan, environment: picked.env.name }, text: describeRun(plan) };
    // Only a fresh lock, with nothing injected from the host (that is decided per node and per
    // run), is remembered; and only if the files did not change while they were read.
    if (slot && !frozen && plan.injected.length === 0 && plan.spec.devices?.length === 0 && cacheSlot(ctx)?.key === slot.key) {
      await writeCache(slot, project.decl.environments.map((e) => e.name), plan.prepared);
    }
    return enter(plan.spec, plan.argv, ctx, { debug: flag.bool(args, 'debug') });
  },
};
