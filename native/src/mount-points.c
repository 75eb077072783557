/* Mount points: destinations are created inside the new root (resolved there with
 * openat2(RESOLVE_IN_ROOT)), and before that, every destination the image lacks is planned
 * into a skeleton directory that becomes the upper layer of a read-only overlay, so the stored
 * image is never written (docs/runtime.md "The root and missing mount points"). */
#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_BUF 4096

const char *el_fd_path(int fd) {
  static char buf[64];
  snprintf(buf, sizeof buf, OLD "/proc/self/fd/%d", fd);
  return buf;
}

/* Creates the missing last component `name` under `parent`: a directory, or an empty file. */
static int create_at(int parent, const char *name, bool file) {
  if (!file) return mkdirat(parent, name, 0755);
  int fd = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  return fd < 0 ? -1 : close(fd);
}

/* Opens `dst` inside the new root, creating missing directories (and the last component as
 * an empty file unless `dir`). Returns an O_PATH fd, or -1 with the failure recorded. */
int el_mount_point(int newfd, const char *dst, bool dir) {
  int fd = el_openat2_in_root(newfd, dst, O_PATH, 0);
  if (fd >= 0) return fd;
  FAILED_IF(errno != ENOENT, "openat2", "open mount point", dst);
  char buf[PATH_BUF];
  snprintf(buf, sizeof buf, "%s", dst);
  size_t len = strlen(buf);
  for (size_t i = 1; i <= len; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char saved = buf[i];
    buf[i] = '\0';
    int probe = el_openat2_in_root(newfd, buf, O_PATH, 0);
    if (probe >= 0) {
      close(probe);
    } else {
      FAILED_IF(errno != ENOENT, "openat2", "create mount point", dst);
      char *slash = strrchr(buf, '/');
      *slash = '\0';
      int parent;
      SYS(parent = el_openat2_in_root(newfd, buf[0] ? buf : "/", O_PATH | O_DIRECTORY, 0),
          "create mount point", dst);
      *slash = '/';
      int rc = create_at(parent, slash + 1, saved == '\0' && !dir);
      int err = errno;
      close(parent);
      errno = err;
      FAILED_IF(rc != 0, saved == '\0' && !dir ? "openat" : "mkdirat", "create mount point", dst);
    }
    buf[i] = saved;
  }
  SYS(fd = el_openat2_in_root(newfd, dst, O_PATH, 0), "open mount point", dst);
  return fd;
}

/* True when `dst` lies on a mount other than the image root (so it needs no overlay). */
static bool on_other_mount(const struct el_spec *s, const char *dst) {
  static const char *fixed[] = {"/proc", "/sys", "/dev", "/tmp"};
  for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
    if (el_path_under(dst, fixed[i]) && strcmp(dst, fixed[i]) != 0) return true;
  if (s->home && el_path_under(dst, s->home) && strcmp(dst, s->home) != 0) return true;
  for (int i = 0; i < s->n_binds; i++)
    if (!s->binds[i].device && el_path_under(dst, s->binds[i].dst) && strcmp(dst, s->binds[i].dst) != 0)
      return true;
  return false;
}

/* The image-relative real path of the existing directory `rel` (symlinks resolved inside). */
static int real_in_image(int rootfd, const char *rel, char *out, size_t size) {
  char rootreal[PATH_BUF];
  ssize_t n;
  SYS(n = readlink(el_fd_path(rootfd), rootreal, sizeof rootreal - 1), "readlink", "image root");
  rootreal[n] = '\0';
  int fd;
  SYS(fd = el_openat2_in_root(rootfd, rel, O_PATH | O_DIRECTORY, 0), "resolve mount point in the image", rel);
  ssize_t m = readlink(el_fd_path(fd), out, size - 1);
  int err = errno;
  close(fd);
  errno = err;
  FAILED_IF(m < 0, "readlink", "readlink", rel);
  out[m] = '\0';
  size_t rl = strlen(rootreal);
  if (strcmp(rootreal, "/") == 0) return 0;
  bool inside = strncmp(out, rootreal, rl) == 0 && (out[rl] == '/' || out[rl] == '\0');
  if (!inside) errno = EXDEV;
  FAILED_IF(!inside, "readlink", "resolve mount point in the image", rel);
  memmove(out, out + rl, strlen(out + rl) + 1);
  return 0;
}

/* Creates `dst` in SKEL. The existing part of the path is resolved inside the image first, so
 * a symlinked directory (merged /usr, /home -> /var/home) is followed, not hidden. */
static int skel_create(int rootfd, const char *dst, bool dir) {
  char buf[PATH_BUF], real[PATH_BUF];
  snprintf(buf, sizeof buf, "%s", dst);
  size_t len = strlen(buf), good = 0;
  for (size_t i = 1; i <= len; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char saved = buf[i];
    buf[i] = '\0';
    int fd = el_openat2_in_root(rootfd, buf, O_PATH, 0);
    buf[i] = saved;
    if (fd < 0) {
      if (errno == ENOENT) break;
      FAILED_IF(true, "openat2", "resolve mount point in the image", dst);
    }
    close(fd);
    good = i;
  }
  real[0] = '\0';
  if (good > 0) {
    buf[good] = '\0';
    PASS(real_in_image(rootfd, buf, real, sizeof real));
    buf[good] = len > good ? '/' : '\0';
  }
  char path[2 * PATH_BUF];
  snprintf(path, sizeof path, SKEL "%s%s", real, buf + good);
  for (char *p = path + strlen(SKEL) + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    FAILED_IF(mkdir(path, 0755) != 0 && errno != EEXIST, "mkdir", "mkdir", path);
    *p = '/';
  }
  int rc = dir ? mkdir(path, 0755) : create_at(AT_FDCWD, path, true);
  FAILED_IF(rc != 0 && errno != EEXIST, dir ? "mkdir" : "openat", "create mount point", path);
  el_debug("mount point missing in the image: %s (created as %s)", dst, path);
  return 0;
}

/* Adds `dst` to the skeleton when it is on the image root and missing; 1 if added. */
static int plan(int rootfd, const struct el_spec *s, const char *dst, bool dir) {
  if (strcmp(dst, "/") == 0 || on_other_mount(s, dst)) return 0;
  int fd = el_openat2_in_root(rootfd, dst, O_PATH, 0);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  if (errno == ENOSYS)
    return el_fail(EL_EXIT_HOST_UNSUPPORTED, "openat2 is unavailable: this kernel is older than Linux 5.6");
  PASS(skel_create(rootfd, dst, dir));
  return 1;
}

/* Whether the host path is a directory; *present says whether it exists at all. */
static int host_is_dir(const char *host, bool optional, bool *present, bool *dir) {
  char *src = el_join(OLD, host);
  struct stat st;
  int rc = stat(src, &st);
  int err = errno;
  free(src);
  *present = rc == 0;
  *dir = rc == 0 && S_ISDIR(st.st_mode);
  errno = err;
  FAILED_IF(rc != 0 && !(optional && err == ENOENT), "stat", "bind source", host);
  return 0;
}

/* The working directory bound at the same path: the spec's cwd (the directory the user asked
 * for), else the caller's; none when a mount already provides it. */
const char *el_cwd_bind(const struct el_spec *s, const struct el_caller *c) {
  const char *cwd = s->cwd ? s->cwd : c->cwd;
  if (!s->bind_cwd || strcmp(cwd, "/") == 0) return NULL;
  if (s->home && el_path_under(cwd, s->home)) return NULL;
  if (!s->private_tmp && el_path_under(cwd, "/tmp")) return NULL;
  for (int i = 0; i < s->n_binds; i++)
    if (strcmp(s->binds[i].src, s->binds[i].dst) == 0 && el_path_under(cwd, s->binds[i].dst)) return NULL;
  return cwd;
}

/* Plans every missing mount point; *overlay says whether any was missing. */
int el_build_skeleton(int rootfd, const struct el_spec *s, const char *cwd_dst, bool *overlay) {
  static const char *dirs[] = {"/proc", "/sys", "/dev", "/tmp"};
  static const char *files[] = {"/etc/passwd", "/etc/group", "/etc/hosts", "/etc/resolv.conf"};
  int n = s->overlay_always, k;
  bool present, dir;
  for (size_t i = 0; i < 4; i++) {
    PASS(k = plan(rootfd, s, dirs[i], true));
    n += k;
  }
  for (size_t i = 0; i < 4; i++) {
    bool from_host = i >= 2; /* hosts and resolv.conf: only when bound from the host */
    if (from_host && !s->host_files) continue;
    if (from_host) PASS(host_is_dir(files[i], true, &present, &dir));
    if (from_host && !present) continue;
    PASS(k = plan(rootfd, s, files[i], false));
    n += k;
  }
  if (s->home) {
    PASS(k = plan(rootfd, s, s->home, true));
    n += k;
  }
  if (cwd_dst) {
    PASS(k = plan(rootfd, s, cwd_dst, true));
    n += k;
  }
  for (int i = 0; i < s->n_binds; i++) {
    const struct el_bind *b = &s->binds[i];
    if (b->device) continue;
    PASS(host_is_dir(b->src, b->optional, &present, &dir));
    if (!present) continue;
    PASS(k = plan(rootfd, s, b->dst, dir));
    n += k;
  }
  for (int i = 0; i < s->n_mkdirs; i++) {
    PASS(k = plan(rootfd, s, s->mkdirs[i], true));
    n += k;
  }
  *overlay = n > 0;
  return 0;
}
