/* Builds the new root inside the fresh mount namespace and pivots into it: a scratch tmpfs,
 * the image read-only (through an overlay only when a mount point is missing), /proc, /sys,
 * /dev, /tmp, generated /etc files, $HOME, the working directory and the spec's binds. */
#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

void make_etc_files(int rootfd, const struct spec *s, const struct caller *c, const char *dir);

#define SCRATCH "/tmp" /* any directory works: the scratch tmpfs leaves it on pivot_root */
#define OLD "/oldroot" /* the host's tree, while building */
#define NEW "/newroot"

static int g_newfd = -1; /* O_PATH fd of the new root, for openat2(RESOLVE_IN_ROOT) */

static const char *fd_path(int fd) {
  static char buf[64];
  snprintf(buf, sizeof buf, OLD "/proc/self/fd/%d", fd);
  return buf;
}

/* Mount flags already on a mount: a remount must repeat the locked ones or fail with EPERM
 * (mount_namespaces(7) "Restrictions"; ch-run path_mount_flags). */
static unsigned long current_flags(int fd, const char *what) {
  struct statvfs sv;
  if (fstatvfs(fd, &sv) != 0) fail("statvfs", what, errno);
  unsigned long f = 0;
  if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

/* Makes the mount whose root `fd` is read-only; recursive where mount_setattr(2) exists. */
static void make_ro(int fd, const char *what, bool recursive) {
  if (sys_mount_setattr_ro(fd, recursive) == 0) return;
  if (errno != ENOSYS && errno != EINVAL) fail("mount_setattr read-only", what, errno);
  unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | current_flags(fd, what);
  if (mount(NULL, fd_path(fd), NULL, flags, NULL) != 0) fail("remount read-only", what, errno);
}

/* Opens `dst` inside the new root, creating missing directories (and the last component as an
 * empty file unless `dir`). Returns an O_PATH fd, or -1 with errno. */
static int mount_point(const char *dst, bool dir) {
  int fd = openat2_in_root(g_newfd, dst, O_PATH, 0);
  if (fd >= 0 || errno != ENOENT) return fd;
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", dst);
  size_t len = strlen(buf);
  for (size_t i = 1; i <= len; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char saved = buf[i];
    buf[i] = '\0';
    int probe = openat2_in_root(g_newfd, buf, O_PATH, 0);
    if (probe >= 0) {
      close(probe);
    } else {
      if (errno != ENOENT) return -1;
      char *slash = strrchr(buf, '/');
      *slash = '\0';
      int parent = openat2_in_root(g_newfd, buf[0] ? buf : "/", O_PATH | O_DIRECTORY, 0);
      *slash = '/';
      if (parent < 0) return -1;
      int rc;
      if (saved == '\0' && !dir) {
        rc = openat(parent, slash + 1, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (rc >= 0) rc = close(rc);
      } else {
        rc = mkdirat(parent, slash + 1, 0755);
      }
      int err = errno;
      close(parent);
      if (rc != 0) {
        errno = err;
        return -1;
      }
    }
    buf[i] = saved;
  }
  return openat2_in_root(g_newfd, dst, O_PATH, 0);
}

static int need_mount_point(const char *dst, bool dir) {
  int fd = mount_point(dst, dir);
  if (fd < 0) fail("create mount point", dst, errno);
  return fd;
}

/* Reopens a destination after mounting, so the fd names the new mount's root. */
static int reopen(const char *dst) {
  int fd = openat2_in_root(g_newfd, dst, O_PATH, 0);
  if (fd < 0) fail("open mount", dst, errno);
  return fd;
}

/* Binds `src` (a path in the current tree: OLD-prefixed host path or scratch file) at `dst`.
 * Returns false when the source is missing and `optional`. */
static bool bind_at(const char *src, const char *shown, const char *dst, bool rec, bool ro,
                    bool optional) {
  struct stat st;
  if (stat(src, &st) != 0) {
    if (optional && errno == ENOENT) return false;
    fail("bind source", shown, errno);
  }
  int fd = need_mount_point(dst, S_ISDIR(st.st_mode));
  if (mount(src, fd_path(fd), NULL, MS_BIND | (rec ? MS_REC : 0), NULL) != 0)
    fail("bind", shown, errno);
  close(fd);
  if (ro) {
    fd = reopen(dst);
    make_ro(fd, dst, rec);
    close(fd);
  }
  debugx("bind %s -> %s %s", shown, dst, ro ? "ro" : "rw");
  return true;
}

static void bind_host(const char *host, const char *dst, bool rec, bool ro, bool optional) {
  char *src = join_path(OLD, host);
  bind_at(src, host, dst, rec, ro, optional);
  free(src);
}

static void mount_fs(const char *type, const char *dst, unsigned long flags, const char *data) {
  int fd = need_mount_point(dst, true);
  if (mount(type, fd_path(fd), type, flags, data) != 0) fail("mount", dst, errno);
  close(fd);
}

static void setup_dev(const struct spec *s) {
  mount_fs("tmpfs", "/dev", MS_NOSUID | MS_NOEXEC, "mode=0755,size=1m");
  static const char *nodes[] = {"null", "zero", "full", "random", "urandom", "tty", "ptmx"};
  for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) {
    char host[64], dst[64];
    snprintf(host, sizeof host, "/dev/%s", nodes[i]);
    snprintf(dst, sizeof dst, "/dev/%s", nodes[i]);
    bind_host(host, dst, false, false, true);
  }
  /* The host's devpts, not a new instance: ttyname(3) of the inherited terminal keeps working. */
  bind_host("/dev/pts", "/dev/pts", true, false, true);
  mount_fs("tmpfs", "/dev/shm", MS_NOSUID | MS_NODEV, "mode=1777");
  static const char *links[][2] = {{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
                                   {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}};
  int devfd = openat2_in_root(g_newfd, "/dev", O_PATH | O_DIRECTORY, 0);
  if (devfd < 0) fail("open", "/dev", errno);
  for (size_t i = 0; i < 4; i++)
    if (symlinkat(links[i][0], devfd, links[i][1]) != 0) fail("symlink /dev", links[i][1], errno);
  close(devfd);
  for (int i = 0; i < s->n_binds; i++)
    if (s->binds[i].device) bind_host(s->binds[i].src, s->binds[i].dst, false, false, false);
}

/* True when `dst` lies on a mount other than the image root (so it needs no overlay). */
static bool on_other_mount(const struct spec *s, const char *dst) {
  static const char *fixed[] = {"/proc", "/sys", "/dev", "/tmp"};
  for (size_t i = 0; i < 4; i++)
    if (path_under(dst, fixed[i]) && strcmp(dst, fixed[i]) != 0) return true;
  if (s->home && path_under(dst, s->home) && strcmp(dst, s->home) != 0) return true;
  for (int i = 0; i < s->n_binds; i++)
    if (!s->binds[i].device && path_under(dst, s->binds[i].dst) && strcmp(dst, s->binds[i].dst) != 0)
      return true;
  return false;
}

/* A mount point the image lacks is created in /skel, a directory of the scratch tmpfs that
 * becomes the upper of two read-only overlay layers; the stored image is never written. The
 * existing part of the path is resolved inside the image first, so a symlinked directory
 * (merged /usr, /home -> /var/home) is followed, not hidden. */
static void skel_create(int rootfd, const char *dst, bool dir) {
  char buf[4096], real[4096], rootreal[4096];
  snprintf(buf, sizeof buf, "%s", dst);
  size_t len = strlen(buf), good = 0;
  for (size_t i = 1; i <= len; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char saved = buf[i];
    buf[i] = '\0';
    int fd = openat2_in_root(rootfd, buf, O_PATH, 0);
    buf[i] = saved;
    if (fd < 0) {
      if (errno == ENOENT) break;
      fail("resolve mount point in the image", dst, errno);
    }
    close(fd);
    good = i;
  }
  ssize_t n = readlink(fd_path(rootfd), rootreal, sizeof rootreal - 1);
  if (n < 0) fail("readlink", "rootfs", errno);
  rootreal[n] = '\0';
  real[0] = '\0';
  if (good > 0) {
    buf[good] = '\0';
    int fd = openat2_in_root(rootfd, buf, O_PATH | O_DIRECTORY, 0);
    if (fd < 0) fail("resolve mount point in the image", dst, errno);
    ssize_t m = readlink(fd_path(fd), real, sizeof real - 1);
    if (m < 0) fail("readlink", dst, errno);
    real[m] = '\0';
    close(fd);
    buf[good] = len > good ? '/' : '\0';
    size_t rl = strlen(rootreal);
    if (strncmp(real, rootreal, rl) != 0) fail("resolve mount point in the image", dst, EXDEV);
    memmove(real, real + rl, strlen(real + rl) + 1);
  }
  char path[8192];
  snprintf(path, sizeof path, "/skel%s%s", real, buf + good);
  for (char *p = path + 6; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(path, 0755) != 0 && errno != EEXIST) fail("mkdir", path, errno);
    *p = '/';
  }
  int rc = dir ? mkdir(path, 0755) : close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
  if (rc != 0 && errno != EEXIST) fail("create mount point", path, errno);
  debugx("mount point missing in the image: %s (created as %s)", dst, path);
}

/* Adds `dst` to the skeleton when it is on the image root and missing; returns 1 if added. */
static int plan(int rootfd, const struct spec *s, const char *dst, bool dir) {
  if (strcmp(dst, "/") == 0 || on_other_mount(s, dst)) return 0;
  int fd = openat2_in_root(rootfd, dst, O_PATH, 0);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  if (errno == ENOSYS) failx("openat2 is unavailable: this kernel is older than Linux 5.6");
  skel_create(rootfd, dst, dir);
  return 1;
}

static bool host_is_dir(const char *host, bool optional, bool *present) {
  char *src = join_path(OLD, host);
  struct stat st;
  int rc = stat(src, &st);
  int err = errno;
  free(src);
  *present = rc == 0;
  if (rc != 0 && !(optional && err == ENOENT)) fail("bind source", host, err);
  return rc == 0 && S_ISDIR(st.st_mode);
}

/* The working directory is bound unless a mount already provides it. */
static const char *cwd_bind(const struct spec *s, const struct caller *c) {
  if (!s->bind_cwd || strcmp(c->cwd, "/") == 0) return NULL;
  if (s->home && path_under(c->cwd, s->home)) return NULL;
  if (!s->private_tmp && path_under(c->cwd, "/tmp")) return NULL;
  for (int i = 0; i < s->n_binds; i++)
    if (strcmp(s->binds[i].src, s->binds[i].dst) == 0 && path_under(c->cwd, s->binds[i].dst))
      return NULL;
  return c->cwd;
}

/* Creates every missing mount point in the skeleton; true when there was any. */
static bool build_skeleton(int rootfd, const struct spec *s, const char *cwd_dst) {
  static const char *dirs[] = {"/proc", "/sys", "/dev", "/tmp"};
  static const char *files[] = {"/etc/passwd", "/etc/group", "/etc/hosts", "/etc/resolv.conf"};
  int n = s->overlay_always;
  bool present;
  for (size_t i = 0; i < 4; i++) n += plan(rootfd, s, dirs[i], true);
  for (size_t i = 0; i < 4; i++) {
    bool from_host = i >= 2; /* hosts and resolv.conf: only when bound from the host */
    if (from_host && !s->host_files) continue;
    if (from_host) host_is_dir(files[i], true, &present);
    if (!from_host || present) n += plan(rootfd, s, files[i], false);
  }
  if (s->home) n += plan(rootfd, s, s->home, true);
  if (cwd_dst) n += plan(rootfd, s, cwd_dst, true);
  for (int i = 0; i < s->n_binds; i++) {
    const struct bind *b = &s->binds[i];
    if (b->device) continue;
    bool dir = host_is_dir(b->src, b->optional, &present);
    if (present) n += plan(rootfd, s, b->dst, dir);
  }
  for (int i = 0; i < s->n_mkdirs; i++) n += plan(rootfd, s, s->mkdirs[i], true);
  return n > 0;
}

static void mount_root(const char *rootfs, bool overlay) {
  if (!overlay) {
    if (mount(rootfs, NEW, NULL, MS_BIND | MS_REC, NULL) != 0) fail("bind rootfs", rootfs + 8, errno);
    int fd = open(NEW, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail("open", NEW, errno);
    make_ro(fd, "rootfs", true);
    close(fd);
    return;
  }
  /* Bind the image first so overlay options never see its path (no escaping of , : \). Two
   * lower layers and no upper make the overlay read-only by construction: no workdir, no
   * xattrs, and it works for an image owned by someone else (a site-wide store). */
  if (mount(rootfs, "/lower", NULL, MS_BIND | MS_REC, NULL) != 0) fail("bind rootfs", rootfs + 8, errno);
  if (mount("overlay", NEW, "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV, "lowerdir=/skel:/lower") != 0)
    fail("mount overlay on rootfs (needs Linux 5.11+)", rootfs + 8, errno);
}

static void pivot(const char *new_root, const char *put_old) {
  if (syscall(SYS_pivot_root, new_root, put_old) != 0) fail("pivot_root", new_root, errno);
}

void enter_root(const struct spec *s, const struct caller *c) {
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail("make mounts private", "/", errno);
  if (mount("tmpfs", SCRATCH, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
    fail("mount scratch tmpfs", SCRATCH, errno);
  static const char *dirs[] = {SCRATCH OLD, SCRATCH NEW, SCRATCH "/lower", SCRATCH "/skel",
                               SCRATCH "/files"};
  for (size_t i = 0; i < 5; i++)
    if (mkdir(dirs[i], 0755) != 0) fail("mkdir", dirs[i], errno);
  pivot(SCRATCH, SCRATCH OLD);
  if (chdir("/") != 0) fail("chdir", "/", errno);

  char *rootfs = join_path(OLD, s->rootfs);
  int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) fail("open rootfs", s->rootfs, errno);
  const char *cwd_dst = cwd_bind(s, c);
  bool overlay = build_skeleton(rootfd, s, cwd_dst);
  debugx("overlay: %s", overlay ? "yes" : "no");
  mount_root(rootfs, overlay);
  g_newfd = open(NEW, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (g_newfd < 0) fail("open", NEW, errno);

  if (s->pid_ns) {
    int fd = need_mount_point("/proc", true);
    if (mount("proc", fd_path(fd), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
      debugx("new proc failed (%s); binding the host's", strerror(errno));
      bind_host("/proc", "/proc", true, false, false);
    }
    close(fd);
  } else {
    bind_host("/proc", "/proc", true, false, false);
  }
  bind_host("/sys", "/sys", true, true, false);
  setup_dev(s);
  if (s->private_tmp) mount_fs("tmpfs", "/tmp", MS_NOSUID | MS_NODEV, "mode=1777");
  else bind_host("/tmp", "/tmp", true, false, false);

  make_etc_files(rootfd, s, c, "/files");
  bind_at("/files/passwd", "passwd", "/etc/passwd", false, true, false);
  bind_at("/files/group", "group", "/etc/group", false, true, false);
  if (s->host_files) {
    static const char *files[] = {"/etc/hosts", "/etc/resolv.conf"};
    for (size_t i = 0; i < 2; i++) {
      char *src = join_path(OLD, files[i]);
      struct stat st;
      int fd = stat(src, &st) == 0 ? mount_point(files[i], false) : -1;
      if (fd >= 0) {
        close(fd);
        bind_at(src, files[i], files[i], false, true, false);
      } else {
        debugx("not binding %s", files[i]);
      }
      free(src);
    }
  }
  /* Broad binds first, the spec's own binds last: a bind below $HOME or the working directory
   * (a read-only store, a data directory) must land on top of them, never be hidden by them. */
  if (s->home) bind_host(s->home, s->home, true, false, false);
  if (cwd_dst) bind_host(cwd_dst, cwd_dst, true, false, true);
  for (int i = 0; i < s->n_binds; i++) {
    const struct bind *b = &s->binds[i];
    if (!b->device) bind_host(b->src, b->dst, true, b->ro, b->optional);
  }
  for (int i = 0; i < s->n_mkdirs; i++) close(need_mount_point(s->mkdirs[i], true));
  close(rootfd);
  free(rootfs);

  /* pivot_root(".", ".") then detach the old root (pivot_root(2) NOTES). */
  if (fchdir(g_newfd) != 0) fail("chdir", NEW, errno);
  pivot(".", ".");
  if (umount2(".", MNT_DETACH) != 0) fail("umount old root", "/", errno);
  if (chdir("/") != 0) fail("chdir", "/", errno);
  close(g_newfd);
}
