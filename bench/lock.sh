#!/usr/bin/env bash
# envlock lock of 20 environments vs 20 sequential `skopeo inspect` calls against the same real
# registry (loopback, no TLS, no auth), and `lock --check` vs `node -e 0`; everything timed runs as
# an unprivileged user (BENCH_USER, default nobody), medians of hyperfine runs, ratios from one run.
# Targets (issue 14): lock <= 0.25x the skopeo loop; lock --check <= 1.5x node start-up.
# PROFILE=1 (the default) ends with a CPU profile of one lock, by activity.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
bench_need docker-registry skopeo hyperfine curl busybox-static
cd "$bench_repo"
[ -f dist/bundle/envlock.js ] || npm ci --no-audit --no-fund
node scripts/build-example-image.mjs "$bench_tmp/layout" >/dev/null
bench_registry
runs=${RUNS:-10}
user=${BENCH_USER:-nobody}
prefix=""
[ "$(id -u)" = 0 ] && prefix="setpriv --reuid=$(id -u "$user") --regid=$(id -g "$user") --clear-groups -- "

project="$bench_tmp/project"
mkdir -p "$project"
{
  echo "version: 1"
  echo "environments:"
  for i in $(seq -w 1 20); do
    skopeo copy -q --all --dest-tls-verify=false "oci:$bench_tmp/layout:latest" "docker://$bench_registry/bench/img$i:latest"
    printf '  env%s:\n    image: %s/bench/img%s:latest\n    platforms: [linux/amd64]\n' "$i" "$bench_registry" "$i"
  done
} > "$project/envlock.yaml"
chmod -R a+rwX "$bench_tmp"
[ "$(id -u)" = 0 ] && chown -R "$user" "$project"
export HOME="$bench_tmp/home" XDG_RUNTIME_DIR="$bench_tmp/run" ENVLOCK_STORE="$bench_tmp/store"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
[ "$(id -u)" = 0 ] && chown "$user" "$HOME" "$XDG_RUNTIME_DIR"
with_env="env HOME=$HOME XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR ENVLOCK_STORE=$ENVLOCK_STORE"

inspect_loop="for i in \$(seq -w 1 20); do skopeo inspect --tls-verify=false --format '{{.Digest}}' docker://$bench_registry/bench/img\$i:latest >/dev/null; done"
envlock="node $bench_repo/dist/bundle/envlock.js -C $project"
$prefix $with_env $envlock lock >/dev/null
$prefix $with_env $envlock --offline lock --check >/dev/null
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
hyperfine -N --warmup 1 --runs "$runs" --export-json "$bench_tmp/lock.json" \
  "$prefix$with_env $envlock lock" \
  "$prefix$with_env bash -c \"$inspect_loop\"" >&2
hyperfine -N --warmup 3 --runs $((runs * 4)) --export-json "$bench_tmp/check.json" \
  "$prefix$with_env $envlock --offline lock --check" \
  "$prefix$with_env node -e 0" >&2
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

lock=$(bench_median "$bench_tmp/lock.json" 0)
skopeo=$(bench_median "$bench_tmp/lock.json" 1)
check=$(bench_median "$bench_tmp/check.json" 0)
node0=$(bench_median "$bench_tmp/check.json" 1)
printf '\nas %s; load average %s before, %s after\n' "$user" "$load_before" "$load_after"
printf '%-40s %8s\n' "measurement (median)" "seconds"
printf '%-40s %8.3f\n' "envlock lock (20 environments)" "$lock" "skopeo inspect x20 (sequential)" "$skopeo" "envlock lock --check (offline)" "$check" "node -e 0" "$node0"
printf '\nratio lock / skopeo loop:      %s (target <= 0.25)\n' "$(bench_ratio "$lock" "$skopeo")"
printf 'ratio lock --check / node -e 0: %s (target <= 1.5)\n' "$(bench_ratio "$check" "$node0")"

if [ "${PROFILE:-1}" = 1 ]; then
  echo
  echo "-- node --cpu-prof of one envlock lock (20 environments), by activity"
  mkdir -p "$bench_tmp/prof" && chmod 777 "$bench_tmp/prof"
  $prefix $with_env node --cpu-prof --cpu-prof-dir="$bench_tmp/prof" "$bench_repo/dist/bundle/envlock.js" -C "$project" lock >/dev/null
  node "$bench_repo/bench/cpuprofile-summary.mjs" "$bench_tmp"/prof/*.cpuprofile 12
fi
