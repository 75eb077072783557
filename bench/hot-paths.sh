#!/usr/bin/env bash
# The table of issue 14 from one run: bench/startup.sh (run, warm pull, lock --check against
# node), bench/lock.sh (lock of 20 environments against skopeo) and bench/modules.sh (the module
# shim against Lmod, a wrapper against ch-run), one after the other, then each ratio with its
# target and the load average seen. Every script's full output is kept in $OUT (default: a temp
# directory, printed at the end). As root on Debian 12; everything timed runs as nobody, except
# bench/modules.sh, which times as the caller.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/envlock-hot-paths.XXXXXX")}
mkdir -p "$out"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/load.txt" >&2
RUNS=${STARTUP_RUNS:-40} bash "$here/startup.sh" > "$out/startup.txt" 2> "$out/startup.err"
RUNS=${LOCK_RUNS:-10} PROFILE=${PROFILE:-1} bash "$here/lock.sh" > "$out/lock.txt" 2> "$out/lock.err"
bash "$here/modules.sh" "${MODULES:-200}" "${MODULE_RUNS:-30}" > "$out/modules.txt" 2> "$out/modules.err"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/load.txt" >&2

# The first number after the colon of the first line matching PATTERN (startup.sh, lock.sh).
num() { grep -m1 -- "$2" "$out/$1" | sed -E 's/^[^:]*:[[:space:]]*([-0-9.]+).*/\1/'; }
# The ratio printed before "(target" on the first line matching PATTERN (modules.sh).
ratio() { grep -m1 -- "$2" "$out/$1" | grep -oE '[0-9.]+ \(target' | cut -d' ' -f1; }
echo
echo "| command | measured | target |"
echo "|---|---|---|"
echo "| envlock run bb -- /bin/true (prepared-run cache hit) | node + $(num startup.txt 'envlock run - node -e 0') ms | <= node + 10 ms |"
echo "| warm envlock pull | $(num startup.txt 'warm pull / node -e 0')x node -e 0 | <= 1.5x |"
echo "| envlock --offline lock --check | $(num startup.txt 'lock --check / node -e 0')x node -e 0 (lock.sh: $(num lock.txt 'ratio lock --check')x) | <= 1.5x |"
echo "| envlock lock, 20 environments, loopback registry | $(num lock.txt 'ratio lock / skopeo')x 20 sequential skopeo inspect | <= 0.25x |"
echo "| module load of 2 / module avail of 200, shim vs Lmod | $(ratio modules.txt '^envlock load A B / lmod')x / $(ratio modules.txt '^envlock avail / lmod')x | <= 0.15x each |"
echo "| module wrapper running true vs ch-run ROOTFS -- true | $(ratio modules.txt '^wrapped true / ch-run true')x (a shell script: $(ratio modules.txt '^wrapped command / ch-run')x) | <= 1.15x |"
echo
cat "$out/load.txt"
echo "full output in $out"
