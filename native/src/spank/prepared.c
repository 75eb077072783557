/* Reads what `envlock slurm prepare` prints: the launcher's spec (docs/runtime.md "Spec
 * format"; each line's fields read by the entry library's el_spec_fields) followed by
 * `spank-` lines for the plugin. Spec lines are kept verbatim for the holder; the plugin also
 * notes the env and cwd lines it applies to every task. Errors are returned, never exit():
 * this runs inside slurmstepd. */
#define _GNU_SOURCE
#include "envlock-spank.h"
#include "envlock-enter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 4
#define MAX_LINES 4096

static int push(char ***list, int *n, const char *value) {
  if (*n >= MAX_LINES) return -1;
  if (*n % 64 == 0) {
    char **grown = realloc(*list, (size_t)(*n + 65) * sizeof **list);
    if (!grown) return -1;
    *list = grown;
  }
  (*list)[*n] = strdup(value);
  if (!(*list)[*n]) return -1;
  (*list)[++*n] = NULL;
  return 0;
}

/* One `spank-` line or a spec line the plugin also needs; f[0] is the keyword. */
static int take(struct els_prepared *p, char **f, int n) {
  const char *k = f[0];
  if (strcmp(k, "env") == 0 && n == 2) return push(&p->env, &p->n_env, f[1]);
  if (strcmp(k, "cwd") == 0 && n == 2) return (p->cwd = strdup(f[1])) ? 0 : -1;
  if (strcmp(k, "squashfs") == 0) p->squashfs = true;
  if (strcmp(k, "spank-image") == 0 && n == 2) return (p->image = strdup(f[1])) ? 0 : -1;
  if (strcmp(k, "spank-pass") == 0 && n == 2) return push(&p->pass, &p->n_pass, f[1]);
  if (strcmp(k, "spank-pass-prefix") == 0 && n == 2) return push(&p->pass_prefix, &p->n_pass_prefix, f[1]);
  if (strcmp(k, "spank-owned") == 0 && n == 2) return push(&p->owned, &p->n_owned, f[1]);
  if (strcmp(k, "spank-lease") == 0 && n == 3) {
    p->lease_dir = strdup(f[1]);
    p->lease_name = strdup(f[2]);
    return p->lease_dir && p->lease_name ? 0 : -1;
  }
  return strncmp(k, "spank-", 6) == 0 ? -1 : 0;
}

int els_parse_prepared(struct els_prepared *p, char *text, char *err, size_t errlen) {
  memset(p, 0, sizeof *p);
  size_t total = strlen(text);
  p->spec = malloc(total + 2); /* every line gets its newline back, the last one too */
  if (!p->spec) return snprintf(err, errlen, "out of memory"), -1;
  int line = 0;
  for (char *cur = text; cur && *cur;) {
    char *end = strchr(cur, '\n');
    if (end) *end = '\0';
    line++;
    bool plugin_only = strncmp(cur, "spank-", 6) == 0;
    if (!plugin_only) {
      size_t len = strlen(cur);
      memcpy(p->spec + p->spec_len, cur, len);
      p->spec_len += len;
      p->spec[p->spec_len++] = '\n';
    }
    /* Every line is read, comments too: a bad escape or a fifth field anywhere is malformed. */
    char *f[MAX_FIELDS];
    int n = el_spec_fields(cur, f, MAX_FIELDS, NULL, NULL);
    if (n < 0 || (*cur && *cur != '#' && take(p, f, n) != 0)) {
      snprintf(err, errlen, "line %d of the prepared spec is malformed", line);
      return -1;
    }
    cur = end ? end + 1 : NULL;
  }
  p->spec[p->spec_len] = '\0';
  if (!p->image || !p->cwd) return snprintf(err, errlen, "the prepared spec names no image or no working directory"), -1;
  return 0;
}

static void free_list(char **list, int n) {
  for (int i = 0; i < n; i++) free(list[i]);
  free(list);
}

void els_free_prepared(struct els_prepared *p) {
  free(p->spec);
  free_list(p->env, p->n_env);
  free_list(p->pass, p->n_pass);
  free_list(p->pass_prefix, p->n_pass_prefix);
  free_list(p->owned, p->n_owned);
  free(p->cwd);
  free(p->image);
  free(p->lease_dir);
  free(p->lease_name);
  memset(p, 0, sizeof *p);
}
