// Platform normalisation and the PLATFORM_INVALID error, from a flag and from a declaration.

import { describe, expect, it } from 'vitest';
import { normalisePlatform } from '../../../core/declaration/platform.js';
import { errorOf, issuesOf, oneEnv, parseYaml } from './helpers.js';

describe('normalisePlatform', () => {
  it.each([
    ['linux/amd64', 'linux/amd64'],
    ['linux/x86_64', 'linux/amd64'],
    ['Linux/X86_64/V3', 'linux/amd64/v3'],
    ['linux/aarch64', 'linux/arm64'],
    ['linux/arm64/v8.2', 'linux/arm64/v8.2'],
    ['linux/arm64/v9', 'linux/arm64/v9'],
    ['linux/armhf', 'linux/arm/v7'],
    ['linux/arm/v6', 'linux/arm/v6'],
    ['linux/ppc64le', 'linux/ppc64le'],
    ['linux/s390x', 'linux/s390x'],
    ['linux/riscv64', 'linux/riscv64'],
    ['linux/386', 'linux/386'],
    ['linux/i686', 'linux/386'],
  ])('%s → %s', (input, expected) => {
    expect(normalisePlatform(input)).toBe(expected);
  });

  it.each([
    ['linux/amd46', 'unknown architecture `amd46`', 'linux/amd64'],
    ['linux/amd64/v5', 'unknown variant `v5` for amd64', 'linux/amd64'],
    ['linux/arm64/v7', 'unknown variant `v7` for arm64', 'linux/arm64'],
    ['windows/amd64', 'the operating system must be linux', 'linux/amd64'],
    ['linux/s390x/v2', 's390x has no variants', 'linux/s390x'],
    ['amd64', 'write os/arch or os/arch/variant', 'linux/amd64'],
    ['linux/amd64/v3/x', 'write os/arch or os/arch/variant', undefined],
  ])('rejects %s', (input, problem, guess) => {
    const error = errorOf(() => normalisePlatform(input));
    expect(error.code).toBe('PLATFORM_INVALID');
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain(problem);
    expect(error.message).toContain('Valid platforms: linux/amd64 (variants v1, v2, v3, v4), linux/arm64');
    if (guess) expect(error.message).toContain(`Did you mean \`${guess}`);
    expect(error.hint).toContain('os/arch');
  });
});

describe('platforms in a declaration', () => {
  it('are normalised and de-duplicated in declared order', () => {
    const env = parseYaml(oneEnv('image: a\nplatforms: [linux/arm64, linux/x86_64, linux/amd64, linux/aarch64]')).environments[0]!;
    expect(env.platforms).toEqual(['linux/arm64', 'linux/amd64']);
  });

  it('raise PLATFORM_INVALID with the key path when only platforms are wrong', () => {
    const error = errorOf(() => parseYaml(oneEnv('image: a\nplatforms: [linux/amd64, linux/amd46]')));
    expect(error.code).toBe('PLATFORM_INVALID');
    expect(error.message).toContain('environments.e.platforms[1]: `linux/amd46` names an unknown architecture');
    expect(error.message).toContain('Did you mean `linux/amd64`?');
  });

  it('raise DECLARATION_INVALID when other problems come with them', () => {
    const error = errorOf(() => parseYaml(oneEnv('image: a\nplatforms: [linux/amd46]\ncpu: 5')));
    expect(error.code).toBe('DECLARATION_INVALID');
    expect(issuesOf(error).map((i) => i.code)).toEqual(['PLATFORM_INVALID', 'DECLARATION_INVALID']);
  });
});
