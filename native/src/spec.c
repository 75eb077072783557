/* The launch spec: a line-based text format (docs/runtime.md "Spec format"), parsed without
 * any JSON. One keyword per line, fields separated by exactly one space, with \\ \s \n \t \r
 * escapes inside a field, so values may hold anything except NUL. */
#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FIELDS 4
#define MAX_SPEC_BYTES (1 << 20)

static _Noreturn void bad_line(const char *origin, int line, const char *why, const char *word) {
  fprintf(stderr, "envlock-launch: spec %s line %d: %s%s%s\n", origin, line, why, word ? ": " : "",
          word ? word : "");
  exit(EXIT_LAUNCH_FAILED);
}

/* Unescapes one field in place; returns false on an unknown escape. */
static bool unescape(char *field) {
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
static void need_absolute(const char *origin, int line, const char *path) {
  if (path[0] != '/') bad_line(origin, line, "path is not absolute", path);
  for (const char *p = path; (p = strchr(p, '/')) != NULL; p++) {
    size_t n = strcspn(p + 1, "/");
    if ((n == 1 && p[1] == '.') || (n == 2 && p[1] == '.' && p[2] == '.'))
      bad_line(origin, line, "path has a . or .. component", path);
  }
}

static void parse_bind_options(struct bind *b, char *opts, const char *origin, int line) {
  b->ro = true;
  for (char *save = NULL, *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
    if (strcmp(o, "ro") == 0) b->ro = true;
    else if (strcmp(o, "rw") == 0) b->ro = false;
    else if (strcmp(o, "optional") == 0) b->optional = true;
    else bad_line(origin, line, "unknown bind option", o);
  }
}

static void add_line(struct spec *s, char **f, int n, const char *origin, int line) {
  const char *k = f[0];
#define WANT(count) \
  if (n != (count) + 1) bad_line(origin, line, "wrong number of fields for", k)
#define ROOM(used) \
  if ((used) >= MAX_ITEMS) bad_line(origin, line, "too many lines of kind", k)
  if (strcmp(k, "envlock-launch-spec") == 0) {
    WANT(1);
    if (strcmp(f[1], "1") != 0) bad_line(origin, line, "unsupported spec version", f[1]);
  } else if (strcmp(k, "rootfs") == 0) {
    WANT(1);
    need_absolute(origin, line, f[1]);
    s->rootfs = xstrdup(f[1]);
  } else if (strcmp(k, "bind") == 0 || strcmp(k, "dev") == 0) {
    bool dev = k[0] == 'd';
    if (n < 2 || n > (dev ? 3 : 4)) bad_line(origin, line, "wrong number of fields for", k);
    ROOM(s->n_binds);
    struct bind *b = &s->binds[s->n_binds++];
    memset(b, 0, sizeof *b);
    b->src = xstrdup(f[1]);
    b->dst = xstrdup(n >= 3 ? f[2] : f[1]);
    need_absolute(origin, line, b->src);
    need_absolute(origin, line, b->dst);
    b->device = dev;
    b->ro = !dev;
    /* Device nodes go into the launcher's own /dev tmpfs, the only place it can create them. */
    if (dev && !(strncmp(b->dst, "/dev/", 5) == 0 && b->dst[5] != '\0'))
      bad_line(origin, line, "device destination is not under /dev", b->dst);
    if (!dev && n == 4) parse_bind_options(b, f[3], origin, line);
  } else if (strcmp(k, "env") == 0) {
    WANT(1);
    ROOM(s->n_env);
    if (!strchr(f[1], '=') || f[1][0] == '=') bad_line(origin, line, "env needs KEY=VALUE", f[1]);
    s->env[s->n_env++] = xstrdup(f[1]);
  } else if (strcmp(k, "env-pass") == 0) {
    WANT(1);
    ROOM(s->n_env_pass);
    s->env_pass[s->n_env_pass++] = xstrdup(f[1]);
  } else if (strcmp(k, "cwd") == 0) {
    WANT(1);
    need_absolute(origin, line, f[1]);
    s->cwd = xstrdup(f[1]);
  } else if (strcmp(k, "home") == 0) {
    WANT(1);
    need_absolute(origin, line, f[1]);
    s->home = xstrdup(f[1]);
  } else if (strcmp(k, "hostname") == 0) {
    WANT(1);
    s->hostname = xstrdup(f[1]);
  } else if (strcmp(k, "user") == 0) {
    WANT(1);
    s->user_name = xstrdup(f[1]);
  } else if (strcmp(k, "group") == 0) {
    WANT(1);
    s->group_name = xstrdup(f[1]);
  } else if (strcmp(k, "mkdir") == 0) {
    WANT(1);
    ROOM(s->n_mkdirs);
    need_absolute(origin, line, f[1]);
    s->mkdirs[s->n_mkdirs++] = xstrdup(f[1]);
  } else if (strcmp(k, "cmd") == 0) {
    WANT(1);
    ROOM(s->n_cmd);
    s->cmd[s->n_cmd++] = xstrdup(f[1]);
  } else {
    bool ok;
    if (n != 2) bad_line(origin, line, "unknown keyword or wrong number of fields", k);
    if (strcmp(k, "bind-cwd") == 0) ok = yes_no(f[1], "yes", "no", &s->bind_cwd);
    else if (strcmp(k, "fake-root") == 0) ok = yes_no(f[1], "yes", "no", &s->fake_root);
    else if (strcmp(k, "tmp") == 0) ok = yes_no(f[1], "private", "host", &s->private_tmp);
    else if (strcmp(k, "pid") == 0) ok = yes_no(f[1], "private", "host", &s->pid_ns);
    else if (strcmp(k, "host-files") == 0) ok = yes_no(f[1], "yes", "no", &s->host_files);
    else if (strcmp(k, "overlay") == 0) ok = yes_no(f[1], "always", "auto", &s->overlay_always);
    else bad_line(origin, line, "unknown keyword", k);
    if (!ok) bad_line(origin, line, "unknown value", f[1]);
  }
#undef WANT
#undef ROOM
}

void spec_defaults(struct spec *s) {
  memset(s, 0, sizeof *s);
  s->bind_cwd = true;
  s->private_tmp = true;
  s->pid_ns = true;
  s->host_files = true;
}

/* Parses a whole spec text (modified in place). */
void spec_parse_text(struct spec *s, char *text, const char *origin) {
  int line = 0;
  for (char *cur = text; cur && *cur;) {
    char *end = strchr(cur, '\n');
    if (end) *end = '\0';
    line++;
    if (*cur != '\0' && *cur != '#') {
      char *f[MAX_FIELDS + 1];
      int n = 0;
      for (char *p = cur;; ) {
        if (n > MAX_FIELDS) bad_line(origin, line, "too many fields", NULL);
        f[n++] = p;
        char *sp = strchr(p, ' ');
        if (!sp) break;
        *sp = '\0';
        p = sp + 1;
      }
      for (int i = 0; i < n; i++)
        if (!unescape(f[i])) bad_line(origin, line, "unknown escape in field", f[i]);
      add_line(s, f, n, origin, line);
    }
    cur = end ? end + 1 : NULL;
  }
}

void spec_parse_file(struct spec *s, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("open spec", path, errno);
  char *buf = malloc(MAX_SPEC_BYTES + 1);
  if (!buf) fail("malloc", NULL, errno);
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, buf + len, MAX_SPEC_BYTES - len);
    if (n < 0) fail("read spec", path, errno);
    if (n == 0) break;
    len += (size_t)n;
    if (len == MAX_SPEC_BYTES) fail("read spec", path, EFBIG);
  }
  close(fd);
  buf[len] = '\0';
  if (strlen(buf) != len) failx("spec contains a NUL byte");
  spec_parse_text(s, buf, path);
}

/* Copies the caller's values of env-pass names and checks what must be present. */
void spec_finish(struct spec *s, char **environ_in) {
  if (!s->rootfs) failx("spec has no rootfs line");
  for (int i = 0; i < s->n_env_pass; i++) {
    size_t klen = strlen(s->env_pass[i]);
    for (char **e = environ_in; e && *e; e++) {
      if (strncmp(*e, s->env_pass[i], klen) == 0 && (*e)[klen] == '=') {
        if (s->n_env >= MAX_ITEMS) failx("too many environment variables");
        s->env[s->n_env++] = *e;
        break;
      }
    }
  }
  s->env[s->n_env] = NULL;
  s->cmd[s->n_cmd] = NULL;
}
