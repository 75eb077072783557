# Four targets: the node-addon-api addon (probes, layer decompression with libzstd and zlib);
# the small C exec addon (execve of the launcher, CPU features, SHA-256 of small inputs), which is
# all a repeated `run` loads; the entry library (spec, namespaces, root, squashfs mount, leases;
# src/envlock-enter.h), which the launcher and the Slurm SPANK plugin link; and the small C launcher executable. They land in
# build/Release/. The launcher is linked statically where the C library allows it (about
# 0.5 ms less start-up per launch). Squashfs support needs the squashfuse and fuse3 headers;
# without them everything else builds and the launcher says it cannot mount squashfs images.
# The addon's squashfs writer needs libsquashfs (libsquashfs-dev); without it the addon has no
# SqfsWriter and images are stored as trees.
# With Slurm's headers (slurm/spank.h), two more: the SPANK plugin envlock_spank.so and its
# per-node helper envlock-spank-holder, which enters through the entry library.
{
  "variables": {
    "envlock_squashfs%": "<!(sh probe.sh squashfs)",
    "envlock_sqfs_writer%": "<!(sh probe.sh sqfs-writer)",
    "envlock_static%": "<!(sh probe.sh static)",
    "envlock_spank%": "<!(sh -c 'printf \"#include <slurm/spank.h>\\n\" | ${CC:-cc} -E -x c - >/dev/null 2>&1 && echo 1 || echo 0')"
  },
  "targets": [
    {
      "target_name": "envlock_native",
      "sources": ["src/addon.cc", "src/errno-name.c", "src/userns-probe.cc", "src/layer-decoder.cc"],
      "libraries": ["-lzstd", "-lz"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "cflags_c": ["-std=gnu11"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "conditions": [
        ["envlock_sqfs_writer==1", {
          "sources": ["src/sqfs-writer.cc", "src/sqfs-writer-file.cc", "src/sqfs-writer-image.cc", "src/sqfs-writer-tree.cc"],
          "defines": ["ENVLOCK_HAVE_SQFS"],
          "libraries": ["-lsquashfs", "-lpthread"]
        }]
      ]
    },
    {
      "target_name": "envlock_exec",
      "sources": ["src/exec-addon.c", "src/errno-name.c", "src/cpu-detect.c", "src/sha256.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra"],
      "cflags!": ["-fno-exceptions"]
    },
    {
      "target_name": "envlock-entry",
      "type": "static_library",
      "sources": [
        "src/caller.c", "src/cpu.c", "src/cpu-detect.c", "src/enter.c", "src/error.c",
        "src/etc-files.c", "src/holder.c", "src/holder-serve.c", "src/image.c", "src/init.c", "src/lease.c", "src/mount-points.c",
        "src/mounts.c", "src/spec.c", "src/spec-input.c", "src/squashfs.c", "src/userns.c",
        "src/util.c"
      ],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-fno-strict-aliasing", "-fPIC", "-fvisibility=hidden"],
      "cflags!": ["-fno-exceptions"],
      "direct_dependent_settings": { "include_dirs": ["src"] },
      "conditions": [
        ["envlock_squashfs==1", {
          "defines": ["EL_HAVE_SQUASHFS=1"],
          "link_settings": {
            "libraries": ["-lsquashfuse_ll", "-lsquashfuse", "-lfuse3", "-lzstd", "-llz4", "-llzma", "-llzo2", "-lz", "-lpthread", "-ldl"]
          }
        }]
      ]
    },
    {
      "target_name": "envlock-launch",
      "type": "executable",
      "dependencies": ["envlock-entry"],
      "sources": ["src/main.c", "src/wrapper.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-fno-strict-aliasing"],
      "cflags!": ["-fno-exceptions"],
      "ldflags": ["<(envlock_static)"]
    }
  ],
  "conditions": [
    ["envlock_spank==1", {
      "targets": [
        {
          "target_name": "envlock_spank",
          "type": "loadable_module",
          "product_prefix": "",
          "target_conditions": [["_type=='loadable_module'", { "product_extension": "so" }]],
          "dependencies": ["envlock-entry"],
          "sources": ["src/spank/plugin.c", "src/spank/options.c", "src/spank/prepared.c", "src/spank/child.c", "src/spank/namespace.c", "src/spank/task-env.c", "src/spank/lease.c"],
          "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-fPIC", "-fvisibility=hidden"],
          "cflags!": ["-fno-exceptions"],
          "ldflags": ["-pthread", "-Wl,-Bsymbolic", "-Wl,--as-needed"]
        },
        {
          "target_name": "envlock-spank-holder",
          "type": "executable",
          "dependencies": ["envlock-entry"],
          "sources": ["src/spank/holder.c"],
          "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-fno-strict-aliasing"],
          "cflags!": ["-fno-exceptions"],
          "ldflags": ["<(envlock_static)"]
        }
      ]
    }]
  ]
}
