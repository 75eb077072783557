/* The process side of a launch: with a PID namespace, the launcher stays outside as a relay
 * and its first child becomes PID 1 (a minimal init that forwards signals and reaps), which
 * forks the command; without one, the launcher execs the command itself like ch-run. */
#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Signals a supervisor passes on. Terminal-generated ones (si_code SI_KERNEL) already reach
 * the command through its process group, so only those sent by a process are forwarded. */
static const int FORWARDED[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGALRM};
#define N_FORWARDED (sizeof FORWARDED / sizeof *FORWARDED)

static void on_signal(int sig) { (void)sig; }

/* PID 1 ignores signals it has no handler for (pid_namespaces(7)), so a no-op handler is
 * installed for each, and the signals are taken synchronously with sigwaitinfo. */
static void catch_signals(sigset_t *set, bool install) {
  sigemptyset(set);
  for (size_t i = 0; i < N_FORWARDED; i++) sigaddset(set, FORWARDED[i]);
  sigaddset(set, SIGCHLD);
  if (install) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    for (size_t i = 0; i < N_FORWARDED; i++) sigaction(FORWARDED[i], &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
  }
}

static void restore_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (size_t i = 0; i < N_FORWARDED; i++) sigaction(FORWARDED[i], &sa, NULL);
  sigaction(SIGCHLD, &sa, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Waits for `child`, forwarding process-sent signals to it; returns its wait status. */
static int relay(pid_t child, const sigset_t *set, bool reap_all) {
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(set, &info);
    if (sig < 0) {
      if (errno == EINTR) continue;
      fail("sigwaitinfo", NULL, errno);
    }
    if (sig != SIGCHLD) {
      if (info.si_code <= 0) kill(child, sig);
      continue;
    }
    for (;;) {
      int status;
      pid_t got = waitpid(reap_all ? -1 : child, &status, WNOHANG);
      if (got == child) return status;
      if (got <= 0) break;
    }
  }
}

/* Ends this process the way `status` says: same exit code, or death by the same signal. */
static _Noreturn void pass_status(int status) {
  if (WIFEXITED(status)) exit(WEXITSTATUS(status));
  int sig = WTERMSIG(status);
  signal(sig, SIG_DFL);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  sigprocmask(SIG_UNBLOCK, &one, NULL);
  raise(sig);
  exit(128 + sig); /* only reached when the signal cannot kill us */
}

_Noreturn void exec_command(const struct spec *s, char **argv) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("prctl no_new_privs", NULL, errno);
  const char *cwd = s->cwd;
  if (chdir(cwd) != 0) {
    if (errno != ENOENT && errno != ENOTDIR && errno != EACCES) fail("chdir", cwd, errno);
    warnx_("working directory %s does not exist inside the environment; using /", cwd);
    if (chdir("/") != 0) fail("chdir", "/", errno);
  }
  environ = (char **)s->env;
  execvp(argv[0], argv);
  int err = errno;
  if (err == ENOENT) {
    fprintf(stderr, "envlock-launch: command not found inside the environment: %s\n", argv[0]);
    exit(EXIT_NOT_FOUND);
  }
  fprintf(stderr, "envlock-launch: cannot execute %s: %s (errno %d)\n", argv[0], strerror(err), err);
  exit(EXIT_CANNOT_EXECUTE);
}

static _Noreturn void run_init(const struct spec *s, const struct caller *c, char **argv, int report) {
  /* Die with the relay outside; the kernel then kills everything in the namespace. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail("prctl pdeathsig", NULL, errno);
  enter_root(s, c);
  if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) != 0)
    fail("sethostname", s->hostname, errno);
  sigset_t set;
  catch_signals(&set, true);
  fflush(NULL);
  pid_t cmd = fork();
  if (cmd < 0) fail("fork", NULL, errno);
  if (cmd == 0) {
    restore_signals();
    exec_command(s, argv);
  }
  int status = relay(cmd, &set, true);
  ssize_t n = write(report, &status, sizeof status);
  (void)n;
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

_Noreturn void run_supervised(const struct spec *s, const struct caller *c, char **argv) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) fail("pipe", NULL, errno);
  sigset_t set;
  catch_signals(&set, true);
  if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) fail("sigprocmask", NULL, errno);
  fflush(NULL);
  pid_t init = fork();
  if (init < 0) fail("fork into the PID namespace", NULL, errno);
  if (init == 0) {
    close(pipefd[0]);
    run_init(s, c, argv, pipefd[1]);
  }
  close(pipefd[1]);
  int init_status = relay(init, &set, false);
  int status;
  ssize_t n = read(pipefd[0], &status, sizeof status);
  restore_signals();
  pass_status(n == (ssize_t)sizeof status ? status : init_status);
}
