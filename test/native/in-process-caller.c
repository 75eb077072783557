/* A stand-in for the Slurm SPANK plugin's task_init: it links the entry library, enters the
 * spec's image in its own process (el_enter_here), and execs the command there, as
 * slurmstepd does after the plugin returns. When entering fails it keeps control and says so,
 * which is what a caller that must report the error itself needs. */
#define _GNU_SOURCE
#include "envlock-enter.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: in-process-caller SPEC CMD [ARG...]\n");
    return 2;
  }
  printf("caller pid %d\n", (int)getpid());
  fflush(stdout);
  static struct el_spec s;
  el_spec_init(&s);
  struct el_entry e;
  if (el_spec_read_file(&s, argv[1]) < 0 || el_spec_finish(&s, environ) < 0 || el_enter_here(&s, &e) < 0) {
    printf("caller kept control: status %d: %s\n", el_error()->status, el_error()->message);
    return 91;
  }
  environ = s.env;
  execvp(argv[2], &argv[2]);
  perror("execvp");
  return 92;
}
