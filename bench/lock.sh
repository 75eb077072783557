#!/usr/bin/env bash
# envlock lock of 20 environments vs 20 sequential `skopeo inspect` calls against the same real
# registry (medians of hyperfine runs, ratios from one run), and `lock --check` vs `node -e 0`.
# Targets (issue 3): lock <= 0.25x the skopeo loop; lock --check <= 1.5x node start-up.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_need docker-registry skopeo hyperfine curl busybox-static
cd "$bench_repo"
[ -f dist/bundle/envlock.js ] || npm ci --no-audit --no-fund
node scripts/build-example-image.mjs "$bench_tmp/layout" >/dev/null
bench_registry
runs=${RUNS:-7}

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

inspect_loop="for i in \$(seq -w 1 20); do skopeo inspect --tls-verify=false --format '{{.Digest}}' docker://$bench_registry/bench/img\$i:latest >/dev/null; done"
envlock="node $bench_repo/dist/bundle/envlock.js -C $project"
$envlock lock >/dev/null
hyperfine -N --warmup 1 --runs "$runs" --export-json "$bench_tmp/lock.json" \
  "$envlock lock" \
  "bash -c \"$inspect_loop\"" >&2
hyperfine -N --warmup 3 --runs $((runs * 4)) --export-json "$bench_tmp/check.json" \
  "$envlock --offline lock --check" \
  "node -e 0" >&2

lock=$(bench_median "$bench_tmp/lock.json" 0)
skopeo=$(bench_median "$bench_tmp/lock.json" 1)
check=$(bench_median "$bench_tmp/check.json" 0)
node0=$(bench_median "$bench_tmp/check.json" 1)
printf '\n%-40s %8s\n' "measurement (median)" "seconds"
printf '%-40s %8.3f\n' "envlock lock (20 environments)" "$lock" "skopeo inspect x20 (sequential)" "$skopeo" "envlock lock --check (offline)" "$check" "node -e 0" "$node0"
printf '\nratio lock / skopeo loop:      %s (target <= 0.25)\n' "$(bench_ratio "$lock" "$skopeo")"
printf 'ratio lock --check / node -e 0: %s (target <= 1.5)\n' "$(bench_ratio "$check" "$node0")"
