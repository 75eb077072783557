#!/usr/bin/env bash
# What entering a squashfs image adds over entering the same image as a tree, cold (a fresh
# FUSE mount per start) and warm (joining the holder the previous start left), as an
# unprivileged user, in one run, against what a squashfs image adds for ch-run:
#   envlock run bb -- /bin/true              tree store, squashfs store cold, squashfs warm
#   envlock-launch --spec FILE -- /bin/true  the launcher alone (module wrappers), the same three
#   ch-run DIR / ch-run IMAGE.sqfs           Charliecloud, on the same tree and the same file
# Medians of RUNS (default 40) hyperfine runs. Target (issue 10): envlock's added cost
# (squashfs minus tree) <= 0.5x ch-run's (IMAGE.sqfs minus DIR), cold and warm reported apart.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
bench_need charliecloud hyperfine busybox-static squashfs-tools fuse3
cd "$bench_repo"
[ -f dist/bundle/envlock.js ] && [ -x native/build/Release/envlock-launch ] || npm ci --no-audit --no-fund
native/build/Release/envlock-launch --features | grep -qx squashfs || { echo "bench: this launcher was built without squashfs support" >&2; exit 1; }
runs=${RUNS:-40}
user=${BENCH_USER:-nobody}
# A stock host's /dev/fuse is 0666 (udev); some machines ship it 0600.
[ "$(id -u)" = 0 ] && chmod 666 /dev/fuse
as_user() { if [ "$(id -u)" = 0 ]; then setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --clear-groups -- "$@"; else "$@"; fi; }

# One project, pulled once as a tree and once as a squashfs image, each into its own store.
node scripts/build-example-image.mjs "$bench_tmp/layout" >/dev/null
project="$bench_tmp/project"
mkdir -p "$project"
printf 'version: 1\nenvironments:\n  bb:\n    image: oci:%s:latest\n    platforms: [linux/amd64]\n' "$bench_tmp/layout" > "$project/envlock.yaml"
chmod -R a+rwX "$bench_tmp"
[ "$(id -u)" = 0 ] && chown -R "$user" "$bench_tmp"
export HOME="$bench_tmp"
envlock="node $bench_repo/dist/bundle/envlock.js"
tree_store="$bench_tmp/store-tree" sqfs_store="$bench_tmp/store-sqfs"
as_user env HOME="$HOME" ENVLOCK_STORE="$tree_store" $envlock -C "$project" lock -q >/dev/null
as_user env HOME="$HOME" ENVLOCK_STORE="$tree_store" ENVLOCK_IMAGE_FORMAT=tree $envlock -C "$project" pull -q >/dev/null
as_user env HOME="$HOME" ENVLOCK_STORE="$sqfs_store" ENVLOCK_IMAGE_FORMAT=squashfs $envlock -C "$project" pull -q >/dev/null
rootfs=$(ls -d "$tree_store"/rootfs/sha256/*/ | head -1)
rootfs=${rootfs%/}
image=$(ls "$sqfs_store"/squashfs/sha256/*.sqfs 2>/dev/null | head -1 || true)
[ -n "$image" ] || { echo "bench: pull --image-format squashfs wrote no squashfs image" >&2; exit 1; }
# envlock run measures squashfs only where it enters the squashfs form (its --dry-run says so).
run_sqfs=0
as_user env HOME="$HOME" ENVLOCK_STORE="$sqfs_store" ENVLOCK_OFFLINE=1 $envlock -C "$project" run --offline --dry-run bb -- /bin/true 2>/dev/null | grep -q '^squashfs:' && run_sqfs=1
for form in tree squashfs; do
  path=$rootfs
  [ "$form" = squashfs ] && path=$image
  printf 'envlock-launch-spec 1\n%s %s\nenv PATH=/bin:/usr/bin\n' "$([ "$form" = tree ] && echo rootfs || echo squashfs)" "$path" > "$bench_tmp/$form.spec"
  chmod a+r "$bench_tmp/$form.spec"
done

prefix=""
[ "$(id -u)" = 0 ] && prefix="setpriv --reuid=$(id -u "$user") --regid=$(id -g "$user") --clear-groups -- "
run() { echo "${prefix}env HOME=$HOME ENVLOCK_STORE=$1 ENVLOCK_WARM=$2 ENVLOCK_HOLDER_IDLE_SECONDS=600 $envlock run bb -- /bin/true"; }
launch() { echo "${prefix}env ENVLOCK_WARM=$2 ENVLOCK_HOLDER_IDLE_SECONDS=600 $bench_repo/native/build/Release/envlock-launch --spec $bench_tmp/$1.spec -- /bin/true"; }
cd "$project"
cases=("$(launch tree 0)" "$(launch squashfs 0)" "$(launch squashfs 1)" \
  "${prefix}env USER=$user ch-run $rootfs -- /bin/true" "${prefix}env USER=$user ch-run $image -- /bin/true" \
  "$(run "$tree_store" 0)")
[ "$run_sqfs" = 1 ] && cases+=("$(run "$sqfs_store" 0)" "$(run "$sqfs_store" 1)")
# The warm cases' warm-up runs start the holder; the cold ones never use one.
hyperfine -N --warmup 5 --runs "$runs" --export-json "$bench_tmp/startup-squashfs.json" "${cases[@]}" >&2
# End the holders this run started (SIGKILL: a holder ignores the job signals), the
# envlock-holder processes whose command line names this run's temporary directory, by pid.
for proc in /proc/[0-9]*; do
  [ "$(cat "$proc/comm" 2>/dev/null)" = envlock-holder ] || continue
  tr '\0' ' ' < "$proc/cmdline" 2>/dev/null | grep -qF "$bench_tmp/" && kill -KILL "${proc#/proc/}" 2>/dev/null
done

m() { node -e 'console.log(require(process.argv[1]).results[+process.argv[2]].median*1000)' "$bench_tmp/startup-squashfs.json" "$1"; }
names=("envlock-launch, tree" "envlock-launch, squashfs cold" "envlock-launch, squashfs warm" "ch-run DIR" \
  "ch-run IMAGE.sqfs" "envlock run, tree" "envlock run, squashfs cold" "envlock run, squashfs warm")
printf '\n%-36s %9s\n' "median of $runs runs, as $user" "ms"
for i in "${!cases[@]}"; do printf '%-36s %9.2f\n' "${names[$i]}" "$(m "$i")"; done
added() { node -e 'console.log((+process.argv[1]-+process.argv[2]).toFixed(2))' -- "$(m "$1")" "$(m "$2")"; }
chrun=$(added 4 3)
printf '\nadded by squashfs (ms): ch-run %s\n' "$chrun"
pairs=("envlock-launch, cold:1:0" "envlock-launch, warm:2:0")
[ "$run_sqfs" = 1 ] && pairs+=("envlock run, cold:6:5" "envlock run, warm:7:5")
for pair in "${pairs[@]}"; do
  IFS=: read -r label a b <<<"$pair"
  add=$(added "$a" "$b")
  printf '  %-24s %7s ms  = %s x ch-run'"'"'s (target <= 0.5)\n' "$label" "$add" "$(node -e 'console.log((+process.argv[1]/+process.argv[2]).toFixed(2))' -- "$add" "$chrun")"
done
[ "$run_sqfs" = 1 ] || echo "envlock run: not measured with squashfs (this build's run does not enter the squashfs form yet)"
