// libsquashfs's file interface over a descriptor that Node opened (the temp name, its mode and
// O_EXCL stay decisions of TypeScript); keeps errno so a full disk is reported as ENOSPC.
#include "sqfs-writer.h"

#include <errno.h>
#include <unistd.h>

#include <sqfs/error.h>

namespace {

struct FdFile {
  sqfs_file_t base;  // first member: libsquashfs casts between the two
  int fd;
  uint64_t size;
  int last_errno;
};

FdFile* Self(sqfs_file_t* file) { return reinterpret_cast<FdFile*>(file); }

int ReadAt(sqfs_file_t* file, sqfs_u64 offset, void* buffer, size_t size) {
  FdFile* self = Self(file);
  char* out = static_cast<char*>(buffer);
  while (size > 0) {
    ssize_t got = pread(self->fd, out, size, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      self->last_errno = errno;
      return SQFS_ERROR_IO;
    }
    if (got == 0) return SQFS_ERROR_OUT_OF_BOUNDS;
    out += got;
    offset += static_cast<uint64_t>(got);
    size -= static_cast<size_t>(got);
  }
  return 0;
}

int WriteAt(sqfs_file_t* file, sqfs_u64 offset, const void* buffer, size_t size) {
  FdFile* self = Self(file);
  const char* in = static_cast<const char*>(buffer);
  while (size > 0) {
    ssize_t put = pwrite(self->fd, in, size, static_cast<off_t>(offset));
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) {
      self->last_errno = errno;
      return SQFS_ERROR_IO;
    }
    in += put;
    offset += static_cast<uint64_t>(put);
    size -= static_cast<size_t>(put);
  }
  if (offset > self->size) self->size = offset;
  return 0;
}

sqfs_u64 GetSize(const sqfs_file_t* file) {
  return reinterpret_cast<const FdFile*>(file)->size;
}

int Truncate(sqfs_file_t* file, sqfs_u64 size) {
  FdFile* self = Self(file);
  if (ftruncate(self->fd, static_cast<off_t>(size)) != 0) {
    self->last_errno = errno;
    return SQFS_ERROR_IO;
  }
  self->size = size;
  return 0;
}

// The descriptor belongs to Node, which closes it after the writer is done.
void Destroy(sqfs_object_t* object) { delete reinterpret_cast<FdFile*>(object); }

}  // namespace

sqfs_file_t* SqfsFileFromFd(int fd) {
  FdFile* file = new FdFile{};
  file->base.base.destroy = Destroy;
  file->base.base.copy = nullptr;
  file->base.read_at = ReadAt;
  file->base.write_at = WriteAt;
  file->base.get_size = GetSize;
  file->base.truncate = Truncate;
  file->fd = fd;
  file->size = 0;
  return &file->base;
}

int SqfsFileErrno(sqfs_file_t* file) { return file == nullptr ? 0 : Self(file)->last_errno; }
