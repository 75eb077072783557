/* The entry library's one error record: the first failure sets it, every function above
 * returns -1, and whoever called the library prints it (envlock-launch) or reports it (the
 * SPANK plugin). Failed system calls are reported the ch-run way: the step and its object,
 * strerror, errno, the call and file:line. */
#define _GNU_SOURCE
#include "launch.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static struct el_error g_error;

const struct el_error *el_error(void) { return &g_error; }

void el_error_clear(void) {
  g_error.status = 0;
  g_error.message[0] = '\0';
}

/* The function name in the text of a call expression: "fd = open(path, ...)" gives "open". */
static void call_name(const char *expr, char *out, size_t size) {
  const char *paren = strchr(expr, '(');
  const char *end = paren ? paren : expr + strlen(expr);
  const char *start = end;
  while (start > expr && (isalnum((unsigned char)start[-1]) || start[-1] == '_')) start--;
  size_t n = (size_t)(end - start);
  if (n >= size) n = size - 1;
  memcpy(out, start, n);
  out[n] = '\0';
}

static const char *base_name(const char *file) {
  const char *slash = strrchr(file, '/');
  return slash ? slash + 1 : file;
}

int el_fail_call(const char *step, const char *object, int err, const char *expr, const char *file,
                 int line) {
  if (g_error.status != 0) return -1; /* keep the first, closest cause */
  char call[64];
  call_name(expr, call, sizeof call);
  g_error.status = EL_EXIT_LAUNCH_FAILED;
  snprintf(g_error.message, sizeof g_error.message, "%s%s%s: %s (errno %d; %s at %s:%d)", step,
           object ? " " : "", object ? object : "", strerror(err), err, call, base_name(file), line);
  errno = err;
  return -1;
}

int el_fail(int status, const char *fmt, ...) {
  if (g_error.status != 0) return -1;
  g_error.status = status;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_error.message, sizeof g_error.message, fmt, ap);
  va_end(ap);
  return -1;
}
