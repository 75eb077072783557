/* Leases (Decision 4, docs/store.md): a file leases/<alg>-<hex>.<host>.<pid>.<starttime> in
 * the store that holds the image, created before the image is opened, its mtime refreshed
 * while a supervisor runs, removed at exit. `gc` keeps an image while a lease on it is live:
 * on this host while that pid exists with that start time, from another host while the mtime
 * is recent. The descriptors are kept, so refreshing and removing touch no path: after
 * pivot_root the store is no longer reachable by name. */
#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#define STAT_STARTTIME_FIELD 22 /* proc(5): starttime, in clock ticks after boot */

/* Field 22 of /proc/PID/stat, counted after the command name, which may hold spaces. */
static int start_time(pid_t pid, unsigned long long *out) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd;
  SYS(fd = open(path, O_RDONLY | O_CLOEXEC), "read start time", path);
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  FAILED_IF(n < 0, "read", "read start time", path);
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  int field = 2;
  while (p && field < STAT_STARTTIME_FIELD) {
    p = strchr(p + 1, ' ');
    field++;
  }
  if (!p || sscanf(p + 1, "%llu", out) != 1)
    return el_fail(EL_EXIT_LAUNCH_FAILED, EL_MSG_LEASE "cannot parse the start time in %s", path);
  return 0;
}

/* What an optional lease (a module wrapper run by someone who may not write the store) skips. */
static bool not_permitted(int err) { return err == EACCES || err == EPERM || err == EROFS; }

#define SKIPPED (-2)

/* An optional lease the caller may not take: the run goes on without one. */
static int skip_lease(const struct el_spec *s) {
  el_debug("lease %s/%s not taken: the directory is not writable by this user", s->lease_dir, s->lease_name);
  return 0;
}

static int open_lease_dir(const char *dir, bool optional) {
  int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && (mkdir(dir, 0777) == 0 || errno == EEXIST))
    fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) return fd;
  int err = errno;
  if (optional && not_permitted(err)) return SKIPPED;
  return el_fail(EL_EXIT_LAUNCH_FAILED,
                 EL_MSG_LEASE "cannot use the lease directory %s: %s (errno %d); the store must be "
                 "writable by you to hold images in use against `envlock gc`",
                 dir, strerror(err), err);
}

int el_lease_take(const struct el_spec *s, pid_t pid, struct el_entry *e) {
  if (!s->lease_dir) return 0;
  unsigned long long start;
  PASS(start_time(pid, &start));
  struct utsname u;
  SYS(uname(&u), "uname", NULL);
  int n = snprintf(e->lease_file, sizeof e->lease_file, "%s.%s.%d.%llu", s->lease_name,
                   u.nodename, (int)pid, start);
  if (n < 0 || (size_t)n >= sizeof e->lease_file)
    return el_fail(EL_EXIT_LAUNCH_FAILED, EL_MSG_LEASE "lease name %s is too long", s->lease_name);
  int dirfd = open_lease_dir(s->lease_dir, s->lease_optional);
  if (dirfd == SKIPPED) return skip_lease(s);
  PASS(dirfd);
  /* O_EXCL: a lease is this process's own; the same name can only be a leftover of this very
   * pid and start time, which is this process, so it is reused. */
  int fd = openat(dirfd, e->lease_file, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 && errno == EEXIST) fd = openat(dirfd, e->lease_file, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    close(dirfd);
    if (s->lease_optional && not_permitted(err)) return skip_lease(s);
    return el_fail(EL_EXIT_LAUNCH_FAILED, EL_MSG_LEASE "cannot create %s/%s: %s (errno %d)",
                   s->lease_dir, e->lease_file, strerror(err), err);
  }
  e->lease_dirfd = dirfd;
  e->lease_fd = fd;
  el_debug("lease %s/%s taken", s->lease_dir, e->lease_file);
  return 0;
}

void el_lease_refresh(const struct el_entry *e) {
  if (e->lease_fd >= 0) futimens(e->lease_fd, NULL);
}

void el_lease_release(struct el_entry *e) {
  if (e->lease_dirfd < 0) return;
  unlinkat(e->lease_dirfd, e->lease_file, 0);
  close(e->lease_fd);
  close(e->lease_dirfd);
  e->lease_fd = e->lease_dirfd = -1;
}
