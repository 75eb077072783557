/* The CPU features this process may use, in envlock's canonical names (core/arch/features.ts):
 * one detection for the addon (cpuFeatures) and the launcher (cpu-needs). Plain C so both the
 * C++ addon and the C launcher compile it. */
#ifndef ENVLOCK_CPU_DETECT_H
#define ENVLOCK_CPU_DETECT_H

#ifdef __cplusplus
extern "C" {
#endif

#define EL_CPU_MAX_FEATURES 128

struct el_cpu {
  const char *arch;        /* "amd64", "arm64" or "unknown" */
  char vendor[13];         /* CPUID vendor string on x86, "" elsewhere */
  const char *features[EL_CPU_MAX_FEATURES];
  int n_features;
};

void el_cpu_detect(struct el_cpu *out);

#ifdef __cplusplus
}
#endif

#endif
