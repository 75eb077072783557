#!/bin/bash
# Cold and warm `envlock pull` of a ~125 MB Debian image from a loopback registry, in both image
# forms (a tree, one squashfs file), timed as an unprivileged user next to skopeo+umoci, ch-image
# and a bare `tar -xzf` (the floor), then a profile of where envlock's time goes. See
# docs/benchmarks.md ("pull"). Target (issue 10): a cold squashfs pull <= 0.5x ch-image pull.
# Usage (as root, from the repository root): bench/pull.sh   env: RUNS=5 WARM_RUNS=30 PROFILE=1
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "bench/pull.sh: run it as root (it installs packages, then measures as nobody)" >&2; exit 1; }
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=pull-image.sh
source "$bench_repo/bench/pull-image.sh"
trap '[ -n "${bench_tls_registry_pid:-}" ] && kill "$bench_tls_registry_pid" 2>/dev/null; bench_cleanup' EXIT

runs=${RUNS:-5}
warm_runs=${WARM_RUNS:-30}
user=${BENCH_USER:-nobody}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/envlock-bench

bench_need debootstrap skopeo umoci charliecloud python3-lark python3-requests hyperfine \
  docker-registry curl strace openssl
command -v node >/dev/null || { echo "bench/pull.sh: Node.js 20 is needed" >&2; exit 1; }

# envlock itself, built if this is a fresh clone, then copied so a rebuild while the benchmark
# runs cannot change what is measured (and so nobody can read it wherever the clone lives).
if [ ! -f "$bench_repo/dist/cli/main.js" ]; then
  (cd "$bench_repo" && { [ -d node_modules ] || npm ci; } && npm run build)
fi
chmod 755 "$bench_tmp"
el=$bench_tmp/envlock
mkdir -p "$el"
# native/: the addon decodes gzip and zstd layers (and the launcher enters images).
cp -a "$bench_repo/dist" "$bench_repo/node_modules" "$bench_repo/package.json" "$bench_repo/native" "$el/"
envlock="node $el/dist/cli/main.js"

# The image: built once into the cache, pushed to a fresh registry each run.
mkdir -p "$cache"
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
bench_debian_root "$cache/debian-$suite-minbase"
bench_layer "$cache/debian-$suite-minbase" "$cache/debian-$suite-minbase-layer"
cp "$cache/debian-$suite-minbase-layer.tar.gz" "$bench_tmp/layer.tar.gz"
gzip -dc "$bench_tmp/layer.tar.gz" >"$bench_tmp/layer.tar"
bench_registry
bench_tls_registry
bench_push_image "$bench_registry" bench/debian:latest "$bench_tmp/layer.tar.gz" "$(cat "$cache/debian-$suite-minbase-layer.diffid")"
layer_digest="sha256:$(sha256sum "$bench_tmp/layer.tar.gz" | cut -d' ' -f1)"
echo "image: $bench_registry/bench/debian:latest, one layer of $(du -m "$bench_tmp/layer.tar.gz" | cut -f1) MB gzip," \
  "$(du -m "$bench_tmp/layer.tar" | cut -f1) MB tar, $(tar -tf "$bench_tmp/layer.tar" | wc -l) entries"

# Everything the measured commands write lives in $w, owned by the unprivileged user.
w=$bench_tmp/w
s=$w/s
proj=$w/project
mkdir -p "$w/home" "$proj"
cat >"$proj/envlock.yaml" <<YAML
version: 1
environments:
  debian:
    image: $bench_registry/bench/debian:latest
    platforms: [linux/amd64]
YAML
chown -R "$user" "$w"
cd "$w"
as_user() {
  runuser -u "$user" -- env -i PATH="$(dirname "$(command -v node)"):/usr/local/bin:/usr/bin:/bin" \
    HOME="$w/home" USER="$user" LANG=C.UTF-8 TMPDIR="$w" XDG_CACHE_HOME="$s/cache" "$@"
}
# sync: the previous run's deletions and write-back must not land inside the next timed run.
wipe="chmod -R u+w $s 2>/dev/null; rm -rf $s; mkdir -p $s/cache; sync"
as_user $envlock -C "$proj" -q lock

ref=bench/debian:latest
names=('envlock (tree)' 'envlock (squashfs)' skopeo+umoci ch-image 'tar -xzf (floor)')
cmds=(
  "$envlock -C $proj --store $s/envlock -q pull --image-format tree"
  "$envlock -C $proj --store $s/envlock -q pull --image-format squashfs"
  "skopeo copy -q --src-tls-verify=false docker://$bench_registry/$ref oci:$s/oci:latest && umoci --log error unpack --rootless --image $s/oci:latest $s/bundle"
  # ch-image 0.31 only speaks HTTPS to registries (registry.py builds https:// URLs), hence the
  # TLS twin of the registry; TLS on loopback costs it a few tens of ms for this image.
  "ch-image --no-cache -s $s/ch --tls-no-verify pull $bench_tls_registry/$ref"
  "mkdir $s/tar && tar -xzf $bench_tmp/layer.tar.gz -C $s/tar"
)

# One trial of each first: a peer that cannot pull here is reported and left out, not fatal.
args=()
kept=()
for i in "${!cmds[@]}"; do
  as_user sh -c "$wipe"
  if as_user sh -c "${cmds[$i]}" >"$w/trial.log" 2>&1; then
    args+=(-n "${names[$i]}" "${cmds[$i]}")
    kept+=("${names[$i]}")
  else
    echo "bench: ${names[$i]} failed here and is left out; its output:" >&2
    tail -n 15 "$w/trial.log" >&2
    [ "$i" -le 1 ] && exit 1
  fi
done

echo
echo "== cold pull (empty stores), as $user, $runs runs each"
as_user hyperfine --style basic --warmup 1 --runs "$runs" --prepare "$wipe" --export-json "$w/cold.json" "${args[@]}"

echo
echo "== warm pull (image already in the store) against node start-up"
as_user sh -c "$wipe"
as_user $envlock -C "$proj" --store "$s/envlock" -q pull
warm=(-n 'envlock pull (warm)' "$envlock -C $proj --store $s/envlock -q pull")
if [ -f "$el/dist/bundle/envlock.js" ]; then
  warm+=(-n 'bundled envlock pull (warm)' "node $el/dist/bundle/envlock.js -C $proj --store $s/envlock -q pull")
fi
# --help loads the same modules as a pull and does nothing else: the start-up share of a pull.
warm+=(-n 'envlock pull --help' "$envlock pull --help")
warm+=(-n 'node -e 0' 'node -e 0')
as_user hyperfine --style basic -N --warmup 3 --runs "$warm_runs" --export-json "$w/warm.json" "${warm[@]}"

echo
echo "== results"
node - "$w/cold.json" "$w/warm.json" <<'JS'
const [cold, warm] = process.argv.slice(2).map((f) => require(f).results);
const ms = (s) => (s * 1000).toFixed(0);
const by = (rs, n) => rs.find((r) => r.command === n);
const floor = by(cold, 'tar -xzf (floor)');
const row = (r, base) => `| ${r.command} | ${ms(r.median)} | ${ms(r.min)}–${ms(r.max)} | ${ms(r.user)} | ${ms(r.system)} | ${base ? (r.median / base.median).toFixed(2) : ''} |`;
console.log('| cold pull | median ms | range ms | user ms | sys ms | × tar floor |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of cold) console.log(row(r, floor));
const node0 = by(warm, 'node -e 0');
console.log('\n| warm | median ms | range ms | user ms | sys ms | × node -e 0 |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of warm) console.log(row(r, node0));
const tree = by(cold, 'envlock (tree)');
const sqfs = by(cold, 'envlock (squashfs)');
const peers = cold.filter((r) => !r.command.startsWith('envlock') && r !== floor);
console.log('');
const ch = by(cold, 'ch-image');
if (ch) {
  const ratio = sqfs.median / ch.median;
  console.log(`cold: envlock (squashfs) / ch-image = ${ratio.toFixed(2)}  (target ≤ 0.50: ${ratio <= 0.5 ? 'met' : 'NOT met'})`);
}
for (const e of [tree, sqfs]) {
  if (peers.length) {
    const best = peers.reduce((a, b) => (a.median <= b.median ? a : b));
    console.log(`cold: ${e.command} / fastest peer (${best.command}) = ${(e.median / best.median).toFixed(2)}`);
  }
  if (floor) console.log(`cold: ${e.command} / tar -xzf floor = ${(e.median / floor.median).toFixed(2)}`);
}
const w = by(warm, 'envlock pull (warm)');
const wr = w.median / node0.median;
console.log(`warm: envlock pull / node -e 0 = ${wr.toFixed(2)}  (target ≤ 1.50: ${wr <= 1.5 ? 'met' : 'NOT met'})`);
JS

[ "${PROFILE:-1}" = 1 ] || exit 0
echo
echo "== where a cold envlock pull spends its time"
echo "-- the pieces, measured alone (download, hash, decompress, file creation)"
as_user sh -c "$wipe"
as_user hyperfine --style basic --runs 3 --prepare "rm -rf $s/x" \
  -n 'download (curl > /dev/null)' "curl -fsS -o /dev/null http://$bench_registry/v2/bench/debian/blobs/$layer_digest" \
  -n 'hash (sha256sum .tar.gz)' "sha256sum $bench_tmp/layer.tar.gz" \
  -n 'decompress (gzip -dc)' "gzip -dc $bench_tmp/layer.tar.gz" \
  -n 'decompress (node zlib)' "node -e 'require(\"zlib\").gunzipSync(require(\"fs\").readFileSync(process.argv[1]))' $bench_tmp/layer.tar.gz" \
  -n 'create files (tar -xf .tar)' "mkdir $s/x && tar -xf $bench_tmp/layer.tar -C $s/x" 2>&1 | grep -E '^(Benchmark|  Time)'
echo "-- node --cpu-prof of one cold envlock pull (main thread only; zlib and fs work in libuv's pool shows as idle)"
as_user sh -c "$wipe"
as_user node --cpu-prof --cpu-prof-dir="$w/prof" "$el/dist/cli/main.js" -C "$proj" --store "$s/envlock" -q pull
node "$bench_repo/bench/cpuprofile-summary.mjs" "$w"/prof/*.cpuprofile 12
echo "-- node --cpu-prof of one warm envlock pull, by activity"
as_user node --cpu-prof --cpu-prof-dir="$w/prof-warm" "$el/dist/cli/main.js" -C "$proj" --store "$s/envlock" -q pull >/dev/null
node "$bench_repo/bench/cpuprofile-summary.mjs" "$w"/prof-warm/*.cpuprofile 8 | sed -n '/activity/,$p'
echo "-- strace -c -f, syscalls by count: envlock cold pull"
as_user sh -c "$wipe"
as_user strace -f -c -S calls -o "$w/strace-envlock.txt" $envlock -C "$proj" --store "$s/envlock" -q pull
head -n 16 "$w/strace-envlock.txt"; tail -n 1 "$w/strace-envlock.txt"
echo "-- strace -c -f, syscalls by count: tar -xzf"
as_user sh -c "$wipe; mkdir $s/tar"
as_user strace -f -c -S calls -o "$w/strace-tar.txt" tar -xzf "$bench_tmp/layer.tar.gz" -C "$s/tar"
head -n 16 "$w/strace-tar.txt"; tail -n 1 "$w/strace-tar.txt"
