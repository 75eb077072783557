/* Opening the spec's image, after its lease is taken: then `gc`, which renames an image
 * aside and looks for live leases before deleting it, either sees the lease or has already
 * removed the image, and a launch never runs from an image being deleted. */
#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A squashfs image stays open (the FUSE server reads it through this descriptor); a tree is
 * only checked here and opened again inside the new mount namespace (*out = -1). */
int el_open_image(const struct el_spec *s, int *out) {
  *out = -1;
  const char *path = s->squashfs ? s->squashfs : s->rootfs;
  int fd = s->squashfs ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
                       : open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return el_fail(EL_EXIT_LAUNCH_FAILED,
                   EL_MSG_IMAGE_MISSING "%s does not exist (was it removed by `envlock gc` or by hand?); "
                   "run `envlock pull` and try again",
                   path);
  FAILED_IF(fd < 0, "open", "open image", path);
  if (s->squashfs) {
    struct stat st;
    if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
      close(fd);
      return el_fail(EL_EXIT_LAUNCH_FAILED, EL_MSG_SQUASHFS "%s is not a regular file", path);
    }
    *out = fd;
    return 0;
  }
  close(fd);
  return 0;
}
