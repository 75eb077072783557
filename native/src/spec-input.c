/* Where a spec comes from: a file (module wrappers, SPANK), an inherited descriptor (envlock
 * run: the spec holds the whole environment, proxy credentials included, so it never goes
 * into argv, which every user of the node can read in /proc/PID/cmdline), or the first of
 * several candidate files whose cpu-needs this CPU meets (wrappers prepared for several CPU
 * variants pick per node), held to who wrote them when a module wrapper names them. */
#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SPEC_BYTES (1 << 20)

/* Reads all of `fd` into a NUL-terminated buffer that stays alive (the spec points into it). */
static int read_all(int fd, const char *what, char **out) {
  size_t len;
  char *buf = el_read_upto(fd, MAX_SPEC_BYTES, &len);
  FAILED_IF(!buf, "read", "read spec", what);
  if (len == MAX_SPEC_BYTES)
    return el_fail(EL_EXIT_LAUNCH_FAILED, "spec %s is larger than %d bytes", what, MAX_SPEC_BYTES);
  if (strlen(buf) != len) return el_fail(EL_EXIT_LAUNCH_FAILED, "spec %s contains a NUL byte", what);
  *out = buf;
  return 0;
}

/* Who may have written a spec file. `--spec` and `--candidate` refuse one that every user may
 * write; a module wrapper's specs (el_spec_read_first_fitting_owned) must also be owned by the
 * wrapper's owner or root and be writable by no one else, as the wrapper itself. */
struct writer_rule {
  bool owned;
  uid_t owner;
};

static int read_spec_file(struct el_spec *s, const char *path, const struct writer_rule *rule) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0 && errno == ENOENT) return el_fail(EL_EXIT_LAUNCH_FAILED, "spec %s does not exist", path);
  SYS(fd, "open spec", path);
  struct stat st;
  const char *why = NULL;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) why = "is not a regular file";
  /* Anyone could add a bind or a command to a world-writable spec. */
  else if (st.st_mode & S_IWOTH) why = "is writable by every user; refusing it (chmod o-w)";
  else if (rule->owned && (st.st_mode & S_IWGRP)) why = "is writable by its group; refusing it (chmod g-w)";
  if (why) {
    close(fd);
    return el_fail(EL_EXIT_LAUNCH_FAILED, "spec %s %s", path, why);
  }
  if (rule->owned && st.st_uid != rule->owner && st.st_uid != 0) {
    close(fd);
    return el_fail(EL_EXIT_LAUNCH_FAILED, "spec %s is owned by uid %u, not by the wrapper's owner (uid %u) or root; refusing it",
                   path, (unsigned)st.st_uid, (unsigned)rule->owner);
  }
  char *text = NULL;
  int rc = read_all(fd, path, &text);
  close(fd);
  PASS(rc);
  return el_spec_parse(s, text, path);
}

int el_spec_read_file(struct el_spec *s, const char *path) {
  const struct writer_rule anyone = {false, 0};
  return read_spec_file(s, path, &anyone);
}

int el_spec_read_fd(struct el_spec *s, int fd) {
  char what[32];
  snprintf(what, sizeof what, "fd %d", fd);
  char *text = NULL;
  int rc = read_all(fd, what, &text);
  close(fd);
  PASS(rc);
  return el_spec_parse(s, text, what);
}

/* Appends "; PATH needs a, b" for one candidate to `why`. */
static void note_lack(char *why, size_t size, const char *path, const struct el_spec *s) {
  size_t len = strlen(why);
  snprintf(why + len, size - len, "%s%s needs ", len ? "; " : "", path);
  len = strlen(why);
  el_cpu_missing(s, why + len, size - len);
}

static int read_first_fitting(struct el_spec *s, char *const *paths, int n, const struct writer_rule *rule) {
  char why[900] = "";
  for (int i = 0; i < n; i++) {
    el_spec_init(s);
    PASS(read_spec_file(s, paths[i], rule));
    char missing[256];
    if (el_cpu_missing(s, missing, sizeof missing) == 0) {
      el_debug("candidate %s fits this CPU", paths[i]);
      return 0;
    }
    note_lack(why, sizeof why, paths[i], s);
  }
  return el_fail(EL_EXIT_HOST_UNSUPPORTED, EL_MSG_CPU "no prepared variant fits this CPU (%s)", why);
}

int el_spec_read_first_fitting(struct el_spec *s, char *const *paths, int n) {
  const struct writer_rule anyone = {false, 0};
  return read_first_fitting(s, paths, n, &anyone);
}

int el_spec_read_first_fitting_owned(struct el_spec *s, char *const *paths, int n, uid_t owner) {
  const struct writer_rule rule = {true, owner};
  return read_first_fitting(s, paths, n, &rule);
}
