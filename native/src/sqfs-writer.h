// The squashfs writer's parts (built only with libsquashfs, ENVLOCK_HAVE_SQFS): SqfsImage owns
// libsquashfs's objects and is driven by one feeder thread; sqfs-writer.cc exposes it to Node.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <deque>
#include <string>

#include <sqfs/block_processor.h>
#include <sqfs/block_writer.h>
#include <sqfs/compressor.h>
#include <sqfs/dir_writer.h>
#include <sqfs/frag_table.h>
#include <sqfs/id_table.h>
#include <sqfs/inode.h>
#include <sqfs/io.h>
#include <sqfs/error.h>
#include <sqfs/meta_writer.h>
#include <sqfs/super.h>

// Why a step failed: errno where a system call failed (code "ENOSPC" …), else a libsquashfs
// error or a malformed tree description (code "SQFS_…").
struct SqfsFailure {
  std::string code;
  std::string message;
  int err = 0;
  bool failed() const { return !code.empty(); }
};

struct SqfsSettings {
  int fd = -1;
  SQFS_COMPRESSOR compressor = SQFS_COMP_ZSTD;
  unsigned level = 1;
  size_t block_size = SQFS_DEFAULT_BLOCK_SIZE;
  unsigned workers = 1;
  bool durable = true;
};

struct SqfsSummary {
  uint64_t bytes = 0;
  uint32_t inodes = 0;
  uint64_t input_bytes = 0;
  uint64_t data_blocks = 0;
  uint64_t fragment_blocks = 0;
};

// Not thread-safe: every call after Open comes from the one feeder thread.
class SqfsImage {
 public:
  ~SqfsImage();
  bool Open(const SqfsSettings& settings, SqfsFailure* failure);
  bool BeginFile(SqfsFailure* failure);
  bool Append(const uint8_t* data, size_t size, SqfsFailure* failure);
  bool AppendZeros(uint64_t length, SqfsFailure* failure);
  bool EndFile(SqfsFailure* failure);
  // Waits for the data blocks, then writes the inode and directory tables from `tree`
  // (format in sqfs-writer-tree.cc), the fragment and id tables and the super block.
  bool Finish(const uint8_t* tree, size_t size, SqfsSummary* summary, SqfsFailure* failure);

  // For sqfs-writer-tree.cc.
  sqfs_inode_generic_t* TakeFileInode(size_t id);
  size_t FilesBegun() const { return files_.size(); }
  sqfs_meta_writer_t* inode_writer() { return inode_writer_; }
  sqfs_dir_writer_t* dir_writer() { return dir_writer_; }
  sqfs_id_table_t* id_table() { return ids_; }
  // Records the first failure (with errno where the file I/O failed); returns false.
  bool Fail(SqfsFailure* failure, const char* what, int ret);

 private:
  bool Pad(SqfsFailure* failure);

  SqfsSettings settings_;
  sqfs_file_t* file_ = nullptr;
  sqfs_compressor_t* cmp_ = nullptr;
  sqfs_compressor_t* uncmp_ = nullptr;
  sqfs_block_writer_t* block_writer_ = nullptr;
  sqfs_frag_table_t* frags_ = nullptr;
  sqfs_block_processor_t* proc_ = nullptr;
  sqfs_id_table_t* ids_ = nullptr;
  sqfs_meta_writer_t* inode_writer_ = nullptr;
  sqfs_meta_writer_t* dir_meta_ = nullptr;
  sqfs_dir_writer_t* dir_writer_ = nullptr;
  sqfs_super_t super_{};
  // One inode per file begun, updated by the block processor until it finishes; a deque so
  // the addresses it holds stay put as files are added.
  std::deque<sqfs_inode_generic_t*> files_;
};

// sqfs-writer-file.cc: an sqfs_file_t over a descriptor Node opened; *last_errno keeps the
// errno of the last failed call so ENOSPC reaches the user as ENOSPC.
sqfs_file_t* SqfsFileFromFd(int fd);
int SqfsFileErrno(sqfs_file_t* file);

// sqfs-writer-tree.cc: serialises the in-memory tree into the inode and directory tables.
// Sets *inode_count and *root_ref.
bool SqfsWriteTree(SqfsImage* image, const uint8_t* tree, size_t size, uint32_t* inode_count,
                   uint64_t* root_ref, SqfsFailure* failure);

const char* SqfsErrorText(int ret);
