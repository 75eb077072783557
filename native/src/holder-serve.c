/* The warm holder process: it keeps a user namespace with the image mounted through FUSE and
 * serves that mount itself, hands its namespaces to clients of the same user, watches each
 * client's process (a pidfd), and exits once none has been alive for the idle timeout.
 * It is started by a launcher, never by an administrator; it ignores the job's signals (a
 * Slurm step's end still kills it), holds the image's lease while it lives, and keeps no
 * descriptor of the job (stdio goes to /dev/null). */
#define _GNU_SOURCE
#include "holder.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifdef EL_HAVE_SQUASHFS
#define FUSE_USE_VERSION 35
#include <fuse3/fuse_lowlevel.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#define LEASE_REFRESH_SECONDS 60
#define ACCEPT_TIMEOUT_MS 1000

struct holder {
  struct fuse_session *se;
  struct stat sock; /* the socket file as bound, so only this holder's own is ever removed */
  int listen_fd, fuse_fd, userns, mntns;
  int clients[HOLDER_MAX_CLIENTS]; /* pidfds */
  int n_clients;
  struct holder_reply reply;
};

static time_t now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec;
}

static time_t idle_seconds(void) {
  const char *v = getenv("ENVLOCK_HOLDER_IDLE_SECONDS");
  long n = v ? strtol(v, NULL, 10) : 0;
  return n > 0 && n <= 86400 ? n : HOLDER_IDLE_SECONDS;
}

/* stdio to /dev/null (no pipe of the job stays open here), every other descriptor closed
 * but those listed, and no directory of the job's kept busy. */
static void detach(int *keep, int n) {
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3 && null >= 0; fd++) dup2(null, fd);
  keep[n++] = 0, keep[n++] = 1, keep[n++] = 2;
  el_close_other_fds(keep, n);
  if (chdir("/") != 0) _exit(1);
}

/* Serves one client: same user (SO_PEERCRED), watched through a pidfd, given both namespaces. */
static void accept_client(struct holder *h) {
  int conn = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0) return;
  struct ucred peer;
  socklen_t len = sizeof peer;
  struct holder_request req;
  struct pollfd p = {conn, POLLIN, 0};
  bool ok = getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &peer, &len) == 0 && peer.uid == getuid() &&
            h->n_clients < HOLDER_MAX_CLIENTS && poll(&p, 1, ACCEPT_TIMEOUT_MS) == 1 &&
            read(conn, &req, sizeof req) == (ssize_t)sizeof req && req.magic == HOLDER_MAGIC &&
            req.version == HOLDER_VERSION;
  int pidfd = ok ? (int)syscall(SYS_pidfd_open, peer.pid, 0) : -1;
  if (pidfd >= 0) {
    int fds[2] = {h->userns, h->mntns};
    char control[CMSG_SPACE(sizeof fds)];
    memset(control, 0, sizeof control);
    struct iovec iov = {&h->reply, sizeof h->reply};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(cm), fds, sizeof fds);
    if (sendmsg(conn, &msg, MSG_NOSIGNAL) == (ssize_t)sizeof h->reply) h->clients[h->n_clients++] = pidfd;
    else close(pidfd);
  }
  close(conn);
}

/* Serves the mount and the socket until no client has been alive for the idle timeout. */
static void serve_loop(struct holder *h, const struct el_entry *lease) {
  struct fuse_buf buf;
  memset(&buf, 0, sizeof buf);
  time_t idle = idle_seconds(), idle_since = now(), refreshed = now();
  for (;;) {
    struct pollfd p[2 + HOLDER_MAX_CLIENTS];
    p[0] = (struct pollfd){h->fuse_fd, POLLIN, 0};
    p[1] = (struct pollfd){h->listen_fd, POLLIN, 0};
    for (int i = 0; i < h->n_clients; i++) p[2 + i] = (struct pollfd){h->clients[i], POLLIN, 0};
    time_t t = now();
    if (h->n_clients == 0 && t - idle_since >= idle) return;
    if (t - refreshed >= LEASE_REFRESH_SECONDS) el_lease_refresh(lease), refreshed = t;
    int timeout = h->n_clients == 0 ? (int)(idle - (t - idle_since)) * 1000 : LEASE_REFRESH_SECONDS * 1000;
    int polled = h->n_clients;
    if (poll(p, 2 + polled, timeout) < 0) continue;
    if (p[0].revents) {
      int res = fuse_session_receive_buf(h->se, &buf);
      if (res == -EINTR || res == -EAGAIN) continue;
      if (res <= 0) return; /* the mount is gone */
      fuse_session_process_buf(h->se, &buf);
    }
    if (p[1].revents & POLLIN) accept_client(h);
    for (int i = polled - 1; i >= 0; i--) {
      if (!p[2 + i].revents) continue;
      close(h->clients[i]);
      h->clients[i] = h->clients[--h->n_clients];
      if (h->n_clients == 0) idle_since = now();
    }
  }
}

/* The holder's namespaces, its mount and its socket; -1 when any of them fails. */
static int set_up(struct holder *h, const struct el_spec *s, const struct el_caller *c, int dirfd,
                  const struct holder_names *n, int image_fd) {
  struct stat st;
  SYS(fstat(image_fd, &st), "stat", s->squashfs);
  if (mkdirat(dirfd, n->mnt, 0700) != 0 && errno != EEXIST) return -1;
  SYS(unshare(CLONE_NEWUSER | CLONE_NEWNS), "unshare", NULL);
  PASS(el_map_ids(s, c));
  SYS(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "make mounts private", "/");
  /* A mount point must be reached through this namespace's own mounts: the same directory,
   * opened again by name and checked to be the one already checked by descriptor. */
  struct stat was, is;
  int here;
  SYS(here = open(n->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), "open", n->dir);
  SYS(fstat(dirfd, &was), "stat", n->dir);
  SYS(fstat(here, &is), "stat", n->dir);
  if (was.st_dev != is.st_dev || was.st_ino != is.st_ino)
    return el_fail(EL_EXIT_LAUNCH_FAILED, "holder directory %s changed under the holder", n->dir);
  char mnt[256];
  el_holder_path(mnt, sizeof mnt, here, n->mnt);
  PASS(el_squashfs_attach(s->squashfs, image_fd, "/dev/fuse", mnt, &h->se));
  close(here);
  h->fuse_fd = fuse_session_fd(h->se);
  SYS(h->userns = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC), "open", "/proc/self/ns/user");
  SYS(h->mntns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC), "open", "/proc/self/ns/mnt");
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  el_holder_path(addr.sun_path, sizeof addr.sun_path, dirfd, n->sock);
  SYS(h->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket", NULL);
  SYS(bind(h->listen_fd, (struct sockaddr *)&addr, sizeof addr), "bind", n->sock);
  SYS(listen(h->listen_fd, 64), "listen", n->sock);
  SYS(fstatat(dirfd, n->sock, &h->sock, AT_SYMLINK_NOFOLLOW), "stat", n->sock);
  h->reply = (struct holder_reply){.magic = HOLDER_MAGIC, .version = HOLDER_VERSION, .dev = st.st_dev,
                                   .ino = st.st_ino, .size = (uint64_t)st.st_size,
                                   .mtime_sec = st.st_mtim.tv_sec, .mtime_nsec = st.st_mtim.tv_nsec};
  snprintf(h->reply.root, sizeof h->reply.root, "%s/%s", n->dir, n->mnt);
  return 0;
}

_Noreturn void el_holder_serve(const struct el_spec *s, const struct el_caller *c, int dirfd,
                               const struct holder_names *n, int image_fd, int ready) {
  el_ignore_job_signals();
  prctl(PR_SET_NAME, "envlock-holder", 0, 0, 0); /* what ps and top show for it */
  int keep[6] = {dirfd, image_fd, ready};
  detach(keep, 3);
  static struct holder h;
  struct el_entry lease;
  el_entry_init(&lease);
  /* The holder keeps the image open, so it holds a lease on it like any run. */
  if (el_lease_take(s, getpid(), &lease) < 0 || set_up(&h, s, c, dirfd, n, image_fd) < 0) {
    /* The starting client shows why (with --debug), then enters cold. */
    const char *why = el_error()->message;
    ssize_t w = write(ready, why, strlen(why));
    (void)w;
    _exit(1);
  }
  char byte = 'R';
  if (write(ready, &byte, 1) != 1) _exit(1);
  close(ready);
  serve_loop(&h, &lease);
  /* No client is left: stop taking new ones first (under the lock, so no client is starting
   * a holder meanwhile), then let the mount go. */
  int lock = el_holder_lock(dirfd, n->lock);
  struct stat now;
  if (fstatat(dirfd, n->sock, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_ino == h.sock.st_ino &&
      now.st_dev == h.sock.st_dev)
    unlinkat(dirfd, n->sock, 0);
  close(h.listen_fd);
  if (lock >= 0) unlinkat(dirfd, n->lock, 0), close(lock);
  char mnt[384];
  snprintf(mnt, sizeof mnt, "%s/%s", n->dir, n->mnt);
  umount2(mnt, MNT_DETACH);
  unlinkat(dirfd, n->mnt, AT_REMOVEDIR);
  el_lease_release(&lease);
  _exit(0);
}

#else

_Noreturn void el_holder_serve(const struct el_spec *s, const struct el_caller *c, int dirfd,
                               const struct holder_names *n, int image_fd, int ready) {
  (void)s, (void)c, (void)dirfd, (void)n, (void)image_fd, (void)ready;
  _exit(1);
}

#endif
