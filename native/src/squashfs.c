/* A squashfs image as the root: mounted read-only, nosuid and nodev through FUSE inside the
 * user namespace, served by squashfuse's low-level operations (libsquashfuse_ll) in a server
 * process forked here. The server dies with the process that mounted it (PR_SET_PDEATHSIG),
 * ignores the job's signals (a SIGTERM from Slurm or Ctrl-C must reach the command, not take
 * its files away mid-job), keeps no descriptor but /dev/fuse, the image and stderr, and never
 * touches a path: after pivot_root its root is the very mount it serves. */
#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SQUASHFS_FSTYPE "fuse.squashfuse"
#define SQUASHFS_HINT "use the tree image format (envlock pull --image-format tree)"
#define REPAIR_HINT "check it with `envlock verify` and repair it with `envlock pull --repair`"

#ifdef EL_HAVE_SQUASHFS
#define FUSE_USE_VERSION 35
#include <squashfuse/ll.h>

bool el_squashfs_supported(void) { return true; }

static const char *sqfs_reason(sqfs_err err) {
  switch (err) {
    case SQFS_BADFORMAT: return "not a squashfs image";
    case SQFS_BADVERSION: return "a squashfs version this launcher cannot read";
    case SQFS_BADCOMP: return "compressed with a method this launcher was built without";
    default: return "damaged (a table is unreadable)";
  }
}

/* The superblock's own account of the image (squashfs format: magic at 0, bytes_used, a
 * little-endian 64-bit count, at 40): a file shorter than that was cut off. */
#define SQUASHFS_MAGIC_LE "hsqs"
#define SUPER_BYTES_USED 40
#define SUPER_SIZE 96

static int check_length(const char *image, int fd) {
  unsigned char sb[SUPER_SIZE];
  struct stat st;
  if (pread(fd, sb, sizeof sb, 0) != (ssize_t)sizeof sb || memcmp(sb, SQUASHFS_MAGIC_LE, 4) != 0 ||
      fstat(fd, &st) != 0)
    return 0; /* sqfs_init names it */
  unsigned long long used = 0;
  for (int i = 7; i >= 0; i--) used = used << 8 | sb[SUPER_BYTES_USED + i];
  if ((unsigned long long)st.st_size >= used) return 0;
  return el_fail(EL_EXIT_LAUNCH_FAILED, EL_MSG_SQUASHFS "cannot read %s: truncated (%lld of %llu bytes); " REPAIR_HINT,
                 image, (long long)st.st_size, used);
}

/* The signals a job receives that must not end a server (SIGKILL still does). */
static const int IGNORED[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU,
                              SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGWINCH};

void el_ignore_job_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  for (size_t i = 0; i < sizeof IGNORED / sizeof *IGNORED; i++) sigaction(IGNORED[i], &sa, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

static _Noreturn void serve(struct fuse_session *se, int fuse_fd, int image_fd, pid_t parent) {
  /* Die with the mounter; if it is already gone, the signal would never come. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != parent) _exit(1);
  el_ignore_job_signals();
  int keep[] = {STDERR_FILENO, fuse_fd, image_fd};
  el_close_other_fds(keep, 3);
  fuse_session_loop(se); /* returns when the mount is gone (ENODEV) */
  _exit(0);
}

int el_squashfs_attach(const char *image, int image_fd, const char *fuse_dev, const char *mnt,
                       struct fuse_session **out) {
  PASS(check_length(image, image_fd));
  sqfs_ll *ll = calloc(1, sizeof *ll);
  if (!ll) abort();
  sqfs_err err = sqfs_init(&ll->fs, image_fd, 0);
  if (err == SQFS_OK) err = sqfs_ll_init(ll);
  if (err != SQFS_OK)
    return el_fail(EL_EXIT_LAUNCH_FAILED, EL_MSG_SQUASHFS "cannot read %s: %s; " REPAIR_HINT, image, sqfs_reason(err));
  int fuse_fd = open(fuse_dev, O_RDWR | O_CLOEXEC);
  if (fuse_fd < 0) {
    int e2 = errno;
    return el_fail(EL_EXIT_HOST_UNSUPPORTED,
                   EL_MSG_SQUASHFS "cannot open /dev/fuse to mount %s: %s (errno %d); an administrator "
                   "must load the fuse module and make /dev/fuse mode 0666 (as udev does on a stock host), "
                   "or " SQUASHFS_HINT,
                   image, strerror(e2), e2);
  }
  char opts[128];
  snprintf(opts, sizeof opts, "fd=%d,rootmode=%o,user_id=%u,group_id=%u", fuse_fd, S_IFDIR,
           (unsigned)getuid(), (unsigned)getgid());
  if (mount(image, mnt, SQUASHFS_FSTYPE, MS_RDONLY | MS_NOSUID | MS_NODEV, opts) != 0) {
    int e2 = errno;
    close(fuse_fd);
    errno = e2;
    FAILED_IF(true, "mount", EL_MSG_SQUASHFS "mount through FUSE", image);
  }
  static const struct fuse_lowlevel_ops ops = {
      .lookup = sqfs_ll_op_lookup,
      .forget = sqfs_ll_op_forget,
      .getattr = sqfs_ll_op_getattr,
      .readlink = sqfs_ll_op_readlink,
      .open = sqfs_ll_op_open,
      .read = sqfs_ll_op_read,
      .release = sqfs_ll_op_release,
      .opendir = sqfs_ll_op_opendir,
      .readdir = sqfs_ll_op_readdir,
      .releasedir = sqfs_ll_op_releasedir,
      .statfs = stfs_ll_op_statfs,
      .getxattr = sqfs_ll_op_getxattr,
      .listxattr = sqfs_ll_op_listxattr,
  };
  char *argv[] = {"envlock-launch", NULL};
  struct fuse_args args = FUSE_ARGS_INIT(1, argv);
  struct fuse_session *se = fuse_session_new(&args, &ops, sizeof ops, ll);
  char fd_mnt[32];
  snprintf(fd_mnt, sizeof fd_mnt, "/dev/fd/%d", fuse_fd);
  /* "/dev/fd/N": libfuse serves the descriptor the caller mounted (fuse_session_mount(3)). */
  if (!se || fuse_session_mount(se, fd_mnt) != 0)
    return el_fail(EL_EXIT_LAUNCH_FAILED, EL_MSG_SQUASHFS "cannot start serving %s", image);
  *out = se;
  return 0;
}

int el_squashfs_mount(const char *image, int image_fd, const char *mnt, struct el_entry *e) {
  struct fuse_session *se;
  PASS(el_squashfs_attach(image, image_fd, OLD "/dev/fuse", mnt, &se));
  int fuse_fd = fuse_session_fd(se);
  fflush(NULL);
  pid_t parent = getpid();
  pid_t pid = fork();
  FAILED_IF(pid < 0, "fork", "fork the squashfs server for", image);
  if (pid == 0) serve(se, fuse_fd, image_fd, parent);
  /* Only the server may hold the connection and the image: the mount ends when it does. */
  close(fuse_fd);
  close(image_fd);
  e->image_fd = -1;
  e->fuse_server = pid;
  el_debug("squashfs %s mounted through FUSE, served by pid %d", image, (int)pid);
  return 0;
}

#else

bool el_squashfs_supported(void) { return false; }

int el_squashfs_mount(const char *image, int image_fd, const char *mnt, struct el_entry *e) {
  (void)image_fd, (void)mnt, (void)e;
  return el_fail(EL_EXIT_HOST_UNSUPPORTED,
                 EL_MSG_SQUASHFS "cannot mount %s: this envlock-launch was built without squashfs support "
                 "(libsquashfuse-dev and libfuse3-dev were missing); install them and run `npm rebuild envlock`, "
                 "or " SQUASHFS_HINT,
                 image);
}

#endif
