/* envlock-launch: the command line around the entry library (envlock-enter.h).
 * Usage: envlock-launch [--debug] [--candidate FILE]... [--spec FILE | --spec-fd N]
 *                       [--set LINE]... [--] [CMD ARG...]
 *        envlock-launch --wrapper FILE [ARG...]   (a module wrapper's interpreter line) */
#define _GNU_SOURCE
#include "launch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

#define MAX_CANDIDATES 16

static const char USAGE[] =
    "usage: envlock-launch [--debug] [--candidate FILE]... [--spec FILE | --spec-fd N] [--set LINE]...\n"
    "                      [--] [CMD [ARG...]]\n"
    "       envlock-launch --wrapper FILE [ARG...]\n"
    "       envlock-launch --features\n"
    "Enters the image a launch spec names and runs CMD (or the spec's cmd lines).\n"
    "  --spec FILE       read the spec from FILE (may be repeated; lines accumulate)\n"
    "  --spec-fd N       read the spec from inherited descriptor N, then close it\n"
    "  --candidate FILE  use the first candidate whose cpu-needs this CPU meets (repeatable)\n"
    "  --set LINE        one more spec line, after the others\n"
    "  --wrapper FILE    run the module wrapper FILE (its interpreter line names this)\n"
    "  --features        print what this build supports, one word a line\n";

static _Noreturn void usage_error(const char *why, const char *arg) {
  fprintf(stderr, "envlock-launch: %s%s%s\n%s", why, arg ? ": " : "", arg ? arg : "", USAGE);
  exit(EL_EXIT_LAUNCH_FAILED);
}

static _Noreturn void die(void) {
  el_report();
  exit(el_error()->status ? el_error()->status : EL_EXIT_LAUNCH_FAILED);
}

/* Words a caller (envlock doctor, the image-format choice) can test for. */
static void print_features(void) {
  puts("spec-fd");
  puts("candidate");
  puts("cpu-needs");
  puts("lease");
  puts("wrapper");
  if (el_squashfs_supported()) puts("squashfs"), puts("warm");
}

static int parse_fd(const char *text) {
  char *end;
  long fd = strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || fd < 0 || fd > 1 << 20) usage_error("not a descriptor number", text);
  return (int)fd;
}

/* The spec and command from the options; returns the command (NULL: the spec's cmd lines). */
static char **from_options(struct el_spec *s, int argc, char **argv) {
  char *candidates[MAX_CANDIDATES];
  int n_candidates = 0, i;
  /* First pass: options that decide where the spec starts from. */
  for (i = 1; i < argc && strcmp(argv[i], "--") != 0 && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0) fputs(USAGE, stdout), exit(0);
    if (strcmp(a, "--features") == 0) print_features(), exit(0);
    if (strcmp(a, "--debug") == 0) el_debug_on = true;
    else if (strcmp(a, "--candidate") == 0 || strcmp(a, "--spec") == 0 || strcmp(a, "--spec-fd") == 0 ||
             strcmp(a, "--spec-text") == 0 || strcmp(a, "--set") == 0) {
      if (i + 1 >= argc) usage_error("missing value after", a);
      if (strcmp(a, "--candidate") == 0) {
        if (n_candidates == MAX_CANDIDATES) usage_error("too many candidates", argv[i + 1]);
        candidates[n_candidates++] = argv[i + 1];
      }
      i++;
    } else {
      usage_error(strcmp(a, "--wrapper") == 0 ? "--wrapper comes first, alone" : "unknown option", a);
    }
  }
  bool have_spec = n_candidates > 0;
  if (n_candidates > 0 && el_spec_read_first_fitting(s, candidates, n_candidates) < 0) die();
  /* Second pass: spec sources and --set lines, in order. */
  for (i = 1; i < argc && strcmp(argv[i], "--") != 0 && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--debug") == 0) continue;
    char *value = argv[++i];
    int rc = 0;
    if (strcmp(a, "--spec") == 0) rc = el_spec_read_file(s, value);
    else if (strcmp(a, "--spec-fd") == 0) rc = el_spec_read_fd(s, parse_fd(value));
    /* Kept until every caller passes the spec by descriptor: argv is public (12.4). */
    else if (strcmp(a, "--spec-text") == 0) rc = el_spec_parse(s, el_strdup(value), "--spec-text");
    else if (strcmp(a, "--set") == 0) rc = el_spec_parse(s, el_strdup(value), "--set");
    if (rc < 0) die();
    have_spec |= strcmp(a, "--set") != 0 && strcmp(a, "--candidate") != 0;
  }
  if (i < argc && strcmp(argv[i], "--") == 0) i++;
  if (!have_spec && !s->rootfs && !s->squashfs) usage_error("no spec given", NULL);
  return i < argc ? &argv[i] : NULL;
}

int main(int argc, char **argv) {
  static struct el_spec s;
  el_spec_init(&s);
  char **cmd;
  /* The kernel runs a module wrapper as `envlock-launch --wrapper FILE ARG...`. */
  if (argc >= 2 && strcmp(argv[1], "--wrapper") == 0) {
    if (argc < 3) usage_error("missing value after", argv[1]);
    if (!(cmd = el_wrapper_load(&s, argv))) die();
  } else {
    cmd = from_options(&s, argc, argv);
  }
  if (el_spec_finish(&s, environ) < 0) die();
  if (!cmd) cmd = s.cmd;
  if (!cmd[0]) {
    el_fail(EL_EXIT_LAUNCH_FAILED, "no command given and the spec has no cmd lines");
    die();
  }

  if (s.pid_ns) el_run_supervised(&s, cmd);
  struct el_entry e;
  if (el_enter_here(&s, &e) < 0) die();
  el_exec_command(&s, cmd);
  die();
}
