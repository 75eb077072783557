/* The spec's cpu-needs against this CPU: the same detection the addon uses (cpu-detect.c),
 * so `run`, module wrappers and Slurm tasks refuse a variant this node cannot execute with
 * one line naming what is missing, instead of dying on SIGILL. */
#define _GNU_SOURCE
#include "cpu-detect.h"
#include "launch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void append(char *out, size_t size, const char *word) {
  size_t len = strlen(out);
  if (len + 1 >= size) return;
  snprintf(out + len, size - len, "%s%s", len ? ", " : "", word);
}

/* /proc/cpuinfo spellings a user may put in ENVLOCK_CPU_MASK, as core/arch/features.ts maps them. */
static const char *const CPUINFO_NAMES[][2] = {
    {"pni", "sse3"},     {"sse4_1", "sse4.1"},   {"sse4_2", "sse4.2"}, {"lahf_lm", "lahf"},
    {"abm", "lzcnt"},    {"pclmulqdq", "pclmul"}, {"rdrand", "rdrnd"},  {"sha_ni", "sha"},
    {"bmi", "bmi1"},     {"avx_vnni", "avxvnni"}, {NULL, NULL}};

/* Whether ENVLOCK_CPU_MASK (comma-separated) names `feature`: every command, the launcher of
 * module wrappers included, treats a masked feature as absent (docs/cli.md). */
static bool masked(const char *feature) {
  const char *mask = getenv("ENVLOCK_CPU_MASK");
  if (!mask) return false;
  while (*mask) {
    size_t len = strcspn(mask, ",");
    char word[64];
    size_t start = 0, end = len;
    while (start < end && mask[start] == ' ') start++;
    while (end > start && mask[end - 1] == ' ') end--;
    if (end - start < sizeof word) {
      memcpy(word, mask + start, end - start);
      word[end - start] = '\0';
      const char *canonical = word;
      for (int i = 0; CPUINFO_NAMES[i][0]; i++)
        if (strcasecmp(word, CPUINFO_NAMES[i][0]) == 0) canonical = CPUINFO_NAMES[i][1];
      if (strcasecmp(canonical, feature) == 0) return true;
    }
    mask += len;
    if (*mask == ',') mask++;
  }
  return false;
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
    have = have && !masked(s->cpu_needs[i]);
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
