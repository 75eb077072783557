// Reference parsing and normalisation, checked against distribution/reference's behaviour.

import { describe, expect, it } from 'vitest';
import { EnvlockError } from '../../../core/errors.js';
import { parseReference, parseRegistryReference } from '../../../core/registry/reference.js';
import { shortened } from '../../../core/shown.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseRegistryReference', () => {
  const valid: [string, string, string, string | undefined, string | undefined][] = [
    ['ubuntu', 'docker.io', 'library/ubuntu', 'latest', undefined],
    ['ubuntu:22.04', 'docker.io', 'library/ubuntu', '22.04', undefined],
    ['user/repo', 'docker.io', 'user/repo', 'latest', undefined],
    ['docker.io/ubuntu', 'docker.io', 'library/ubuntu', 'latest', undefined],
    ['index.docker.io/user/x', 'docker.io', 'user/x', 'latest', undefined],
    ['localhost/repo', 'localhost', 'repo', 'latest', undefined],
    ['localhost:5000/a/b/c:v1', 'localhost:5000', 'a/b/c', 'v1', undefined],
    ['host:5000/path/repo:tag@' + D, 'host:5000', 'path/repo', 'tag', D],
    ['quay.example/org/img@' + D, 'quay.example', 'org/img', undefined, D],
    ['127.0.0.1:5000/busybox', '127.0.0.1:5000', 'busybox', 'latest', undefined],
    ['[::1]:5000/busybox:1', '[::1]:5000', 'busybox', '1', undefined],
    ['a/b__c/d-e.f_g--h:_Tag.1-x', 'docker.io', 'a/b__c/d-e.f_g--h', '_Tag.1-x', undefined],
    ['docker://registry.example/x:y', 'registry.example', 'x', 'y', undefined],
  ];
  it.each(valid)('%s', (input, registry, repository, tag, digest) => {
    const ref = parseRegistryReference(input);
    expect(ref.registry).toBe(registry);
    expect(ref.repository).toBe(repository);
    expect(ref.tag).toBe(tag);
    expect(ref.digest).toBe(digest);
  });

  it('builds the canonical form', () => {
    expect(parseRegistryReference('ubuntu').canonical()).toBe('docker.io/library/ubuntu:latest');
    expect(parseRegistryReference(`h.example/r:t@${D}`).canonical()).toBe(`h.example/r:t@${D}`);
    expect(parseRegistryReference(`h.example/r@${D}`).canonical()).toBe(`h.example/r@${D}`);
  });

  it('uses the configured default registry for unqualified names, without library/', () => {
    const ref = parseRegistryReference('busybox', { defaultRegistry: 'mirror.example:5000' });
    expect(ref.canonical()).toBe('mirror.example:5000/busybox:latest');
  });

  const invalid: [string, RegExp][] = [
    ['Ubuntu', /repository names must be lower-case/],
    ['localhost:5000/MyRepo', /repository names must be lower-case/],
    ['', /it is empty/],
    ['repo:', /tag "" is not valid/],
    ['repo:-bad', /tag "-bad" is not valid/],
    [`repo:${'t'.repeat(129)}`, /tag .* is not valid/],
    ['repo@sha256:abc', /is not a valid digest/],
    [`repo@sha256:${'A'.repeat(64)}`, /is not a valid digest/],
    ['a//b', /path component "" is not valid/],
    ['a/-b', /path component "-b" is not valid/],
    ['a/b_', /path component "b_" is not valid/],
    ['a/b___c', /path component "b___c" is not valid/],
    ['host.example/', /repository name is missing/],
    ['bad_host.example/x', /not a valid registry host/],
    ['a b', /white space/],
    [`h.example/${'a'.repeat(260)}`, /longer than 255/],
  ];
  it.each(invalid)('rejects %j', (input, message) => {
    let caught: unknown;
    try {
      parseRegistryReference(input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(EnvlockError);
    const error = caught as EnvlockError;
    expect(error.code).toBe('REFERENCE_INVALID');
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(message);
    // Echoed as written, a very long one cut in the middle (core/shown.ts).
    expect(error.message).toContain(JSON.stringify(shortened(input)));
    expect(error.hint).toBeTruthy();
  });

  it('suggests the lower-case spelling', () => {
    expect(() => parseRegistryReference('User/Repo')).toThrow(EnvlockError);
    try {
      parseRegistryReference('Ubuntu');
    } catch (error) {
      expect((error as EnvlockError).hint).toContain('"library/ubuntu"');
    }
  });
});

describe('local references', () => {
  it('parses oci: with and without a tag, relative to the base dir', () => {
    const a = parseReference('oci:images/layout:v1', { baseDir: '/base' });
    expect(a).toMatchObject({ kind: 'oci-layout', path: '/base/images/layout', tag: 'v1' });
    expect(a.canonical()).toBe('oci:/base/images/layout:v1');
    const b = parseReference('oci:/abs/dir', { baseDir: '/base' });
    expect(b).toMatchObject({ kind: 'oci-layout', path: '/abs/dir' });
    expect(b.tag).toBeUndefined();
  });

  it('parses oci-archive:', () => {
    expect(parseReference('oci-archive:img.tar:latest', { baseDir: '/w' })).toMatchObject({ kind: 'oci-archive', path: '/w/img.tar', tag: 'latest' });
  });

  it('rejects a missing path or an empty tag', () => {
    expect(() => parseReference('oci:')).toThrow(/the path is missing/);
    expect(() => parseReference('oci-archive:x.tar:')).toThrow(/tag "" is not valid/);
  });
});
