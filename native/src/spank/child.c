/* Starting envlock and the holder from slurmstepd as the job's user. In slurm_spank_user_init
 * slurmstepd has only set its effective ids to the user's (the real uid is still root), so a
 * plain fork would give the child a way back to root: the child drops every id for good before
 * it executes anything. slurmstepd has threads, so between fork and exec the child makes only
 * async-signal-safe calls. */
#define _GNU_SOURCE
#include "envlock-spank.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void child_fail(const char *what, int err) {
  /* write(2) only: no stdio in a forked child of a threaded process. */
  const char *msg = strerror(err);
  const char *parts[] = {"error: envlock's Slurm plugin could not start a helper: ", what, ": ", msg, "\n"};
  for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
    ssize_t n = write(2, parts[i], strlen(parts[i]));
    (void)n;
  }
  _exit(ELS_EXIT_LAUNCH_FAILED);
}

static void close_from(int first) {
  if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) == 0) return;
  long max = sysconf(_SC_OPEN_MAX);
  for (int fd = first; fd < (max > 0 && max < 65536 ? max : 65536); fd++) close(fd);
}

pid_t els_spawn(const struct els_user *u, char *const argv[], char *const envp[], int in_fd, int out_fd, int extra_fd) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  /* Signals slurmstepd blocks must not stay blocked in envlock or in the holder. */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (in_fd < 0) in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (in_fd < 0 || dup2(in_fd, 0) < 0) child_fail("stdin", errno);
  if (out_fd >= 0 && dup2(out_fd, 1) < 0) child_fail("stdout", errno);
  if (extra_fd >= 0 && dup2(extra_fd, 3) < 0) child_fail("control descriptor", errno);
  /* slurmstepd's own descriptors (sockets to slurmd, other tasks' pipes) stay with slurmstepd. */
  close_from(extra_fd >= 0 ? 4 : 3);
  /* Regain the effective root the real uid allows, then drop real, effective and saved ids. */
  if (geteuid() != 0 && getuid() == 0 && seteuid(0) != 0) child_fail("seteuid", errno);
  if (geteuid() == 0) {
    if (setgroups((size_t)u->n_groups, u->groups) != 0) child_fail("setgroups", errno);
    if (setresgid(u->gid, u->gid, u->gid) != 0) child_fail("setresgid", errno);
    if (setresuid(u->uid, u->uid, u->uid) != 0) child_fail("setresuid", errno);
  }
  uid_t r, e, s;
  if (getresuid(&r, &e, &s) != 0 || r != u->uid || e != u->uid || s != u->uid) child_fail("drop privileges", EPERM);
  if (u->uid != 0 && setuid(0) == 0) child_fail("drop privileges", EPERM);
  execve(argv[0], argv, envp);
  child_fail(argv[0], errno);
  return -1;
}

char *els_read_all(int fd, size_t max, size_t *len) {
  size_t cap = 8192, used = 0;
  char *buf = malloc(cap + 1);
  if (!buf) return NULL;
  for (;;) {
    if (used == cap) {
      if (cap >= max) {
        free(buf);
        errno = EFBIG;
        return NULL;
      }
      cap *= 2;
      char *grown = realloc(buf, cap + 1);
      if (!grown) {
        free(buf);
        return NULL;
      }
      buf = grown;
    }
    ssize_t n = read(fd, buf + used, cap - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      free(buf);
      return NULL;
    }
    if (n == 0) break;
    used += (size_t)n;
  }
  buf[used] = '\0';
  if (len) *len = used;
  return buf;
}

int els_wait(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ELS_EXIT_LAUNCH_FAILED;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}
