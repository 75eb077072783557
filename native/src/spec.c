/* The launch spec: a line-based text format (docs/runtime.md "Spec format"), parsed without
 * any JSON. One keyword per line, fields separated by exactly one space, with \\ \s \n \t \r
 * escapes inside a field, so values may hold anything except NUL. */
#define _GNU_SOURCE
#include "launch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One more than any keyword takes: add_line names the keyword of a line with five. */
#define MAX_FIELDS 5

static int bad_line(const char *origin, int line, const char *why, const char *word) {
  return el_fail(EL_EXIT_LAUNCH_FAILED, "spec %s line %d: %s%s%s", origin, line, why,
                 word ? ": " : "", word ? word : "");
}

/* Unescapes one field in place; returns false on an unknown escape. */
bool el_spec_unescape(char *field) {
  char *out = field;
  for (char *in = field; *in; in++) {
    if (*in != '\\') {
      *out++ = *in;
      continue;
    }
    switch (*++in) {
      case '\\': *out++ = '\\'; break;
      case 's': *out++ = ' '; break;
      case 'n': *out++ = '\n'; break;
      case 't': *out++ = '\t'; break;
      case 'r': *out++ = '\r'; break;
      default: return false;
    }
  }
  *out = '\0';
  return true;
}

static bool yes_no(const char *v, const char *yes, const char *no, bool *out) {
  if (strcmp(v, yes) == 0) *out = true;
  else if (strcmp(v, no) == 0) *out = false;
  else return false;
  return true;
}

/* Paths must be absolute without "." or ".." components: destinations resolve inside the
 * image anyway (RESOLVE_IN_ROOT), but the mount skeleton is built from the literal text. */
static bool is_clean_absolute(const char *path, const char **why) {
  *why = "path is not absolute";
  if (path[0] != '/') return false;
  *why = "path has a . or .. component";
  for (const char *p = path; (p = strchr(p, '/')) != NULL; p++) {
    size_t n = strcspn(p + 1, "/");
    if ((n == 1 && p[1] == '.') || (n == 2 && p[1] == '.' && p[2] == '.')) return false;
  }
  return true;
}

#define NEED_PATH(path)                                                     \
  do {                                                                      \
    const char *why_;                                                       \
    if (!is_clean_absolute((path), &why_)) return bad_line(origin, line, why_, (path)); \
  } while (0)

static int parse_bind_options(struct el_bind *b, char *opts, const char *origin, int line) {
  b->ro = true;
  for (char *save = NULL, *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
    if (strcmp(o, "ro") == 0) b->ro = true;
    else if (strcmp(o, "rw") == 0) b->ro = false;
    else if (strcmp(o, "optional") == 0) b->optional = true;
    else return bad_line(origin, line, "unknown bind option", o);
  }
  return 0;
}

/* cpu-needs takes a comma-separated list; lines accumulate. */
static int add_cpu_needs(struct el_spec *s, char *list, const char *origin, int line) {
  for (char *save = NULL, *w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
    if (s->n_cpu_needs >= EL_MAX_ITEMS) return bad_line(origin, line, "too many CPU features", w);
    s->cpu_needs[s->n_cpu_needs++] = el_strdup(w);
  }
  return 0;
}

static int add_bind(struct el_spec *s, char **f, int n, const char *origin, int line) {
  bool dev = f[0][0] == 'd';
  if (n < 2 || n > (dev ? 3 : 4)) return bad_line(origin, line, "wrong number of fields for", f[0]);
  if (s->n_binds >= EL_MAX_ITEMS) return bad_line(origin, line, "too many lines of kind", f[0]);
  struct el_bind *b = &s->binds[s->n_binds++];
  memset(b, 0, sizeof *b);
  b->src = el_strdup(f[1]);
  b->dst = el_strdup(n >= 3 ? f[2] : f[1]);
  NEED_PATH(b->src);
  NEED_PATH(b->dst);
  b->device = dev;
  b->ro = !dev;
  /* Device nodes go into the launcher's own /dev tmpfs, the only place it can create them. */
  if (dev && !(strncmp(b->dst, "/dev/", 5) == 0 && b->dst[5] != '\0'))
    return bad_line(origin, line, "device destination is not under /dev", b->dst);
  if (!dev && n == 4) return parse_bind_options(b, f[3], origin, line);
  return 0;
}

/* Settings of the form `keyword yes|no` and friends. */
static int add_switch(struct el_spec *s, char **f, int n, const char *origin, int line) {
  const char *k = f[0];
  bool ok;
  if (n != 2) return bad_line(origin, line, "unknown keyword or wrong number of fields", k);
  if (strcmp(k, "bind-cwd") == 0) ok = yes_no(f[1], "yes", "no", &s->bind_cwd);
  else if (strcmp(k, "fake-root") == 0) ok = yes_no(f[1], "yes", "no", &s->fake_root);
  else if (strcmp(k, "tmp") == 0) ok = yes_no(f[1], "private", "host", &s->private_tmp);
  else if (strcmp(k, "pid") == 0) ok = yes_no(f[1], "private", "host", &s->pid_ns);
  else if (strcmp(k, "host-files") == 0) ok = yes_no(f[1], "yes", "no", &s->host_files);
  else if (strcmp(k, "overlay") == 0) ok = yes_no(f[1], "always", "auto", &s->overlay_always);
  else return bad_line(origin, line, "unknown keyword", k);
  return ok ? 0 : bad_line(origin, line, "unknown value", f[1]);
}

/* One-value settings: the keyword, where it goes, and whether it is a path. */
struct scalar {
  const char *keyword;
  size_t offset;
  bool path;
};
static const struct scalar SCALARS[] = {
    {"rootfs", offsetof(struct el_spec, rootfs), true},
    {"squashfs", offsetof(struct el_spec, squashfs), true},
    {"cwd", offsetof(struct el_spec, cwd), true},
    {"home", offsetof(struct el_spec, home), true},
    {"hostname", offsetof(struct el_spec, hostname), false},
    {"user", offsetof(struct el_spec, user_name), false},
    {"group", offsetof(struct el_spec, group_name), false},
    {"arch", offsetof(struct el_spec, cpu_arch), false},
};

static int add_line(struct el_spec *s, char **f, int n, const char *origin, int line) {
  const char *k = f[0];
  for (size_t i = 0; i < sizeof SCALARS / sizeof *SCALARS; i++) {
    if (strcmp(k, SCALARS[i].keyword) != 0) continue;
    if (n != 2) return bad_line(origin, line, "wrong number of fields for", k);
    if (SCALARS[i].path) NEED_PATH(f[1]);
    *(char **)((char *)s + SCALARS[i].offset) = el_strdup(f[1]);
    return 0;
  }
  if (strcmp(k, "envlock-launch-spec") == 0) {
    if (n != 2) return bad_line(origin, line, "wrong number of fields for", k);
    if (strcmp(f[1], "1") != 0) return bad_line(origin, line, "unsupported spec version", f[1]);
    return 0;
  }
  if (strcmp(k, "bind") == 0 || strcmp(k, "dev") == 0) return add_bind(s, f, n, origin, line);
  if (strcmp(k, "lease") == 0) {
    if (n != 3 && n != 4) return bad_line(origin, line, "wrong number of fields for", k);
    if (n == 4 && strcmp(f[3], "optional") != 0) return bad_line(origin, line, "unknown lease option", f[3]);
    s->lease_optional = n == 4;
    NEED_PATH(f[1]);
    if (f[2][0] == '\0' || f[2][0] == '.' || strchr(f[2], '/'))
      return bad_line(origin, line, "lease name is empty or not a plain file name", f[2]);
    s->lease_dir = el_strdup(f[1]);
    s->lease_name = el_strdup(f[2]);
    return 0;
  }
  if (strcmp(k, "cpu-needs") == 0) {
    if (n != 2) return bad_line(origin, line, "wrong number of fields for", k);
    return add_cpu_needs(s, f[1], origin, line);
  }
  /* List settings: env, env-pass, mkdir, cmd. */
  char **list = NULL;
  int *count = NULL;
  if (strcmp(k, "env") == 0) list = s->env, count = &s->n_env;
  else if (strcmp(k, "env-pass") == 0) list = s->env_pass, count = &s->n_env_pass;
  else if (strcmp(k, "mkdir") == 0) list = s->mkdirs, count = &s->n_mkdirs;
  else if (strcmp(k, "cmd") == 0) list = s->cmd, count = &s->n_cmd;
  if (!list) return add_switch(s, f, n, origin, line);
  if (n != 2) return bad_line(origin, line, "wrong number of fields for", k);
  if (*count >= EL_MAX_ITEMS) return bad_line(origin, line, "too many lines of kind", k);
  if (list == s->env && (!strchr(f[1], '=') || f[1][0] == '='))
    return bad_line(origin, line, "env needs KEY=VALUE", f[1]);
  if (list == s->mkdirs) NEED_PATH(f[1]);
  list[(*count)++] = el_strdup(f[1]);
  return 0;
}

void el_spec_init(struct el_spec *s) {
  memset(s, 0, sizeof *s);
  s->bind_cwd = true;
  s->private_tmp = true;
  s->pid_ns = true;
  s->host_files = true;
}

int el_spec_fields(char *line, char **fields, int max, const char **why, char **word) {
  int n = 0;
  for (char *p = line;;) {
    if (n >= max) {
      if (why) *why = "too many fields";
      if (word) *word = NULL;
      return -1;
    }
    fields[n++] = p;
    char *sp = strchr(p, ' ');
    if (!sp) break;
    *sp = '\0';
    p = sp + 1;
  }
  for (int i = 0; i < n; i++) {
    if (!el_spec_unescape(fields[i])) {
      if (why) *why = "unknown escape in field";
      if (word) *word = fields[i];
      return -1;
    }
  }
  return n;
}

int el_spec_parse(struct el_spec *s, char *text, const char *origin) {
  int line = 0;
  for (char *cur = text; cur && *cur;) {
    char *end = strchr(cur, '\n');
    if (end) *end = '\0';
    line++;
    if (*cur != '\0' && *cur != '#') {
      char *f[MAX_FIELDS];
      const char *why;
      char *word;
      int n = el_spec_fields(cur, f, MAX_FIELDS, &why, &word);
      if (n < 0) return bad_line(origin, line, why, word);
      PASS(add_line(s, f, n, origin, line));
    }
    cur = end ? end + 1 : NULL;
  }
  return 0;
}

/* Checks what must be present and copies the caller's values of env-pass names. */
int el_spec_finish(struct el_spec *s, char **environ_in) {
  if (!s->rootfs && !s->squashfs) return el_fail(EL_EXIT_LAUNCH_FAILED, "spec has no rootfs or squashfs line");
  if (s->rootfs && s->squashfs) return el_fail(EL_EXIT_LAUNCH_FAILED, "spec has both a rootfs and a squashfs line");
  for (int i = 0; i < s->n_env_pass; i++) {
    size_t klen = strlen(s->env_pass[i]);
    for (char **e = environ_in; e && *e; e++) {
      if (strncmp(*e, s->env_pass[i], klen) == 0 && (*e)[klen] == '=') {
        if (s->n_env >= EL_MAX_ITEMS) return el_fail(EL_EXIT_LAUNCH_FAILED, "too many environment variables");
        s->env[s->n_env++] = *e;
        break;
      }
    }
  }
  s->env[s->n_env] = NULL;
  s->cmd[s->n_cmd] = NULL;
  return 0;
}
