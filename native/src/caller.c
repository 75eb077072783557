/* Who is calling: uid, gid, names, home and working directory, read on the host before any
 * namespace exists. The launcher may be linked statically, where NSS (getpwuid) is unreliable,
 * so the spec's user/group lines (written by envlock from Node's NSS-aware lookup) come
 * first, then the host's /etc/passwd and /etc/group read directly. */
#define _GNU_SOURCE
#include "launch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PASSWD_FIELDS 7
#define FIELD_NAME 0
#define FIELD_ID 2
#define FIELD_HOME 5

/* Field `want` of the line of a colon-separated file whose id field is `id`. */
static bool lookup_field(const char *file, unsigned id, int want, char *out, size_t size) {
  FILE *f = fopen(file, "re");
  if (!f) return false;
  char line[4096];
  bool found = false;
  while (!found && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *fields[PASSWD_FIELDS] = {0};
    int n = 0;
    for (char *p = line; n < PASSWD_FIELDS; n++) {
      fields[n] = p;
      p = strchr(p, ':');
      if (!p) {
        n++;
        break;
      }
      *p++ = '\0';
    }
    if (n > FIELD_ID && n > want && fields[FIELD_ID][0] != '\0' &&
        strtoul(fields[FIELD_ID], NULL, 10) == id) {
      snprintf(out, size, "%s", fields[want]);
      found = true;
    }
  }
  fclose(f);
  return found;
}

void el_caller_capture(struct el_caller *c, const struct el_spec *s) {
  c->uid = getuid();
  c->gid = getgid();
  if (s->user_name) snprintf(c->name, sizeof c->name, "%s", s->user_name);
  else if (!lookup_field("/etc/passwd", c->uid, FIELD_NAME, c->name, sizeof c->name))
    snprintf(c->name, sizeof c->name, "user%u", (unsigned)c->uid);
  if (!lookup_field("/etc/passwd", c->uid, FIELD_HOME, c->home, sizeof c->home))
    snprintf(c->home, sizeof c->home, "/");
  if (s->group_name) snprintf(c->group, sizeof c->group, "%s", s->group_name);
  else if (!lookup_field("/etc/group", c->gid, FIELD_NAME, c->group, sizeof c->group))
    snprintf(c->group, sizeof c->group, "%s", c->name);
  if (!getcwd(c->cwd, sizeof c->cwd)) snprintf(c->cwd, sizeof c->cwd, "/");
}
