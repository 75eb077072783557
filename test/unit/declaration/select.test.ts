// Choosing environments by name, and the error for a name the declaration does not have.

import { describe, expect, it } from 'vitest';
import { findEnvironment, selectEnvironments } from '../../../core/declaration/select.js';
import { errorOf, parseYaml } from './helpers.js';

const decl = parseYaml('version: 1\nenvironments:\n  analysis: {image: a}\n  build: {image: b}\n');

describe('findEnvironment', () => {
  it('returns the named environment', () => {
    expect(findEnvironment(decl, 'build').image).toBe('b');
  });

  it('refuses an unknown name with the nearest declared one', () => {
    const error = errorOf(() => findEnvironment(decl, 'analysys'));
    expect(error.code).toBe('ENVIRONMENT_UNKNOWN');
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe('Environment `analysys` is not declared in /proj/envlock.yaml. Did you mean `analysis`?');
    expect(error.hint).toBe('Use one of: analysis, build; or add `analysys` to the declaration.');
  });
});

describe('selectEnvironments', () => {
  it('returns all environments for no names, else the named ones once each in the order asked', () => {
    expect(selectEnvironments(decl, []).map((e) => e.name)).toEqual(['analysis', 'build']);
    expect(selectEnvironments(decl, ['build', 'analysis', 'build']).map((e) => e.name)).toEqual(['build', 'analysis']);
    expect(errorOf(() => selectEnvironments(decl, ['build', 'nope'])).code).toBe('ENVIRONMENT_UNKNOWN');
  });
});
