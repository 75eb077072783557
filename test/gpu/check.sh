#!/usr/bin/env bash
# GPU check for envlock's host integration (docs/host-integration.md), for a machine with an NVIDIA
# GPU: builds a small glibc image as an OCI layout from this host's own files (no registry, no
# network), locks and pulls it, and runs `nvidia-smi -L` and a CUDA driver-API query inside, once
# through envlock's own discovery (gpu: nvidia) and once through a CDI spec from `nvidia-ctk cdi
# generate` (devices: [nvidia.com/gpu=all]) when nvidia-ctk exists. Ends with a PASS/FAIL summary.
#
# Usage: test/gpu/check.sh [--no-gpu] [--keep]
#   --no-gpu  stop before the GPU-specific steps: checks the build, image, lock, pull, a run of the
#             query program inside (which must report "no driver") and doctor, on any machine.
#   --keep    keep the work directory (printed at the start).
# Exit status 0 only when every step passed. Needs bash, node, gcc, tar, ldd; runs in under 3 minutes
# once the package is built (a missing build costs one `npm ci`, or `npm run build` when
# node_modules is already there).

set -u
START=$SECONDS
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NO_GPU=0
KEEP=0
for arg in "$@"; do
  case $arg in
    --no-gpu) NO_GPU=1 ;;
    --keep) KEEP=1 ;;
    -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "check.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/envlock-gpu-check.XXXXXX")
cleanup() {
  if [ "$KEEP" = 1 ]; then echo "work directory kept: $WORK"; return; fi
  chmod -R u+w "$WORK" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
# A private HOME and store, and nothing from the caller's envlock settings.
unset ENVLOCK_CDI_DIRS ENVLOCK_LDCACHE ENVLOCK_LAUNCHER
export HOME="$WORK/home" ENVLOCK_STORE="$WORK/store" NO_COLOR=1
mkdir -p "$HOME" "$WORK/logs"
ENVLOCK=(node "$REPO/dist/bundle/envlock.js")

RESULTS=()
FAILED=0
pass() { RESULTS+=("PASS  $1"); echo "  -> PASS: $1"; }
fail() { RESULTS+=("FAIL  $1"); FAILED=1; echo "  -> FAIL: $1"; }
section() { printf '\n=== %s (t=%ss)\n' "$1" "$((SECONDS - START))"; }

# run_logged NAME SECONDS CMD...: runs CMD with a time limit, shows the last lines of its output,
# keeps it all in $WORK/logs/NAME.log, and leaves the status in $RC.
run_logged() {
  local name=$1 limit=$2
  shift 2
  echo "\$ $*"
  timeout --kill-after=5 "$limit" "$@" >"$WORK/logs/$name.log" 2>&1
  RC=$?
  tail -n 25 "$WORK/logs/$name.log" | sed 's/^/    /'
  [ "$RC" = 124 ] && echo "    (timed out after ${limit}s)"
  return 0
}

summary() {
  section "summary"
  local verdict=PASS
  [ "$FAILED" = 1 ] && verdict=FAIL
  [ "$NO_GPU" = 1 ] && echo "(--no-gpu: the GPU-specific steps were not run)"
  printf '%s\n' "${RESULTS[@]}"
  echo "==== envlock GPU check: $verdict in $((SECONDS - START))s ===="
  [ "$verdict" = PASS ]
  exit $?
}

# --- 1. the host --------------------------------------------------------------------------------
section "host"
uname -srm
echo "node $(node --version 2>/dev/null || echo missing), $(gcc --version 2>/dev/null | head -n 1 || echo 'gcc missing'), $(ldd --version 2>/dev/null | head -n 1)"
for tool in node gcc tar ldd timeout; do
  command -v "$tool" >/dev/null || { fail "host has $tool"; summary; }
done
case $(uname -m) in
  x86_64) ARCH=amd64 ;;
  aarch64) ARCH=arm64 ;;
  ppc64le) ARCH=ppc64le ;;
  *) fail "architecture $(uname -m) is known to this script"; summary ;;
esac
HOST_GPUS=""
if [ "$NO_GPU" = 0 ]; then
  if [ -r /proc/driver/nvidia/version ]; then
    head -n 1 /proc/driver/nvidia/version
    pass "NVIDIA kernel driver loaded"
  else
    fail "NVIDIA kernel driver loaded (/proc/driver/nvidia/version is missing)"
    summary
  fi
  if command -v nvidia-smi >/dev/null; then
    HOST_GPUS=$(timeout 30 nvidia-smi -L 2>&1)
    echo "host nvidia-smi -L:"
    printf '%s\n' "$HOST_GPUS" | sed 's/^/    /'
  fi
  command -v nvidia-ctk >/dev/null && echo "$(nvidia-ctk --version 2>&1 | head -n 1)"
fi

# --- 2. envlock itself ----------------------------------------------------------------------------
section "build envlock"
cd "$REPO" || exit 1
if [ -f dist/bundle/envlock.js ] && [ -x native/build/Release/envlock-launch ]; then
  echo "already built"
elif [ -d node_modules ]; then
  # node_modules came with the tree: build from it rather than fetch anything.
  run_logged build 170 npm run build
  [ -x native/build/Release/envlock-launch ] || run_logged build-native 120 npm run build:native
else
  run_logged npm-ci 170 npm ci --no-audit --no-fund --prefer-offline
fi
if [ -f dist/bundle/envlock.js ] && [ -x native/build/Release/envlock-launch ]; then
  pass "envlock built ($("${ENVLOCK[@]}" --version 2>&1 | head -n 1))"
else
  fail "envlock built (dist/bundle/envlock.js and native/build/Release/envlock-launch; see the log above)"
  summary
fi

# --- 3. a glibc image from this host's files --------------------------------------------------------
section "glibc image"
STAGE="$WORK/stage"
mkdir -p "$STAGE/usr/local/bin"
# copy_into_stage FILE: the file's content at the same path inside the image (links followed).
copy_into_stage() {
  [ -e "$1" ] || return 0
  mkdir -p "$STAGE$(dirname "$1")"
  cp -L "$1" "$STAGE$1"
}
# copy_deps FILE: every library (and the loader) ldd resolves for FILE, at the same paths.
copy_deps() {
  local lib
  for lib in $(ldd "$1" 2>/dev/null | awk '/=> \// { print $3 } /^[[:space:]]*\/[^ ]+ \(/ { print $1 }'); do
    case $(basename "$lib") in libcuda* | libnvidia*) continue ;; esac
    copy_into_stage "$lib"
  done
}
if ! gcc -O1 -o "$STAGE/usr/local/bin/cuda-query" "$REPO/test/gpu/cuda-query.c" -ldl >"$WORK/logs/gcc.log" 2>&1; then
  sed 's/^/    /' "$WORK/logs/gcc.log"
  fail "cuda-query compiles"
  summary
fi
copy_deps "$STAGE/usr/local/bin/cuda-query"
LIBC=$(ldd "$STAGE/usr/local/bin/cuda-query" | awk '$1 == "libc.so.6" { print $3 }')
# glibc's own libraries are never injected (the image must have them); driver libraries and
# nvidia-smi need several of them as DT_NEEDED entries.
for name in libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1 libresolv.so.2 libutil.so.1 libgcc_s.so.1; do
  copy_into_stage "$(dirname "$LIBC")/$name"
done
if [ "$NO_GPU" = 0 ]; then
  CUDA_LIB=$("$(command -v ldconfig || echo /sbin/ldconfig)" -p 2>/dev/null | awk '$1 == "libcuda.so.1" { print $NF; exit }')
  for f in "$(command -v nvidia-smi)" "$CUDA_LIB"; do [ -n "$f" ] && copy_deps "$f"; done
fi
mkdir -p "$WORK/layout"
if [ -x /bin/busybox ]; then
  run_logged example-image 30 node "$REPO/scripts/build-example-image.mjs" "$WORK/layout"
else
  # No busybox here: the host's /bin/sh with its libraries, and the usual mount points.
  echo "no /bin/busybox: using this host's /bin/sh"
  mkdir -p "$STAGE/bin" "$STAGE/etc" "$STAGE/proc" "$STAGE/sys" "$STAGE/dev" "$STAGE/tmp"
  cp -L /bin/sh "$STAGE/bin/sh"
  copy_deps /bin/sh
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$STAGE/etc/passwd"
  printf 'root:x:0:\n' >"$STAGE/etc/group"
fi
(cd "$STAGE" && tar --numeric-owner --owner=0 --group=0 -cf "$WORK/layer.tar" -- *)
echo "image layer: $(cd "$STAGE" && find . -type f | sort | tr '\n' ' ')"
run_logged add-layer 30 node "$REPO/test/gpu/add-layer.mjs" "$WORK/layout" "$WORK/layer.tar" "$ARCH"
if [ "$RC" = 0 ]; then pass "glibc image built as an OCI layout"; else fail "glibc image built as an OCI layout"; summary; fi

# --- 4. declaration, CDI spec, lock, pull ----------------------------------------------------------------
section "lock and pull"
PROJECT="$WORK/project"
mkdir -p "$PROJECT" "$WORK/cdi"
ENVS=(discovery)
GPU_REQUEST=nvidia
[ "$NO_GPU" = 1 ] && GPU_REQUEST=auto
{
  echo 'version: 1'
  echo 'environments:'
  echo '  discovery:'
  echo "    image: oci:$WORK/layout"
  echo "    platforms: [linux/$ARCH]"
  echo "    host: { gpu: $GPU_REQUEST }"
} >"$PROJECT/envlock.yaml"
if [ "$NO_GPU" = 0 ] && command -v nvidia-ctk >/dev/null; then
  run_logged cdi-generate 60 nvidia-ctk cdi generate --output="$WORK/cdi/nvidia.yaml"
  if [ "$RC" = 0 ] && [ -s "$WORK/cdi/nvidia.yaml" ]; then
    pass "nvidia-ctk generated a CDI spec"
    export ENVLOCK_CDI_DIRS="$WORK/cdi"
    ENVS+=(cdi)
    {
      echo '  cdi:'
      echo "    image: oci:$WORK/layout"
      echo "    platforms: [linux/$ARCH]"
      echo '    host: { devices: [nvidia.com/gpu=all] }'
    } >>"$PROJECT/envlock.yaml"
  else
    fail "nvidia-ctk generated a CDI spec"
  fi
elif [ "$NO_GPU" = 0 ]; then
  echo "nvidia-ctk is not installed: only envlock's own discovery is checked"
fi
cd "$PROJECT" || exit 1
cat envlock.yaml | sed 's/^/    /'
run_logged lock 60 "${ENVLOCK[@]}" lock
if [ "$RC" = 0 ]; then pass "envlock lock"; else fail "envlock lock"; summary; fi
run_logged pull 60 "${ENVLOCK[@]}" pull
if [ "$RC" = 0 ]; then pass "envlock pull"; else fail "envlock pull"; summary; fi

# --- 5. inside --------------------------------------------------------------------------------------------
for env in "${ENVS[@]}"; do
  section "inside ($env)"
  run_logged "dry-run-$env" 60 "${ENVLOCK[@]}" run "$env" --dry-run -- cuda-query
  if [ "$RC" = 0 ]; then pass "$env: run --dry-run shows the injection"; else fail "$env: run --dry-run (exit $RC)"; fi
  if [ "$NO_GPU" = 1 ]; then
    run_logged "query-$env" 60 "${ENVLOCK[@]}" run "$env" -- cuda-query
    if [ "$RC" = 2 ] && grep -q 'no driver: libcuda.so.1' "$WORK/logs/query-$env.log"; then
      pass "$env: cuda-query runs inside the glibc image (and reports no driver, as expected without a GPU)"
    else
      fail "$env: cuda-query inside (exit $RC, expected 2 with 'no driver')"
    fi
    continue
  fi
  run_logged "smi-$env" 60 "${ENVLOCK[@]}" run "$env" -- nvidia-smi -L
  if [ "$RC" = 0 ] && grep -Eq '^GPU [0-9]+: ' "$WORK/logs/smi-$env.log"; then
    pass "$env: nvidia-smi -L inside lists $(grep -Ec '^GPU [0-9]+: ' "$WORK/logs/smi-$env.log") GPU(s)"
    if [ -n "$HOST_GPUS" ] && [ "$(grep -E '^GPU ' "$WORK/logs/smi-$env.log")" = "$(printf '%s\n' "$HOST_GPUS" | grep -E '^GPU ')" ]; then
      pass "$env: the same GPUs as nvidia-smi -L on the host"
    elif [ -n "$HOST_GPUS" ]; then
      fail "$env: the same GPUs as nvidia-smi -L on the host"
    fi
  else
    fail "$env: nvidia-smi -L inside (exit $RC)"
  fi
  run_logged "query-$env" 90 "${ENVLOCK[@]}" run "$env" -- cuda-query
  if [ "$RC" = 0 ] && grep -q 'memory round trip (1 MiB memset + copy): ok' "$WORK/logs/query-$env.log"; then
    pass "$env: CUDA driver API inside: $(grep -m1 'device 0:' "$WORK/logs/query-$env.log" | sed 's/^cuda-query: //')"
  else
    fail "$env: CUDA device query inside (exit $RC)"
  fi
done

# --- 6. doctor ----------------------------------------------------------------------------------------------
section "doctor"
timeout 60 "${ENVLOCK[@]}" doctor --json --offline >"$WORK/logs/doctor.json" 2>"$WORK/logs/doctor.err"
# Doctor's own verdict also covers things this check does not need (registries, space), so only the
# CDI and host-injection rows decide; every row is shown.
if node -e '
  const { result } = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  let bad = 0;
  for (const c of result.checks) {
    const mine = c.area === "cdi" || c.area.startsWith("host for ");
    console.log(`    ${c.status.toUpperCase().padEnd(5)} ${c.area}: ${c.summary.length > 600 ? c.summary.slice(0, 600) + "…" : c.summary}`);
    if (mine && c.status === "fail") bad++;
  }
  if (!result.checks.some((c) => c.area.startsWith("host for "))) bad++;
  process.exit(bad === 0 ? 0 : 1);
' "$WORK/logs/doctor.json"; then
  pass "envlock doctor lists the CDI devices and what each environment receives"
else
  sed 's/^/    /' "$WORK/logs/doctor.err" | tail -n 10
  fail "envlock doctor (CDI or host rows failed, or its output is not JSON)"
fi

summary
