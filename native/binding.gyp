# Two targets: the node-addon-api addon (probes, CPU features, execve) and the small C
# launcher executable that enters environments. Both land in build/Release/. The launcher is
# linked statically where the C library allows it (about 0.5 ms less start-up per launch).
{
  "targets": [
    {
      "target_name": "envlock_native",
      "sources": ["src/addon.cc", "src/cpu-features.cc", "src/userns-probe.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"]
    },
    {
      "target_name": "envlock-launch",
      "type": "executable",
      "sources": ["src/main.c", "src/spec.c", "src/mounts.c", "src/etc-files.c", "src/init.c", "src/util.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-fno-strict-aliasing"],
      "cflags!": ["-fno-exceptions"],
      "ldflags": [
        "<!@(sh -c 'printf \"int main(void){return 0;}\" | ${CC:-cc} -x c -static -o /dev/null - 2>/dev/null && echo -static || true')"
      ]
    }
  ]
}
