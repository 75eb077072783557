#!/usr/bin/env bash
# The whole test suite from a fresh clone: install the Debian packages the tests use (when
# run as root), install and build with npm, then run every vitest project.
set -euo pipefail
cd "$(dirname "$0")/.."

# libsquashfs-dev (squashfs-tools-ng's library) must be there before npm ci, which then builds the
# squashfs writer; squashfs-tools-ng and charliecloud-runtime (ch-run) read its images in the tests.
# slurm-wlm and munge run the tests' Slurm cluster; libslurm-dev (slurm/spank.h) must be there
# before npm ci, which then builds the SPANK plugin.
packages=(docker-registry busybox-static skopeo umoci apache2-utils tmux util-linux procps lmod zsh zstd openssl gcc libc6-dev binutils squashfs-tools squashfs-tools-ng libsquashfs-dev squashfuse charliecloud-runtime fuse3 libfuse3-dev libsquashfuse-dev libzstd-dev zlib1g-dev python3 libcap2-bin slurm-wlm munge libslurm-dev shellcheck)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test.sh: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "test.sh: missing Debian packages: ${missing[*]}" >&2
    echo "test.sh: ask an administrator to run: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

# Some tests run envlock as the unprivileged user nobody, who must be able to read the checkout.
# When an ancestor directory is private (a clone under /root), test from a readable copy instead.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && ! runuser -u nobody -- test -r "$PWD/package.json"; then
  copy=$(mktemp -d "${TMPDIR:-/tmp}/envlock-test.XXXXXX")
  chmod 755 "$copy"
  echo "test.sh: $PWD is not readable by nobody; testing a copy in $copy" >&2
  tar --exclude=./node_modules --exclude=./dist --exclude=./native/build -cf - . | tar -C "$copy" -xf -
  chmod -R a+rX "$copy"
  cd "$copy"
fi

# /dev/fuse is 0600 on some machines and 0666 on a stock host (udev); squashfs images are
# mounted through FUSE by unprivileged users, so the tests need the stock mode.
if [ "$(id -u)" = 0 ] && [ -c /dev/fuse ]; then chmod 666 /dev/fuse; fi

npm ci --no-audit --no-fund
# Tests are TypeScript too: type-check them with the sources before running anything.
npm run --silent typecheck
# The module shim runs in bash, zsh and dash: shellcheck holds it to dash, the strictest. The
# bench scripts are held to warnings (bench/.shellcheckrc lets it follow what they source).
shellcheck shim/*.sh
shellcheck -S warning bench/*.sh
npx vitest run "$@"
