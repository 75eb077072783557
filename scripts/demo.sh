#!/usr/bin/env bash
# The main job from a fresh clone: install and build envlock, build the example image locally
# (no internet needed), then init, lock, pull and run it in a scratch project directory.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
  else
    echo "demo.sh: the example image is built from Debian's busybox-static; ask an administrator to run: apt-get install busybox-static" >&2
    exit 1
  fi
fi

npm ci --no-audit --no-fund
node scripts/build-example-image.mjs examples/busybox-oci

envlock() { node "$repo/dist/bundle/envlock.js" "$@"; }
project=$(mktemp -d "${TMPDIR:-/tmp}/envlock-demo.XXXXXX")
export ENVLOCK_STORE="$project/store"
cd "$project"
echo "== envlock init (in $project)"
envlock init --name demo --image "oci:$repo/examples/busybox-oci:latest"
echo "== envlock lock"
envlock lock
echo "== envlock pull"
envlock pull
echo "== envlock run demo -- sh -c 'cat /etc/os-release; id -u'"
envlock run demo -- /bin/sh -c 'cat /etc/os-release; echo "uid inside: $(id -u)"'
