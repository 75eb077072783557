/* Warm starts, the client side: find the user's holder for this image in a private directory
 * (checked by descriptor: a directory owned by the caller, mode 0700, never a symlink), start
 * one when there is none (serialised by a lock file, so concurrent starts make one), then join
 * its namespaces. Anything unusual (a foreign owner, a stale socket, a holder serving another
 * image) only means a cold start. The spec's `squashfs` image stays the only input trusted. */
#define _GNU_SOURCE
#include "holder.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* linux/nsfs.h */
#define NS_GET_NSTYPE_ 0xb703
#define NS_GET_OWNER_UID_ 0xb704

#define FNV_OFFSET 1469598103934665603ull
#define FNV_PRIME 1099511628211ull

void el_holder_path(char *out, size_t size, int dirfd, const char *name) {
  snprintf(out, size, "/proc/self/fd/%d/%s", dirfd, name);
}

static bool warm_enabled(void) {
  const char *v = getenv("ENVLOCK_WARM");
  return !(v && strcmp(v, "0") == 0);
}

/* Opens `path` as a directory only this user can use, creating it (0700) when missing. */
static int private_dir(const char *path) {
  if (mkdir(path, 0700) != 0 && errno != EEXIST) return -1;
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) return fd < 0 ? -1 : (close(fd), -1);
  if (st.st_uid != getuid() || (st.st_mode & 07777) != 0700) {
    el_debug("warm start off: %s is not a directory private to uid %u", path, (unsigned)getuid());
    close(fd);
    return -1;
  }
  return fd;
}

/* $XDG_RUNTIME_DIR/envlock, else /tmp/envlock-UID. */
static int holder_dir(struct holder_names *n) {
  const char *xdg = getenv("XDG_RUNTIME_DIR");
  if (xdg && xdg[0] == '/' && strlen(xdg) < sizeof n->dir - 16) snprintf(n->dir, sizeof n->dir, "%s/envlock", xdg);
  else snprintf(n->dir, sizeof n->dir, "/tmp/envlock-%u", (unsigned)getuid());
  return private_dir(n->dir);
}

static uint64_t fnv(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * FNV_PRIME;
  return h;
}

/* One holder per image file (path and identity), id mapping and Slurm step: a step's tasks
 * share it, and Slurm ending one step never takes the mount from under another. */
static void holder_names_for(const struct el_spec *s, const struct stat *st, struct holder_names *n) {
  uint64_t h = fnv(FNV_OFFSET, s->squashfs, strlen(s->squashfs));
  uint64_t ids[] = {st->st_dev, st->st_ino, (uint64_t)st->st_size, (uint64_t)st->st_mtim.tv_sec,
                    (uint64_t)st->st_mtim.tv_nsec, s->fake_root, getuid(), getgid()};
  h = fnv(h, ids, sizeof ids);
  static const char *const step[] = {"SLURM_JOB_ID", "SLURM_STEP_ID"};
  for (size_t i = 0; i < 2; i++) {
    const char *v = getenv(step[i]);
    if (v) h = fnv(h, v, strlen(v) + 1);
  }
  snprintf(n->key, sizeof n->key, "%016llx", (unsigned long long)h);
  snprintf(n->sock, sizeof n->sock, "h-%s.sock", n->key);
  snprintf(n->lock, sizeof n->lock, "h-%s.lock", n->key);
  snprintf(n->mnt, sizeof n->mnt, "m-%s", n->key);
}

static int connect_to(int dirfd, const struct holder_names *n) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  el_holder_path(addr.sun_path, sizeof addr.sun_path, dirfd, n->sock);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) return fd;
  close(fd);
  return -1;
}

/* Starts a holder in a new session, detached from this process (double fork), and waits
 * until it listens. */
static int spawn(const struct el_spec *s, const struct el_caller *c, int dirfd,
                 const struct holder_names *n, int image_fd) {
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    setsid();
    pid_t holder = fork();
    if (holder == 0) el_holder_serve(s, c, dirfd, n, image_fd, ready[1]);
    _exit(holder < 0);
  }
  close(ready[1]);
  if (pid > 0) waitpid(pid, NULL, 0);
  char said[512];
  ssize_t got = pid > 0 ? read(ready[0], said, sizeof said - 1) : -1;
  close(ready[0]);
  if (got == 1 && said[0] == 'R') return 0;
  said[got > 0 ? got : 0] = '\0';
  el_debug("warm holder %s could not start: %s", n->key, got > 0 ? said : "it exited");
  return -1;
}

/* Receives the reply and the two namespace descriptors; checks the holder is this user's. */
static int handshake(int conn, int image_fd, int *userns, int *mntns, struct holder_reply *r, pid_t *holder) {
  struct ucred peer;
  socklen_t len = sizeof peer;
  if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0 || peer.uid != getuid()) return -1;
  *holder = peer.pid;
  struct holder_request req = {HOLDER_MAGIC, HOLDER_VERSION};
  if (write(conn, &req, sizeof req) != (ssize_t)sizeof req) return -1;
  char control[CMSG_SPACE(2 * sizeof(int))];
  struct iovec iov = {r, sizeof *r};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  if (recvmsg(conn, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL) != (ssize_t)sizeof *r) return -1;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(2 * sizeof(int))) return -1;
  memcpy(userns, CMSG_DATA(cm), sizeof(int));
  memcpy(mntns, CMSG_DATA(cm) + sizeof(int), sizeof(int));
  struct stat st;
  uid_t owner = (uid_t)-1;
  bool ok = r->magic == HOLDER_MAGIC && r->version == HOLDER_VERSION && memchr(r->root, '\0', sizeof r->root) &&
            fstat(image_fd, &st) == 0 && r->dev == st.st_dev && r->ino == st.st_ino &&
            r->size == (uint64_t)st.st_size && r->mtime_sec == st.st_mtim.tv_sec &&
            r->mtime_nsec == st.st_mtim.tv_nsec && ioctl(*userns, NS_GET_NSTYPE_) == CLONE_NEWUSER &&
            ioctl(*mntns, NS_GET_NSTYPE_) == CLONE_NEWNS && ioctl(*userns, NS_GET_OWNER_UID_, &owner) == 0 &&
            owner == getuid();
  if (ok) return 0;
  close(*userns);
  close(*mntns);
  return -1;
}

/* Locks `name` in `dirfd`: the lock file a holder removes when it ends, so a lock taken on a
 * file that was meanwhile unlinked is dropped and taken again on the current one. */
int el_holder_lock(int dirfd, const char *name) {
  for (int tries = 0; tries < 8; tries++) {
    int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    struct stat held, now;
    if (flock(fd, LOCK_EX) == 0 && fstat(fd, &held) == 0 && fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
        held.st_ino == now.st_ino && held.st_dev == now.st_dev)
      return fd;
    close(fd);
  }
  return -1;
}

/* Finds or starts the holder and returns a connection to it, or -1. */
static int reach_holder(const struct el_spec *s, const struct el_caller *c, int dirfd,
                        const struct holder_names *n, int image_fd) {
  int conn = connect_to(dirfd, n);
  if (conn >= 0) return conn;
  int lock = el_holder_lock(dirfd, n->lock);
  if (lock < 0) return -1;
  conn = connect_to(dirfd, n); /* another start may have made one meanwhile */
  if (conn < 0) {
    unlinkat(dirfd, n->sock, 0); /* a socket no holder answers is stale */
    if (spawn(s, c, dirfd, n, image_fd) == 0) {
      el_debug("warm holder %s started", n->key);
      conn = connect_to(dirfd, n);
    }
  }
  close(lock);
  return conn;
}

int el_holder_join(const struct el_spec *s, const struct el_caller *c, struct el_entry *e, int flags) {
  if (!s->squashfs || e->image_fd < 0 || !warm_enabled() || !el_squashfs_supported()) return 0;
  struct holder_names n;
  struct stat st;
  int dirfd = holder_dir(&n);
  if (dirfd < 0 || fstat(e->image_fd, &st) != 0) return dirfd >= 0 ? (close(dirfd), 0) : 0;
  holder_names_for(s, &st, &n);
  int conn = reach_holder(s, c, dirfd, &n, e->image_fd);
  close(dirfd);
  struct holder_reply r;
  int userns = -1, mntns = -1;
  pid_t holder = 0;
  int rc = conn >= 0 ? handshake(conn, e->image_fd, &userns, &mntns, &r, &holder) : -1;
  if (conn >= 0) close(conn);
  if (rc < 0) {
    el_debug("warm start off: no usable holder for %s; mounting it for this run", s->squashfs);
    return 0;
  }
  /* Joining the user namespace changes nothing else yet; a refusal still allows a cold start. */
  if (setns(userns, CLONE_NEWUSER) != 0) {
    el_debug("warm start off: setns into the holder's user namespace: %s", strerror(errno));
    close(userns), close(mntns);
    return 0;
  }
  int rc2 = setns(mntns, CLONE_NEWNS);
  int err = errno;
  close(userns), close(mntns);
  errno = err;
  FAILED_IF(rc2 != 0, "setns", "join the warm holder's mount namespace at", r.root);
  flags |= CLONE_NEWNS | (s->hostname ? CLONE_NEWUTS : 0);
  SYS(unshare(flags), "unshare after joining the warm holder", NULL);
  snprintf(e->warm_root, sizeof e->warm_root, "%s", r.root);
  close(e->image_fd);
  e->image_fd = -1;
  el_debug("warm start: joined holder %s (pid %d) serving %s at %s", n.key, (int)holder, s->squashfs, r.root);
  return 1;
}
