// The shell examples of README.md and docs/*.md marked with `<!-- docs-test -->` run as a user
// would type them, so documentation and behaviour cannot drift apart: a file's marked blocks run
// in order as one bash script (set -euo pipefail) in a fresh directory with a fresh HOME and
// store, `envlock` on PATH, and `registry.example.org` served by the local test registry
// (a registries.conf entry, the way a site points a name at its own registry). Offline
// otherwise: nothing leaves the machine.

import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI_PATH, makeTempDir, REPO_ROOT, removeTempDirs } from '../helpers/cli.js';
import { busyboxLayer } from '../helpers/busybox-layer.js';
import { buildImage } from '../helpers/image-builder.js';
import { pushImage } from '../helpers/registry-push.js';

const registry = inject('registry');
const MARK = '<!-- docs-test -->';

interface Example {
  file: string;
  line: number;
  code: string;
}

/** The marked ```sh blocks of a Markdown file: the marker on the line right before the fence. */
function markedExamples(file: string, text: string): Example[] {
  const lines = text.split('\n');
  const found: Example[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    if (lines[i]!.trim() !== MARK) continue;
    if (!/^```(sh|bash)\s*$/.test(lines[i + 1]!)) throw new Error(`${file}:${i + 1}: ${MARK} must stand right before a \`\`\`sh block`);
    const end = lines.findIndex((l, j) => j > i + 1 && l.startsWith('```'));
    found.push({ file, line: i + 3, code: lines.slice(i + 2, end).join('\n') });
  }
  return found;
}

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

describe('marked shell examples in the docs', () => {
  it('are found: README and docs/modules.md have some', () => {
    expect(byFile).toEqual(expect.arrayContaining(['README.md', 'docs/modules.md']));
  });

  const cases = byFile.flatMap((file) => [{ file, user: 'root' }, { file, user: 'nobody' }]);
  it.each(cases)('$file: its marked examples run, in order, as written (as $user)', ({ file, user }) => {
    const blocks = examples.filter((e) => e.file === file);
    const script = ['set -euo pipefail', ...blocks.map((b) => `# ${b.file}:${b.line}\n${b.code}`)].join('\n');
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
      ? ['/usr/sbin/runuser', '-u', 'nobody', '--', '/usr/bin/env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), '/bin/bash', '-c', script]
      : ['/bin/bash', '-c', script];
    const r = spawnSync(argv[0]!, argv.slice(1), { cwd: work, encoding: 'utf8', timeout: 180_000, env });
    expect(r.status, `${file} examples failed:\n--- script\n${script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`).toBe(0);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  });
});
