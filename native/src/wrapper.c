/* A module wrapper, run by the kernel with the launcher as its interpreter. Its first line is
 * `#!/path/to/envlock-launch --wrapper`, so execve(2) starts `envlock-launch --wrapper FILE
 * ARG...` with no shell in between (a /bin/sh start was most of what a wrapper cost over
 * ch-run). FILE holds what the shell wrapper used to spell out (docs/modules.md):
 *
 *   #!/opt/envlock/lib/envlock-launch --wrapper
 *   exec '/opt/envlock/lib/envlock-launch' --wrapper "$0" "$@"
 *   # envlock wrapper: runs `tool` in module analysis/2.0. Written by envlock; do not edit.
 *   envlock-wrapper 1
 *   label analysis/2.0
 *   command tool
 *   stamp /sw/analysis/2.0/.envlock/<hex>/spec
 *   source /sw/analysis/2.0/envlock.lock
 *   candidate /sw/analysis/2.0/.envlock/<hex>/spec.1-linux-amd64-v4
 *   home-set bind ~/data /data rw
 *
 * The `exec` line is for a shell that reads the file (`sh FILE`, or a `#!/bin/sh` first line
 * where the launcher's path cannot stand in an interpreter line); everything before
 * `envlock-wrapper 1` is skipped here. Values use the spec's escapes; a `home-set` value is a
 * spec line whose `~` fields stand for the caller's $HOME. */
#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_WRAPPER_BYTES (64 * 1024)
#define MAX_CANDIDATES 16
#define MAX_SOURCES 8
/* A $HOME made only of these needs no spec escaping (the shell wrapper's rule, kept). */
#define HOME_SAFE "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/+@=,:-"

struct wrapper {
  const char *file;
  uid_t owner;
  char *label, *command, *stamp;
  char *sources[MAX_SOURCES];
  int n_sources;
  char *candidates[MAX_CANDIDATES];
  int n_candidates;
  char *home_sets[EL_MAX_ITEMS];
  int n_home_sets;
};

/* A wrapper that must not run says why in envlock's words, as the shell wrapper did, and exits
 * 125 before anything is entered. */
static _Noreturn __attribute__((format(printf, 1, 2))) void refuse(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("envlock: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(EL_EXIT_LAUNCH_FAILED);
}

/* The file's bytes, NUL-terminated. A wrapper anyone but its owner may write is refused, as
 * its specs are: whoever could edit it could choose what it runs. */
static char *read_wrapper(struct wrapper *w) {
  int fd = open(w->file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) refuse("cannot read the module wrapper %s: %s", w->file, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) refuse("the module wrapper %s is not a regular file", w->file);
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    refuse("the module wrapper %s is writable by group or others; refusing it (chmod go-w)", w->file);
  w->owner = st.st_uid;
  char *text = malloc(MAX_WRAPPER_BYTES + 1);
  if (!text) abort();
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, text + len, MAX_WRAPPER_BYTES - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) refuse("cannot read the module wrapper %s: %s", w->file, strerror(errno));
    if (n == 0) break;
    len += (size_t)n;
    if (len == MAX_WRAPPER_BYTES) refuse("the module wrapper %s is larger than %d bytes", w->file, MAX_WRAPPER_BYTES);
  }
  close(fd);
  text[len] = '\0';
  if (strlen(text) != len) refuse("the module wrapper %s contains a NUL byte", w->file);
  return text;
}

static _Noreturn void bad_line(const struct wrapper *w, int line, const char *why, const char *word) {
  refuse("the module wrapper %s line %d: %s: %s", w->file, line, why, word);
}

static void add(const struct wrapper *w, int line, char **list, int *n, int max, char *value, const char *kind) {
  if (*n == max) bad_line(w, line, "too many lines of kind", kind);
  list[(*n)++] = value;
}

/* One keyword line after `envlock-wrapper 1`; values point into the file's text. */
static void parse_line(struct wrapper *w, int line, char *keyword) {
  char *value = strchr(keyword, ' ');
  if (!value) bad_line(w, line, "no value after", keyword);
  *value++ = '\0';
  if (strcmp(keyword, "home-set") == 0) {
    add(w, line, w->home_sets, &w->n_home_sets, EL_MAX_ITEMS, value, keyword);
    return;
  }
  if (strchr(value, ' ') || !el_spec_unescape(value)) bad_line(w, line, "not one field after", keyword);
  bool path = strcmp(keyword, "stamp") == 0 || strcmp(keyword, "source") == 0 || strcmp(keyword, "candidate") == 0;
  if (path && value[0] != '/') bad_line(w, line, "path is not absolute", value);
  if (strcmp(keyword, "label") == 0) w->label = value;
  else if (strcmp(keyword, "command") == 0) w->command = value;
  else if (strcmp(keyword, "stamp") == 0) w->stamp = value;
  else if (strcmp(keyword, "source") == 0) add(w, line, w->sources, &w->n_sources, MAX_SOURCES, value, keyword);
  else if (strcmp(keyword, "candidate") == 0) add(w, line, w->candidates, &w->n_candidates, MAX_CANDIDATES, value, keyword);
  else bad_line(w, line, "unknown keyword", keyword);
}

static void parse(struct wrapper *w, char *text) {
  bool started = false;
  int line = 0;
  for (char *cur = text; cur && *cur;) {
    char *end = strchr(cur, '\n');
    if (end) *end = '\0';
    line++;
    if (started && *cur != '\0' && *cur != '#') parse_line(w, line, cur);
    else if (!started && strncmp(cur, "envlock-wrapper ", 16) == 0) {
      if (strcmp(cur + 16, "1") != 0) refuse("the module wrapper %s was written by a newer envlock (format %s); publish the module again", w->file, cur + 16);
      started = true;
    }
    cur = end ? end + 1 : NULL;
  }
  if (!started) refuse("%s is not an envlock module wrapper (it has no `envlock-wrapper 1` line)", w->file);
  const char *missing = !w->label ? "label" : !w->command ? "command" : !w->stamp ? "stamp" : !w->n_candidates ? "candidate" : NULL;
  if (missing) refuse("the module wrapper %s has no %s line", w->file, missing);
}

static bool newer(const struct stat *a, const struct stat *b) {
  return a->st_mtim.tv_sec > b->st_mtim.tv_sec ||
         (a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec > b->st_mtim.tv_nsec);
}

/* A lock or declaration newer than the spec means the module changed after its wrappers were
 * prepared: never run it with the old image. A source that is gone changes nothing here. */
static void refuse_if_stale(const struct wrapper *w) {
  struct stat stamp, st;
  if (stat(w->stamp, &stamp) != 0)
    refuse("%s has lost its prepared spec %s (%s); run `module load %s` again (or `envlock module publish`)",
           w->label, w->stamp, strerror(errno), w->label);
  for (int i = 0; i < w->n_sources; i++)
    if (stat(w->sources[i], &st) == 0 && newer(&st, &stamp))
      refuse("%s changed since its wrappers were prepared; run `module load %s` again (or `envlock module publish`)",
             w->label, w->label);
}

/* The caller's $HOME when it is bound: an existing directory whose path needs no escaping. */
static const char *usable_home(void) {
  const char *home = getenv("HOME");
  struct stat st;
  if (!home || home[0] != '/' || home[1] == '\0' || home[strspn(home, HOME_SAFE)] != '\0') return NULL;
  return stat(home, &st) == 0 && S_ISDIR(st.st_mode) ? home : NULL;
}

/* `line` with each field that is `~` or starts with `~/` beginning with `home` instead. */
static char *with_home(const char *line, const char *home) {
  size_t tildes = 0;
  for (const char *p = line; *p; p++) tildes += *p == '~';
  char *out = malloc(strlen(line) + tildes * strlen(home) + 1);
  if (!out) abort();
  char *o = out;
  for (const char *p = line; *p; p++) {
    bool field_start = p == line || p[-1] == ' ';
    if (field_start && p[0] == '~' && (p[1] == '\0' || p[1] == ' ' || p[1] == '/')) o = stpcpy(o, home);
    else *o++ = *p;
  }
  *o = '\0';
  return out;
}

char **el_wrapper_load(struct el_spec *s, char **argv) {
  static struct wrapper w;
  w.file = argv[2];
  parse(&w, read_wrapper(&w));
  refuse_if_stale(&w);
  const char *home = usable_home();
  if (!home && w.n_home_sets > 0)
    refuse("%s binds directories of your home, so HOME must name an existing directory whose path has only letters, digits and ._/+@=,:-",
           w.label);
  if (el_spec_read_first_fitting_owned(s, w.candidates, w.n_candidates, w.owner) < 0) return NULL;
  if (home) {
    char *line;
    if (asprintf(&line, "home %s", home) < 0) abort();
    if (el_spec_parse(s, line, "$HOME") < 0) return NULL;
    for (int i = 0; i < w.n_home_sets; i++)
      if (el_spec_parse(s, with_home(w.home_sets[i], home), w.file) < 0) return NULL;
  }
  /* The command's argv: the wrapper's command in the slot of the wrapper's path, then ARG... */
  argv[2] = w.command;
  return &argv[2];
}
