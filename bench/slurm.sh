#!/usr/bin/env bash
# 64 tasks on 4 Slurm nodes (one real slurmctld + 4 slurmd on this machine, the test harness's
# cluster), as an unprivileged user, in one run:
#   srun --envlock=bb /bin/true                (the SPANK plugin: one prepare per node, setns per task)
#   srun ch-run ROOTFS -- /bin/true            (Charliecloud on the same unpacked image)
#   srun envlock run bb -- /bin/true           (one Node start-up per task; for the record)
#   srun /bin/true                             (the floor: Slurm alone)
# then the cold start: 64 x `envlock run` on an empty shared store, wall time and blob fetches
# counted in the registry's access log. Target (issue 11): plugin <= 1.5x ch-run.
# Usage (as root, from the repository root): bench/slurm.sh   env: RUNS=10 SLOW_RUNS=3 TASKS=64
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "bench/slurm.sh: run it as root (it starts Slurm daemons, then measures as nobody)" >&2; exit 1; }
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'exec 7>&- 2>/dev/null; sleep 1; [ -n "${registry_pid:-}" ] && kill "$registry_pid" 2>/dev/null; bench_cleanup' EXIT

runs=${RUNS:-10}
slow_runs=${SLOW_RUNS:-3}
tasks=${TASKS:-64}
user=${BENCH_USER:-nobody}
bench_need charliecloud hyperfine slurm-wlm munge docker-registry skopeo busybox-static curl
cd "$bench_repo"
[ -d node_modules ] || npm ci --no-audit --no-fund
chmod 755 "$bench_tmp"
# envlock as a site installs it: under a prefix, `envlock` linked into a directory on the jobs' PATH.
bash scripts/install.sh --prefix "$bench_tmp/opt/envlock" --bin-dir "$bench_tmp/bin" >/dev/null
as_user() { setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --clear-groups -- "$@"; }

# A registry with its access log on, holding the example busybox image.
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
registry=127.0.0.1:$port
cat > "$bench_tmp/registry.yml" <<YAML
version: 0.1
log: { level: error, accesslog: { disabled: false } }
storage: { filesystem: { rootdirectory: $bench_tmp/registry } }
http: { addr: $registry, secret: bench }
YAML
docker-registry serve "$bench_tmp/registry.yml" > "$bench_tmp/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 50); do curl -fs "http://$registry/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
node scripts/build-example-image.mjs "$bench_tmp/layout" >/dev/null
skopeo copy -q --dest-tls-verify=false "oci:$bench_tmp/layout:latest" "docker://$registry/bench/bb:latest" --all

# The cluster: the test harness's own (test/helpers/slurm-cluster.ts), bundled and held open
# until this script ends (fd 7 closes, the holder stops the daemons).
cat > "$bench_tmp/cluster.ts" <<TS
import { startSlurmCluster } from '$bench_repo/test/helpers/slurm-cluster.ts';
const cluster = await startSlurmCluster({ plugstack: [process.argv[2]] });
console.log(cluster.conf);
process.stdin.resume();
process.stdin.on('end', async () => { await cluster.stop(); process.exit(0); });
TS
npx esbuild --bundle --platform=node --format=esm --log-level=error "$bench_tmp/cluster.ts" --outfile="$bench_tmp/cluster.mjs"
plugstack=$("$bench_tmp/bin/envlock" slurm plugstack)
mkfifo "$bench_tmp/hold"
node "$bench_tmp/cluster.mjs" "$plugstack" < "$bench_tmp/hold" > "$bench_tmp/cluster.out" 2>&1 &
exec 7> "$bench_tmp/hold"
for _ in $(seq 300); do [ -s "$bench_tmp/cluster.out" ] && break; sleep 0.1; done
export SLURM_CONF
SLURM_CONF=$(head -1 "$bench_tmp/cluster.out")
[ -f "$SLURM_CONF" ] || { cat "$bench_tmp/cluster.out" >&2; exit 1; }

# The user's project and store (warm: locked and pulled once).
project=$bench_tmp/project
mkdir -p "$project"
printf 'version: 1\nenvironments:\n  bb:\n    image: %s/bench/bb:latest\n    platforms: [linux/amd64]\n' "$registry" > "$project/envlock.yaml"
chown -R "$user" "$bench_tmp"
export HOME=$bench_tmp ENVLOCK_STORE=$bench_tmp/store PATH=$bench_tmp/bin:$PATH USER=$user LOGNAME=$user
cd "$project"
as_user envlock lock -q >/dev/null
# A tree: the plugin and ch-run start the same unpacked image (the default here would be squashfs).
as_user envlock pull -q --image-format tree >/dev/null
rootfs=$(find "$ENVLOCK_STORE/rootfs/sha256" -mindepth 1 -maxdepth 1 -type d | head -1)
srun="srun -N4 -n$tasks"
srun_argv=(srun -N4 "-n$tasks")
prefix="setpriv --reuid=$(id -u "$user") --regid=$(id -g "$user") --clear-groups --"

hyperfine -N --warmup 2 --runs "$runs" --export-json "$bench_tmp/warm.json" \
  "$prefix $srun --envlock=bb /bin/true" \
  "$prefix $srun ch-run $rootfs -- /bin/true" \
  "$prefix $srun /bin/true" >&2
hyperfine -N --warmup 1 --runs "$slow_runs" --export-json "$bench_tmp/run.json" \
  "$prefix $srun envlock run bb -- /bin/true" >&2

# Cold: an empty shared store, every task pulls or waits for the one that does.
blob_gets() { grep -o 'GET /v2/bench/bb/blobs/[^ ]*' "$bench_tmp/registry.log" || true; }
blobs_before=$(blob_gets | wc -l)
cold_store=$bench_tmp/cold-store
start=$(date +%s.%N)
as_user env ENVLOCK_STORE="$cold_store" "${srun_argv[@]}" envlock run bb -- /bin/true
cold=$(node -e "console.log(($(date +%s.%N)-$start).toFixed(2))")
fetches=$(blob_gets | tail -n +"$((blobs_before + 1))")
distinct=$(printf '%s\n' "$fetches" | sort -u | grep -c . || true)

m() { bench_median "$1" "$2"; }
plugin=$(m "$bench_tmp/warm.json" 0); chrun=$(m "$bench_tmp/warm.json" 1); floor=$(m "$bench_tmp/warm.json" 2); run=$(m "$bench_tmp/run.json" 0)
printf '\n%-48s %9s\n' "$tasks tasks on 4 nodes, as $user (median)" "s"
for pair in "srun --envlock=bb /bin/true:$plugin" "srun ch-run ROOTFS -- /bin/true:$chrun" "srun envlock run bb -- /bin/true:$run" "srun /bin/true:$floor"; do
  printf '%-48s %9.3f\n' "${pair%%:*}" "${pair##*:}"
done
printf '\nplugin / ch-run:              %s (target <= 1.5)\n' "$(bench_ratio "$plugin" "$chrun")"
printf 'plugin - srun /bin/true:      %s s\n' "$(node -e "console.log(($plugin-$floor).toFixed(3))")"
printf 'cold %s-task start:           %s s, %s blob fetches of %s distinct blobs\n' "$tasks" "$cold" "$(printf '%s\n' "$fetches" | grep -c . || true)" "$distinct"
