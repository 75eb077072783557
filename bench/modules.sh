#!/usr/bin/env bash
# Module shim speed against real Lmod (docs/modules.md "Speed"): a tree of N envlock modules and
# an equivalent tree of N Lua modulefiles; medians of RUNS fresh `bash -c` runs each, measured
# with hyperfine in one go: `module load A B`, `module avail`, `module spider`, and a wrapped
# command against `ch-run` on the same rootfs. Needs: a built envlock (npm run build and
# build:native, or ENVLOCK_LAUNCHER), Debian's lmod, hyperfine, charliecloud, busybox-static.
# Usage: bench/modules.sh [N=200] [RUNS=30]   (KEEP=1 keeps the work directory)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
n=${1:-200}
runs=${2:-30}
lmod_init=${LMOD_INIT:-/usr/share/lmod/lmod/init/bash}
for tool in hyperfine ch-run node; do
  command -v "$tool" >/dev/null || { echo "bench/modules.sh: $tool is not installed" >&2; exit 1; }
done
[ -r "$lmod_init" ] || { echo "bench/modules.sh: no Lmod init at $lmod_init (set LMOD_INIT)" >&2; exit 1; }
[ -f dist/cli/commands/module.js ] || { echo "bench/modules.sh: run \`npm run build\` first" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/envlock-bench-modules.XXXXXX")
chmod 755 "$work"
trap '[ -n "${KEEP-}" ] || rm -rf "$work"' EXIT
launcher=${ENVLOCK_LAUNCHER:-$repo/native/build/Release/envlock-launch}
if [ ! -x "$launcher" ]; then
  launcher=$work/envlock-launch
  mapfile -t sources < <(node scripts/launcher-sources.mjs)
  gcc -std=gnu11 -O2 -o "$launcher" "${sources[@]}"
fi
export ENVLOCK_LAUNCHER=$launcher ENVLOCK_STORE=$work/store HOME=$work/home
mkdir -p "$HOME"

echo "bench/modules.sh: publishing $n envlock modules and writing $n Lua modulefiles in $work" >&2
# One busybox rootfs shared by every module (each lock names the same manifest digest); each
# module is published through the real `envlock module publish` code from dist/.
node --input-type=module - "$repo" "$work" "$n" <<'EOF'
import fs from 'node:fs';
import path from 'node:path';
const [repo, work, count] = process.argv.slice(2);
const dist = (p) => import(path.join(repo, 'dist', p));
const { parseDeclaration } = await dist('core/declaration/load.js');
const { declarationHash, serializeLockfile } = await dist('lockfiles/index.js');
const { rootfsPathIn } = await dist('core/store/layout.js');
const { command } = await dist('cli/commands/module.js');
const { parseArgs } = await dist('cli/args.js');
const { makeContext } = await dist('core/context.js');
const digest = 'sha256:' + 'ab'.repeat(32);
const rootfs = rootfsPathIn(path.join(work, 'store'), digest);
for (const d of ['bin', 'etc', 'dev', 'proc', 'sys', 'tmp', 'root', 'home']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin/busybox'));
fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
for (const a of ['sh', 'true', 'echo', 'cat']) fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
for (const f of ['passwd', 'group', 'hosts', 'resolv.conf']) fs.writeFileSync(path.join(rootfs, 'etc', f), '');
fs.writeFileSync(path.join(rootfs, 'bin/tool'), '#!/bin/sh\necho tool 1.0\n', { mode: 0o755 });
for (let d = rootfs; d.startsWith(work); d = path.dirname(d)) fs.chmodSync(d, 0o755);
// The meta record a pull writes beside a rootfs: what it was built from, as every lock names it.
fs.writeFileSync(`${rootfs}.json`, JSON.stringify({ manifestDigest: digest, config: 'sha256:' + 'c'.repeat(64), layers: [{ digest: 'sha256:' + 'e'.repeat(64) }] }));
const env = { HOME: path.join(work, 'home'), ENVLOCK_STORE: path.join(work, 'store'), ENVLOCK_LAUNCHER: process.env.ENVLOCK_LAUNCHER };
const lua = path.join(work, 'lmod');
for (let i = 0; i < Number(count); i++) {
  const name = `mod${String(i).padStart(3, '0')}`;
  const dir = path.join(work, 'projects', name);
  fs.mkdirSync(dir, { recursive: true });
  const yaml = `version: 1\nenvironments:\n  ${name}:\n    image: registry.test/${name}:1.0\n    platforms: [linux/amd64]\n    description: "Benchmark module ${name}"\n    commands: [tool, "true"]\n`;
  fs.writeFileSync(path.join(dir, 'envlock.yaml'), yaml);
  const decl = parseDeclaration(yaml, path.join(dir, 'envlock.yaml'), 'yaml', { home: env.HOME });
  const d = (s) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:' + s.repeat(64), size: 1 });
  const lock = { version: 1, envlockVersion: '0.1.0', declarationHash: declarationHash(decl), environments: [{
    name, reference: `registry.test/${name}:1.0`, resolved: `registry.test/${name}:1.0`, platforms: ['linux/amd64'],
    host: { devices: [], gpu: 'none', mpi: 'none', libraries: [] },
    images: [{ platform: { os: 'linux', architecture: 'amd64' }, manifest: { ...d('a'), digest }, config: d('c'), layers: [d('e')], arch: { features: [] } }] }] };
  fs.writeFileSync(path.join(dir, 'envlock.lock'), serializeLockfile(lock));
  for (const version of ['1.0', '2.0']) {
    await command.run(parseArgs(['publish', version, '--no-index', '--tree', path.join(work, 'tree')], command), makeContext({ cwd: dir, env }));
    fs.mkdirSync(path.join(lua, name), { recursive: true });
    fs.writeFileSync(path.join(lua, name, `${version}.lua`),
      `whatis("Description: Benchmark module ${name}")\nhelp([[Benchmark module]])\nprepend_path("PATH", "${path.join(work, 'lmodbin', name)}")\nsetenv("BENCH_${i}", "${version}")\n`);
  }
}
await command.run(parseArgs(['index', path.join(work, 'tree')], command), makeContext({ cwd: work, env }));
// The CLI the shim falls back to (spider): the `module` command from dist/.
fs.writeFileSync(path.join(work, 'envlock-module.mjs'), [
  `const { command } = await import(${JSON.stringify(path.join(repo, 'dist/cli/commands/module.js'))});`,
  `const { parseArgs } = await import(${JSON.stringify(path.join(repo, 'dist/cli/args.js'))});`,
  `const { makeContext } = await import(${JSON.stringify(path.join(repo, 'dist/core/context.js'))});`,
  'const out = await command.run(parseArgs(process.argv.slice(3), command), makeContext({ cwd: process.cwd(), env: process.env }));',
  'process.stdout.write(out.text ?? "");',
].join('\n'));
fs.writeFileSync(path.join(work, 'envlock'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(work, 'envlock-module.mjs'))} "$@"\n`, { mode: 0o755 });
EOF

shim=$repo/shim/envlock.sh
# `envlock` itself when it is installed with the module command, else the stand-in above.
if envlock module --help >/dev/null 2>&1; then export ENVLOCK_CLI=envlock; else export ENVLOCK_CLI=$work/envlock; fi
tree=$work/tree
export ENVLOCK_MODULEPATH=$tree MODULEPATH=$work/lmod USER=${USER:-$(id -un)}
rootfs=$(readlink "$tree"/mod000/2.0/.envlock/*/rootfs)
wrapper=$(echo "$tree"/mod000/2.0/.envlock/*/bin/tool)
wrapped_true=$(echo "$tree"/mod000/2.0/.envlock/*/bin/true)
a=$(printf 'mod%03d' $((n / 2)))
b=$(printf 'mod%03d' $((n - 1)))

hyperfine --style basic --warmup 3 --runs "$runs" --export-json "$work/result.json" -N \
  -n 'bash floor' "bash -c :" \
  -n 'envlock load A B' "bash -c '. $shim; module load $a $b'" \
  -n 'lmod load A B' "bash -c '. $lmod_init; module load $a $b'" \
  -n 'envlock avail' "bash -c '. $shim; module avail 2>/dev/null'" \
  -n 'lmod avail' "bash -c '. $lmod_init; module avail 2>/dev/null'" \
  -n 'envlock spider' "bash -c '. $shim; module spider >/dev/null 2>&1'" \
  -n 'lmod spider' "bash -c '. $lmod_init; module spider >/dev/null 2>&1'" >&2

# A wrapped command against ch-run on the same rootfs, twice: with the caller's $HOME bound
# (ch-run --home; the image has no such directory, so both need a mount point made for it) and
# without ($HOME set to a missing directory, which the wrapper then leaves out).
hyperfine --style basic --warmup 5 --runs "$runs" --export-json "$work/result-home.json" -N \
  -n 'wrapped command, $HOME bound' "$wrapper" \
  -n 'ch-run --home' "ch-run --home $rootfs -- /bin/tool" >&2
HOME=/nonexistent hyperfine --style basic --warmup 5 --runs "$runs" --export-json "$work/result-nohome.json" -N \
  -n 'wrapped command' "$wrapper" \
  -n 'ch-run' "ch-run $rootfs -- /bin/tool" \
  -n 'wrapped true' "$wrapped_true" \
  -n 'ch-run true' "ch-run $rootfs -- /bin/true" >&2

# Medians and ratios from hyperfine's JSON (the `median` of each command, in seconds), and the
# wrappers' CPU time against ch-run's.
node --input-type=module - "$work/result.json" "$work/result-home.json" "$work/result-nohome.json" <<'EOF'
import fs from 'node:fs';
const results = process.argv.slice(2).flatMap((file) => JSON.parse(fs.readFileSync(file, 'utf8')).results);
const m = Object.fromEntries(results.map((r) => [r.command, r.median * 1000]));
const row = (label, value) => console.log(`${label.padEnd(46)} ${value}`);
for (const [k, v] of Object.entries(m)) row(`median ${k}`, `${v.toFixed(1)} ms`);
const ratio = (a, b, target) => row(`${a} / ${b}`, `${(m[a] / m[b]).toFixed(3)} (target <= ${target})`);
ratio('envlock load A B', 'lmod load A B', 0.15);
ratio('envlock avail', 'lmod avail', 0.15);
ratio('envlock spider', 'lmod spider', '-');
ratio('wrapped command', 'ch-run', 1.15);
ratio('wrapped true', 'ch-run true', 1.15);
ratio('wrapped command, $HOME bound', 'ch-run --home', 1.15);
// CPU time (mean user + system) moves less than wall time on a shared machine.
const cpu = Object.fromEntries(results.map((r) => [r.command, (r.user + r.system) * 1000]));
for (const [a, b] of [['wrapped true', 'ch-run true'], ['wrapped command', 'ch-run']]) {
  row(`CPU time: ${a} / ${b}`, `${(cpu[a] / cpu[b]).toFixed(3)} (${cpu[a].toFixed(1)} vs ${cpu[b].toFixed(1)} ms)`);
}
EOF
