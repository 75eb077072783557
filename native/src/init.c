/* The launcher's process side. With a PID namespace it stays outside as a relay (forwarding
 * signals, refreshing the lease, removing it at the end) and its first child becomes PID 1:
 * a minimal init that forwards signals and reaps, and forks the command. Without one, the
 * launcher execs the command itself like ch-run.
 *
 * The init is started with CLONE_VM: it runs in the relay's memory on a stack of its own, so
 * no page tables are copied and neither process takes copy-on-write faults (a fork here cost
 * about 1 ms of every start on a virtual machine). Two processes in one memory without
 * knowing it (the C library thinks each is alone: no malloc locks, one errno) is safe only
 * because the relay stays out of the way: it keeps nothing the init writes (the init gets
 * copies), and it waits on a gate pipe, touching nothing, until the init has built the root
 * and the command has left the shared memory by its exec. After that both only wait for
 * signals and children, and neither reads errno or allocates. */
#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define LEASE_REFRESH_SECONDS 60 /* Decision 4: about every 60 s while supervising */

/* The refresh interval: 60 s, or ENVLOCK_LEASE_REFRESH_SECONDS from the launcher's own
 * environment (tests shorten it). */
static time_t refresh_seconds(void) {
  const char *text = getenv("ENVLOCK_LEASE_REFRESH_SECONDS");
  long value = text ? strtol(text, NULL, 10) : 0;
  return value > 0 && value <= 3600 ? (time_t)value : LEASE_REFRESH_SECONDS;
}

/* Signals a supervisor passes on. Terminal-generated ones (si_code SI_KERNEL) already reach
 * the command through its process group, so only those sent by a process are forwarded. */
static const int FORWARDED[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGALRM};
#define N_FORWARDED (sizeof FORWARDED / sizeof *FORWARDED)

static void on_signal(int sig) { (void)sig; }

/* PID 1 ignores signals it has no handler for (pid_namespaces(7)), so a no-op handler is
 * installed for each, and the signals are taken synchronously with sigtimedwait. */
static void catch_signals(sigset_t *set) {
  sigemptyset(set);
  for (size_t i = 0; i < N_FORWARDED; i++) sigaddset(set, FORWARDED[i]);
  sigaddset(set, SIGCHLD);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  for (size_t i = 0; i < N_FORWARDED; i++) sigaction(FORWARDED[i], &sa, NULL);
  sigaction(SIGCHLD, &sa, NULL);
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

static time_t now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec;
}

/* Waits for `child`, forwarding process-sent signals to it and refreshing the lease of `e`
 * (when given) on a fixed schedule, whatever signals arrive; returns its wait status. With a
 * `report` pipe (the launcher's side), a wait status written there ends the wait at once:
 * the init has reported the command's end, and its own exit (the kernel tearing down the PID
 * namespace, a FUSE server with it) need not be waited for. */
static int relay(pid_t child, const sigset_t *set, bool reap_all, const struct el_entry *e, int report, time_t every) {
  time_t next = now_seconds() + every;
  for (;;) {
    siginfo_t info;
    int sig;
    if (e) {
      time_t left = next - now_seconds();
      struct timespec wait = {left > 0 ? left : 0, 0};
      sig = sigtimedwait(set, &info, &wait);
      if (now_seconds() >= next) {
        el_lease_refresh(e);
        next = now_seconds() + every;
      }
    } else {
      sig = sigwaitinfo(set, &info);
    }
    if (sig < 0) continue; /* EINTR (a stop and continue) or the refresh tick */
    int status;
    if (sig == SIGIO && report >= 0) {
      if (read(report, &status, sizeof status) == (ssize_t)sizeof status) return status;
      continue;
    }
    if (sig != SIGCHLD) {
      if (info.si_code <= 0) kill(child, sig);
      continue;
    }
    for (;;) {
      pid_t got = waitpid(reap_all ? -1 : child, &status, WNOHANG);
      if (got == child) {
        int reported;
        if (report >= 0 && read(report, &reported, sizeof reported) == (ssize_t)sizeof reported) return reported;
        return status;
      }
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

int el_exec_command(const struct el_spec *s, char **argv) {
  environ = (char **)s->env;
  execvp(argv[0], argv);
  int err = errno;
  if (err == ENOENT) return el_fail(EL_EXIT_NOT_FOUND, EL_MSG_NOT_FOUND "%s", argv[0]);
  return el_fail(EL_EXIT_CANNOT_EXECUTE, EL_MSG_CANNOT_EXECUTE "%s: %s (errno %d)", argv[0], strerror(err), err);
}

/* Ends a child after a failure, with the message and status of the library. */
static _Noreturn void child_failed(void) {
  el_report();
  _exit(el_error()->status ? el_error()->status : EL_EXIT_LAUNCH_FAILED);
}

static _Noreturn void run_init(struct el_spec *s, const struct el_caller *c, struct el_entry *e,
                               char **argv, int report, int gate) {
  /* Die with the relay outside; the kernel then kills everything in the namespace. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) child_failed();
  if (el_enter_root(s, c, e) < 0) child_failed();
  sigset_t set;
  catch_signals(&set);
  fflush(NULL);
  /* vfork: the command's process borrows this one's memory until it execs, so no page tables
   * are copied and neither side takes copy-on-write faults (a fork here cost a measurable part
   * of every start on a virtual machine). Until the exec the child only makes system calls,
   * writes a message and _exits; signals stay blocked until restore_signals resets them. */
  pid_t cmd = vfork();
  if (cmd < 0) {
    el_fail_call("fork", "the command", errno, "fork()", __FILE_NAME__, __LINE__);
    child_failed();
  }
  if (cmd == 0) {
    restore_signals();
    if (el_finish_entry(s) == 0) el_exec_command(s, argv);
    child_failed();
  }
  /* The command has exec'd (or failed and _exited): it no longer uses this memory, and neither
   * does this init beyond waiting. A byte through the gate lets the relay go on (not its end of
   * file: a squashfs server forked during the set-up holds a copy of the write end). */
  ssize_t opened = write(gate, "", 1);
  (void)opened;
  close(gate);
  int status = relay(cmd, &set, true, NULL, -1, 0);
  ssize_t n = write(report, &status, sizeof status);
  (void)n;
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* What the init starts from: pointers the relay no longer uses once it has started the init,
 * and a copy of the entry (the init's mounts change it; the relay keeps its own for the lease). */
struct init_start {
  struct el_spec *s;
  const struct el_caller *c;
  struct el_entry e;
  char **argv;
  int report, gate;
  int relay_ends[2]; /* the relay's read ends of both pipes, closed here */
};

static int init_main(void *arg) {
  struct init_start *start = arg;
  close(start->relay_ends[0]);
  close(start->relay_ends[1]);
  run_init(start->s, start->c, &start->e, start->argv, start->report, start->gate);
}

/* The init's stack: as large as a main thread's may grow (RLIMIT_STACK, 8 MiB when unlimited
 * or small, at most 64 MiB), reserved but not committed, with a guard page below it. */
static char *init_stack_top(void) {
  struct rlimit limit;
  size_t size = 8u << 20;
  if (getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur > size)
    size = limit.rlim_cur < (64u << 20) ? (size_t)limit.rlim_cur : 64u << 20;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size = (size + page - 1) & ~(page - 1);
  char *base = mmap(NULL, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) return NULL;
  if (mprotect(base, page, PROT_NONE) != 0) return NULL;
  return base + page + size;
}

static _Noreturn void die(struct el_entry *e) {
  el_report();
  el_lease_release(e);
  exit(el_error()->status ? el_error()->status : EL_EXIT_LAUNCH_FAILED);
}

_Noreturn void el_run_supervised(struct el_spec *s, char **argv) {
  struct el_caller c;
  struct el_entry e;
  if (el_prepare(s, &c, &e, getpid()) < 0) die(&e);
  int warm = el_holder_join(s, &c, &e, CLONE_NEWPID);
  if (warm < 0 || (!warm && el_userns_enter(s, &c, CLONE_NEWPID) < 0)) die(&e);
  int pipefd[2], gate[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0 || pipe2(gate, O_CLOEXEC) != 0) {
    el_fail_call("pipe", NULL, errno, "pipe2()", __FILE_NAME__, __LINE__);
    die(&e);
  }
  sigset_t set;
  catch_signals(&set);
  /* The report pipe raises SIGIO when the init writes the command's status into it. */
  sigaddset(&set, SIGIO);
  sigprocmask(SIG_BLOCK, &set, NULL);
  if (fcntl(pipefd[0], F_SETOWN, getpid()) != 0 || fcntl(pipefd[0], F_SETFL, O_ASYNC | O_NONBLOCK) != 0) {
    el_fail_call("watch the report pipe", NULL, errno, "fcntl()", __FILE_NAME__, __LINE__);
    die(&e);
  }
  char *stack = init_stack_top();
  if (!stack) {
    el_fail_call("allocate the init's stack", NULL, errno, "mmap()", __FILE_NAME__, __LINE__);
    die(&e);
  }
  /* Read now: the environment the relay sees later is the init's (it sets environ for the command). */
  time_t every = refresh_seconds();
  int image_fd = e.image_fd;
  static struct init_start start;
  start = (struct init_start){.s = s, .c = &c, .e = e, .argv = argv, .report = pipefd[1], .gate = gate[1], .relay_ends = {pipefd[0], gate[0]}};
  fflush(NULL);
  pid_t init = clone(init_main, stack, CLONE_VM | SIGCHLD, &start);
  if (init < 0) {
    el_fail_call("fork into the PID namespace", NULL, errno, "clone()", __FILE_NAME__, __LINE__);
    die(&e);
  }
  close(pipefd[1]);
  close(gate[1]);
  if (image_fd >= 0) close(image_fd);
  /* Until the gate opens the init and the command's start use this memory: wait, doing
   * nothing else (signals stay pending meanwhile and are passed on after). A failed init
   * opens it too: its end, and its server's with it, closes the pipe. */
  char none;
  ssize_t n = read(gate[0], &none, 1);
  (void)n;
  close(gate[0]);
  int status = relay(init, &set, false, &e, pipefd[0], every);
  el_lease_release(&e);
  close(pipefd[0]);
  signal(SIGIO, SIG_IGN); /* drop a pending one from the pipe's last change */
  restore_signals();
  pass_status(status);
}
