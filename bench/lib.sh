# shellcheck shell=bash disable=SC2034 # sourced: the variables it sets are used by the scripts that source it
# Shared helpers for the bench scripts: install the peers, start a throwaway registry on
# 127.0.0.1, and read medians out of hyperfine's JSON. Sourced, not run.

bench_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_tmp=$(mktemp -d "${TMPDIR:-/tmp}/envlock-bench.XXXXXX")
trap 'bench_cleanup' EXIT

bench_cleanup() {
  [ -n "${bench_registry_pid:-}" ] && kill "$bench_registry_pid" 2>/dev/null
  rm -rf "$bench_tmp" 2>/dev/null || true
}

# bench_need PACKAGE... : installs missing Debian packages when root, else explains.
bench_need() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "bench: install ${missing[*]} first (apt-get install ${missing[*]})" >&2
    exit 1
  fi
}

# bench_registry : starts docker-registry on a free loopback port; sets bench_registry=HOST:PORT.
bench_registry() {
  local port
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  mkdir -p "$bench_tmp/registry"
  cat > "$bench_tmp/registry.yml" <<YAML
version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: $bench_tmp/registry } }
http: { addr: 127.0.0.1:$port, secret: bench }
YAML
  docker-registry serve "$bench_tmp/registry.yml" >/dev/null 2>&1 &
  bench_registry_pid=$!
  bench_registry=127.0.0.1:$port
  for _ in $(seq 50); do curl -fs "http://$bench_registry/v2/" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "bench: the registry did not start" >&2
  exit 1
}

# bench_median FILE.json INDEX : median seconds of hyperfine result INDEX.
bench_median() {
  node -e 'const r=require(process.argv[1]).results[+process.argv[2]];console.log(r.median)' "$1" "$2"
}

bench_ratio() {
  node -e 'console.log((+process.argv[1]/+process.argv[2]).toFixed(2))' "$1" "$2"
}
