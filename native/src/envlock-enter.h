/* envlock's entry library: read a launch spec (docs/runtime.md "Spec format"), check the CPU
 * against its cpu-needs, take a lease on the image, and enter the image: a user + mount
 * namespace, the image read-only as / (a tree, or a squashfs image mounted through FUSE),
 * /proc, /dev, /tmp, /etc files, $HOME, the working directory and the spec's binds.
 *
 * Two programs link it: envlock-launch (main.c: a PID namespace, a supervising relay, exec)
 * and the Slurm SPANK plugin, which enters a task in-process from slurm_spank_task_init
 * (el_enter_here: no PID namespace, no exec; slurmstepd execs the task's command afterwards).
 *
 * The contract with a caller:
 * - The caller is single-threaded (unshare(CLONE_NEWUSER) refuses threaded callers) and is
 *   already the user the command runs as.
 * - A function that can fail returns -1 and leaves one line in el_error(): `message` (no
 *   "envlock-launch: " prefix, no newline) and `status`, the exit status a launcher uses for
 *   it (EL_EXIT_*). Only the first failure is kept. Nothing here calls exit(), except
 *   el_run_supervised(), which is the launcher's own end and is marked _Noreturn.
 * - Memory and descriptors of a failed entry are not reclaimed: the process ends anyway.
 * - Every non-static symbol starts with el_ and the objects are compiled with hidden
 *   visibility, so a host program's own symbols (slurmstepd's) never interpose.
 *
 * Linking: with squashfs support (EL_HAVE_SQUASHFS, set when the squashfuse and fuse3 headers
 * were found at build time) also link -lsquashfuse_ll -lsquashfuse -lfuse3 and their
 * compressors; binding.gyp's envlock-entry target exports those link settings. */
#ifndef ENVLOCK_ENTER_H
#define ENVLOCK_ENTER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Exit statuses (docs/errors.md; Decision 5). A launched command's own status passes through. */
#define EL_EXIT_HOST_UNSUPPORTED 4 /* no user namespace, no squashfs support, a missing CPU feature */
#define EL_EXIT_LAUNCH_FAILED 125  /* the launcher failed before exec */
#define EL_EXIT_CANNOT_EXECUTE 126
#define EL_EXIT_NOT_FOUND 127

/* Message prefixes core/runtime/launch.ts recognises (after "envlock-launch: "). */
#define EL_MSG_USERNS "user namespace: "
#define EL_MSG_BIND_SOURCE "bind source "
#define EL_MSG_NOT_FOUND "command not found inside the environment: "
#define EL_MSG_CANNOT_EXECUTE "cannot execute "
#define EL_MSG_CPU "cpu: "
#define EL_MSG_SQUASHFS "squashfs: "
#define EL_MSG_IMAGE_MISSING "image missing: "
#define EL_MSG_LEASE "lease: "

#define EL_MAX_ITEMS 512

struct el_error {
  int status;
  char message[1024];
};

struct el_bind {
  char *src;     /* host path */
  char *dst;     /* path inside the image */
  bool ro;
  bool optional; /* skip silently when the source is missing */
  bool device;   /* a device node: bound onto an empty file */
};

struct el_spec {
  char *rootfs;       /* an unpacked tree; exactly one of rootfs and squashfs */
  char *squashfs;     /* a squashfs image file */
  char *lease_dir;    /* `lease DIR NAME`: the store's leases/ directory, or NULL */
  char *lease_name;   /* <alg>-<hex>; the library appends .<host>.<pid>.<starttime> */
  bool lease_optional;/* `lease DIR NAME optional`: a caller who may not write DIR holds none */
  char *cpu_arch;     /* `arch NAME`: the architecture the image is built for, or NULL */
  char *cpu_needs[EL_MAX_ITEMS]; /* canonical feature names (core/arch/features.ts) */
  int n_cpu_needs;
  char *cwd;          /* working directory inside; NULL: the caller's */
  bool bind_cwd;      /* bind the working directory (cwd, else the caller's) at the same path */
  char *home;         /* host directory bound rw at the same path; NULL: none */
  char *hostname;     /* NULL: keep the host's (no UTS namespace) */
  char *user_name;    /* passwd entry name; NULL: from the host's /etc/passwd */
  char *group_name;   /* group entry name; NULL: from the host's /etc/group */
  bool fake_root;     /* map the caller to uid/gid 0 inside */
  bool private_tmp;   /* tmpfs /tmp (default) or the host's */
  bool pid_ns;        /* new PID namespace + init (default) or host /proc */
  bool host_files;    /* bind /etc/hosts and /etc/resolv.conf from the host (default) */
  bool overlay_always;/* use the overlay even when every mount point exists */
  struct el_bind binds[EL_MAX_ITEMS];
  int n_binds;
  char *mkdirs[EL_MAX_ITEMS];
  int n_mkdirs;
  char *env[EL_MAX_ITEMS + 1]; /* the command's whole environment, NULL-terminated after finish */
  int n_env;
  char *env_pass[EL_MAX_ITEMS];
  int n_env_pass;
  char *cmd[EL_MAX_ITEMS + 1];
  int n_cmd;
};

/* What entering left running or held, for whoever supervises afterwards. */
struct el_entry {
  int lease_dirfd;        /* -1 when no lease was taken */
  int lease_fd;           /* the lease file, kept open to refresh its mtime */
  char lease_file[512];   /* its name inside the lease directory */
  int image_fd;           /* the squashfs image, read by the server; -1 for a tree */
  pid_t fuse_server;      /* the squashfs server process, or 0 */
  char warm_root[512];    /* the image as the warm holder mounted it, or "" (see holder.c) */
};

/* The last failure (status 0 when none). */
const struct el_error *el_error(void);

/* Spec input. `text` is modified in place and must stay alive. */
void el_spec_init(struct el_spec *s);
int el_spec_parse(struct el_spec *s, char *text, const char *origin);
int el_spec_read_file(struct el_spec *s, const char *path);
int el_spec_read_fd(struct el_spec *s, int fd);
/* Splits one spec line (no newline) in place into its fields at single spaces and undoes the
 * \\ \s \n \t \r escapes in each. Returns the number of fields, or -1 when there would be more
 * than `max` or a field has an unknown escape; then *why says which and *word is the field
 * (NULL for too many); either may be NULL. Sets no el_error(). */
int el_spec_fields(char *line, char **fields, int max, const char **why, char **word);
/* Checks completeness and resolves env-pass from `environ_in`; call once after the input. */
int el_spec_finish(struct el_spec *s, char **environ_in);

/* Fails with status 4 and "cpu: ..." naming the missing features when this CPU (CPUID and
 * XGETBV, the same detection as the addon) lacks one of cpu-needs, or the arch differs. */
int el_cpu_check(const struct el_spec *s);
/* Reads the first of `paths` whose cpu-needs this CPU meets into `s` (freshly initialised);
 * none: status 4 naming what each lacks. */
int el_spec_read_first_fitting(struct el_spec *s, char *const *paths, int n);

/* Takes the spec's lease for process `pid` (O_CREAT|O_EXCL), or does nothing without a lease
 * line; refresh touches its mtime; release removes it. The file names the host, the pid and
 * its start time (field 22 of /proc/PID/stat), so `gc` can tell whether it is still live. */
int el_lease_take(const struct el_spec *s, pid_t pid, struct el_entry *e);
void el_lease_refresh(const struct el_entry *e);
void el_lease_release(struct el_entry *e);

/* In-process entry for a caller that execs the command itself (the SPANK plugin): takes the
 * lease for getpid(), creates the user + mount (+ UTS) namespaces, builds the root (mounting
 * a squashfs image with a server process that dies with the caller), pivots into it, sets
 * no_new_privs and changes to the working directory. A `pid private` spec is entered with the
 * host's /proc (a process cannot move itself into a new PID namespace). On success the caller
 * is inside; s->env is the command's environment. The lease stays until the caller removes
 * it (el_lease_release) or the process is gone (gc then sees a dead holder). */
int el_enter_here(struct el_spec *s, struct el_entry *e);

/* The launcher's path: with a PID namespace, forks the init and relays signals, refreshing
 * the lease; exits with the command's status (or dies of its signal). */
_Noreturn void el_run_supervised(struct el_spec *s, char **argv);

#endif
