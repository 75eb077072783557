// Slurm's hostlist syntax, as the step's node list spells it, and the node a preparation runs on.

import { describe, expect, it } from 'vitest';
import { expandHostlist, slurmNodeName } from '../../../core/slurm/hostlist.js';

describe('expandHostlist', () => {
  it('expands ranges, lists and zero-padded numbers, and keeps plain names', () => {
    expect(expandHostlist('n[1-4]')).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(expandHostlist('n[1-2,7],gpu01,c[08-10]x')).toEqual(['n1', 'n2', 'n7', 'gpu01', 'c08x', 'c09x', 'c10x']);
    expect(expandHostlist('login')).toEqual(['login']);
  });
});

describe('slurmNodeName', () => {
  it('prefers SLURMD_NODENAME, else picks the step node list entry the plugin names', () => {
    expect(slurmNodeName({ SLURMD_NODENAME: 'n9', SLURM_STEP_NODELIST: 'n[1-4]', ENVLOCK_SLURM_NODEID: '2' })).toBe('n9');
    expect(slurmNodeName({ SLURM_STEP_NODELIST: 'n[1-4]', ENVLOCK_SLURM_NODEID: '2' })).toBe('n3');
    expect(slurmNodeName({ SLURM_JOB_NODELIST: 'a,b' })).toBeUndefined();
    expect(slurmNodeName({})).toBeUndefined();
  });
});
