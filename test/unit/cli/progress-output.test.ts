// Progress output: a live line never wider than the terminal, plain lines that start, resume,
// report at most once per interval and end once, and no bytes counted twice.

import { describe, expect, it } from 'vitest';
import { plainReporter } from '../../../cli/output/plain-reporter.js';
import { progressLine } from '../../../cli/output/progress-line.js';

const MiB = 1024 * 1024;

describe('progressLine', () => {
  it('fits 80 columns with a long unpack label and still shows done/total', () => {
    const label = 'unpacking layer 12/14 sha256:4f2a9c1e07b3 of registry.example.org:5000/some/long/repository:tag';
    for (const width of [80, 60, 40]) {
      const line = progressLine({ label, done: 12 * MiB, total: 46 * MiB, rate: 3 * MiB }, width);
      expect(line.length).toBeLessThan(width);
      expect(line).toContain('12 MiB/46 MiB');
    }
    expect(progressLine({ label: 'layer sha256:abcd', done: 5 * MiB, total: 10 * MiB, rate: MiB }, 120)).toBe('layer sha256:abcd  [##########..........]  5.0 MiB/10 MiB  1.0 MiB/s  ETA 5s');
  });
});

function recorder(intervalMs = 5000) {
  const lines: string[] = [];
  let clock = 0;
  const reporter = plainReporter({ quiet: false, verbose: false, colour: false, write: (l) => lines.push(l), progressIntervalMs: intervalMs, now: () => clock });
  return { lines, reporter, at: (ms: number) => (clock = ms) };
}

describe('plain progress lines', () => {
  it('prints one line at start, at most one per interval, and one at the end', () => {
    const { lines, reporter, at } = recorder();
    const task = reporter.task('layer sha256:abcd', 10 * MiB);
    task.restart(0);
    for (let ms = 0; ms <= 12_000; ms += 100) {
      at(ms);
      task.advance(MiB / 12);
    }
    task.done();
    expect(lines[0]).toBe('layer sha256:abcd: started, 10 MiB');
    expect(lines.filter((l) => l.includes(' of 10 MiB ('))).toHaveLength(2);
    expect(lines.at(-1)).toBe('layer sha256:abcd: done, 10 MiB in 12.0s');
    expect(lines).toHaveLength(4);
  });

  it('says where a resumed download starts and never counts its bytes twice', () => {
    const { lines, reporter, at } = recorder(1000);
    const task = reporter.task('layer sha256:abcd', 10 * MiB);
    task.restart(4 * MiB);
    at(1500);
    task.advance(MiB);
    // A second attempt resumes where the first stopped: the count is where it is, not added.
    task.restart(5 * MiB);
    at(3000);
    task.advance(MiB);
    expect(lines[0]).toBe('layer sha256:abcd: resuming at 4.0 MiB of 10 MiB');
    expect(lines.slice(1)).toEqual(['layer sha256:abcd: 5.0 MiB of 10 MiB (50%), 683 KiB/s', 'layer sha256:abcd: 6.0 MiB of 10 MiB (60%), 683 KiB/s']);
  });

  it('shares one line per interval between parallel tasks', () => {
    const { lines, reporter, at } = recorder(1000);
    const a = reporter.task('layer a', 100);
    const b = reporter.task('layer b', 100);
    a.restart(0);
    b.restart(0);
    for (let ms = 0; ms <= 4000; ms += 250) {
      at(ms);
      a.advance(1);
      b.advance(1);
    }
    const progress = lines.filter((l) => l.includes(' of '));
    expect(progress.length).toBeLessThanOrEqual(4);
    expect(progress.some((l) => l.startsWith('layer a'))).toBe(true);
    expect(progress.some((l) => l.startsWith('layer b'))).toBe(true);
  });
});

describe('withBlobRetries', () => {
  it('keeps going while each attempt brings enough, and stops after attempts in a row that bring too little', async () => {
    const { withBlobRetries } = await import('../../../core/pull/retry-blob.js');
    const { EnvlockError } = await import('../../../core/errors.js');
    let reached = 0;
    let tries = 0;
    const cut = (step: number) => async () => {
      tries += 1;
      reached += step;
      if (reached < 100) throw new EnvlockError('REGISTRY_UNREACHABLE', 'cut');
      return 'done';
    };
    await expect(withBlobRetries(cut(10), { progress: () => reached, minProgress: 5, baseDelayMs: 0 })).resolves.toBe('done');
    expect(tries).toBe(10);
    reached = 0;
    tries = 0;
    // Five tries that together bring less than the minimum: given up.
    await expect(withBlobRetries(cut(1), { progress: () => reached, minProgress: 50, baseDelayMs: 0 })).rejects.toThrow('cut');
    expect(tries).toBe(5);
  });
});
