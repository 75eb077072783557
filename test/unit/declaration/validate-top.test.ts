// Top-level validation: version, environments, environment names, and how issues are reported.

import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../core/errors.js';
import { errorOf, issuesOf, parseToml, parseYaml } from './helpers.js';

describe('declaration version', () => {
  it('is required', () => {
    const error = errorOf(() => parseYaml('environments:\n  e: {image: a}\n'));
    expect(error.code).toBe('DECLARATION_INVALID');
    expect(error.exitCode).toBe(ERROR_CODES.DECLARATION_INVALID);
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain('/proj/envlock.yaml');
    expect(error.message).toMatch(/version: is missing/);
  });

  it('must be the whole number 1, not a string', () => {
    const error = errorOf(() => parseYaml('version: "1"\nenvironments:\n  e: {image: a}\n'));
    expect(error.message).toContain('version: expected the whole number 1, got a string');
  });

  it('must be at least 1', () => {
    expect(errorOf(() => parseToml('version = 0\n[environments.e]\nimage = "a"\n')).message).toContain('version: expected the whole number 1, got the number 0.');
  });

  it('refuses a newer version with a message about upgrading', () => {
    const error = errorOf(() => parseToml('version = 2\nfuture-key = 1\n[environments.e]\nimage = "a"\nnew-thing = true\n'));
    expect(error.code).toBe('DECLARATION_INVALID');
    expect(error.message).toContain('written for a newer envlock');
    expect(error.message).toContain('version 2');
    // Unknown keys from the newer schema are not listed: the version says it all.
    expect(error.message).not.toContain('future-key');
    expect(error.hint).toMatch(/^Upgrade envlock/);
  });
});

describe('top level', () => {
  it('suggests the nearest key for a misspelt one', () => {
    const error = errorOf(() => parseYaml('version: 1\nenviroments:\n  e: {image: a}\n'));
    const issues = issuesOf(error);
    expect(issues.map((i) => i.path)).toEqual(['enviroments', 'environments']);
    expect(error.message).toContain('enviroments: unknown key. Did you mean `environments`?');
    expect(error.message).toContain('environments: is missing');
  });

  it('rejects an empty file and a file that is not a map', () => {
    const empty = errorOf(() => parseYaml(''));
    expect(empty.code).toBe('DECLARATION_INVALID');
    expect(empty.message).toBe('Declaration /proj/envlock.yaml is invalid: the file is empty; it needs `version` and `environments`.');
    expect(empty.hint).toBe('Run `envlock init --force` to write a fresh, commented declaration.');
    expect(errorOf(() => parseYaml('- a\n- b\n')).message).toContain('the file is a list, not a map of keys');
  });

  it('needs environments to be a non-empty map', () => {
    expect(errorOf(() => parseYaml('version: 1\nenvironments: [a]\n')).message).toContain('environments: expected a map from environment names');
    expect(errorOf(() => parseYaml('version: 1\nenvironments: {}\n')).message).toContain('environments: is empty');
    expect(errorOf(() => parseYaml('version: 1\nenvironments:\n  e: python\n')).message).toContain('environments.e: expected a map with at least `image`, got a string');
  });

  it('checks environment names', () => {
    const long = 'a'.repeat(65);
    const error = errorOf(() => parseYaml(`version: 1\nenvironments:\n  Analysis: {image: a}\n  ${long}: {image: a}\n  ${'b'.repeat(64)}: {image: a}\n`));
    const issues = issuesOf(error);
    expect(issues.map((i) => i.path)).toEqual(['environments.Analysis', `environments.${long}`]);
    expect(issues[0]?.message).toContain('not a valid environment name: lower-case letters');
  });

  it('quotes key paths that are not plain words', () => {
    const error = errorOf(() => parseYaml('version: 1\nenvironments:\n  py3.11:\n    image: a\n    env: {"A B": x}\n'));
    expect(issuesOf(error)[0]?.path).toBe('environments."py3.11".env."A B"');
  });
});

describe('reporting', () => {
  it('collects every problem into one error: first in the first line, the rest listed below', () => {
    const error = errorOf(() => parseYaml('version: 1\nenvironments:\n  e:\n    imgae: a\n    cpu: 3\n    commands: [ok, "rm -rf"]\n'));
    const issues = issuesOf(error);
    expect(issues.map((i) => i.path)).toEqual(['environments.e.imgae', 'environments.e.image', 'environments.e.cpu', 'environments.e.commands[1]']);
    const lines = error.message.split('\n');
    expect(lines[0]).toBe('Declaration /proj/envlock.yaml is invalid: environments.e.imgae: unknown key. Did you mean `image`?');
    expect(lines[1]).toBe('It has 3 more problems:');
    expect(lines.slice(2).every((l) => l.startsWith('  - environments.e.'))).toBe(true);
    expect(error.details?.file).toBe('/proj/envlock.yaml');
    expect(error.hint).toContain('docs/declaration.md');
  });

  it('summarises a flood of problems instead of listing them all', () => {
    const commands = Array.from({ length: 80 }, (_, i) => `"bad ${i}"`).join(', ');
    const error = errorOf(() => parseYaml(`version: 1\nenvironments:\n  e: {image: a, commands: [${commands}]}\n`));
    expect(error.message).toContain('It has 79 more problems:');
    expect(error.message).toContain('… and 67 more.');
    expect(error.message.split('\n').length).toBeLessThan(20);
    expect(error.details?.omitted).toBe(30);
  });
});
