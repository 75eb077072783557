/* The warm holder's protocol, shared by its client side (holder.c) and the holder process
 * (holder-serve.c). One holder per user, image and id mapping (and Slurm step) keeps a user
 * namespace with the image mounted through FUSE; a client connects to its socket in the
 * user's private holder directory, receives the holder's user and mount namespace
 * descriptors, joins them and unshares its own mount namespace. */
#ifndef ENVLOCK_HOLDER_H
#define ENVLOCK_HOLDER_H

#include <stdint.h>
#include <sys/stat.h>

#include "launch.h"

#define HOLDER_MAGIC 0x656e766cu /* "envl" */
#define HOLDER_VERSION 1u
#define HOLDER_KEY_CHARS 16
#define HOLDER_IDLE_SECONDS 30 /* ENVLOCK_HOLDER_IDLE_SECONDS overrides */
#define HOLDER_MAX_CLIENTS 1024
#define HOLDER_NAME_MAX 64

struct holder_request {
  uint32_t magic, version;
};

/* What the holder serves; the client compares it with its own fstat of the image. */
struct holder_reply {
  uint32_t magic, version;
  uint64_t dev, ino, size;
  int64_t mtime_sec, mtime_nsec;
  char root[384]; /* the mount point, the same path in every copy of its mount namespace */
};

/* The names of one holder in the holder directory: socket, lock and mount point. */
struct holder_names {
  char key[HOLDER_KEY_CHARS + 1];
  char sock[HOLDER_NAME_MAX], lock[HOLDER_NAME_MAX], mnt[HOLDER_NAME_MAX];
  char dir[256]; /* the holder directory's path */
};

/* holder-serve.c: becomes the holder (never returns); writes one byte to `ready` once
 * clients can connect, or exits without it. */
_Noreturn void el_holder_serve(const struct el_spec *s, const struct el_caller *c, int dirfd,
                               const struct holder_names *n, int image_fd, int ready);

/* holder.c: locks the lock file `name` (the one currently linked there); -1 on failure. */
int el_holder_lock(int dirfd, const char *name);

/* "/proc/self/fd/DIRFD/NAME": a path through the checked directory descriptor. */
void el_holder_path(char *out, size_t size, int dirfd, const char *name);

#endif
