/* Shared declarations of envlock-launch, the small single-threaded helper that enters an
 * unpacked image with a user + mount (+ PID) namespace. See docs/runtime.md. */
#ifndef ENVLOCK_LAUNCH_H
#define ENVLOCK_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Exit statuses (docs/runtime.md "Exit status"): the command's own status otherwise. */
#define EXIT_HOST_UNSUPPORTED 4
#define EXIT_LAUNCH_FAILED 125
#define EXIT_CANNOT_EXECUTE 126
#define EXIT_NOT_FOUND 127

#define MAX_ITEMS 512

struct bind {
  char *src;      /* host path */
  char *dst;      /* path inside the image */
  bool ro;
  bool optional;  /* skip silently when the source is missing */
  bool device;    /* a device node: bound onto an empty file */
};

struct spec {
  char *rootfs;
  char *cwd;          /* NULL: the caller's working directory */
  bool bind_cwd;      /* bind the caller's working directory at the same path */
  char *home;         /* host directory bound rw at the same path; NULL: none */
  char *hostname;     /* NULL: keep the host's (no UTS namespace) */
  char *user_name;    /* passwd entry name; NULL: from the host's /etc/passwd */
  char *group_name;   /* group entry name; NULL: from the host's /etc/group */
  bool fake_root;     /* map the caller to uid/gid 0 inside */
  bool private_tmp;   /* tmpfs /tmp (default) or the host's */
  bool pid_ns;        /* new PID namespace + init (default) or host /proc */
  bool host_files;    /* bind /etc/hosts and /etc/resolv.conf from the host (default) */
  bool overlay_always;/* use the overlay even when every mount point exists */
  struct bind binds[MAX_ITEMS];
  int n_binds;
  char *mkdirs[MAX_ITEMS];
  int n_mkdirs;
  char *env[MAX_ITEMS + 1];
  int n_env;
  char *env_pass[MAX_ITEMS];
  int n_env_pass;
  char *cmd[MAX_ITEMS + 1];
  int n_cmd;
};

/* What the caller is, captured before unshare (NSS lookups must happen on the host). */
struct caller {
  uid_t uid;
  gid_t gid;
  char name[256];
  char group[256];
  char home[4096];
  char cwd[4096];
};

/* util.c */
extern bool g_debug;
_Noreturn void fail(const char *step, const char *path, int err);
_Noreturn void failx(const char *message);
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void debugx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xstrdup(const char *s);
char *join_path(const char *a, const char *b);
void write_file(const char *path, const char *text);
bool path_under(const char *path, const char *dir);
int openat2_in_root(int rootfd, const char *rel, int flags, mode_t mode);
int sys_mount_setattr_ro(int fd, bool recursive);

/* spec.c */
void spec_defaults(struct spec *s);
void spec_parse_text(struct spec *s, char *text, const char *origin);
void spec_parse_file(struct spec *s, const char *path);
void spec_finish(struct spec *s, char **environ_in);

/* mounts.c */
void enter_root(const struct spec *s, const struct caller *c);

/* init.c */
_Noreturn void run_supervised(const struct spec *s, const struct caller *c, char **argv);
_Noreturn void exec_command(const struct spec *s, char **argv);

#endif
