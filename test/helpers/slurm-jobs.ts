// Running Slurm clients (srun, sbatch, scancel, squeue) against a test cluster the way users do:
// as `nobody` (through runuser, with a small explicit environment) or as root.

import { spawn } from 'node:child_process';
import type { SlurmCluster } from './slurm-cluster.js';

export interface JobOptions {
  cwd: string;
  /** Added to the base environment (PATH, SLURM_CONF, NO_COLOR); undefined deletes. */
  env?: Record<string, string | undefined>;
  asUser?: 'nobody';
  timeoutMs?: number;
  /** Called with the client's pid once it runs (to signal it, or watch it). */
  onSpawn?: (pid: number) => void;
}

export interface JobResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function jobEnv(cluster: SlurmCluster, bin: string | undefined, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: `${bin ? `${bin}:` : ''}/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`,
    SLURM_CONF: cluster.conf,
    NO_COLOR: '1',
    LANG: 'C.UTF-8',
  };
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Runs a client command (argv[0] looked up on the given PATH) and collects its output. */
export function runJob(cluster: SlurmCluster, argv: string[], options: JobOptions & { bin?: string }): Promise<JobResult> {
  const env = jobEnv(cluster, options.bin, options.env);
  const [command, args] = options.asUser === 'nobody'
    ? ['runuser', ['-u', 'nobody', '--', '/usr/bin/env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv]]
    : ['/usr/bin/env', ['-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args as string[], { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 100_000);
    child.on('error', (error) => { clearTimeout(timer); reject(error); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** Output lines sorted, so tests need not depend on the order tasks print in. */
export function sortedLines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '').sort();
}

const FINISHED = /JobState=(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL|DEADLINE)\b/;

/**
 * `sbatch` a script and wait for the job to end, polling slurmctld every 100 ms (sbatch --wait
 * polls far more slowly). The result's code is the job's exit status; stdout/stderr are sbatch's.
 */
export async function sbatchAndWait(cluster: SlurmCluster, argv: string[], options: JobOptions & { bin?: string }): Promise<JobResult & { jobId: string }> {
  const submitted = await runJob(cluster, ['sbatch', '--parsable', ...argv], options);
  const jobId = submitted.stdout.trim().split(';')[0] ?? '';
  if (submitted.code !== 0 || !/^\d+$/.test(jobId)) return { ...submitted, jobId };
  const deadline = Date.now() + (options.timeoutMs ?? 100_000);
  for (;;) {
    const shown = await runJob(cluster, ['scontrol', '-o', 'show', 'job', jobId], { cwd: options.cwd });
    const state = FINISHED.exec(shown.stdout);
    if (state) {
      const exit = /\bExitCode=(\d+):(\d+)/.exec(shown.stdout);
      return { ...submitted, jobId, code: exit ? Number(exit[1]) : null, signal: null };
    }
    if (Date.now() > deadline) throw new Error(`job ${jobId} did not finish in time:\n${shown.stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
