#!/bin/sh
# Start-up cost of entering an environment for `/bin/true`: envlock-launch (with and without
# a PID namespace, with and without the overlay skeleton) against ch-run and a bare
# `unshare -r -m chroot`. Needs hyperfine, busybox (static) and optionally ch-run.
# Usage: bench/startup.sh [RUNS]   (run from the repository root after building native/)
set -eu

runs=${1:-300}
launcher=native/build/Release/envlock-launch
[ -x "$launcher" ] || { echo "build the launcher first: node-gyp rebuild --directory native" >&2; exit 1; }
busybox=$(command -v busybox) || { echo "busybox is needed" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "hyperfine is needed" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# full: every mount point exists, so no overlay is needed; bare: only bin/ and etc/.
for kind in full bare; do
  root="$work/$kind"
  mkdir -p "$root/bin" "$root/etc"
  cp "$busybox" "$root/bin/busybox"
  ln -s busybox "$root/bin/true"
  ln -s busybox "$root/bin/sh"
done
mkdir -p "$work/full/proc" "$work/full/sys" "$work/full/dev" "$work/full/tmp" "$work/full/home"
touch "$work/full/etc/passwd" "$work/full/etc/group" "$work/full/etc/hosts" "$work/full/etc/resolv.conf"
chmod -R a+rX "$work"
cd "$work"

set -- \
  "$OLDPWD/$launcher --set 'rootfs $work/full' -- /bin/true" \
  "$OLDPWD/$launcher --set 'rootfs $work/full' --set 'pid host' -- /bin/true" \
  "$OLDPWD/$launcher --set 'rootfs $work/bare' -- /bin/true" \
  "unshare -r -m chroot $work/full /bin/true"
if command -v ch-run >/dev/null; then
  set -- "$@" "env USER=${USER:-$(id -un)} ch-run $work/full -- /bin/true"
fi
hyperfine -N --warmup 30 --runs "$runs" "$@"
