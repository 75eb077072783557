/* The lease that keeps `envlock gc` from removing an image while a step uses it (round-2
 * Decision 4): leases/<alg>-<hex>.<host>.<pid>.<starttime> in the store that holds the image,
 * created before the image is opened. The pid is slurmstepd's, which outlives every task of the
 * step: on this host the lease is live while that process (with that start time) exists; seen
 * from another host, while its mtime is recent, so a thread touches it every minute. The
 * directory descriptor is kept, so removing the lease at the end (as root) never follows a
 * path the user could have changed. */
#define _GNU_SOURCE
#include "envlock-spank.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REFRESH_SECONDS 60

static pthread_t g_thread;
static bool g_running;
static bool g_stop;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_wake = PTHREAD_COND_INITIALIZER;

/* Field 22 of /proc/self/stat (proc(5)): the start time in clock ticks since boot. */
static unsigned long long start_time(void) {
  char buf[1024];
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
  if (!p) return 0;
  for (int field = 2; field < 22 && p; field++) p = strchr(p + 1, ' ');
  return p ? strtoull(p + 1, NULL, 10) : 0;
}

int els_lease_take(struct els_lease *l, const char *dir, const char *name, char *err, size_t errlen) {
  l->dirfd = -1;
  l->file = NULL;
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
    return -1;
  }
  l->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (l->dirfd < 0) {
    snprintf(err, errlen, "cannot open %s: %s", dir, strerror(errno));
    return -1;
  }
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  if (asprintf(&l->file, "%s.%s.%d.%llu", name, host, (int)getpid(), start_time()) < 0) l->file = NULL;
  int fd = l->file ? openat(l->dirfd, l->file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644) : -1;
  if (fd < 0) {
    snprintf(err, errlen, "cannot create the lease %s/%s: %s", dir, l->file ? l->file : name, strerror(errno));
    close(l->dirfd);
    l->dirfd = -1;
    free(l->file);
    l->file = NULL;
    return -1;
  }
  close(fd);
  return 0;
}

static void *refresh(void *arg) {
  struct els_lease *l = arg;
  pthread_mutex_lock(&g_lock);
  while (!g_stop) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += REFRESH_SECONDS;
    pthread_cond_timedwait(&g_wake, &g_lock, &until);
    if (!g_stop) utimensat(l->dirfd, l->file, NULL, AT_SYMLINK_NOFOLLOW);
  }
  pthread_mutex_unlock(&g_lock);
  return NULL;
}

void els_lease_start_refresh(struct els_lease *l) {
  g_stop = false;
  g_running = pthread_create(&g_thread, NULL, refresh, l) == 0;
}

void els_lease_release(struct els_lease *l) {
  if (g_running) {
    pthread_mutex_lock(&g_lock);
    g_stop = true;
    pthread_cond_signal(&g_wake);
    pthread_mutex_unlock(&g_lock);
    pthread_join(g_thread, NULL);
    g_running = false;
  }
  if (l->dirfd >= 0 && l->file) unlinkat(l->dirfd, l->file, 0);
  if (l->dirfd >= 0) close(l->dirfd);
  free(l->file);
  l->dirfd = -1;
  l->file = NULL;
}
