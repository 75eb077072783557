// Bind mounts: both spellings, source resolution against the declaration, target safety.

import { describe, expect, it } from 'vitest';
import { errorOf, HOME, issuesOf, oneEnv, parseYaml } from './helpers.js';

function binds(list: string) {
  return parseYaml(oneEnv(`image: a\nbinds: ${list}`)).environments[0]!.binds;
}

function bindIssue(list: string) {
  const issues = issuesOf(errorOf(() => binds(list)));
  expect(issues).toHaveLength(1);
  return issues[0]!;
}

describe('binds', () => {
  it('read SRC, SRC:DST and SRC:DST:MODE strings', () => {
    expect(binds('[/data, "rel/dir:/in", "~:/home/me:ro", "~/x::rw"]')).toEqual([
      { source: '/data', target: '/data', readOnly: false },
      { source: '/proj/rel/dir', target: '/in', readOnly: false },
      { source: HOME, target: '/home/me', readOnly: true },
      { source: `${HOME}/x`, target: `${HOME}/x`, readOnly: false },
    ]);
  });

  it('read tables, which allow a colon in the path', () => {
    expect(binds('[{source: "/a:b", target: "/mnt//x/./y/", read-only: true}]')).toEqual([{ source: '/a:b', target: '/mnt/x/y', readOnly: true }]);
  });

  it('refuse a relative target, `..` in a target and `/` as a target', () => {
    expect(bindIssue('["/a:rel"]').message).toContain('the target `rel` must be an absolute path');
    expect(bindIssue('["/a:/x/../../etc"]').message).toContain('must not contain `..`');
    expect(bindIssue('["/a:/"]').message).toContain('must not be `/`');
    expect(bindIssue('[{source: /a, target: "/b/.."}]').path).toBe('environments.e.binds[0].target');
  });

  it('refuse bad modes, extra colons, other users and empty sources', () => {
    expect(bindIssue('["/a:/b:rx"]').message).toBe('the mode `rx` in `/a:/b:rx` must be `ro` or `rw`.');
    expect(bindIssue('["/a:/b:ro:x"]').message).toContain('too many `:`');
    expect(bindIssue('["~bob/data:/d"]').message).toContain("another user's home");
    expect(bindIssue('[":/d"]').message).toBe('the source path is empty.');
  });

  it('refuse a second bind onto the same target', () => {
    const issue = bindIssue('["/a:/data", "/b:/data/"]');
    expect(issue.path).toBe('environments.e.binds[1]');
    expect(issue.message).toContain('already bound by environments.e.binds[0]');
  });

  it('check table keys and types', () => {
    expect(bindIssue('[{source: /a, taget: /b}]').message).toBe('unknown key. Did you mean `target`?');
    expect(bindIssue('[{target: /b}]').path).toBe('environments.e.binds[0].source');
    expect(bindIssue('[{source: /a, read-only: "yes"}]').message).toBe('expected true or false, got a string.');
    expect(bindIssue('[5]').message).toContain('expected a string SRC[:DST[:ro|rw]] or a table');
    expect(bindIssue('"/a:/b"').message).toBe('expected a list of binds, got a string.');
  });
});
