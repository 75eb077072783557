/* envlock-spank-holder: builds a node's environment for envlock's Slurm plugin and waits.
 * Started by the plugin as the job's user (all root ids dropped), with the prepared spec on
 * stdin and a socket on fd 3. It enters exactly as envlock-launch does, through the entry
 * library (envlock-enter.h: el_enter_here), then writes "R" on fd 3 and waits until the plugin
 * closes its end. The plugin meanwhile opens this process's user and mount namespaces for the
 * tasks to join; for a squashfs image the holder stays until the step ends, because the FUSE
 * server that serves the image lives as long as the process that mounted it. The spec holds
 * no lease line: the plugin keeps the lease for slurmstepd, which outlives every task.
 * A failure prints the launcher's one-line message and exits with its status. */
#define _GNU_SOURCE
#include "envlock-enter.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

extern char **environ;

#define CONTROL_FD 3

int main(void) {
  static struct el_spec s;
  struct el_entry e;
  el_spec_init(&s);
  if (el_spec_read_fd(&s, 0) != 0 || el_spec_finish(&s, environ) != 0 || el_enter_here(&s, &e) != 0) {
    const struct el_error *err = el_error();
    fprintf(stderr, "envlock-launch: %s\n", err->message[0] ? err->message : "entering the environment failed");
    return err->status ? err->status : EL_EXIT_LAUNCH_FAILED;
  }
  if (write(CONTROL_FD, "R", 1) != 1) {
    fprintf(stderr, "envlock-launch: report ready: %s\n", "the Slurm plugin went away");
    return EL_EXIT_LAUNCH_FAILED;
  }
  for (;;) {
    char byte;
    ssize_t n = read(CONTROL_FD, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
  }
}
