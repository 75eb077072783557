// Broken CDI specs through `envlock run`, as root and as nobody: each is refused before anything
// runs with the documented code and exit status, a message naming the spec file (and the field),
// and no stack trace.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir, removeTempDirs } from '../../helpers/cli.js';
import { CALLERS, pulledProject, run, type RunProject } from '../run/run-helpers.js';
import { makeReadable } from './host-fixtures.js';

const registry = inject('registry');
let root: string;

/** A device spec of kind example.com/widget; `edits` is the YAML of device `one`'s containerEdits. */
function spec(edits: string[], options: { version?: string; name?: string } = {}): string {
  return [
    `cdiVersion: "${options.version ?? '0.6.0'}"`,
    'kind: example.com/widget',
    'devices:',
    `  - name: ${options.name ?? 'one'}`,
    '    containerEdits:',
    ...edits.map((line) => `      ${line}`),
    '',
  ].join('\n');
}

interface Case {
  title: string;
  files: Record<string, string>;
  code: string;
  exit: number;
  /** Text the message must contain besides the file name. */
  mentions: string[];
  /** The file the message must name (default: the first). */
  blames?: string;
  env?: string;
}

const CASES: Case[] = [
  { title: 'an unreleased cdiVersion', files: { 'v.yaml': spec(['env: [A=1]'], { version: '9.9.9' }) }, code: 'CDI_INVALID', exit: 1, mentions: ['cdiVersion', '9.9.9'] },
  { title: 'an unknown field', files: { 'u.yaml': spec(['mountz: []']) }, code: 'CDI_INVALID', exit: 1, mentions: ['devices[0].containerEdits.mountz', 'unknown field'] },
  { title: 'a relative host path', files: { 'r.yaml': spec(['deviceNodes:', '  - path: /dev/widget0', '    hostPath: dev/null']) }, code: 'CDI_INVALID', exit: 1, mentions: ['hostPath'] },
  { title: 'a container path that climbs out', files: { 'e.json': JSON.stringify({ cdiVersion: '0.6.0', kind: 'example.com/widget', devices: [{ name: 'one', containerEdits: { mounts: [{ hostPath: '/dev/null', containerPath: '/opt/../../etc/shadow' }] } }] }) }, code: 'CDI_INVALID', exit: 1, mentions: ['containerPath'] },
  { title: 'a field newer than the file\'s version', files: { 'o.yaml': spec(['deviceNodes:', '  - path: /dev/widget0', '    hostPath: /dev/null'], { version: '0.4.0' }) }, code: 'CDI_INVALID', exit: 1, mentions: ['hostPath'] },
  { title: 'YAML that does not parse', files: { 'p.yaml': 'cdiVersion: "0.6.0"\nkind: [unclosed\n' }, code: 'CDI_INVALID', exit: 1, mentions: ['does not parse'] },
  { title: 'one device defined by two files in one directory', files: { 'a.yaml': spec(['env: [A=1]']), 'b.yaml': spec(['env: [A=2]']) }, code: 'CDI_CONFLICT', exit: 1, mentions: ['example.com/widget=one', 'a.yaml'], blames: 'b.yaml' },
  {
    title: 'two requested devices whose edits contradict',
    files: { 'w.yaml': `${spec(['env: [WIDGET_MODE=fast]'])}  - name: two\n    containerEdits:\n      env: [WIDGET_MODE=slow]\n` },
    code: 'CDI_CONFLICT', exit: 1, mentions: ['WIDGET_MODE'], env: 'both',
  },
  { title: 'a hook envlock cannot apply itself', files: { 'h.yaml': spec(['hooks:', '  - hookName: createContainer', '    path: /usr/local/bin/widget-hook', '    args: [widget-hook, --setup]']) }, code: 'CDI_HOOK_FORBIDDEN', exit: 4, mentions: ['/usr/local/bin/widget-hook'] },
];

beforeAll(() => {
  root = makeTempDir('host-cdi-invalid');
  for (const [i, c] of CASES.entries()) {
    const dir = join(root, `case-${i}`);
    mkdirSync(dir);
    for (const [name, text] of Object.entries(c.files)) writeFileSync(join(dir, name), text);
  }
  makeReadable(root);
});
afterAll(() => removeTempDirs());

describe.each(CALLERS)('malformed CDI specs through envlock run, as $name', (caller) => {
  let project: RunProject;
  beforeAll(async () => {
    const env = (name: string, devices: string): string[] => [`  ${name}:`, `    image: ${registry}/busybox:latest`, '    platforms: [linux/amd64]', `    host: { devices: [${devices}] }`];
    project = await pulledProject(caller, ['version: 1', 'environments:', ...env('one', 'example.com/widget=one'), ...env('both', 'example.com/widget=one, example.com/widget=two'), ''].join('\n'));
  });

  it.each(CASES.map((c, i) => ({ ...c, i })))('refuses $title with $code', async (c) => {
    const dir = join(root, `case-${c.i}`);
    const blamed = join(dir, c.blames ?? Object.keys(c.files)[0]!);
    const args = ['run', c.env ?? 'one', '--', 'sh', '-c', 'echo RAN'];
    const text = await run(project, args, { env: { ENVLOCK_CDI_DIRS: dir } });
    expect(text.code).toBe(c.exit);
    expect(text.stdout).not.toContain('RAN');
    expect(text.stderr).toContain(blamed);
    for (const m of c.mentions) expect(text.stderr).toContain(m);
    expect(text.stderr).toMatch(/^hint: /m);
    expect(text.stderr).not.toMatch(/\n\s+at /);
    const json = await run(project, ['run', '--json', ...args.slice(1)], { env: { ENVLOCK_CDI_DIRS: dir } });
    expect(json.json<{ error: { code: string; exitCode: number } }>().error).toMatchObject({ code: c.code, exitCode: c.exit });
  });
});
