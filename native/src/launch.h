/* Declarations shared by the entry library's own files (envlock-enter.h is its public face).
 * Checked calls: SYS() runs a system call and, when it returns a negative value, records
 * the step, its object, errno, the call and file:line, and makes the function return -1;
 * FAILED_IF() does the same for a condition and a named call; PASS() propagates a -1 from a
 * library function. */
#ifndef ENVLOCK_LAUNCH_H
#define ENVLOCK_LAUNCH_H

#include "envlock-enter.h"

#ifndef __FILE_NAME__
#define __FILE_NAME__ __FILE__
#endif

#define SYS(expr, step, object)                                                             \
  do {                                                                                      \
    if ((expr) < 0) return el_fail_call((step), (object), errno, #expr, __FILE_NAME__, __LINE__); \
  } while (0)

/* Records a failure of the named call with the current errno when `failed` holds. */
#define FAILED_IF(failed, call, step, object)                                                  \
  do {                                                                                       \
    if (failed) return el_fail_call((step), (object), errno, (call), __FILE_NAME__, __LINE__); \
  } while (0)

#define PASS(expr)                 \
  do {                             \
    if ((expr) < 0) return -1;     \
  } while (0)

/* Where a path inside the launcher's scratch root sits while the new root is built. */
#define SCRATCH "/tmp"       /* any directory works: the scratch tmpfs leaves it on pivot_root */
#define OLD "/oldroot"       /* the host's tree */
#define NEW "/newroot"       /* the new root */
#define LOWER "/lower"       /* the image, under the overlay */
#define SKEL "/skel"         /* missing mount points, the overlay's upper lower layer */
#define FILES "/files"       /* generated /etc files */
#define SQFS_MNT "/squashfs" /* where a squashfs image is mounted */

/* What the caller is, captured before unshare (NSS lookups must happen on the host). */
struct el_caller {
  uid_t uid;
  gid_t gid;
  char name[256];
  char group[256];
  char home[4096];
  char cwd[4096];
};

/* error.c */
int el_fail_call(const char *step, const char *object, int err, const char *expr, const char *file,
                 int line);
int el_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void el_error_clear(void);

/* util.c */
extern bool el_debug_on;
void el_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void el_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *el_strdup(const char *s);
char *el_read_upto(int fd, size_t max, size_t *len);
char *el_join(const char *a, const char *b);
int el_write_file(const char *path, const char *text);
bool el_path_under(const char *path, const char *dir);
int el_openat2_in_root(int rootfd, const char *rel, int flags, mode_t mode);
int el_mount_setattr(int fd, bool recursive, unsigned long long set);
void el_close_other_fds(int *keep, int n);

/* caller.c, userns.c */
void el_caller_capture(struct el_caller *c, const struct el_spec *s);
int el_userns_enter(const struct el_spec *s, const struct el_caller *c, int extra_flags);

/* mounts.c, mount-points.c, etc-files.c */
int el_enter_root(const struct el_spec *s, const struct el_caller *c, struct el_entry *e);
int el_mount_point(int newfd, const char *dst, bool dir);
int el_build_skeleton(int rootfd, const struct el_spec *s, const char *cwd_dst, bool *overlay);
int el_make_etc_files(int rootfd, const struct el_spec *s, const struct el_caller *c, const char *dir);
const char *el_cwd_bind(const struct el_spec *s, const struct el_caller *c);
const char *el_fd_path(int fd);

/* squashfs.c: el_squashfs_mount mounts the image read-only at `mnt` and leaves a forked
 * server serving it; el_squashfs_attach only mounts it (opening `fuse_dev`) and returns the
 * session the caller must serve itself (the warm holder). */
struct fuse_session;
int el_squashfs_mount(const char *image, int image_fd, const char *mnt, struct el_entry *e);
int el_squashfs_attach(const char *image, int image_fd, const char *fuse_dev, const char *mnt,
                       struct fuse_session **out);
bool el_squashfs_supported(void);
void el_ignore_job_signals(void);

/* holder.c: joins (or starts) the warm holder of the spec's squashfs image. 1: joined, the
 * process is in the holder's user namespace and a private copy of its mount namespace (plus
 * `flags`), and e->warm_root names the mounted image there; 0: not available, enter cold. */
int el_holder_join(const struct el_spec *s, const struct el_caller *c, struct el_entry *e, int flags);
int el_map_ids(const struct el_spec *s, const struct el_caller *c);

/* image.c: checks the spec's image after the lease is taken; *fd = the open .sqfs file. */
int el_open_image(const struct el_spec *s, int *fd);
void el_entry_init(struct el_entry *e);
void el_report(void);

/* enter.c: the host side before the namespaces (CPU, lease for `holder`, image), and the
 * steps after the root is built (host name, no_new_privs, working directory). */
int el_prepare(struct el_spec *s, struct el_caller *c, struct el_entry *e, pid_t holder);
int el_finish_entry(const struct el_spec *s);

/* spec.c: undoes a spec field's \\ \s \n \t \r escapes in place; false on an unknown escape. */
bool el_spec_unescape(char *field);

/* spec-input.c: el_spec_read_first_fitting for a module wrapper's specs, each of which must be
 * owned by `owner` (the wrapper's) or root and writable by no one else. */
int el_spec_read_first_fitting_owned(struct el_spec *s, char *const *paths, int n, uid_t owner);

/* wrapper.c (the launcher only): `envlock-launch --wrapper FILE [ARG...]` (argv[1] and argv[2]),
 * the interpreter line of a module wrapper. Fills `s` from FILE's variant specs and returns the command's argv (the
 * wrapper's command, then ARG...), or NULL with el_error() set; a wrapper that must not run
 * (stale, no usable $HOME, not a wrapper) ends the process with its own message. */
char **el_wrapper_load(struct el_spec *s, char **argv);

/* cpu.c: the names of cpu-needs (or the architecture) this CPU lacks, comma-separated, into
 * `out`; returns how many. */
int el_cpu_missing(const struct el_spec *s, char *out, size_t size);

/* init.c */
int el_exec_command(const struct el_spec *s, char **argv);

#endif
