/* The lease that keeps `envlock gc` from removing an image while a step uses it (round-2
 * Decision 4), taken with the entry library's lease code (envlock-enter.h: el_lease_*) for
 * slurmstepd, which outlives every task of the step: leases/<alg>-<hex>.<host>.<pid>.<starttime>
 * in the store that holds the image, created before the holder opens the image. On this host
 * it is live while slurmstepd runs; seen from another host, while its mtime is recent, so a
 * thread touches it every minute. It goes when the step ends (slurm_spank_exit). */
#define _GNU_SOURCE
#include "envlock-spank.h"
#include "envlock-enter.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REFRESH_SECONDS 60

static struct el_entry g_entry = {.lease_dirfd = -1, .lease_fd = -1, .image_fd = -1};
static pthread_t g_thread;
static bool g_running, g_stop;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_wake = PTHREAD_COND_INITIALIZER;

int els_lease_take(const char *dir, const char *name, char *err, size_t errlen) {
  static struct el_spec s;
  el_spec_init(&s);
  s.lease_dir = (char *)dir;
  s.lease_name = (char *)name;
  if (el_lease_take(&s, getpid(), &g_entry) == 0) return 0;
  snprintf(err, errlen, "%s", el_error()->message);
  return -1;
}

static void *refresh(void *arg) {
  (void)arg;
  pthread_mutex_lock(&g_lock);
  while (!g_stop) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += REFRESH_SECONDS;
    pthread_cond_timedwait(&g_wake, &g_lock, &until);
    if (!g_stop) el_lease_refresh(&g_entry);
  }
  pthread_mutex_unlock(&g_lock);
  return NULL;
}

void els_lease_start_refresh(void) {
  if (g_entry.lease_fd < 0) return;
  g_stop = false;
  g_running = pthread_create(&g_thread, NULL, refresh, NULL) == 0;
}

void els_lease_release(void) {
  if (g_running) {
    pthread_mutex_lock(&g_lock);
    g_stop = true;
    pthread_cond_signal(&g_wake);
    pthread_mutex_unlock(&g_lock);
    pthread_join(g_thread, NULL);
    g_running = false;
  }
  el_lease_release(&g_entry);
}
