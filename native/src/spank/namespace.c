/* The node's environment: envlock-spank-holder enters it once (user + mount namespace, the
 * image as root, binds, /tmp, ...) exactly as envlock-launch does for `envlock run`, reports
 * ready, and waits. The plugin opens the holder's two namespaces, lets it exit, and keeps the
 * descriptors for the step; each task joins them with setns(2). One namespace per node also
 * means the tasks of a node share /tmp and /dev/shm and can reach each other's memory (MPI
 * single-copy transfers fail between sibling user namespaces, pitfalls 3.4). */
#define _GNU_SOURCE
#include "envlock-spank.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int open_ns(pid_t pid, const char *which) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, which);
  return open(path, O_RDONLY | O_CLOEXEC);
}

static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Returns 0, or the exit status the tasks should end with (the holder printed why). */
int els_build_namespaces(const struct els_user *u, const char *holder, const struct els_prepared *p, struct els_namespaces *ns) {
  ns->userns = ns->mntns = ns->ctl = -1;
  ns->holder = 0;
  /* The spec goes in as a memory file: no pipe to block on, no SIGPIPE if the holder dies. */
  int spec = memfd_create("envlock-spec", MFD_CLOEXEC);
  if (spec < 0 || write_all(spec, p->spec, p->spec_len) != 0 || lseek(spec, 0, SEEK_SET) != 0) {
    els_error("envlock's Slurm plugin could not hand the prepared spec to its holder.", strerror(errno));
    if (spec >= 0) close(spec);
    return ELS_EXIT_LAUNCH_FAILED;
  }
  int ctl[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) != 0) {
    close(spec);
    return ELS_EXIT_LAUNCH_FAILED;
  }
  char *argv[] = {(char *)holder, NULL};
  /* This holder is already the one per node and step: no per-user warm holder behind it, which
   * would outlive the step (ENVLOCK_WARM, docs/runtime.md). */
  char *envp[] = {"PATH=/usr/bin:/bin", "ENVLOCK_WARM=0", NULL};
  pid_t pid = els_spawn(u, argv, envp, spec, -1, ctl[1]);
  close(spec);
  close(ctl[1]);
  int rc = 0;
  if (pid < 0) {
    els_error("envlock's Slurm plugin could not start envlock-spank-holder.", strerror(errno));
    rc = ELS_EXIT_LAUNCH_FAILED;
  }
  char ready = 0;
  ssize_t got = 0;
  if (rc == 0) {
    do got = read(ctl[0], &ready, 1);
    while (got < 0 && errno == EINTR);
  }
  if (rc == 0 && got == 1 && ready == 'R') {
    ns->userns = open_ns(pid, "user");
    ns->mntns = open_ns(pid, "mnt");
    if (ns->userns < 0 || ns->mntns < 0) {
      els_error("envlock's Slurm plugin could not open the environment's namespaces.", strerror(errno));
      rc = ELS_EXIT_LAUNCH_FAILED;
    }
  }
  if (rc == 0 && p->squashfs) {
    /* The holder's FUSE server serves the image: it stays until the step ends. */
    ns->ctl = ctl[0];
    ns->holder = pid;
    return 0;
  }
  /* Closing our end lets the holder exit; its namespaces live on in our descriptors. */
  close(ctl[0]);
  if (pid > 0) {
    int status = els_wait(pid);
    if (rc == 0 && (got != 1 || ready != 'R')) rc = status != 0 ? status : ELS_EXIT_LAUNCH_FAILED;
  }
  if (rc != 0) els_close_namespaces(ns);
  return rc;
}

/* In the task (already the user, single-threaded, about to exec its command). */
int els_join_namespaces(const struct els_namespaces *ns, const char *cwd) {
  if (setns(ns->userns, CLONE_NEWUSER) != 0) return -1;
  if (setns(ns->mntns, CLONE_NEWNS) != 0) return -1;
  if (chdir(cwd) != 0) {
    fprintf(stderr, "envlock: warning: working directory %s does not exist inside the environment; using /\n", cwd);
    if (chdir("/") != 0) return -1;
  }
  /* As envlock-launch does: nothing the command executes can gain privileges. */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return 0;
}

void els_close_namespaces(struct els_namespaces *ns) {
  if (ns->userns >= 0) close(ns->userns);
  if (ns->mntns >= 0) close(ns->mntns);
  if (ns->ctl >= 0) close(ns->ctl);
  if (ns->holder > 0) els_wait(ns->holder);
  ns->userns = ns->mntns = ns->ctl = -1;
  ns->holder = 0;
}
