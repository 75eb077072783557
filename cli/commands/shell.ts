// `envlock shell [NAME]`: an interactive shell inside the environment, with a prompt that says
// which one, and ENVLOCK_ENV, ENVLOCK_LOCK_DIGEST, ENVLOCK_MICROARCH and ENVLOCK_CFLAGS set.

import type { CommandSpec } from '../command-spec.js';
import { flag } from '../args.js';
import { EnvlockError } from '../../core/errors.js';
import { describeRun } from '../../core/enter/describe-run.js';
import { enter } from '../../core/enter/enter.js';
import { pickEnvironment } from '../../core/enter/pick-environment.js';
import { planRun } from '../../core/enter/run-plan.js';
import { resolveInRootfs } from '../../core/host/rootfs-resolve.js';
import { loadProject } from '../../core/project.js';
import { RUN_FLAGS, runRequest } from '../run-flags.js';

/**
 * The same choice made inside, for a squashfs image Node cannot look into: /bin/sh tries the
 * user's $SHELL (passed as $0), then /bin/bash, then itself.
 */
const CHOOSE_INSIDE = 'for s in "$0" /bin/bash; do case $s in /*) if [ -x "$s" ]; then case $s in */bash) exec "$s" --norc ;; *) exec "$s" ;; esac; fi ;; esac; done; exec /bin/sh';

/** The user's $SHELL when the image has it, else bash, else sh; bash skips rc files so the prompt marker survives. */
async function chooseShell(rootfs: string, userShell: string | undefined, form: 'tree' | 'squashfs'): Promise<string[]> {
  if (form === 'squashfs') return ['/bin/sh', '-c', CHOOSE_INSIDE, userShell ?? ''];
  for (const candidate of [userShell, '/bin/bash', '/bin/sh']) {
    if (candidate === undefined || !candidate.startsWith('/')) continue;
    if ((await resolveInRootfs(rootfs, candidate)) !== undefined) return candidate.endsWith('/bash') ? [candidate, '--norc'] : [candidate];
  }
  throw new EnvlockError('COMMAND_NOT_FOUND', 'The image has neither your $SHELL, /bin/bash nor /bin/sh.', { hint: 'Use `envlock run NAME -- COMMAND` with a program the image has.' });
}

export const command: CommandSpec<unknown> = {
  name: 'shell',
  summary: 'Start an interactive shell inside a locked environment.',
  usage: 'envlock shell [NAME] [FLAGS]',
  description: `
Starts your $SHELL if the image has it, else /bin/bash (without rc files, so the prompt shows the
environment), else /bin/sh, in the same pinned environment \`envlock run\` enters. Job control and
Ctrl-C behave as in a normal terminal. Inside, ENVLOCK_ENV names the environment,
ENVLOCK_LOCK_DIGEST is the sha256 of envlock.lock, ENVLOCK_MICROARCH the CPU variant chosen, and
ENVLOCK_CFLAGS the matching -march/-mtune flags for compiling inside.`,
  flags: RUN_FLAGS,
  positionals: [{ name: 'NAME', description: 'The environment (default: the only one, or `default`).' }],
  async run(args, ctx) {
    if (args.positionals.length > 1 || args.rest.length > 0) {
      throw new EnvlockError('USAGE', '`envlock shell` takes at most one environment name and no command.', { hint: 'Use `envlock run NAME -- COMMAND` to run a command.' });
    }
    const project = await loadProject(ctx, { command: 'shell', frozen: flag.bool(args, 'frozen') });
    const picked = pickEnvironment(project.decl, args.positionals[0], true, 'shell');
    const request = runRequest(args, picked.env, ['/bin/sh'], ctx);
    request.extraEnv = { PS1: `(${picked.env.name}) \\w \\$ ` };
    const plan = await planRun(project, request, ctx);
    plan.argv = await chooseShell(plan.rootfs, ctx.env.SHELL, plan.prepared.image.form);
    if (flag.bool(args, 'dry-run')) return { result: { ...plan, environment: picked.env.name }, text: describeRun(plan) };
    return enter(plan.spec, plan.argv, ctx, { debug: flag.bool(args, 'debug') });
  },
};
