/* The user namespace: unshare it (with the mount namespace and whatever else the caller
 * asks for) and map the caller to itself, or to 0 with fake-root. One id each is all an
 * unprivileged process may map (user_namespaces(7)). */
#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Explains a failed unshare in one line (pitfalls 3.5); the prefix lets the caller recognise
 * it. Exit 4 like every "this host cannot run it" failure (docs/errors.md). */
static int userns_failed(int err) {
  const char *why = "";
  if (err == EPERM)
    why = "; unprivileged user namespaces are not allowed here (kernel.unprivileged_userns_clone, "
          "AppArmor, a seccomp filter or a chroot): an administrator must allow them; "
          "run `envlock doctor` for the exact setting";
  else if (err == ENOSPC || err == EUSERS)
    why = "; the limit in /proc/sys/user/max_user_namespaces is 0 or reached: an administrator must "
          "raise it (sysctl -w user.max_user_namespaces=15000)";
  else if (err == EINVAL)
    why = "; this kernel has no user namespace support (CONFIG_USER_NS), or the caller is threaded";
  return el_fail(EL_EXIT_HOST_UNSUPPORTED, EL_MSG_USERNS "unshare: %s (errno %d)%s", strerror(err), err, why);
}

int el_map_ids(const struct el_spec *s, const struct el_caller *c) {
  char line[64];
  /* setgroups must be denied before gid_map can be written unprivileged (user_namespaces(7)). */
  if (access("/proc/self/setgroups", F_OK) == 0) PASS(el_write_file("/proc/self/setgroups", "deny"));
  snprintf(line, sizeof line, "%u %u 1\n", s->fake_root ? 0u : (unsigned)c->uid, (unsigned)c->uid);
  PASS(el_write_file("/proc/self/uid_map", line));
  snprintf(line, sizeof line, "%u %u 1\n", s->fake_root ? 0u : (unsigned)c->gid, (unsigned)c->gid);
  return el_write_file("/proc/self/gid_map", line);
}

int el_userns_enter(const struct el_spec *s, const struct el_caller *c, int extra_flags) {
  int flags = CLONE_NEWUSER | CLONE_NEWNS | extra_flags;
  if (s->hostname) flags |= CLONE_NEWUTS;
  if (unshare(flags) != 0) return userns_failed(errno);
  return el_map_ids(s, c);
}
