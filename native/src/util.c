/* Small helpers of the entry library: warnings and debug lines, strings, paths, and the two
 * system calls glibc does not wrap (openat2, mount_setattr). */
#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#define CLOSE_FALLBACK_LIMIT 4096 /* kernels before 5.9 have no close_range */

bool el_debug_on = false;

void el_warn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("envlock-launch: warning: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

void el_debug(const char *fmt, ...) {
  if (!el_debug_on) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("envlock-launch: debug: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* strdup that never fails: the spec's strings are small, and running out of memory while
 * parsing a launch spec leaves nothing sensible to report to. */
char *el_strdup(const char *s) {
  char *copy = strdup(s);
  if (!copy) abort();
  return copy;
}

/* Reads `fd` to its end, or to `max` bytes, into a NUL-terminated malloc'd buffer with room for
 * one more byte, grown as needed: a buffer of the cap itself would cost a mapping and its
 * removal at every start, for files that are nearly always a few hundred bytes. NULL with
 * errno set when a read fails. */
char *el_read_upto(int fd, size_t max, size_t *len) {
  size_t size = max < 16384 ? max : 16384, used = 0;
  char *buf = malloc(size + 2);
  if (!buf) abort();
  for (;;) {
    if (used == size) {
      if (size == max) break;
      size = size > max / 2 ? max : size * 2;
      char *bigger = realloc(buf, size + 2);
      if (!bigger) abort();
      buf = bigger;
    }
    ssize_t n = read(fd, buf + used, size - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      free(buf);
      errno = err;
      return NULL;
    }
    if (n == 0) break;
    used += (size_t)n;
  }
  buf[used] = '\0';
  *len = used;
  return buf;
}

/* a + "/" + b without doubled slashes; b may be absolute (it is taken as relative to a). */
char *el_join(const char *a, const char *b) {
  while (*b == '/') b++;
  size_t la = strlen(a);
  while (la > 1 && a[la - 1] == '/') la--;
  size_t lb = strlen(b);
  char *out = malloc(la + lb + 2);
  if (!out) abort();
  memcpy(out, a, la);
  size_t n = la;
  if (lb > 0 && !(la == 1 && a[0] == '/')) out[n++] = '/';
  memcpy(out + n, b, lb);
  out[n + lb] = '\0';
  return out;
}

int el_write_file(const char *path, const char *text) {
  int fd;
  SYS(fd = open(path, O_WRONLY | O_CLOEXEC), "open", path);
  size_t len = strlen(text);
  ssize_t n = write(fd, text, len);
  if (n >= 0 && (size_t)n != len) n = -1, errno = EIO;
  int err = errno;
  close(fd);
  errno = err;
  FAILED_IF(n < 0, "write", "write", path);
  return 0;
}

/* True when `path` is `dir` or lies below it (both absolute and normalised). */
bool el_path_under(const char *path, const char *dir) {
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') n--;
  if (n == 1 && dir[0] == '/') return true;
  return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* openat2(2) with RESOLVE_IN_ROOT: symlinks and ".." inside the image resolve inside it, so a
 * hostile image cannot point a mount destination at the host (runc CVE-2021-30465 family). */
struct open_how_ {
  uint64_t flags, mode, resolve;
};
#define RESOLVE_NO_MAGICLINKS_ 0x02
#define RESOLVE_IN_ROOT_ 0x10

int el_openat2_in_root(int rootfd, const char *rel, int flags, mode_t mode) {
  while (*rel == '/') rel++;
  if (*rel == '\0') rel = ".";
  struct open_how_ how = {(uint64_t)(flags | O_CLOEXEC), (uint64_t)mode,
                          RESOLVE_IN_ROOT_ | RESOLVE_NO_MAGICLINKS_};
  return (int)syscall(__NR_openat2, rootfd, rel, &how, sizeof how);
}

/* Sets mount attributes (MOUNT_ATTR_*) on the mount whose root `fd` is, and on every mount
 * below it when `recursive` (mount_setattr(2), Linux 5.12). -1 with ENOSYS on older kernels. */
struct mount_attr_ {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};
#define AT_RECURSIVE_ 0x8000

int el_mount_setattr(int fd, bool recursive, unsigned long long set) {
  struct mount_attr_ attr = {set, 0, 0, 0};
  unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE_ : 0);
  return (int)syscall(__NR_mount_setattr, fd, "", flags, &attr, sizeof attr);
}

/* Closes every descriptor but the `n` in `keep` (which it sorts), with close_range(2). */
void el_close_other_fds(int *keep, int n) {
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
      int t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  unsigned from = 0;
  for (int i = 0; i <= n; i++) {
    unsigned to = i < n ? (unsigned)keep[i] : ~0u;
    if (i < n && (keep[i] < 0 || to < from)) continue;
    if (to > from && syscall(SYS_close_range, from, to - 1, 0) != 0)
      for (unsigned fd = from; fd < to && fd < CLOSE_FALLBACK_LIMIT; fd++) close((int)fd);
    if (i < n) from = to + 1;
  }
}
