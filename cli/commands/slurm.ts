// `envlock slurm plugstack|prepare`: the Slurm side. plugstack prints the plugstack.conf line
// that loads the SPANK plugin; prepare is what the plugin runs once per node and step.

import { flag } from '../args.js';
import type { CommandSpec } from '../command-spec.js';
import { EnvlockError } from '../../core/errors.js';
import { quoted } from '../../core/shown.js';

export const SUBCOMMANDS = ['plugstack', 'prepare'] as const;

export const command: CommandSpec = {
  name: 'slurm',
  summary: 'Print the plugstack.conf line for the SPANK plugin (srun --envlock=NAME).',
  usage: 'envlock slurm plugstack [--optional] | prepare NAME [--project DIR]',
  description: `
plugstack prints the one line an administrator adds to Slurm's plugstack.conf so that
\`srun --envlock=NAME\` and \`#SBATCH --envlock=NAME\` run each task inside the locked environment:
\`required\` (or \`optional\` with --optional), the plugin's absolute path, and the envlock and Node it
runs. prepare is what the plugin runs once per node and step, as the user, from the step's working
directory: it prints the launch spec that \`envlock run NAME\` would use, or fails with envlock's
error before any task starts. It never downloads anything. See docs/slurm.md.`,
  flags: [
    { name: 'optional', type: 'boolean', description: 'plugstack: print `optional` (Slurm runs jobs even when the plugin cannot load) instead of `required`.' },
    { name: 'project', type: 'string', valueName: 'DIR', description: 'prepare: the project directory (--envlock-project), relative to the working directory.' },
  ],
  positionals: [
    { name: 'sub', description: SUBCOMMANDS.join(', '), required: true },
    { name: 'NAME', description: 'prepare: the environment.' },
  ],
  examples: ['envlock slurm plugstack >> /etc/slurm/plugstack.conf', 'srun -N4 --envlock=analysis ./solver'],
  async run(args, ctx) {
    const sub = args.positionals[0];
    if (sub === 'plugstack') {
      const { plugstackLine } = await import('../../core/slurm/plugstack.js');
      const line = plugstackLine({ optional: flag.bool(args, 'optional'), node: process.execPath });
      return { result: line, text: `${line.line}\n` };
    }
    if (sub === 'prepare') {
      const name = args.positionals[1];
      if (name === undefined) throw new EnvlockError('USAGE', '`envlock slurm prepare` needs the environment name.', { hint: 'Run `envlock slurm prepare NAME`.' });
      const [{ prepareForSlurm, renderSlurmPrepared }, { slurmNodeName }] = await Promise.all([import('../../core/slurm/prepare.js'), import('../../core/slurm/hostlist.js')]);
      const project = flag.str(args, 'project');
      const node = slurmNodeName(ctx.env);
      const prepared = await prepareForSlurm({ name, ...(project !== undefined ? { project } : {}), ...(node ? { node } : {}) }, ctx);
      return { result: prepared, text: renderSlurmPrepared(prepared) };
    }
    throw new EnvlockError('USAGE', sub === undefined ? '`envlock slurm` needs a sub-command.' : `\`envlock slurm\` has no sub-command ${quoted(sub)}.`, {
      hint: `Use one of: ${SUBCOMMANDS.join(', ')}.`,
    });
  },
};
