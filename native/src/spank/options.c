/* The values of --envlock=NAME and --envlock-project=DIR, checked where the user typed them
 * (srun or sbatch), so a bad value is refused before any job or step exists. The sentences
 * match core/slurm/names.ts and core/slurm/prepare.ts, which check the same on the node. */
#define _GNU_SOURCE
#include "envlock-spank.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

void els_error(const char *message, const char *hint) {
  /* The CLI's own shape (cli/output/render.ts): one sentence, then the remedy. */
  fprintf(stderr, "error: %s\n", message);
  if (hint && *hint) fprintf(stderr, "hint: %s\n", hint);
  fflush(stderr);
}

/* The value as JSON would quote it, so a line break shows as \n and not as a new line. */
static void quoted(const char *value, char *out, size_t size) {
  size_t n = 0;
  out[n++] = '"';
  for (const char *p = value; *p && n + 8 < size; p++) {
    if (*p == '\n') n += (size_t)snprintf(out + n, size - n, "\\n");
    else if (*p == '\r') n += (size_t)snprintf(out + n, size - n, "\\r");
    else if (*p == '"' || *p == '\\') n += (size_t)snprintf(out + n, size - n, "\\%c", *p);
    else out[n++] = *p;
  }
  out[n++] = '"';
  out[n] = '\0';
}

bool els_check_name(const char *name) {
  const char *problem = !name || !*name ? "is empty"
      : strchr(name, '/') ? "contains `/`"
      : strpbrk(name, "\n\r") ? "contains a line break"
      : NULL;
  if (!problem) return true;
  char shown[512], message[700];
  quoted(name ? name : "", shown, sizeof shown);
  snprintf(message, sizeof message, "The environment name %s given to --envlock %s.", shown, problem);
  els_error(message, "Pass the name of an environment in envlock.yaml, as in --envlock=analysis.");
  return false;
}

bool els_check_project(const char *dir, bool must_exist) {
  char message[4200];
  if (!dir || !*dir) {
    els_error("The project directory given to --envlock-project is empty.", "Pass a directory that holds envlock.yaml and envlock.lock.");
    return false;
  }
  if (strpbrk(dir, "\n\r")) {
    els_error("The project directory given to --envlock-project contains a line break.", "Pass a directory that holds envlock.yaml and envlock.lock.");
    return false;
  }
  struct stat st;
  if (must_exist && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
    snprintf(message, sizeof message, "The project directory %s given to --envlock-project does not exist.", dir);
    els_error(message, "Pass a directory that holds envlock.yaml and envlock.lock and that every node can see.");
    return false;
  }
  return true;
}
