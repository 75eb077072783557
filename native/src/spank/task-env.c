/* A task's environment. `envlock slurm prepare` composed the environment once per node from the
 * step's variables (docs/runtime.md: image Env, host variables passed by name or prefix, the
 * declaration's edits, markers). slurmstepd then adds per-task variables (SLURM_PROCID,
 * SLURM_LOCALID, PMI ranks, GPU binding). So each task gets the prepared environment with its
 * own values of the pass-through names on top, except names the declaration decides: the same
 * result as composing from the task's own variables. */
#define _GNU_SOURCE
#include "envlock-spank.h"

#include <stdlib.h>
#include <string.h>

static bool in_list(char **list, int n, const char *name, size_t len) {
  for (int i = 0; i < n; i++)
    if (strlen(list[i]) == len && strncmp(list[i], name, len) == 0) return true;
  return false;
}

bool els_passes(const struct els_prepared *p, const char *name, size_t len) {
  if (in_list(p->owned, p->n_owned, name, len)) return false;
  if (in_list(p->pass, p->n_pass, name, len)) return true;
  for (int i = 0; i < p->n_pass_prefix; i++) {
    size_t plen = strlen(p->pass_prefix[i]);
    if (len >= plen && strncmp(name, p->pass_prefix[i], plen) == 0) return true;
  }
  return false;
}

static size_t name_len(const char *entry) {
  const char *eq = strchr(entry, '=');
  return eq ? (size_t)(eq - entry) : strlen(entry);
}

static int find(char **list, int n, const char *entry) {
  size_t len = name_len(entry);
  for (int i = 0; i < n; i++)
    if (name_len(list[i]) == len && strncmp(list[i], entry, len) == 0) return i;
  return -1;
}

int els_task_environment(const struct els_prepared *p, char **task, struct els_env_edit *edit) {
  int n_task = 0;
  while (task && task[n_task]) n_task++;
  char **final = calloc((size_t)(p->n_env + n_task + 1), sizeof *final);
  if (!final) return -1;
  int n = 0;
  for (int i = 0; i < p->n_env; i++) {
    /* A pass-through name the task no longer has is not carried over from the step. */
    if (els_passes(p, p->env[i], name_len(p->env[i])) && find(task, n_task, p->env[i]) < 0) continue;
    final[n++] = p->env[i];
  }
  for (int i = 0; i < n_task; i++) {
    if (!els_passes(p, task[i], name_len(task[i]))) continue;
    int at = find(final, n, task[i]);
    if (at >= 0) final[at] = task[i];
    else final[n++] = task[i];
  }
  edit->set = final;
  edit->n_set = n;
  edit->unset = calloc((size_t)n_task + 1, sizeof *edit->unset);
  if (!edit->unset) return -1;
  edit->n_unset = 0;
  for (int i = 0; i < n_task; i++) {
    if (find(final, n, task[i]) >= 0) continue;
    edit->unset[edit->n_unset] = strndup(task[i], name_len(task[i]));
    if (!edit->unset[edit->n_unset++]) return -1;
  }
  /* Copies: unsetting in the task's array frees the strings `final` may point at. */
  for (int i = 0; i < n; i++)
    if (!(final[i] = strdup(final[i]))) return -1;
  return 0;
}
