// Syntax errors in either format name the file and a 1-based line and column.

import { describe, expect, it } from 'vitest';
import { errorOf, parseToml, parseYaml } from './helpers.js';

describe('YAML syntax errors', () => {
  it('name the file, line and column, counted from 1', () => {
    // Line 3 is `  c: : :`; js-yaml stops at its second `:`, column 6 counted from 1 (0-based 5).
    const error = errorOf(() => parseYaml('version: 1\nenvironments: [a,\n  c: : :\n'));
    expect(error.code).toBe('DECLARATION_SYNTAX');
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(/^Declaration \/proj\/envlock\.yaml is not valid YAML at line 3, column 6: missed comma/);
    expect(error.details).toMatchObject({ file: '/proj/envlock.yaml', line: 3, column: 6 });
    expect(error.hint).toBeTruthy();
  });

  it('point at the exact column of a tab used for indentation', () => {
    const error = errorOf(() => parseYaml('version: 1\nenvironments:\n\te: {image: a}\n'));
    expect(error.details).toMatchObject({ line: 3, column: 1 });
    expect(error.message).toContain('line 3, column 1: tab characters must not be used in indentation');
  });

  it('treat a duplicate key as an error at the second occurrence', () => {
    const error = errorOf(() => parseYaml('version: 1\nenvironments:\n  e: {image: a}\n  e: {image: b}\n'));
    expect(error.code).toBe('DECLARATION_SYNTAX');
    expect(error.message).toContain('line 4, column 3: a key appears twice in the same map');
  });

  it('refuse a second document with its line', () => {
    const error = errorOf(() => parseYaml('version: 1\n---\nversion: 1\n'));
    expect(error.code).toBe('DECLARATION_SYNTAX');
    expect(error.message).toContain('at line 2: the file holds more than one YAML document');
  });

  it('refuse custom tags instead of running them', () => {
    expect(errorOf(() => parseYaml('version: !!js/function "x"\n')).code).toBe('DECLARATION_SYNTAX');
  });
});

describe('TOML syntax errors', () => {
  it('name the file, line and column, counted from 1', () => {
    const error = errorOf(() => parseToml('version = 1\n[environments.e]\nimage = = "a"\n'));
    expect(error.code).toBe('DECLARATION_SYNTAX');
    expect(error.message).toMatch(/^Declaration \/proj\/envlock\.toml is not valid TOML at line 3, column 9: /);
    expect(error.details).toMatchObject({ file: '/proj/envlock.toml', line: 3, column: 9 });
    // The library's own "at row …, col …" and its snippet are not repeated.
    expect(error.message).not.toMatch(/row \d|\n/);
  });

  it('treat a duplicate key as an error on its line', () => {
    const error = errorOf(() => parseToml('version = 1\n[environments.e]\nimage = "a"\nimage = "b"\n'));
    expect(error.code).toBe('DECLARATION_SYNTAX');
    expect(error.details).toMatchObject({ line: 4 });
    expect(error.message).toContain("Can't redefine existing key");
  });
});
