// Shared helpers for the declaration tests: parse text as if it sat in /proj, catch the error.

import { expect } from 'vitest';
import { parseDeclaration } from '../../../core/declaration/load.js';
import type { Declaration } from '../../../core/declaration/model.js';
import { EnvlockError } from '../../../core/errors.js';

export const HOME = '/home/user';

export function parseYaml(text: string): Declaration {
  return parseDeclaration(text, '/proj/envlock.yaml', 'yaml', { home: HOME });
}

export function parseToml(text: string): Declaration {
  return parseDeclaration(text, '/proj/envlock.toml', 'toml', { home: HOME });
}

/** The EnvlockError that `fn` throws; fails the test when it throws nothing or something else. */
export function errorOf(fn: () => unknown): EnvlockError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EnvlockError);
    return error as EnvlockError;
  }
  throw new Error('expected an EnvlockError, but nothing was thrown');
}

/** The issues listed in an invalid declaration's details. */
export function issuesOf(error: EnvlockError): { path: string; code: string; message: string }[] {
  return (error.details?.issues ?? []) as { path: string; code: string; message: string }[];
}

/** A YAML declaration with one environment `e` whose body is `body` (indented four spaces). */
export function oneEnv(body: string): string {
  const lines = body.trim().split('\n').map((l) => `    ${l}`);
  return `version: 1\nenvironments:\n  e:\n${lines.join('\n')}\n`;
}
