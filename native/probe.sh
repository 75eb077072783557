#!/bin/sh
# What the launcher can be built with, asked by binding.gyp at configure time:
#   probe.sh squashfs  -> 1 when the squashfuse and fuse3 headers and libraries link, else 0
#   probe.sh sqfs-writer -> 1 when libsquashfs (libsquashfs-dev) compiles and links, for the
#                         addon's squashfs writer, else 0
#   probe.sh static    -> -static when the launcher (with squashfs when available) links
#                         statically, else nothing (a dynamic launcher works too, 0.5 ms slower)
set -u
cc=${CC:-cc}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
libs="-lsquashfuse_ll -lsquashfuse -lfuse3 -lzstd -llz4 -llzma -llzo2 -lz -lpthread -ldl"
cat >"$tmp/sq.c" <<'C'
#define FUSE_USE_VERSION 35
#include <squashfuse/ll.h>
int main(void) { sqfs_ll ll; return sqfs_ll_init(&ll) == SQFS_OK && fuse_session_new(0, 0, 0, 0) != 0; }
C
printf 'int main(void){return 0;}\n' >"$tmp/plain.c"
squashfs() { "$cc" -x c "$tmp/sq.c" -o "$tmp/a" "$@" $libs >/dev/null 2>&1; }
case ${1-} in
  squashfs) if squashfs; then echo 1; else echo 0; fi ;;
  sqfs-writer)
    printf '#include <sqfs/super.h>\nint main(void){sqfs_super_t s;return sqfs_super_init(&s,131072,0,SQFS_COMP_ZSTD);}\n' >"$tmp/w.cc"
    if ${CXX:-c++} -x c++ "$tmp/w.cc" -o "$tmp/w" -lsquashfs >/dev/null 2>&1; then echo 1; else echo 0; fi ;;
  static)
    if squashfs; then
      squashfs -static && echo -static
    else
      "$cc" -x c "$tmp/plain.c" -static -o "$tmp/a" >/dev/null 2>&1 && echo -static
    fi
    exit 0 ;;
  *) echo "usage: probe.sh squashfs|sqfs-writer|static" >&2; exit 2 ;;
esac
