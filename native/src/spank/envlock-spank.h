/* envlock's SPANK plugin (srun --envlock=NAME): shared declarations. See docs/slurm.md.
 *
 * Once per node and step (slurm_spank_user_init, in slurmstepd as the user) the plugin runs
 * `envlock slurm prepare NAME` (Node, the same decisions as `envlock run NAME`), takes a lease
 * on the image, and starts envlock-spank-holder, which builds the environment's user and mount
 * namespace and waits; the plugin keeps both namespaces open and lets the holder go. Each task
 * then joins them in slurm_spank_task_init (setns, no Node and no exec of ours) and gets the
 * prepared environment with its own Slurm variables on top. */
#ifndef ENVLOCK_SPANK_H
#define ENVLOCK_SPANK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Exit statuses shared with envlock (docs/errors.md): the task ends with one of these when the
 * node could not be prepared, so srun reports envlock's status, not a Slurm launch error. */
#define ELS_EXIT_FAILURE 1
#define ELS_EXIT_LAUNCH_FAILED 125

/* The prepared environment of this node, from `envlock slurm prepare` (prepared.c). */
struct els_prepared {
  char *spec;        /* the launcher's spec lines, for the holder */
  size_t spec_len;
  char **env;        /* the spec's env lines, KEY=VALUE, in order */
  int n_env;
  char *cwd;         /* the working directory inside */
  char *image;       /* the image (tree or squashfs file) the spec names */
  bool squashfs;     /* the image is a squashfs file: its FUSE server lives in the holder */
  char **pass;       /* names a task takes from its own environment */
  int n_pass;
  char **pass_prefix;
  int n_pass_prefix;
  char **owned;      /* names only envlock decides */
  int n_owned;
  char *lease_dir;   /* the store's leases/ (NULL: the image is in a read-only store) */
  char *lease_name;
};

/* prepared.c */
int els_parse_prepared(struct els_prepared *p, char *text, char *err, size_t errlen);
void els_free_prepared(struct els_prepared *p);

/* child.c: run a program as the job's user, with all of root's privileges dropped first. */
struct els_user {
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  int n_groups;
};
/* Spawns argv[0] with envp, stdin from in_fd (-1: /dev/null), stdout to out_fd (-1: inherit),
 * and extra_fd as fd 3 (-1: none). Returns the pid, or -1 with errno. */
pid_t els_spawn(const struct els_user *u, char *const argv[], char *const envp[], int in_fd, int out_fd, int extra_fd);
/* Reads fd to EOF into a NUL-terminated malloc'd buffer (at most max bytes); NULL on error. */
char *els_read_all(int fd, size_t max, size_t *len);
/* waitpid without EINTR; the exit status as a shell shows it (128+N for signal N). */
int els_wait(pid_t pid);

/* namespace.c: the node's environment, built once by the holder and joined by every task. */
struct els_namespaces {
  int userns;
  int mntns;
  int ctl;      /* our end of the holder's socket while the holder must stay (squashfs), or -1 */
  pid_t holder; /* that holder, or 0 */
};
int els_build_namespaces(const struct els_user *u, const char *holder, const struct els_prepared *p, struct els_namespaces *ns);
int els_join_namespaces(const struct els_namespaces *ns, const char *cwd);
void els_close_namespaces(struct els_namespaces *ns);

/* task-env.c: the task's environment = the prepared one, with the task's own values of the
 * pass-through names (SLURM_PROCID, ...) on top. */
bool els_passes(const struct els_prepared *p, const char *name, size_t len);
struct els_env_edit {
  char **set;   /* KEY=VALUE to set (malloc'd copies) */
  int n_set;
  char **unset; /* names to remove */
  int n_unset;
};
int els_task_environment(const struct els_prepared *p, char **task, struct els_env_edit *edit);

/* lease.c (Decision 4): the step's lease on its image, held for slurmstepd. */
int els_lease_take(const char *dir, const char *name, char *err, size_t errlen);
void els_lease_start_refresh(void);
void els_lease_release(void);

/* options.c: the option values, checked in srun/sbatch; false after printing why. */
bool els_check_name(const char *name);
bool els_check_project(const char *dir, bool must_exist);

/* Prints envlock's two-line error (message, hint) on the user's stderr. */
void els_error(const char *message, const char *hint);

#endif
