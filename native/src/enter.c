/* In-process entry (el_enter_here): everything between a parsed spec and exec, for a caller
 * that execs the command itself. The SPANK plugin calls it from slurm_spank_task_init;
 * envlock-launch calls it for `pid host`. */
#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

void el_entry_init(struct el_entry *e) {
  memset(e, 0, sizeof *e);
  e->lease_dirfd = e->lease_fd = e->image_fd = -1;
}

/* Prints the recorded failure the way every launcher message looks. */
void el_report(void) {
  const struct el_error *err = el_error();
  fprintf(stderr, "envlock-launch: %s\n", err->message[0] ? err->message : "failed");
  fflush(stderr);
}

/* Everything up to the namespaces, on the host: the CPU, the lease, then the image. */
int el_prepare(struct el_spec *s, struct el_caller *c, struct el_entry *e, pid_t holder) {
  el_entry_init(e);
  el_caller_capture(c, s);
  if (!s->cwd) s->cwd = el_strdup(c->cwd);
  PASS(el_cpu_check(s));
  PASS(el_lease_take(s, holder, e));
  return el_open_image(s, &e->image_fd);
}

/* After the root is built: host name, no_new_privs and the working directory. */
int el_finish_entry(const struct el_spec *s) {
  if (s->hostname) SYS(sethostname(s->hostname, strlen(s->hostname)), "sethostname", s->hostname);
  SYS(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl no_new_privs", NULL);
  if (chdir(s->cwd) == 0) return 0;
  FAILED_IF(errno != ENOENT && errno != ENOTDIR && errno != EACCES, "chdir", "chdir", s->cwd);
  el_warn("working directory %s does not exist inside the environment; using /", s->cwd);
  SYS(chdir("/"), "chdir", "/");
  return 0;
}

int el_enter_here(struct el_spec *s, struct el_entry *e) {
  struct el_caller c;
  PASS(el_prepare(s, &c, e, getpid()));
  s->pid_ns = false; /* a process cannot move itself into a new PID namespace */
  int warm;
  PASS(warm = el_holder_join(s, &c, e, 0));
  if (!warm) PASS(el_userns_enter(s, &c, 0));
  PASS(el_enter_root(s, &c, e));
  return el_finish_entry(s);
}
