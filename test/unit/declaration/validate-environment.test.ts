// Per-environment validation: each key's type and shape, with the key path and a remedy.

import { describe, expect, it } from 'vitest';
import { errorOf, issuesOf, oneEnv, parseToml, parseYaml } from './helpers.js';

/** The single issue a one-environment YAML body produces. */
function onlyIssue(body: string) {
  const error = errorOf(() => parseYaml(oneEnv(body)));
  const issues = issuesOf(error);
  expect(issues).toHaveLength(1);
  return { error, issue: issues[0]! };
}

describe('image', () => {
  it('is required', () => {
    const { error, issue } = onlyIssue('description: x');
    expect(error.code).toBe('DECLARATION_INVALID');
    expect(issue.path).toBe('environments.e.image');
    expect(issue.message).toContain('is required');
  });

  it('must be a string without white space', () => {
    expect(onlyIssue('image: 3').issue.message).toBe('expected an image reference (a string), got the number 3. Put it in quotes if it is meant as text.');
    expect(onlyIssue('image: "py thon"').issue.message).toContain('not an image reference');
  });
});

describe('unknown keys', () => {
  it('names the key and suggests the nearest valid one', () => {
    const { issue } = onlyIssue('image: a\nprepend_path: {PATH: /x}');
    expect(issue.path).toBe('environments.e.prepend_path');
    expect(issue.message).toBe('unknown key. Did you mean `prepend-path`?');
    expect(onlyIssue('image: a\nplatform: [linux/amd64]').issue.message).toContain('Did you mean `platforms`?');
  });

  it('lists the known keys when nothing is close', () => {
    expect(onlyIssue('image: a\nzzzzzzzzzz: 1').issue.message).toContain('Known keys here: image, description, platforms');
  });
});

describe('cpu', () => {
  it('accepts levels and lower-case microarchitecture names', () => {
    for (const cpu of ['x86-64', 'x86-64-v2', 'x86-64-v4', 'skylake_avx512', 'neoverse_v1', 'power9']) {
      expect(parseYaml(oneEnv(`image: a\ncpu: ${cpu}`)).environments[0]?.cpu).toBe(cpu);
    }
  });

  it('rejects an unknown level, upper case and numbers', () => {
    expect(onlyIssue('image: a\ncpu: x86-64-v5').issue.message).toContain('`x86-64-v5` is not valid: a CPU is `x86-64`');
    expect(onlyIssue('image: a\ncpu: X86_64-v3').issue.message).toContain('Did you mean `x86-64-v3`?');
    expect(onlyIssue('image: a\ncpu: 3').issue.path).toBe('environments.e.cpu');
  });
});

describe('env', () => {
  it('refuses numbers and booleans instead of converting them, and says to quote them', () => {
    const error = errorOf(() => parseYaml(oneEnv('image: a\nenv: {THREADS: 8, DEBUG: true, NAME: x}')));
    const issues = issuesOf(error);
    expect(issues.map((i) => i.path)).toEqual(['environments.e.env.THREADS', 'environments.e.env.DEBUG']);
    expect(issues[0]?.message).toBe('expected a string, got the number 8. Put it in quotes if it is meant as text.');
    expect(issues[1]?.message).toContain('got the boolean true. Put it in quotes');
  });

  it('says the same for TOML numbers and dates', () => {
    const error = errorOf(() => parseToml('version = 1\n[environments.e]\nimage = "a"\n[environments.e.env]\nN = 8\nD = 2024-01-01\n'));
    expect(issuesOf(error).map((i) => i.message)).toEqual([
      'expected a string, got the number 8. Put it in quotes if it is meant as text.',
      'expected a string, got a date. Put it in quotes if it is meant as text.',
    ]);
  });

  it('checks variable names and the map itself', () => {
    expect(onlyIssue('image: a\nenv: {1ABC: x}').issue.message).toContain('`1ABC` is not a variable name');
    expect(onlyIssue('image: a\nenv: [A]').issue.message).toBe('expected a map of variable names to values, got a list.');
    expect(onlyIssue('image: a\nenv:').issue.message).toBe('expected a map of variable names to values, got nothing (null).');
  });

  it('refuses a variable that is both set and unset', () => {
    const { issue } = onlyIssue('image: a\nenv: {A: x}\nunset: [B, B, A]');
    expect(issue.path).toBe('environments.e.unset[2]');
    expect(issue.message).toContain('also set in environments.e.env');
  });
});

describe('prepend-path and append-path', () => {
  it('accept a single string as a one-element list', () => {
    const env = parseYaml(oneEnv('image: a\nappend-path: {MANPATH: /opt/man}')).environments[0]!;
    expect(env.appendPath).toEqual({ MANPATH: ['/opt/man'] });
  });

  it('name the list index of a bad entry', () => {
    const { issue } = onlyIssue('image: a\nprepend-path:\n  PATH: [/ok, 5]');
    expect(issue.path).toBe('environments.e.prepend-path.PATH[1]');
    expect(issue.message).toContain('expected a directory (a string), got the number 5');
  });

  it('refuse entries holding a colon, empty entries and nested maps', () => {
    expect(onlyIssue('image: a\nprepend-path: {PATH: "/a:/b"}').issue.message).toContain('list each directory as its own entry');
    expect(onlyIssue('image: a\nappend-path: {PATH: [""]}').issue.message).toContain('the directory is empty');
    expect(onlyIssue('image: a\nappend-path: {PATH: {x: y}}').issue.message).toBe('expected a list of directories or one directory, got a map.');
  });
});

describe('unset, commands and provides', () => {
  it('check each name with its own rule', () => {
    expect(onlyIssue('image: a\nunset: [OK, "BAD-NAME"]').issue.path).toBe('environments.e.unset[1]');
    expect(onlyIssue('image: a\ncommands: [/bin/sh]').issue.message).toContain('no `/`');
    expect(onlyIssue('image: a\ncommands: ["a;b"]').issue.path).toBe('environments.e.commands[0]');
    expect(onlyIssue('image: a\ncommands: [".."]').issue.path).toBe('environments.e.commands[0]');
    expect(onlyIssue('image: a\nprovides: [python/../x]').issue.message).toContain('`name/version`');
    expect(onlyIssue('image: a\nprovides: [/python]').issue.path).toBe('environments.e.provides[0]');
    expect(onlyIssue('image: a\nprovides: ["py thon"]').issue.path).toBe('environments.e.provides[0]');
    expect(onlyIssue('image: a\nprovides: [python/]').issue.path).toBe('environments.e.provides[0]');
  });

  it('accept module names with several parts and keep declared order without duplicates', () => {
    const env = parseYaml(oneEnv('image: a\nprovides: [gcc/12.2.0, mpi/openmpi/4.1, gcc/12.2.0]\ncommands: [b, a, b]')).environments[0]!;
    expect(env.provides).toEqual(['gcc/12.2.0', 'mpi/openmpi/4.1']);
    expect(env.commands).toEqual(['b', 'a']);
  });

  it('need lists, not strings', () => {
    expect(onlyIssue('image: a\ncommands: python').issue.message).toBe('expected a list, got a string.');
  });
});

describe('host', () => {
  it('suggests the nearest gpu and mpi choice', () => {
    const { issue } = onlyIssue('image: a\nhost: {gpu: nvidai}');
    expect(issue.path).toBe('environments.e.host.gpu');
    expect(issue.message).toBe('`nvidai` is not one of none, nvidia, amd, auto. Did you mean `nvidia`?');
    expect(onlyIssue('image: a\nhost: {mpi: yes}').issue.message).toContain('is not one of none, host');
  });

  it('validates CDI device names and libraries', () => {
    expect(onlyIssue('image: a\nhost: {devices: [gpu=all]}').issue.message).toContain('vendor.tld/class=name');
    expect(onlyIssue('image: a\nhost: {devices: ["nvidia.com/gpu"]}').issue.path).toBe('environments.e.host.devices[0]');
    expect(onlyIssue('image: a\nhost: {libraries: ["../lib.so"]}').issue.path).toBe('environments.e.host.libraries[0]');
    expect(onlyIssue('image: a\nhost: {libraries: ["/usr/../etc/lib.so"]}').issue.path).toBe('environments.e.host.libraries[0]');
    const env = parseYaml(oneEnv('image: a\nhost: {devices: ["amd.com/gpu=0", "vendor.example.org/fpga=card:1"]}')).environments[0]!;
    expect(env.host).toEqual({ devices: ['amd.com/gpu=0', 'vendor.example.org/fpga=card:1'], gpu: 'none', mpi: 'none', libraries: [] });
  });

  it('reports unknown host keys with a suggestion', () => {
    expect(onlyIssue('image: a\nhost: {device: []}').issue.message).toBe('unknown key. Did you mean `devices`?');
  });
});
