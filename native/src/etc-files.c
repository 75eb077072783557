/* Generates /etc/passwd and /etc/group for inside: the image's own entries plus one for the
 * caller when the image has none with its id, so `id`, `whoami` and shells show a name. */
#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ETC_BYTES (4 << 20) /* cap reads from the image (containerd CVE-2026-47262) */

/* Reads the image's file (resolved inside the image root) into a malloc'd buffer, or "". */
static char *read_in_root(int rootfd, const char *rel) {
  int fd = el_openat2_in_root(rootfd, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
  size_t len = 0;
  char *buf = fd < 0 ? NULL : el_read_upto(fd, MAX_ETC_BYTES, &len);
  if (fd >= 0) close(fd);
  if (!buf) return el_strdup(""); /* unreadable: as if absent */
  if (len > 0 && buf[len - 1] != '\n') buf[len++] = '\n';
  buf[len] = '\0';
  return buf;
}

/* True when a line of the colon-separated file has `id` in its third field. */
static bool has_id(const char *text, unsigned long id) {
  for (const char *line = text; *line;) {
    const char *end = strchr(line, '\n');
    const char *field = line;
    for (int i = 0; i < 2 && field && (!end || field < end); i++) {
      field = strchr(field, ':');
      if (field) field++;
    }
    if (field && (!end || field < end)) {
      char *after;
      unsigned long v = strtoul(field, &after, 10);
      if (after != field && *after == ':' && v == id) return true;
    }
    if (!end) break;
    line = end + 1;
  }
  return false;
}

static int write_whole(const char *path, const char *a, const char *b) {
  int fd;
  SYS(fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), "create", path);
  const char *parts[2] = {a, b};
  for (int i = 0; i < 2; i++) {
    size_t len = strlen(parts[i]);
    for (size_t done = 0; done < len;) {
      ssize_t n = write(fd, parts[i] + done, len - done);
      if (n < 0) close(fd);
      FAILED_IF(n < 0, "write", "write", path);
      done += (size_t)n;
    }
  }
  SYS(close(fd), "close", path);
  return 0;
}

/* Writes passwd and group into the scratch directory `dir` for the id seen inside. */
int el_make_etc_files(int rootfd, const struct el_spec *s, const struct el_caller *c, const char *dir) {
  unsigned long uid = s->fake_root ? 0 : c->uid;
  unsigned long gid = s->fake_root ? 0 : c->gid;
  const char *name = s->fake_root ? "root" : (s->user_name ? s->user_name : c->name);
  const char *home = s->fake_root ? "/root" : (s->home ? s->home : c->home);
  char line[8192];

  char *passwd = read_in_root(rootfd, "etc/passwd");
  line[0] = '\0';
  if (!has_id(passwd, uid))
    snprintf(line, sizeof line, "%s:x:%lu:%lu:%s:%s:/bin/sh\n", name, uid, gid, name, home);
  char *path = el_join(dir, "passwd");
  int rc = write_whole(path, passwd, line);
  free(path);
  free(passwd);
  PASS(rc);

  char *group = read_in_root(rootfd, "etc/group");
  line[0] = '\0';
  if (!has_id(group, gid))
    snprintf(line, sizeof line, "%s:x:%lu:\n", s->fake_root ? "root" : c->group, gid);
  path = el_join(dir, "group");
  rc = write_whole(path, group, line);
  free(path);
  free(group);
  return rc;
}
