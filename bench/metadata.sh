#!/usr/bin/env bash
# What a realistic start does to the store's filesystem, tree against squashfs (issue 10,
# "Metadata"): `python3 -c 'import json, email, http.client, sqlite3'` in a Debian image with
# python3, as an unprivileged user. Counts, not times, so a busy machine does not change them.
#   inside  the command's own file system calls (strace -f -e trace=%file, run inside the image
#           on the command only; the FUSE server is never traced, which would wedge its clients).
#           In the tree form each of them is a lookup on the store's filesystem (the rootfs is a
#           bind mount of the store); in the squashfs form they are FUSE requests served from the
#           one open image file.
#   outside what `envlock run` itself (Node, then the launcher it execs; strace without -f, so
#           not the server nor the command) does to paths under the store.
# The image is made offline from this host's own Debian packages (python3 and strace, with
# everything they depend on), pushed to a loopback registry.
# Usage (as root, from the repository root): bench/metadata.sh    env: BENCH_USER=nobody
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "bench/metadata.sh: run it as root (it installs packages, then measures as nobody)" >&2; exit 1; }
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=pull-image.sh
source "$bench_repo/bench/pull-image.sh"
bench_need strace python3 docker-registry curl squashfuse fuse3
user=${BENCH_USER:-nobody}
cd "$bench_repo"
[ -f dist/bundle/envlock.js ] && [ -x native/build/Release/envlock-launch ] || npm ci --no-audit --no-fund
chmod 666 /dev/fuse
chmod 755 "$bench_tmp"

# The image: python3 and strace with their dependency closure, as installed here, one layer.
packages=$(apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances python3 strace bash coreutils base-files 2>/dev/null | grep -v '^[ <]' | sort -u)
root=$bench_tmp/root
mkdir -p "$root"
# Each path with its directories resolved as this host has them (merged /usr: /lib is a link),
# after the top-level links themselves, as test/helpers/debian-layer.ts does.
# shellcheck disable=SC2086
dpkg -L $packages 2>/dev/null | grep '^/' | grep -Ev '^/usr/share/(doc|man|info|locale|lintian)/' | node -e '
  const fs = require("fs"), path = require("path");
  const out = new Set(["bin", "lib", "lib64", "sbin"].filter((p) => { try { fs.lstatSync("/" + p); return true; } catch { return false; } }));
  for (const line of fs.readFileSync(0, "utf8").split("\n")) {
    if (!line.startsWith("/") || line === "/.") continue;
    try { const rel = path.join(fs.realpathSync(path.dirname(line)), path.basename(line)).slice(1); fs.lstatSync("/" + rel); if (rel) out.add(rel); } catch {}
  }
  console.log([...out].sort().join("\n"));' | tar -C / --numeric-owner --no-recursion -cf - -T - | tar -C "$root" -xf -
printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
mkdir -p "$root/tmp" "$root/proc" "$root/dev" "$root/sys"
bench_layer "$root" "$bench_tmp/layer"
bench_registry
bench_push_image "$bench_registry" bench/python:latest "$bench_tmp/layer.tar.gz" "$(cat "$bench_tmp/layer.diffid")"
echo "image: $(echo "$packages" | wc -w) packages, $(tar -tzf "$bench_tmp/layer.tar.gz" | wc -l) entries, $(du -m "$bench_tmp/layer.tar.gz" | cut -f1) MB gzip"

w=$bench_tmp/w
mkdir -p "$w/home" "$w/project"
printf 'version: 1\nenvironments:\n  py:\n    image: %s/bench/python:latest\n    platforms: [linux/amd64]\n' "$bench_registry" >"$w/project/envlock.yaml"
chown -R "$user" "$w"
as_user() {
  runuser -u "$user" -- env -i PATH="$(dirname "$(command -v node)"):/usr/bin:/bin" HOME="$w/home" USER="$user" \
    LANG=C.UTF-8 ENVLOCK_WARM=0 "$@"
}
envlock="node $bench_repo/dist/bundle/envlock.js"
as_user $envlock -C "$w/project" -q lock
program='import json, email, http.client, sqlite3'
# "CALL PATH" for every line of an strace log that names a path (the first quoted argument).
calls() { sed -nE 's/^(\[pid +[0-9]+\] )?([0-9]+ +)?([a-z_0-9]+)\([^"]*"([^"]*)".*/\3 \4/p' "$1"; }
# "N (n1 call1, n2 call2, ...)" for the calls on paths matching $1 (a regex anchored at ^).
summary() {
  awk -v re="$1" '$2 ~ re { n++; c[$1]++ } END { s = ""; for (k in c) s = s sprintf("%s%d %s", s == "" ? "" : ", ", c[k], k); printf "%d (%s)\n", n, s }'
}
printf '\n| form | inside: file calls of the command | on the store path: outside (envlock run, launcher) | on the store filesystem in all |\n|---|---:|---:|---:|\n' >"$w/table.md"
for form in tree squashfs; do
  store=$w/store-$form
  as_user env ENVLOCK_STORE="$store" ENVLOCK_IMAGE_FORMAT=$form $envlock -C "$w/project" -q pull
  # A first run fills the caches (and the prepared-run cache), as on any node after the first start.
  as_user env ENVLOCK_STORE="$store" $envlock -C "$w/project" --offline run py -- python3 -c "$program"
  as_user env ENVLOCK_STORE="$store" $envlock -C "$w/project" --offline run py -- strace -f -qq -e trace=%file python3 -c "$program" 2>"$w/inside-$form.log" || { tail -n 5 "$w/inside-$form.log" >&2; exit 1; }
  as_user strace -qq -e trace=%file -o "$w/outside-$form.log" env ENVLOCK_STORE="$store" $envlock -C "$w/project" --offline run py -- python3 -c "$program"
  # Inside, every path the command names in the image: absolute, not /proc, /dev, /sys or /tmp
  # (mounted by the launcher), and relative ones (python's own cwd-relative lookups).
  inside=$(calls "$w/inside-$form.log" | summary '^([^/]|/($|[^pdst]|p[^r]|d[^e]|s[^y]|t[^m]))')
  outside=$(calls "$w/outside-$form.log" | summary "^$store/")
  if [ "$form" = tree ]; then total=$((${inside%% *} + ${outside%% *})); else total=${outside%% *}; fi
  printf '| %s | %s | %s | %s |\n' "$form" "$inside" "$outside" "$total" >>"$w/table.md"
done
cat "$w/table.md"
