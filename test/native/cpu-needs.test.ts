// cpu-needs and --candidate: the launcher refuses a variant this CPU cannot execute with one
// line naming what is missing (exit 4), instead of dying on SIGILL, and a wrapper carrying
// several variants runs the first one this node can execute. The launcher and the addon
// share one detection, so they can never disagree about this CPU.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadExecAddon } from '../../core/runtime/native.js';
import { CALLERS, ensureNativeBuild, makeRootfs, publicTempDir, removeTree, runWithSpecFd } from './fixture.js';

let rootfs: string;
let work: string;
let features: string[];
let arch: string;

beforeAll(() => {
  ensureNativeBuild();
  rootfs = makeRootfs();
  work = publicTempDir('envlock-cpu-');
  const cpu = loadExecAddon().cpuFeatures();
  features = cpu.features;
  arch = cpu.architecture;
});

afterAll(() => {
  removeTree(rootfs);
  removeTree(work);
});

const MISSING = 'envlock-no-such-feature';
const base = () => `envlock-launch-spec 1\nrootfs ${rootfs}\nenv PATH=/bin\ncwd /\nbind-cwd no\n`;

function candidate(name: string, lines: string): string {
  const file = path.join(work, name);
  writeFileSync(file, `${base()}${lines}`, { mode: 0o644 });
  return file;
}

describe.each(CALLERS)('cpu-needs as $name', ({ prefix }) => {
  it('runs when this CPU has every feature the addon reports for it', async () => {
    const result = await runWithSpecFd(`${base()}arch ${arch}\ncpu-needs ${features.join(',')}\n`, ['true'], { prefix });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('refuses a missing feature with exit 4, naming it, before anything runs', async () => {
    const result = await runWithSpecFd(`${base()}cpu-needs ${features[0]},${MISSING}\ncpu-needs avx512-${MISSING}\n`, ['sh', '-c', 'echo ran'], { prefix });
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`envlock-launch: cpu: this CPU lacks ${MISSING}, avx512-${MISSING}, which the image needs; use a variant built for this CPU or run on a node that has it\n`);
    expect(result.status).toBe(4);
  });

  it('refuses an image built for another architecture', async () => {
    const other = arch === 'amd64' ? 'arm64' : 'amd64';
    const result = await runWithSpecFd(`${base()}arch ${other}\n`, ['true'], { prefix });
    expect(result.stderr).toBe(`envlock-launch: cpu: this CPU lacks the ${other} architecture (this CPU is ${arch}), which the image needs; use a variant built for this CPU or run on a node that has it\n`);
    expect(result.status).toBe(4);
  });

  it('takes the first candidate this CPU can run, and names every miss when none fits', async () => {
    const v4 = candidate('v4.spec', `cpu-needs ${MISSING}\nenv VARIANT=v4\n`);
    const v3 = candidate('v3.spec', `arch ${arch}\ncpu-needs ${features.slice(0, 3).join(',')}\nenv VARIANT=v3\n`);
    const v1 = candidate('v1.spec', 'env VARIANT=v1\n');
    const picked = await runWithSpecFd('', ['sh', '-c', 'echo $VARIANT'], { prefix, args: ['--candidate', v4, '--candidate', v3, '--candidate', v1] });
    expect(picked.stdout).toBe('v3\n');
    const none = await runWithSpecFd('', ['true'], { prefix, args: ['--candidate', v4, '--candidate', candidate('arm.spec', `arch ${arch === 'amd64' ? 'arm64' : 'amd64'}\n`)] });
    expect(none.stderr).toBe(`envlock-launch: cpu: no prepared variant fits this CPU (${v4} needs ${MISSING}; ${path.join(work, 'arm.spec')} needs the ${arch === 'amd64' ? 'arm64' : 'amd64'} architecture (this CPU is ${arch}))\n`);
    expect(none.status).toBe(4);
  });

  it('treats features named in ENVLOCK_CPU_MASK as absent, in canonical or cpuinfo spelling, so a lower candidate runs', async () => {
    if (!features.includes('sse4.1')) return;
    const high = candidate('masked-high.spec', `arch ${arch}\ncpu-needs sse4.1\nenv VARIANT=high\n`);
    const low = candidate('masked-low.spec', `arch ${arch}\nenv VARIANT=low\n`);
    const args = ['--candidate', high, '--candidate', low];
    const cmd = ['sh', '-c', 'echo $VARIANT'];
    expect((await runWithSpecFd('', cmd, { prefix, args })).stdout).toBe('high\n');
    for (const mask of ['sse4.1', 'avx, sse4_1']) {
      const env = { PATH: '/usr/bin:/bin', ENVLOCK_CPU_MASK: mask };
      expect((await runWithSpecFd('', cmd, { prefix, args, env })).stdout).toBe('low\n');
    }
    const alone = await runWithSpecFd('', ['true'], { prefix, args: ['--candidate', high], env: { PATH: '/usr/bin:/bin', ENVLOCK_CPU_MASK: 'sse4.1' } });
    expect(alone.stderr).toBe(`envlock-launch: cpu: no prepared variant fits this CPU (${high} needs sse4.1)\n`);
    expect(alone.status).toBe(4);
  });
});
