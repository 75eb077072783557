/* envlock's SPANK plugin: the Slurm callbacks (spank(8); slurm/spank.h). Loaded by srun and
 * sbatch (options only) and by slurmstepd on every node (user_init once per step, task_init in
 * each task just before its exec). plugstack.conf arguments: envlock=CLI node=NODE, as
 * `envlock slurm plugstack` prints them. */
#define _GNU_SOURCE
#include "envlock-spank.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <slurm/slurm.h>
#include <slurm/spank.h>

#define MAX_PREPARED_BYTES (1 << 20)

#pragma GCC visibility push(default)
SPANK_PLUGIN(envlock, 1);
#pragma GCC visibility pop

static char *g_name, *g_project, *g_cli, *g_node, *g_holder;
static bool g_active;          /* this step runs in an environment */
static int g_failed;           /* non-zero: every task ends with this status at once */
static struct els_prepared g_prepared;
static struct els_namespaces g_ns = {-1, -1, -1, 0};

static int on_name(int val, const char *arg, int remote) {
  (void)val;
  /* Checked in srun/sbatch; on the node the same value arrives again. */
  if (!remote && !els_check_name(arg)) return -1;
  free(g_name);
  g_name = strdup(arg ? arg : "");
  return 0;
}

static int on_project(int val, const char *arg, int remote) {
  (void)val;
  if (!els_check_project(arg, !remote)) return -1;
  free(g_project);
  g_project = strdup(arg);
  return 0;
}

static struct spank_option g_options[] = {
    {"envlock", "NAME", "Run each task inside the locked environment NAME of envlock.yaml in the working directory (envlock).", 1, 0, on_name},
    {"envlock-project", "DIR", "With --envlock: read envlock.yaml and envlock.lock from DIR instead (envlock).", 1, 0, on_project},
    SPANK_OPTIONS_TABLE_END,
};

/* envlock-spank-holder lies beside this plugin (native/build/Release). */
static char *holder_path(void) {
  Dl_info info;
  if (dladdr((void *)holder_path, &info) == 0 || !info.dli_fname) return NULL;
  char *copy = strdup(info.dli_fname);
  char *path = NULL;
  if (copy && asprintf(&path, "%s/envlock-spank-holder", dirname(copy)) < 0) path = NULL;
  free(copy);
  return path;
}

#pragma GCC visibility push(default)

int slurm_spank_init(spank_t sp, int ac, char **av) {
  for (int i = 0; i < ac; i++) {
    if (strncmp(av[i], "envlock=", 8) == 0) g_cli = strdup(av[i] + 8);
    else if (strncmp(av[i], "node=", 5) == 0) g_node = strdup(av[i] + 5);
    else slurm_error("envlock: unknown plugstack.conf argument %s (expected envlock=PATH node=PATH)", av[i]);
  }
  /* Options exist where users give them (srun, sbatch/salloc) and where steps run. */
  spank_context_t where = spank_context();
  if (where != S_CTX_LOCAL && where != S_CTX_REMOTE && where != S_CTX_ALLOCATOR) return 0;
  for (struct spank_option *o = g_options; o->name; o++)
    if (spank_option_register(sp, o) != ESPANK_SUCCESS) return -1;
  return 0;
}

#pragma GCC visibility pop

static bool step_runs_tasks(spank_t sp) {
  uint32_t step = 0;
  if (spank_get_item(sp, S_JOB_STEPID, &step) != ESPANK_SUCCESS) return false;
  /* The batch script and the job's extern step run on the host: they start the steps. */
  return step != SLURM_BATCH_SCRIPT && step != SLURM_EXTERN_CONT && step != SLURM_INTERACTIVE_STEP;
}

static int job_user(spank_t sp, struct els_user *u) {
  if (spank_get_item(sp, S_JOB_UID, &u->uid) != ESPANK_SUCCESS) return -1;
  if (spank_get_item(sp, S_JOB_GID, &u->gid) != ESPANK_SUCCESS) return -1;
  if (spank_get_item(sp, S_JOB_SUPPLEMENTARY_GIDS, &u->groups, &u->n_groups) != ESPANK_SUCCESS) {
    u->groups = NULL;
    u->n_groups = 0;
  }
  return 0;
}

/* Runs `NODE CLI slurm prepare NAME` as the user in the step's directory; the spec, or 0. */
static char *run_prepare(spank_t sp, const struct els_user *u) {
  char **job_env = NULL;
  uint32_t node_id = 0;
  spank_get_item(sp, S_JOB_ENV, &job_env);
  spank_get_item(sp, S_JOB_NODEID, &node_id);
  int n = 0;
  while (job_env && job_env[n]) n++;
  char **envp = calloc((size_t)n + 2, sizeof *envp);
  char node_var[64];
  snprintf(node_var, sizeof node_var, "ENVLOCK_SLURM_NODEID=%u", node_id);
  if (!envp) return NULL;
  for (int i = 0; i < n; i++) envp[i] = job_env[i];
  envp[n] = node_var;
  char *argv[] = {g_node, g_cli, "slurm", "prepare", g_name, g_project ? "--project" : NULL, g_project, NULL};
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    free(envp);
    g_failed = ELS_EXIT_LAUNCH_FAILED;
    return NULL;
  }
  pid_t pid = els_spawn(u, argv, envp, -1, out[1], -1);
  close(out[1]);
  free(envp);
  char *text = pid > 0 ? els_read_all(out[0], MAX_PREPARED_BYTES, NULL) : NULL;
  close(out[0]);
  int status = pid > 0 ? els_wait(pid) : ELS_EXIT_LAUNCH_FAILED;
  if (status != 0 || !text) {
    /* envlock printed its error on the user's stderr already. */
    free(text);
    g_failed = status != 0 ? status : ELS_EXIT_LAUNCH_FAILED;
    return NULL;
  }
  return text;
}

/* After the lease: gc may have removed the image between prepare and now. */
static bool image_present(void) {
  struct stat st;
  if (stat(g_prepared.image, &st) == 0) return true;
  char message[4200];
  snprintf(message, sizeof message, "The image %s of `%s` was removed from the store while the step started.", g_prepared.image, g_name);
  els_error(message, "Pull it again with `envlock pull`, then start the step again.");
  return false;
}

static void prepare_node(spank_t sp) {
  struct els_user u;
  if (!g_cli || !g_node) {
    els_error("The plugstack.conf line of envlock's Slurm plugin names no envlock= and node= paths.", "Replace it with the line `envlock slurm plugstack` prints.");
    g_failed = ELS_EXIT_LAUNCH_FAILED;
    return;
  }
  if (!(g_holder = holder_path()) || job_user(sp, &u) != 0) {
    els_error("envlock's Slurm plugin cannot find its holder or the job's user.", "Reinstall envlock and print the plugstack.conf line again.");
    g_failed = ELS_EXIT_LAUNCH_FAILED;
    return;
  }
  char *text = run_prepare(sp, &u);
  if (!text) return;
  char err[512];
  int rc = els_parse_prepared(&g_prepared, text, err, sizeof err);
  free(text);
  if (rc != 0) {
    els_error(err, "Use the plugin and envlock of one installation: print the line again with `envlock slurm plugstack`.");
    g_failed = ELS_EXIT_LAUNCH_FAILED;
    return;
  }
  if (g_prepared.lease_dir && els_lease_take(g_prepared.lease_dir, g_prepared.lease_name, err, sizeof err) != 0) {
    char message[700];
    snprintf(message, sizeof message, "envlock could not mark the image of `%s` as in use: %s.", g_name, err);
    els_error(message, "Check that the store is writable and not full.");
    g_failed = ELS_EXIT_FAILURE;
    return;
  }
  if (!image_present()) {
    g_failed = ELS_EXIT_FAILURE;
    return;
  }
  g_failed = els_build_namespaces(&u, g_holder, &g_prepared, &g_ns);
  if (g_failed == 0) els_lease_start_refresh();
}

#pragma GCC visibility push(default)

int slurm_spank_user_init(spank_t sp, int ac, char **av) {
  (void)ac;
  (void)av;
  if (!spank_remote(sp) || !g_name || !step_runs_tasks(sp)) return 0;
  g_active = true;
  prepare_node(sp);
  /* Success either way: a failure ends each task with envlock's status (task_init), so srun
   * reports it; returning an error here makes srun print a launch failure and exit 0. */
  return 0;
}

int slurm_spank_task_init(spank_t sp, int ac, char **av) {
  (void)ac;
  (void)av;
  if (!g_active) return 0;
  if (g_failed) _exit(g_failed);
  char **task_env = NULL;
  struct els_env_edit edit;
  if (spank_get_item(sp, S_JOB_ENV, &task_env) != ESPANK_SUCCESS || els_task_environment(&g_prepared, task_env, &edit) != 0) {
    fprintf(stderr, "error: A task could not compose the environment of `%s`.\n", g_name);
    _exit(ELS_EXIT_LAUNCH_FAILED);
  }
  for (int i = 0; i < edit.n_unset; i++) spank_unsetenv(sp, edit.unset[i]);
  for (int i = 0; i < edit.n_set; i++) {
    char *eq = strchr(edit.set[i], '=');
    if (!eq) continue;
    *eq = '\0';
    spank_setenv(sp, edit.set[i], eq + 1, 1);
  }
  if (els_join_namespaces(&g_ns, g_prepared.cwd) != 0) {
    fprintf(stderr, "error: A task could not enter the environment `%s`: %s.\nhint: Run `envlock doctor` on this node.\n", g_name, strerror(errno));
    _exit(ELS_EXIT_LAUNCH_FAILED);
  }
  return 0;
}

int slurm_spank_exit(spank_t sp, int ac, char **av) {
  (void)ac;
  (void)av;
  if (!spank_remote(sp) || !g_active) return 0;
  els_lease_release();
  els_close_namespaces(&g_ns);
  els_free_prepared(&g_prepared);
  return 0;
}

#pragma GCC visibility pop
