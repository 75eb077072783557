/* Small helpers of envlock-launch: one-line error reporting (every failed system call ends the
 * launch with status 125 and names the step, the path and errno), strings and paths. */
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

bool g_debug = false;

_Noreturn void fail(const char *step, const char *path, int err) {
  if (path)
    fprintf(stderr, "envlock-launch: %s %s: %s (errno %d)\n", step, path, strerror(err), err);
  else
    fprintf(stderr, "envlock-launch: %s: %s (errno %d)\n", step, strerror(err), err);
  exit(EXIT_LAUNCH_FAILED);
}

_Noreturn void failx(const char *message) {
  fprintf(stderr, "envlock-launch: %s\n", message);
  exit(EXIT_LAUNCH_FAILED);
}

void warnx_(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("envlock-launch: warning: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

void debugx(const char *fmt, ...) {
  if (!g_debug) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("envlock-launch: debug: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

char *xstrdup(const char *s) {
  char *copy = strdup(s);
  if (!copy) fail("strdup", NULL, errno);
  return copy;
}

/* a + "/" + b without doubled slashes; b may be absolute (it is taken as relative to a). */
char *join_path(const char *a, const char *b) {
  while (*b == '/') b++;
  size_t la = strlen(a);
  while (la > 1 && a[la - 1] == '/') la--;
  size_t lb = strlen(b);
  char *out = malloc(la + lb + 2);
  if (!out) fail("malloc", NULL, errno);
  memcpy(out, a, la);
  size_t n = la;
  if (lb > 0 && !(la == 1 && a[0] == '/')) out[n++] = '/';
  memcpy(out + n, b, lb);
  out[n + lb] = '\0';
  return out;
}

void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail("open", path, errno);
  size_t len = strlen(text);
  ssize_t n = write(fd, text, len);
  if (n < 0 || (size_t)n != len) fail("write", path, n < 0 ? errno : EIO);
  if (close(fd) != 0) fail("close", path, errno);
}

/* True when `path` is `dir` or lies below it (both absolute and normalised). */
bool path_under(const char *path, const char *dir) {
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

int openat2_in_root(int rootfd, const char *rel, int flags, mode_t mode) {
  while (*rel == '/') rel++;
  if (*rel == '\0') rel = ".";
  struct open_how_ how = {(uint64_t)(flags | O_CLOEXEC), (uint64_t)mode,
                          RESOLVE_IN_ROOT_ | RESOLVE_NO_MAGICLINKS_};
  long fd = syscall(__NR_openat2, rootfd, rel, &how, sizeof how);
  return (int)fd;
}

/* Makes a mount and every mount below it read-only (mount_setattr(2), Linux 5.12). Returns -1
 * with errno ENOSYS on older kernels; the caller then remounts the top mount only. */
struct mount_attr_ {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};
#define AT_RECURSIVE_ 0x8000

int sys_mount_setattr_ro(int fd, bool recursive) {
  struct mount_attr_ attr = {1 /* MOUNT_ATTR_RDONLY */, 0, 0, 0};
  unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE_ : 0);
  return (int)syscall(__NR_mount_setattr, fd, "", flags, &attr, sizeof attr);
}
