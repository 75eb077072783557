/* See errno-name.h. The values the addons' system calls can fail with. */
#include "errno-name.h"

#include <errno.h>

const char *el_errno_name(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case ENOEXEC: return "ENOEXEC";
    case E2BIG: return "E2BIG";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case ENOTDIR: return "ENOTDIR";
    case ELOOP: return "ELOOP";
    case ETXTBSY: return "ETXTBSY";
    case EUSERS: return "EUSERS";
    case ENOSYS: return "ENOSYS";
    case EIO: return "EIO";
    case EDQUOT: return "EDQUOT";
    case EFBIG: return "EFBIG";
    case EROFS: return "EROFS";
    case EBADF: return "EBADF";
    default: return "EUNKNOWN";
  }
}
