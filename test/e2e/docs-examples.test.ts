// The shell examples of README.md and docs/*.md marked with `<!-- docs-test -->` run as a user
// would type them, so documentation and behaviour cannot drift apart. A file's marked blocks run
// in order as one bash script in a fresh directory with a fresh HOME and store, `envlock` on
// PATH, and `registry.example.org` served by the local test registry (a registries.conf entry,
// the way a site points a name at its own registry); nothing leaves the machine.
//   ```sh       runs under `set -e`: every command must succeed.
//   ```console  `$ ` starts a command (`> ` continues it), the lines after it are what it prints
//               (stdout and stderr together): `...` alone stands for any lines, `…` for any text
//               within a line. A command may fail here, as at a prompt; its output must match.

import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI_PATH, makeTempDir, REPO_ROOT, removeTempDirs } from '../helpers/cli.js';
import { busyboxLayer } from '../helpers/busybox-layer.js';
import { buildImage } from '../helpers/image-builder.js';
import { pushImage } from '../helpers/registry-push.js';
import { consoleSteps, markedExamples, matchesOutput, type Example } from './docs-examples-parse.js';

const registry = inject('registry');

const files = ['README.md', ...readdirSync(join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const examples = files.flatMap((f) => markedExamples(f, readFileSync(join(REPO_ROOT, f), 'utf8')));
const byFile = [...new Set(examples.map((e) => e.file))];
let bin: string;
let conf: string;

beforeAll(async () => {
  // What the docs call registry.example.org/lab/analysis:2.0: busybox with the analysis-tool they run.
  const layer = busyboxLayer([{ path: 'usr/bin/analysis-tool', type: 'file', mode: 0o755, content: '#!/bin/sh\necho "analysis-tool 2.0"\n' }]);
  const image = buildImage({ layers: [layer], config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'], Cmd: ['/bin/sh'] }, platform: { os: 'linux', architecture: 'amd64' }, createdBy: 'docs examples' });
  await pushImage(registry, 'lab/analysis', '2.0', image);
  const base = makeTempDir('docs');
  chmodSync(base, 0o755);
  bin = join(base, 'bin');
  spawnSync('mkdir', [bin]);
  writeFileSync(join(bin, 'envlock'), `#!/bin/sh\nexec '${process.execPath}' '${CLI_PATH}' "$@"\n`, { mode: 0o755 });
  conf = join(base, 'registries.conf');
  writeFileSync(conf, `[[registry]]\nprefix = "registry.example.org"\nlocation = "${registry}"\n`);
}, 60_000);
afterAll(() => removeTempDirs());

const marker = (n: number) => `@@docs-test-step-${n}@@`;

/** One bash script for a file's examples; each console command is preceded by its marker. */
function script(blocks: Example[]): { text: string; expected: { where: string; command: string; output: string[] }[] } {
  const parts = ['exec 2>&1', 'set -uo pipefail'];
  const expected: { where: string; command: string; output: string[] }[] = [];
  for (const block of blocks) {
    if (block.kind === 'sh') {
      parts.push(`# ${block.file}:${block.line}`, 'set -e', block.code, 'set +e');
      continue;
    }
    for (const step of consoleSteps(block)) {
      parts.push(`printf '%s\\n' '${marker(expected.length)}'`, `# ${step.where}`, step.command);
      expected.push(step);
    }
  }
  parts.push(`printf '%s\\n' '${marker(expected.length)}'`);
  return { text: parts.join('\n'), expected };
}

describe('marked shell examples in the docs', () => {
  it('are found in README and several documents, console transcripts included', () => {
    expect(byFile).toEqual(expect.arrayContaining(['README.md', 'docs/modules.md', 'docs/errors.md', 'docs/lockfile.md', 'docs/store.md']));
    expect(examples.some((e) => e.kind === 'console')).toBe(true);
  });

  const cases = byFile.flatMap((file) => [{ file, user: 'root' }, { file, user: 'nobody' }]);
  it.each(cases)('$file: its marked examples run, in order, and print what they show (as $user)', ({ file, user }) => {
    const { text, expected } = script(examples.filter((e) => e.file === file));
    const forUser = user === 'nobody' ? { forUser: 'nobody' as const } : {};
    const home = makeTempDir('docs-home', forUser);
    const work = makeTempDir('docs-work', forUser);
    const env: Record<string, string> = {
      PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
      HOME: home,
      ENVLOCK_STORE: join(home, 'store'),
      CONTAINERS_REGISTRIES_CONF: conf,
      NO_COLOR: '1',
      LC_ALL: 'C',
    };
    const argv = user === 'nobody'
      ? ['/usr/sbin/runuser', '-u', 'nobody', '--', '/usr/bin/env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), '/bin/bash', '-c', text]
      : ['/bin/bash', '-c', text];
    const r = spawnSync(argv[0]!, argv.slice(1), { cwd: work, encoding: 'utf8', timeout: 180_000, env });
    const report = `${file} examples failed:\n--- script\n${text}\n--- output\n${r.stdout}${r.stderr}`;
    expect(r.status, report).toBe(0);
    expect(r.stdout).not.toMatch(/internal error|\n\s+at /);
    // What each console command printed: the text between its marker and the next one.
    for (const [n, step] of expected.entries()) {
      const start = r.stdout.indexOf(`${marker(n)}\n`);
      const end = r.stdout.indexOf(marker(n + 1));
      expect(start, report).toBeGreaterThanOrEqual(0);
      const printed = r.stdout.slice(start + marker(n).length + 1, end);
      expect(matchesOutput(step.output, printed), `${step.where}: \`${step.command}\` printed:\n${printed}\n--- the docs show:\n${step.output.join('\n')}`).toBe(true);
    }
  });
});

describe('the transcript matcher', () => {
  it('fails on output the docs do not show', () => {
    expect(matchesOutput(['exit 3'], 'exit 3\n')).toBe(true);
    expect(matchesOutput(['exit 3'], 'exit 1\n')).toBe(false);
    expect(matchesOutput(['...', 'exit 3'], 'a\nb\nexit 3\n')).toBe(true);
    expect(matchesOutput(['error: …', 'exit 3'], 'error: stale lock\nexit 3\n')).toBe(true);
    expect(matchesOutput(['error: …'], 'error: stale\nhint: more\n')).toBe(false);
    expect(matchesOutput([], 'anything\n')).toBe(false);
  });
});
