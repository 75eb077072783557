#!/usr/bin/env bash
# Installs envlock from this checkout for every user and every batch job: builds it, packs it the
# way it is published (npm pack), installs the package under a prefix (default /opt/envlock)
# with npm, and puts an `envlock` command in PREFIX/bin that runs it with this Node, whatever
# `node` a user's PATH or a loaded module holds. With --bin-dir, links it there too (a directory
# already on every PATH, such as /usr/local/bin, which srun and sbatch jobs inherit).
#   bash scripts/install.sh [--prefix DIR] [--bin-dir DIR]
set -euo pipefail

prefix=/opt/envlock
bin_dir=
while [ $# -gt 0 ]; do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --bin-dir) bin_dir=${2:?--bin-dir needs a directory}; shift 2 ;;
    -h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (use --prefix DIR, --bin-dir DIR)" >&2; exit 2 ;;
  esac
done
case $prefix in /*) ;; *) prefix=$PWD/$prefix ;; esac

cd "$(dirname "$0")/.."
node=$(command -v node) || { echo 'install.sh: node is not on PATH; install Node.js 20.18 or newer first' >&2; exit 1; }
node=$(readlink -f "$node")

# A fresh clone needs its build tools (TypeScript, esbuild) once; the package itself needs none,
# and the native runtime is built where it is installed, so not here.
[ -d node_modules ] || npm ci --ignore-scripts --prefer-offline --no-audit --no-fund
npm run --silent build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball=$(npm pack --ignore-scripts --silent --pack-destination "$work")
# The package's install script builds the native runtime for this host (native/ in the tarball).
npm install --global --prefix "$prefix" --prefer-offline --no-audit --no-fund --allow-scripts=envlock "$work/$tarball"

package="$prefix/lib/node_modules/envlock"
launcher="$prefix/bin/envlock"
rm -f "$launcher"
printf '#!/bin/sh\n# envlock, installed from %s; runs with the Node it was installed with.\nexec %s %s "$@"\n' \
  "$tarball" "'$node'" "'$package/dist/bundle/envlock.js'" >"$launcher"
chmod 755 "$launcher"
if [ -n "$bin_dir" ]; then
  mkdir -p "$bin_dir"
  ln -sfn "$launcher" "$bin_dir/envlock"
fi
"$launcher" --version >/dev/null
echo "envlock $("$launcher" --version) is installed in $prefix; the command is $launcher${bin_dir:+ (linked from $bin_dir/envlock)}."
echo "The module shim for every login shell: ln -s $package/shim/envlock.sh /etc/profile.d/envlock.sh"
