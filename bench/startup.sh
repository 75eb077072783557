#!/usr/bin/env bash
# Start-up cost of entering an environment to run /bin/true, as an unprivileged user, in one run:
#   envlock run NAME -- /bin/true          (Node start-up + planning + execve into the launcher)
#   envlock-launch --spec FILE -- /bin/true (the wrapper fast path: no Node at all)
#   ch-run ROOTFS -- /bin/true              (Charliecloud)
#   unshare -r -m chroot ROOTFS /bin/true   (the bare kernel work)
#   node -e 0                               (Node's own start-up)
# Medians of RUNS (default 30) hyperfine runs; prints ratios. Targets (issue 5): launcher path
# <= 1.1x ch-run; envlock run <= node start-up + 10 ms.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_need charliecloud hyperfine busybox-static
cd "$bench_repo"
[ -f dist/bundle/envlock.js ] && [ -x native/build/Release/envlock-launch ] || npm ci --no-audit --no-fund
runs=${RUNS:-30}
user=${BENCH_USER:-nobody}
as_user() { if [ "$(id -u)" = 0 ]; then setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --clear-groups -- "$@"; else "$@"; fi; }

# A project whose image is the example busybox layout, pulled into a store the user owns.
node scripts/build-example-image.mjs "$bench_tmp/layout" >/dev/null
project="$bench_tmp/project"
mkdir -p "$project"
printf 'version: 1\nenvironments:\n  bb:\n    image: oci:%s:latest\n    platforms: [linux/amd64]\n' "$bench_tmp/layout" > "$project/envlock.yaml"
chmod -R a+rwX "$bench_tmp"
[ "$(id -u)" = 0 ] && chown -R "$user" "$bench_tmp"
export HOME="$bench_tmp" ENVLOCK_STORE="$bench_tmp/store"
envlock="node $bench_repo/dist/bundle/envlock.js"
as_user env HOME="$HOME" ENVLOCK_STORE="$ENVLOCK_STORE" $envlock -C "$project" lock -q >/dev/null
as_user env HOME="$HOME" ENVLOCK_STORE="$ENVLOCK_STORE" $envlock -C "$project" pull -q >/dev/null
rootfs=$(ls -d "$ENVLOCK_STORE"/rootfs/sha256/*/ | head -1)
rootfs=${rootfs%/}
spec="$bench_tmp/bb.spec"
printf 'envlock-launch-spec 1\nrootfs %s\nenv PATH=/bin:/usr/bin\n' "$rootfs" > "$spec"
chmod a+r "$spec"

prefix=""
[ "$(id -u)" = 0 ] && prefix="setpriv --reuid=$(id -u "$user") --regid=$(id -g "$user") --clear-groups -- "
cd "$project"
hyperfine -N --warmup 5 --runs "$runs" --export-json "$bench_tmp/startup.json" \
  "${prefix}env HOME=$HOME ENVLOCK_STORE=$ENVLOCK_STORE $envlock run bb -- /bin/true" \
  "${prefix}$bench_repo/native/build/Release/envlock-launch --spec $spec -- /bin/true" \
  "${prefix}env USER=$user ch-run $rootfs -- /bin/true" \
  "${prefix}unshare -r -m chroot $rootfs /bin/true" \
  "${prefix}node -e 0" >&2

m() { bench_median "$bench_tmp/startup.json" "$1"; }
run=$(m 0); launch=$(m 1); chrun=$(m 2); chroot=$(m 3); node0=$(m 4)
printf '\n%-44s %9s\n' "median of $runs runs, as $user" "ms"
for pair in "envlock run bb -- /bin/true:$run" "envlock-launch --spec (wrapper path):$launch" "ch-run:$chrun" "unshare -r -m chroot:$chroot" "node -e 0:$node0"; do
  printf '%-44s %9.2f\n' "${pair%%:*}" "$(node -e "console.log(${pair##*:}*1000)")"
done
printf '\nlauncher / ch-run:         %s (target <= 1.1)\n' "$(bench_ratio "$launch" "$chrun")"
printf 'envlock run - node -e 0:   %s ms (target <= 10 ms)\n' "$(node -e "console.log((($run-$node0)*1000).toFixed(1))")"
