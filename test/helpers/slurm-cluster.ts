// A real Slurm cluster on this machine for end-to-end tests: one slurmctld and N slurmd "nodes"
// (Debian's slurm-wlm), each on a free port, with all state, spool, logs and sockets in one
// private scratch directory, so several clusters (test files, engineers, CI jobs) can run at once.
// Needs root. Every daemon runs in the foreground under a watchdog that ends it when this
// process goes away, so a killed test run leaves no daemon behind.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './registry.js';
import { ensureMunge } from './slurm-munge.js';

export interface ClusterOptions {
  /** Number of slurmd nodes, named n1..nN (default 4). */
  nodes?: number;
  /** CPUs each node declares (default 16: 64 tasks fit on 4 nodes). */
  cpus?: number;
  /** Lines of plugstack.conf (SPANK plugins). */
  plugstack?: string[];
}

export interface SlurmCluster {
  /** The scratch directory (mode 0755; removed by stop). */
  dir: string;
  /** slurm.conf; clients find the cluster through SLURM_CONF. */
  conf: string;
  nodes: string[];
  /** Rewrites plugstack.conf; srun and every new step read it again. */
  setPlugstack(lines: string[]): void;
  /** The text of one node's slurmd log (stepd errors land there). */
  nodeLog(node: string): string;
  stop(): Promise<void>;
}

// Ends the daemon ("$@") when our end of its stdin closes: on stop(), or when this process dies.
const WATCHDOG = 'exec 3<&0; "$@" </dev/null & child=$!; (read _ <&3; kill -TERM $child 2>/dev/null) & wait $child';

function configText(dir: string, name: string, ports: number[], options: { cpus: number }): string {
  const host = hostname();
  const lines = [
    `ClusterName=${name}`,
    `SlurmctldHost=${host}(127.0.0.1)`,
    `SlurmctldPort=${ports[0]}`,
    'SlurmUser=root',
    'SlurmdUser=root',
    'AuthType=auth/munge',
    'CredType=cred/munge',
    `StateSaveLocation=${dir}/state`,
    `SlurmdSpoolDir=${dir}/spool/%n`,
    `SlurmctldPidFile=${dir}/run/slurmctld.pid`,
    `SlurmdPidFile=${dir}/run/slurmd-%n.pid`,
    `SlurmctldLogFile=${dir}/log/slurmctld.log`,
    `SlurmdLogFile=${dir}/log/slurmd-%n.log`,
    `PlugStackConfig=${dir}/plugstack.conf`,
    // No cgroups: processes are tracked by parentage, tasks are not bound to CPUs.
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    // Nodes declare more CPUs than the machine has; sbatch jobs start at once.
    'SlurmdParameters=config_overrides',
    'SchedulerParameters=batch_sched_delay=0',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core',
    'ReturnToService=2',
    'MpiDefault=none',
    'JobAcctGatherType=jobacct_gather/none',
    'AccountingStorageType=accounting_storage/none',
    // scancel: SIGKILL two seconds after SIGTERM, not thirty.
    'KillWait=2',
    'InactiveLimit=0',
  ];
  const names = ports.slice(1).map((_, i) => `n${i + 1}`);
  ports.slice(1).forEach((port, i) => {
    lines.push(`NodeName=${names[i]} NodeHostname=${host} NodeAddr=127.0.0.1 Port=${port} CPUs=${options.cpus} State=UNKNOWN`);
  });
  lines.push(`PartitionName=debug Nodes=${names.join(',')} Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES`);
  return `${lines.join('\n')}\n`;
}

function daemon(argv: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn('sh', ['-c', WATCHDOG, 'watchdog', ...argv], { stdio: ['pipe', fd, fd], detached: true });
  closeSync(fd);
  child.unref();
  child.stdin?.on('error', () => { /* the watchdog may be gone already */ });
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return child;
}

/** slurmstepd processes that belong to this cluster: they hold its log or spool files open. */
function strayStepds(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/comm`, 'utf8').startsWith('slurmstepd')) continue;
      const fds = readdirSync(`/proc/${entry}/fd`);
      if (fds.some((fd) => { try { return readlinkSync(`/proc/${entry}/fd/${fd}`).startsWith(`${dir}/`); } catch { return false; } })) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function nodeStates(conf: string): string[] {
  const out = spawnSync('sinfo', ['-h', '-N', '-o', '%T'], { encoding: 'utf8', env: { ...process.env, SLURM_CONF: conf }, timeout: 5000 });
  return out.status === 0 ? out.stdout.trim().split('\n').filter(Boolean) : [];
}

export async function startSlurmCluster(options: ClusterOptions = {}): Promise<SlurmCluster> {
  if (process.getuid?.() !== 0) throw new Error('a Slurm test cluster needs root (slurmd starts jobs as their users)');
  await ensureMunge();
  const settings = { nodes: options.nodes ?? 4, cpus: options.cpus ?? 16 };
  const dir = mkdtempSync(join(tmpdir(), 'envlock-slurm-'));
  spawnSync('chmod', ['755', dir]);
  const nodes = Array.from({ length: settings.nodes }, (_, i) => `n${i + 1}`);
  for (const sub of ['state', 'run', 'log', ...nodes.map((n) => `spool/${n}`)]) mkdirSync(join(dir, sub), { recursive: true, mode: 0o755 });
  const ports: number[] = [];
  for (let i = 0; i <= settings.nodes; i++) ports.push(await freePort());
  const conf = join(dir, 'slurm.conf');
  writeFileSync(conf, configText(dir, `envlock${randomBytes(4).toString('hex')}`, ports, settings));
  const setPlugstack = (lines: string[]) => writeFileSync(join(dir, 'plugstack.conf'), lines.length ? `${lines.join('\n')}\n` : '');
  setPlugstack(options.plugstack ?? []);

  const children = [daemon(['slurmctld', '-D', '-f', conf], join(dir, 'log', 'slurmctld.out'))];
  for (const node of nodes) children.push(daemon(['slurmd', '-D', '-f', conf, '-N', node], join(dir, 'log', `slurmd-${node}.out`)));

  const stop = async () => {
    const env = { ...process.env, SLURM_CONF: conf };
    spawnSync('scancel', ['--full', '--quiet', '--state=RUNNING'], { env, timeout: 5000 });
    spawnSync('scancel', ['--quiet', '--state=PENDING'], { env, timeout: 5000 });
    await Promise.all(children.map((child) => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 5000);
      child.once('exit', () => { clearTimeout(timer); resolve(); });
      child.stdin?.end();
    })));
    for (const pid of strayStepds(dir)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    const states = nodeStates(conf);
    if (states.length === nodes.length && states.every((s) => s === 'idle')) break;
    const dead = children.find((c) => c.exitCode !== null);
    if (dead || Date.now() > deadline) {
      const logs = readdirSync(join(dir, 'log')).map((f) => `--- ${f}\n${readFileSync(join(dir, 'log', f), 'utf8').slice(-1500)}`).join('\n');
      await stop();
      throw new Error(`the Slurm test cluster did not come up (node states: ${states.join(',') || 'none'}):\n${logs}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    dir,
    conf,
    nodes,
    setPlugstack,
    nodeLog: (node) => { try { return readFileSync(join(dir, 'log', `slurmd-${node}.log`), 'utf8'); } catch { return ''; } },
    stop,
  };
}
