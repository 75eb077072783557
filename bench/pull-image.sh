# shellcheck shell=bash disable=SC2034,SC2154 # sourced after lib.sh, which sets bench_tmp; what it sets is used by the scripts that source it
# Builds the image bench/pull.sh pulls: a debootstrap minbase Debian root, packed as one gzip
# layer, pushed as an OCI image with curl. The root and the layer are cached between runs.
# Sourced after bench/lib.sh, not run.

# bench_apt_mirror SUITE : the archive URI this machine's apt sources use for SUITE (one-line
# .list files first, then deb822 .sources files), so debootstrap fetches from the same mirror.
bench_apt_mirror() {
  local suite=$1 f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v s="$suite" '$1 == "deb" {
      i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
      if ($(i + 1) == s) { print $i; exit }
    }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822: stanzas separated by blank lines; the first "deb" stanza listing SUITE wins.
    awk -v s="$suite" 'BEGIN { RS = ""; FS = "\n" } {
      t = ""; u = ""; ok = 0
      for (j = 1; j <= NF; j++) {
        l = $j; if (l ~ /^#/) continue
        if (l ~ /^Types:/) t = l " "
        if (l ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", l); split(l, a, /[ \t]+/); u = a[1] }
        if (l ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", l); n = split(l, b, /[ \t]+/); for (k = 1; k <= n; k++) if (b[k] == s) ok = 1 }
      }
      if (t ~ /[ \t]deb[ \t]/ && ok && u != "") { print u; exit }
    }' "$f"
  done | head -n1
}

# bench_debian_root DIR : a minbase root of this host's Debian release in DIR (built once; the
# apt lists and downloaded .debs are dropped, as image builders do, which leaves ~125 MB).
bench_debian_root() {
  local dir=$1 suite mirror
  [ -f "$dir/.bench-complete" ] && return 0
  suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$suite" ] || { echo "bench: /etc/os-release names no VERSION_CODENAME" >&2; exit 1; }
  mirror=$(bench_apt_mirror "$suite")
  [ -n "$mirror" ] || { echo "bench: no apt source lists suite $suite" >&2; exit 1; }
  echo "bench: debootstrap --variant=minbase $suite from $mirror (once; cached in $dir)" >&2
  rm -rf "$dir.tmp" "$dir"
  debootstrap --variant=minbase "$suite" "$dir.tmp" "$mirror" >"$dir.log" 2>&1 \
    || { tail -n 20 "$dir.log" >&2; echo "bench: debootstrap failed (log: $dir.log)" >&2; exit 1; }
  rm -rf "$dir.tmp"/var/lib/apt/lists/* "$dir.tmp"/var/cache/apt/*
  mv "$dir.tmp" "$dir"
  touch "$dir/.bench-complete"
}

# bench_layer ROOT OUT : ROOT as a gzip tar layer in OUT.tar.gz, its uncompressed digest in
# OUT.diffid. Device nodes and pseudo-filesystem contents are left out (no image carries them,
# and an unprivileged tar could not create them).
bench_layer() {
  local root=$1 out=$2
  [ -f "$out.diffid" ] && [ "$out.diffid" -nt "$root/.bench-complete" ] && return 0
  tar -C "$root" --numeric-owner --sort=name --exclude=./.bench-complete \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./run/*' -cf "$out.tar" .
  echo "sha256:$(sha256sum "$out.tar" | cut -d' ' -f1)" >"$out.diffid.tmp"
  gzip -n -6 -f "$out.tar"
  mv "$out.diffid.tmp" "$out.diffid"
}

# bench_push_blob REGISTRY REPO FILE : uploads FILE monolithically; prints its digest.
bench_push_blob() {
  local reg=$1 repo=$2 file=$3 digest location
  digest="sha256:$(sha256sum "$file" | cut -d' ' -f1)"
  location=$(curl -fsS -X POST -D - -o /dev/null "http://$reg/v2/$repo/blobs/uploads/" | tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
  case "$location" in http*) ;; *) location="http://$reg$location" ;; esac
  case "$location" in *\?*) location="$location&digest=$digest" ;; *) location="$location?digest=$digest" ;; esac
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$file" "$location" >/dev/null
  echo "$digest"
}

# bench_push_image REGISTRY REPO:TAG LAYER.tar.gz DIFFID : pushes a one-layer linux/amd64 OCI image.
# The config carries a history entry as real images do (ch-image refuses a config without one).
bench_push_image() {
  local reg=$1 repo=${2%%:*} tag=${2##*:} layer=$3 diffid=$4 work=$bench_tmp/push
  local ldigest lsize cdigest csize
  mkdir -p "$work"
  printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/bash"]},"rootfs":{"type":"layers","diff_ids":["%s"]},"history":[{"created_by":"debootstrap --variant=minbase"}]}' \
    "$diffid" >"$work/config.json"
  ldigest=$(bench_push_blob "$reg" "$repo" "$layer")
  lsize=$(stat -c %s "$layer")
  cdigest=$(bench_push_blob "$reg" "$repo" "$work/config.json")
  csize=$(stat -c %s "$work/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
    "$cdigest" "$csize" "$ldigest" "$lsize" >"$work/manifest.json"
  curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$work/manifest.json" "http://$reg/v2/$repo/manifests/$tag" >/dev/null
}

# bench_tls_registry : a second docker-registry over HTTPS (self-signed) on the same storage,
# for clients that only speak HTTPS; sets bench_tls_registry=HOST:PORT.
bench_tls_registry() {
  local port
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$bench_tmp/tls.key" -out "$bench_tmp/tls.crt" 2>/dev/null
  cat >"$bench_tmp/registry-tls.yml" <<YAML
version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: $bench_tmp/registry } }
http: { addr: 127.0.0.1:$port, secret: bench, tls: { certificate: $bench_tmp/tls.crt, key: $bench_tmp/tls.key } }
YAML
  docker-registry serve "$bench_tmp/registry-tls.yml" >/dev/null 2>&1 &
  bench_tls_registry_pid=$!
  bench_tls_registry=127.0.0.1:$port
  for _ in $(seq 50); do curl -kfs "https://$bench_tls_registry/v2/" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "bench: the TLS registry did not start" >&2
  exit 1
}
