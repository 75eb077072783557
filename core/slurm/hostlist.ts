// Which node a step's preparation runs on, for messages. slurmstepd sets SLURMD_NODENAME only
// for tasks; the plugin passes the node's index in the step (ENVLOCK_SLURM_NODEID), and the
// step's node list (`n[1-3,7],gpu01`, Slurm's hostlist syntax) names it.

import type { Env } from '../context.js';

/** Expands a Slurm hostlist: comma-separated names, each with at most one bracketed range set. */
export function expandHostlist(list: string): string[] {
  const out: string[] = [];
  // Split on commas outside brackets.
  const parts = list.match(/[^,[]+(\[[^\]]*\][^,[]*)*/g) ?? [];
  for (const part of parts) {
    const match = /^([^[]*)\[([^\]]*)\](.*)$/.exec(part);
    if (!match) {
      out.push(part);
      continue;
    }
    const [, prefix, ranges, suffix] = match as unknown as [string, string, string, string];
    for (const range of ranges.split(',')) {
      const [first, last = first] = range.split('-') as [string, string?];
      const width = first.length;
      for (let n = Number(first); n <= Number(last); n++) out.push(`${prefix}${String(n).padStart(width, '0')}${suffix}`);
    }
  }
  return out;
}

/** SLURMD_NODENAME, else the step's node list at ENVLOCK_SLURM_NODEID; undefined outside Slurm. */
export function slurmNodeName(env: Env): string | undefined {
  if (env.SLURMD_NODENAME) return env.SLURMD_NODENAME;
  const list = env.SLURM_STEP_NODELIST ?? env.SLURM_JOB_NODELIST ?? env.SLURM_NODELIST;
  const index = Number(env.ENVLOCK_SLURM_NODEID);
  if (!list || !Number.isInteger(index)) return undefined;
  return expandHostlist(list)[index];
}
