/* envlock-launch: argument handling and the namespace entry (user + mount [+ PID, UTS]).
 * Usage: envlock-launch [--debug] [--spec FILE | --spec-text TEXT] [--set LINE]... [--] [CMD ARG...] */
#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static const char USAGE[] =
    "usage: envlock-launch [--debug] [--spec FILE | --spec-text TEXT] [--set LINE]... [--] [CMD [ARG...]]\n"
    "Enters the root filesystem a launch spec names and runs CMD (or the spec's cmd lines).\n";

static void usage_error(const char *why, const char *arg) {
  fprintf(stderr, "envlock-launch: %s%s%s\n%s", why, arg ? ": " : "", arg ? arg : "", USAGE);
  exit(EXIT_LAUNCH_FAILED);
}

/* Field `want` (0-based) of the line of a colon-separated file whose third field is `id`, read
 * directly: the launcher may be linked statically, where NSS (getpwuid) is unreliable. The
 * spec's user/group/home lines, written by envlock from Node's NSS-aware lookup, come first. */
static bool lookup_field(const char *file, unsigned id, int want, char *out, size_t size) {
  FILE *f = fopen(file, "re");
  if (!f) return false;
  char line[4096];
  bool found = false;
  while (!found && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *fields[7] = {0};
    int n = 0;
    for (char *p = line; n < 7; n++) {
      fields[n] = p;
      p = strchr(p, ':');
      if (!p) {
        n++;
        break;
      }
      *p++ = '\0';
    }
    if (n > 2 && n > want && strtoul(fields[2], NULL, 10) == id && fields[2][0] != '\0') {
      snprintf(out, size, "%s", fields[want]);
      found = true;
    }
  }
  fclose(f);
  return found;
}

static void capture_caller(struct caller *c, const struct spec *s) {
  c->uid = getuid();
  c->gid = getgid();
  if (s->user_name) snprintf(c->name, sizeof c->name, "%s", s->user_name);
  else if (!lookup_field("/etc/passwd", c->uid, 0, c->name, sizeof c->name))
    snprintf(c->name, sizeof c->name, "user%u", (unsigned)c->uid);
  if (!lookup_field("/etc/passwd", c->uid, 5, c->home, sizeof c->home))
    snprintf(c->home, sizeof c->home, "/");
  if (s->group_name) snprintf(c->group, sizeof c->group, "%s", s->group_name);
  else if (!lookup_field("/etc/group", c->gid, 0, c->group, sizeof c->group))
    snprintf(c->group, sizeof c->group, "%s", c->name);
  if (!getcwd(c->cwd, sizeof c->cwd)) snprintf(c->cwd, sizeof c->cwd, "/");
}

/* Explains a failed unshare in one line (pitfalls 3.5); the prefix "user namespace" lets the
 * caller recognise it. */
static _Noreturn void userns_failed(int err) {
  const char *why = "";
  if (err == EPERM)
    why = "; unprivileged user namespaces are not allowed here (kernel.unprivileged_userns_clone, "
          "AppArmor, a seccomp filter or a chroot): an administrator must allow them; "
          "run `envlock doctor` for the exact setting";
  else if (err == ENOSPC || err == EUSERS)
    why = "; the limit in /proc/sys/user/max_user_namespaces is 0 or reached: an administrator must "
          "raise it (sysctl -w user.max_user_namespaces=15000)";
  else if (err == EINVAL)
    why = "; this kernel has no user namespace support (CONFIG_USER_NS)";
  fprintf(stderr, "envlock-launch: user namespace: unshare: %s (errno %d)%s\n", strerror(err), err, why);
  /* Exit 4 like every "this host cannot run it" failure (docs/errors.md), not 125. */
  exit(EXIT_HOST_UNSUPPORTED);
}

static void map_ids(const struct spec *s, const struct caller *c) {
  char line[64];
  /* setgroups must be denied before gid_map can be written unprivileged (user_namespaces(7)). */
  int fd_ok = access("/proc/self/setgroups", F_OK) == 0;
  if (fd_ok) write_file("/proc/self/setgroups", "deny");
  snprintf(line, sizeof line, "%u %u 1\n", s->fake_root ? 0u : (unsigned)c->uid, (unsigned)c->uid);
  write_file("/proc/self/uid_map", line);
  snprintf(line, sizeof line, "%u %u 1\n", s->fake_root ? 0u : (unsigned)c->gid, (unsigned)c->gid);
  write_file("/proc/self/gid_map", line);
}

int main(int argc, char **argv) {
  static struct spec s;
  spec_defaults(&s);
  bool have_spec = false;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    } else if (strcmp(a, "--debug") == 0) {
      g_debug = true;
    } else if (strcmp(a, "--help") == 0) {
      fputs(USAGE, stdout);
      return 0;
    } else if (strcmp(a, "--spec") == 0 || strcmp(a, "--spec-text") == 0 || strcmp(a, "--set") == 0) {
      if (i + 1 >= argc) usage_error("missing value after", a);
      char *value = argv[++i];
      if (strcmp(a, "--spec") == 0) spec_parse_file(&s, value);
      else spec_parse_text(&s, xstrdup(value), strcmp(a, "--set") == 0 ? "--set" : "--spec-text");
      have_spec |= strcmp(a, "--set") != 0;
    } else if (a[0] == '-') {
      usage_error("unknown option", a);
    } else {
      break;
    }
  }
  if (!have_spec && s.rootfs == NULL) usage_error("no spec given", NULL);
  spec_finish(&s, environ);
  char **cmd = i < argc ? &argv[i] : s.cmd;
  if (!cmd[0]) failx("no command given and the spec has no cmd lines");

  struct caller c;
  capture_caller(&c, &s);
  if (!s.cwd) s.cwd = c.cwd;

  int flags = CLONE_NEWUSER | CLONE_NEWNS;
  if (s.pid_ns) flags |= CLONE_NEWPID;
  if (s.hostname) flags |= CLONE_NEWUTS;
  if (unshare(flags) != 0) userns_failed(errno);
  map_ids(&s, &c);
  if (s.pid_ns) run_supervised(&s, &c, cmd);
  enter_root(&s, &c);
  if (s.hostname && sethostname(s.hostname, strlen(s.hostname)) != 0)
    fail("sethostname", s.hostname, errno);
  exec_command(&s, cmd);
}
