/* envlock_exec.node: the small addon a repeated `envlock run` loads to replace Node with the
 * launcher (execLauncher), to see this CPU's features (cpuFeatures) and to hash the cache key
 * (sha256Hex). Plain C against Node-API
 * with no library beyond libc, so loading it costs a fraction of the main addon (which brings
 * libstdc++, zstd, zlib and libsquashfs); docs/benchmarks.md "run, prepared hit". It only
 * converts arguments and makes system calls; TypeScript owns defaults, validation and messages. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NAPI_VERSION 8
#include <node_api.h>

#include "cpu-detect.h"
#include "errno-name.h"
#include "sha256.h"

static void set_string(napi_env env, napi_value object, const char *key, const char *value) {
  napi_value v;
  if (napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) == napi_ok) napi_set_named_property(env, object, key, v);
}

/* Throws an Error shaped like Node's own system errors: message, errno, code, syscall, path. */
static void throw_errno(napi_env env, const char *syscall, int err, const char *path) {
  char message[512];
  snprintf(message, sizeof message, "%s%s%s: %s", syscall, path ? " " : "", path ? path : "", strerror(err));
  napi_value text, error, number;
  if (napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text) != napi_ok || napi_create_error(env, NULL, text, &error) != napi_ok) return;
  if (napi_create_int32(env, err, &number) == napi_ok) napi_set_named_property(env, error, "errno", number);
  set_string(env, error, "code", el_errno_name(err));
  set_string(env, error, "syscall", syscall);
  if (path) set_string(env, error, "path", path);
  napi_throw(env, error);
}

/* A JS string as a malloc'd C string; NULL when it is not a string or holds a NUL byte. */
static char *string_of(napi_env env, napi_value value, size_t *length) {
  size_t n;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &n) != napi_ok) return NULL;
  char *out = malloc(n + 1);
  if (out == NULL || napi_get_value_string_utf8(env, value, out, n + 1, &n) != napi_ok || strlen(out) != n) {
    free(out);
    return NULL;
  }
  if (length) *length = n;
  return out;
}

/* A JS string[] as a NULL-terminated array with `extra` empty slots after index 0 (for
 * --spec-fd N); NULL when it is not an array of NUL-free strings. */
static char **string_array(napi_env env, napi_value value, unsigned extra, uint32_t *count) {
  bool is_array;
  uint32_t n;
  if (napi_is_array(env, value, &is_array) != napi_ok || !is_array || napi_get_array_length(env, value, &n) != napi_ok) return NULL;
  char **out = calloc((size_t)n + extra + 1, sizeof *out);
  if (out == NULL) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    char *text = napi_get_element(env, value, i, &item) == napi_ok ? string_of(env, item, NULL) : NULL;
    if (text == NULL) {
      for (uint32_t j = 0; j < n + extra; j++) free(out[j]);
      free(out);
      return NULL;
    }
    out[i == 0 ? 0 : i + extra] = text;
  }
  *count = n;
  return out;
}

static void free_array(char **array, uint32_t slots) {
  if (array == NULL) return;
  for (uint32_t i = 0; i < slots; i++) free(array[i]);
  free(array);
}

/* A descriptor the launcher inherits, holding `text` from offset 0 (its --spec-fd): a sealed
 * memfd, so the spec (the command's whole environment, proxy credentials included) is in no
 * argv and no file; a pipe sized to fit where memfd_create is missing (Linux < 3.17). Returns
 * -1 with errno set. */
static int spec_descriptor(const char *text, size_t size) {
  int fd = memfd_create("envlock-spec", MFD_ALLOW_SEALING);
  if (fd >= 0) {
    size_t done = 0;
    while (done < size) {
      ssize_t n = write(fd, text + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int err = n < 0 ? errno : EIO;
        close(fd);
        errno = err;
        return -1;
      }
      done += (size_t)n;
    }
    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    if (lseek(fd, 0, SEEK_SET) != 0) {
      int err = errno;
      close(fd);
      errno = err;
      return -1;
    }
    return fd;
  }
  if (errno != ENOSYS) return -1;
  int p[2];
  if (pipe(p) != 0) return -1;
  /* Unprivileged processes may grow a pipe up to /proc/sys/fs/pipe-max-size (1 MiB by default). */
  if (size > 65536) fcntl(p[1], F_SETPIPE_SZ, (int)size);
  ssize_t n = write(p[1], text, size);
  int err = errno;
  close(p[1]);
  if (n != (ssize_t)size) {
    close(p[0]);
    errno = n < 0 ? err : E2BIG;
    return -1;
  }
  return p[0];
}

/* execLauncher(path, argv, env[, specText]): never returns on success. With specText, the spec
 * travels through an inherited descriptor: `--spec-fd N` is inserted after argv[0]. Node ignores
 * SIGPIPE and installs handlers; a handler resets on exec but an ignored signal stays ignored and
 * a blocked one stays blocked, so every disposition goes back to default and the mask is cleared.
 * Node may also leave stdio non-blocking (breaking programs that read a TTY or pipe) or
 * close-on-exec. */
static napi_value exec_launcher(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  napi_valuetype spec_type = napi_undefined;
  if (argc > 3) napi_typeof(env, args[3], &spec_type);
  bool with_spec = argc > 3 && spec_type != napi_undefined;
  unsigned extra = with_spec ? 2 : 0;
  uint32_t n_argv = 0, n_env = 0;
  size_t spec_size = 0;
  char *path = argc >= 3 ? string_of(env, args[0], NULL) : NULL;
  char **argv = path ? string_array(env, args[1], extra, &n_argv) : NULL;
  char **envp = argv ? string_array(env, args[2], 0, &n_env) : NULL;
  char *spec = envp && with_spec ? string_of(env, args[3], &spec_size) : NULL;
  if (path == NULL || argv == NULL || envp == NULL || n_argv == 0 || (with_spec && spec == NULL)) {
    free(path);
    free_array(argv, n_argv + extra);
    free_array(envp, n_env);
    free(spec);
    napi_throw_type_error(env, NULL, "execLauncher(path: string, argv: string[], env: string[], specText?: string)");
    return NULL;
  }
  int spec_fd = -1;
  char fd_text[16];
  if (with_spec) {
    spec_fd = spec_descriptor(spec, spec_size);
    free(spec);
    if (spec_fd < 0) {
      int err = errno;
      free(path);
      free_array(argv, n_argv + extra);
      free_array(envp, n_env);
      throw_errno(env, "memfd_create", err, NULL);
      return NULL;
    }
    snprintf(fd_text, sizeof fd_text, "%d", spec_fd);
    argv[1] = strdup("--spec-fd");
    argv[2] = strdup(fd_text);
  }

  struct sigaction saved[NSIG], dfl;
  sigset_t saved_mask, none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, &saved_mask);
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  bool restore[NSIG] = {false};
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    if (sigaction(sig, NULL, &saved[sig]) != 0) continue;
    restore[sig] = true;
    sigaction(sig, &dfl, NULL);
  }
  /* stdio must survive the exec: Node (libuv) may have marked fds 0-2 close-on-exec. */
  int saved_fl[3], saved_fd[3];
  for (int fd = 0; fd < 3; fd++) {
    saved_fl[fd] = fcntl(fd, F_GETFL);
    if (saved_fl[fd] >= 0 && (saved_fl[fd] & O_NONBLOCK)) fcntl(fd, F_SETFL, saved_fl[fd] & ~O_NONBLOCK);
    saved_fd[fd] = fcntl(fd, F_GETFD);
    if (saved_fd[fd] >= 0 && (saved_fd[fd] & FD_CLOEXEC)) fcntl(fd, F_SETFD, saved_fd[fd] & ~FD_CLOEXEC);
  }
  execve(path, argv, envp);
  int err = errno;
  if (spec_fd >= 0) close(spec_fd);
  /* Still here: put Node's world back before reporting. */
  for (int fd = 0; fd < 3; fd++) {
    if (saved_fl[fd] >= 0) fcntl(fd, F_SETFL, saved_fl[fd]);
    if (saved_fd[fd] >= 0) fcntl(fd, F_SETFD, saved_fd[fd]);
  }
  for (int sig = 1; sig < NSIG; sig++)
    if (restore[sig]) sigaction(sig, &saved[sig], NULL);
  sigprocmask(SIG_SETMASK, &saved_mask, NULL);
  throw_errno(env, "execve", err, path);
  free(path);
  free_array(argv, n_argv + extra);
  free_array(envp, n_env);
  return NULL;
}

/* cpuFeatures(): the CPU features this process may use, in envlock's canonical names
 * (core/arch/features.ts). The detection is cpu-detect.c, shared with the launcher's cpu-needs
 * check, so Node and the launcher can never disagree about this CPU. */
static napi_value cpu_features(napi_env env, napi_callback_info info) {
  (void)info;
  struct el_cpu cpu;
  el_cpu_detect(&cpu);
  napi_value result, list, item;
  napi_create_object(env, &result);
  napi_create_array_with_length(env, (size_t)cpu.n_features, &list);
  for (int i = 0; i < cpu.n_features; i++) {
    napi_create_string_utf8(env, cpu.features[i], NAPI_AUTO_LENGTH, &item);
    napi_set_element(env, list, (uint32_t)i, item);
  }
  set_string(env, result, "architecture", cpu.arch);
  napi_set_named_property(env, result, "features", list);
  if (cpu.vendor[0] != '\0') set_string(env, result, "vendor", cpu.vendor);
  return result;
}

/* sha256Hex(parts: Uint8Array[]): the hex SHA-256 of the parts one after the other. */
static napi_value sha256_hex(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value parts;
  bool is_array = false;
  uint32_t n = 0;
  napi_get_cb_info(env, info, &argc, &parts, NULL, NULL);
  if (argc < 1 || napi_is_array(env, parts, &is_array) != napi_ok || !is_array || napi_get_array_length(env, parts, &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "sha256Hex(parts: Uint8Array[])");
    return NULL;
  }
  struct el_sha256 h;
  el_sha256_init(&h);
  for (uint32_t i = 0; i < n; i++) {
    napi_value part;
    bool typed = false;
    napi_typedarray_type type;
    size_t length;
    void *data;
    if (napi_get_element(env, parts, i, &part) != napi_ok || napi_is_typedarray(env, part, &typed) != napi_ok || !typed ||
        napi_get_typedarray_info(env, part, &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
      napi_throw_type_error(env, NULL, "sha256Hex(parts: Uint8Array[])");
      return NULL;
    }
    el_sha256_update(&h, data, length);
  }
  char hex[65];
  el_sha256_hex(&h, hex);
  napi_value result;
  napi_create_string_latin1(env, hex, 64, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"execLauncher", NULL, exec_launcher, NULL, NULL, NULL, napi_enumerable, NULL},
      {"cpuFeatures", NULL, cpu_features, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sha256Hex", NULL, sha256_hex, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}

NAPI_MODULE(envlock_exec, init)
