// Both file formats must give the same model, with every default filled in.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HOME, parseToml, parseYaml } from './helpers.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/declarations/${name}`, import.meta.url), 'utf8');

describe('parseDeclaration', () => {
  it('reads YAML and TOML into identical environments', () => {
    const yaml = parseYaml(fixture('full.yaml'));
    const toml = parseToml(fixture('full.toml'));
    expect(yaml.environments).toEqual(toml.environments);
    expect(yaml.format).toBe('yaml');
    expect(toml.format).toBe('toml');
    expect(yaml.file).toBe('/proj/envlock.yaml');
    expect(yaml.version).toBe(1);
  });

  it('normalises, resolves and de-duplicates what the full fixture declares', () => {
    const [analysis, base] = parseYaml(fixture('full.yaml')).environments;
    expect(analysis).toEqual({
      name: 'analysis',
      image: 'registry.example.org/science/python:3.12',
      description: 'Python with the analysis stack',
      platforms: ['linux/amd64', 'linux/arm64', 'linux/amd64/v3'],
      cpu: 'x86-64-v3',
      env: { OMP_NUM_THREADS: '8', GREETING: 'on' },
      prependPath: { PATH: ['/opt/tools/bin', '/opt/more/bin'], PYTHONPATH: ['/opt/lib/python'] },
      appendPath: { LD_LIBRARY_PATH: ['/opt/extra/lib'] },
      unset: ['PYTHONHOME'],
      binds: [
        { source: '/proj/data', target: '/data', readOnly: true },
        { source: `${HOME}/scratch`, target: '/scratch', readOnly: false },
        { source: '/srv/shared', target: '/srv/shared', readOnly: false },
        { source: '/proj/refs', target: '/refs', readOnly: true },
      ],
      host: { devices: ['nvidia.com/gpu=all'], gpu: 'nvidia', mpi: 'host', libraries: ['libfabric.so.1', '/usr/lib64/libpmi2.so.0'] },
      commands: ['python', 'python3.12', 'pip', 'c++'],
      provides: ['python/3.12', 'python'],
    });
    expect(base?.name).toBe('base');
  });

  it('fills every default for a minimal environment', () => {
    const minimal = { name: 'tools', image: 'busybox:1.36', platforms: [], cpu: undefined, description: undefined, env: {}, prependPath: {}, appendPath: {}, unset: [], binds: [], host: { devices: [], gpu: 'none', mpi: 'none', libraries: [] }, commands: [], provides: [] };
    expect(parseYaml(fixture('minimal.yaml')).environments).toEqual([minimal]);
    expect(parseToml(fixture('minimal.toml')).environments).toEqual([minimal]);
  });

  it('sorts environments by code point, not by locale', () => {
    const decl = parseYaml('version: 1\nenvironments:\n  zeta: {image: a}\n  b: {image: a}\n  a-2: {image: a}\n  a.1: {image: a}\n  a_0: {image: a}\n  "10": {image: a}\n  9: {image: a}\n');
    expect(decl.environments.map((e) => e.name)).toEqual(['10', '9', 'a-2', 'a.1', 'a_0', 'b', 'zeta']);
  });

  it('keeps YAML words like on, yes and dates as strings instead of booleans or dates', () => {
    const decl = parseYaml('version: 1\nenvironments:\n  e:\n    image: a\n    description: 2024-01-01\n    env: {A: on, B: yes, C: off}\n');
    expect(decl.environments[0]?.env).toEqual({ A: 'on', B: 'yes', C: 'off' });
    expect(decl.environments[0]?.description).toBe('2024-01-01');
  });

  it('keeps a variable named __proto__ as an ordinary key', () => {
    const decl = parseYaml('version: 1\nenvironments:\n  e:\n    image: a\n    env: {__proto__: x, A: b}\n');
    const env = decl.environments[0]!.env;
    expect(Object.keys(env)).toEqual(['__proto__', 'A']);
    expect(Object.getPrototypeOf(env)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('accepts a byte-order mark at the start of the file', () => {
    expect(parseYaml(`\uFEFF${fixture('minimal.yaml')}`).environments[0]?.name).toBe('tools');
    expect(parseToml(`\uFEFF${fixture('minimal.toml')}`).environments[0]?.name).toBe('tools');
  });
});
