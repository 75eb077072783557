/* The spec's cpu-needs against this CPU: the same detection the addon uses (cpu-detect.c),
 * so `run`, module wrappers and Slurm tasks refuse a variant this node cannot execute with
 * one line naming what is missing, instead of dying on SIGILL. */
#define _GNU_SOURCE
#include "cpu-detect.h"
#include "launch.h"

#include <stdio.h>
#include <string.h>

static void append(char *out, size_t size, const char *word) {
  size_t len = strlen(out);
  if (len + 1 >= size) return;
  snprintf(out + len, size - len, "%s%s", len ? ", " : "", word);
}

int el_cpu_missing(const struct el_spec *s, char *out, size_t size) {
  out[0] = '\0';
  if (s->n_cpu_needs == 0 && !s->cpu_arch) return 0;
  struct el_cpu cpu;
  el_cpu_detect(&cpu);
  if (s->cpu_arch && strcmp(s->cpu_arch, cpu.arch) != 0) {
    snprintf(out, size, "the %s architecture (this CPU is %s)", s->cpu_arch, cpu.arch);
    return 1;
  }
  int missing = 0;
  for (int i = 0; i < s->n_cpu_needs; i++) {
    bool have = false;
    for (int j = 0; j < cpu.n_features && !have; j++) have = strcmp(s->cpu_needs[i], cpu.features[j]) == 0;
    if (!have) {
      append(out, size, s->cpu_needs[i]);
      missing++;
    }
  }
  return missing;
}

int el_cpu_check(const struct el_spec *s) {
  char missing[512];
  if (el_cpu_missing(s, missing, sizeof missing) == 0) return 0;
  return el_fail(EL_EXIT_HOST_UNSUPPORTED,
                 EL_MSG_CPU "this CPU lacks %s, which the image needs; use a variant built for this "
                            "CPU or run on a node that has it",
                 missing);
}
