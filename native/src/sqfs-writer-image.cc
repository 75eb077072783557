// SqfsImage: one squashfs image being written with libsquashfs. File data goes through the
// library's block processor (compression on its worker threads, blocks deduplicated, tails
// packed into fragments); Finish writes the tables in a fixed order, so the same input gives
// the same bytes. Every setting that changes bytes comes from SqfsSettings, never the host.
#include "sqfs-writer.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <vector>

#include <sqfs/error.h>

namespace {

// Dedicated devices want images padded to their block size; mksquashfs and tar2sqfs use 4 KiB.
constexpr size_t kPadTo = 4096;

}  // namespace

const char* SqfsErrorText(int ret) {
  switch (ret) {
    case SQFS_ERROR_ALLOC: return "out of memory";
    case SQFS_ERROR_IO: return "input/output error";
    case SQFS_ERROR_COMPRESSOR: return "the compressor failed";
    case SQFS_ERROR_INTERNAL: return "internal error in libsquashfs";
    case SQFS_ERROR_CORRUPTED: return "data read back is corrupted";
    case SQFS_ERROR_UNSUPPORTED: return "unsupported setting";
    case SQFS_ERROR_OVERFLOW: return "a size overflowed";
    case SQFS_ERROR_OUT_OF_BOUNDS: return "read past the end of the file";
    case SQFS_ERROR_ARG_INVALID: return "invalid argument";
    case SQFS_ERROR_SEQUENCE: return "calls out of sequence";
    default: return "libsquashfs error";
  }
}

bool SqfsImage::Fail(SqfsFailure* failure, const char* what, int ret) {
  if (failure->failed()) return false;
  int err = ret == SQFS_ERROR_IO ? SqfsFileErrno(file_) : 0;
  if (err != 0) {
    failure->code = "ERRNO";
    failure->err = err;
    failure->message = std::string(what) + ": " + strerror(err);
  } else {
    failure->code = "SQFS_ERROR";
    failure->err = 0;
    failure->message = std::string(what) + ": " + SqfsErrorText(ret) + " (" + std::to_string(ret) + ")";
  }
  return false;
}

SqfsImage::~SqfsImage() {
  // Destroying the block processor joins its workers; blocks still in flight are dropped.
  sqfs_destroy(dir_writer_);
  sqfs_destroy(dir_meta_);
  sqfs_destroy(inode_writer_);
  sqfs_destroy(ids_);
  sqfs_destroy(proc_);
  sqfs_destroy(frags_);
  sqfs_destroy(block_writer_);
  sqfs_destroy(uncmp_);
  sqfs_destroy(cmp_);
  sqfs_destroy(file_);
  for (sqfs_inode_generic_t* inode : files_) sqfs_free(inode);
}

bool SqfsImage::Open(const SqfsSettings& settings, SqfsFailure* failure) {
  settings_ = settings;
  file_ = SqfsFileFromFd(settings.fd);

  sqfs_compressor_config_t cfg;
  int ret = sqfs_compressor_config_init(&cfg, settings.compressor, settings.block_size, 0);
  if (ret != 0) return Fail(failure, "configuring the compressor", ret);
  if (settings.compressor != SQFS_COMP_LZ4) cfg.level = settings.level;
  ret = sqfs_compressor_create(&cfg, &cmp_);
  if (ret != 0) return Fail(failure, "creating the compressor", ret);
  // A decompressor lets fragment deduplication compare candidates byte for byte.
  cfg.flags |= SQFS_COMP_FLAG_UNCOMPRESS;
  ret = sqfs_compressor_create(&cfg, &uncmp_);
  if (ret != 0) return Fail(failure, "creating the decompressor", ret);

  // The super block's time is fixed at 0: the same layers give the same bytes on any day.
  ret = sqfs_super_init(&super_, settings.block_size, 0, settings.compressor);
  if (ret != 0) return Fail(failure, "initialising the super block", ret);
  ret = sqfs_super_write(&super_, file_);
  if (ret != 0) return Fail(failure, "writing the super block", ret);
  ret = cmp_->write_options(cmp_, file_);
  if (ret < 0) return Fail(failure, "writing the compressor options", ret);
  if (ret > 0) super_.flags |= SQFS_FLAG_COMPRESSOR_OPTIONS;

  block_writer_ = sqfs_block_writer_create(file_, kPadTo, 0);
  frags_ = sqfs_frag_table_create(0);
  ids_ = sqfs_id_table_create(0);
  inode_writer_ = sqfs_meta_writer_create(file_, cmp_, 0);
  // Directories are collected in memory and written after the inode table, as the format wants.
  dir_meta_ = sqfs_meta_writer_create(file_, cmp_, SQFS_META_WRITER_KEEP_IN_MEMORY);
  dir_writer_ = dir_meta_ == nullptr ? nullptr : sqfs_dir_writer_create(dir_meta_, 0);
  if (block_writer_ == nullptr || frags_ == nullptr || ids_ == nullptr || inode_writer_ == nullptr ||
      dir_writer_ == nullptr) {
    return Fail(failure, "creating the image writer", SQFS_ERROR_ALLOC);
  }

  sqfs_block_processor_desc_t desc;
  memset(&desc, 0, sizeof desc);
  desc.size = sizeof desc;
  desc.max_block_size = static_cast<sqfs_u32>(settings.block_size);
  desc.num_workers = settings.workers < 1 ? 1 : settings.workers;
  desc.max_backlog = 10 * desc.num_workers;
  desc.cmp = cmp_;
  desc.wr = block_writer_;
  desc.tbl = frags_;
  desc.file = file_;
  desc.uncmp = uncmp_;
  ret = sqfs_block_processor_create_ex(&desc, &proc_);
  if (ret != 0) return Fail(failure, "starting the compression workers", ret);
  return true;
}

bool SqfsImage::BeginFile(SqfsFailure* failure) {
  files_.push_back(nullptr);
  int ret = sqfs_block_processor_begin_file(proc_, &files_.back(), nullptr, 0);
  return ret == 0 || Fail(failure, "starting a file", ret);
}

bool SqfsImage::Append(const uint8_t* data, size_t size, SqfsFailure* failure) {
  if (size == 0) return true;  // the library dereferences its current block even for 0 bytes
  int ret = sqfs_block_processor_append(proc_, data, size);
  return ret == 0 || Fail(failure, "writing file data", ret);
}

bool SqfsImage::AppendZeros(uint64_t length, SqfsFailure* failure) {
  std::vector<uint8_t> zeros(settings_.block_size < length ? settings_.block_size : length, 0);
  while (length > 0) {
    size_t step = length < zeros.size() ? static_cast<size_t>(length) : zeros.size();
    if (!Append(zeros.data(), step, failure)) return false;
    length -= step;
  }
  return true;
}

bool SqfsImage::EndFile(SqfsFailure* failure) {
  int ret = sqfs_block_processor_end_file(proc_);
  return ret == 0 || Fail(failure, "finishing a file", ret);
}

sqfs_inode_generic_t* SqfsImage::TakeFileInode(size_t id) {
  if (id >= files_.size()) return nullptr;
  sqfs_inode_generic_t* inode = files_[id];
  files_[id] = nullptr;
  return inode;
}

bool SqfsImage::Pad(SqfsFailure* failure) {
  uint64_t size = file_->get_size(file_);
  if (size % kPadTo == 0) return true;
  std::vector<uint8_t> zeros(kPadTo - size % kPadTo, 0);
  int ret = file_->write_at(file_, size, zeros.data(), zeros.size());
  return ret == 0 || Fail(failure, "padding the image", ret);
}

bool SqfsImage::Finish(const uint8_t* tree, size_t size, SqfsSummary* summary, SqfsFailure* failure) {
  int ret = sqfs_block_processor_finish(proc_);
  if (ret != 0) return Fail(failure, "writing the remaining data blocks", ret);

  super_.inode_table_start = file_->get_size(file_);
  uint32_t inodes = 0;
  uint64_t root_ref = 0;
  if (!SqfsWriteTree(this, tree, size, &inodes, &root_ref, failure)) return false;
  if ((ret = sqfs_meta_writer_flush(inode_writer_)) != 0) return Fail(failure, "writing the inode table", ret);
  if ((ret = sqfs_meta_writer_flush(dir_meta_)) != 0) return Fail(failure, "writing the directory table", ret);
  super_.root_inode_ref = root_ref;
  super_.inode_count = inodes;
  super_.directory_table_start = file_->get_size(file_);
  if ((ret = sqfs_meta_write_write_to_file(dir_meta_)) != 0) return Fail(failure, "writing the directory table", ret);
  if ((ret = sqfs_frag_table_write(frags_, file_, &super_, cmp_)) != 0) return Fail(failure, "writing the fragment table", ret);
  if ((ret = sqfs_id_table_write(ids_, file_, &super_, cmp_)) != 0) return Fail(failure, "writing the id table", ret);
  // No extended attributes: images carry none (docs/store.md), so the table is absent.
  super_.xattr_id_table_start = 0xFFFFFFFFFFFFFFFFULL;
  super_.flags |= SQFS_FLAG_NO_XATTRS;
  super_.bytes_used = file_->get_size(file_);
  if ((ret = sqfs_super_write(&super_, file_)) != 0) return Fail(failure, "writing the super block", ret);
  if (!Pad(failure)) return false;
  if (settings_.durable && fsync(settings_.fd) != 0) {
    failure->code = "ERRNO";
    failure->err = errno;
    failure->message = std::string("flushing the image to disk: ") + strerror(errno);
    return false;
  }

  const sqfs_block_processor_stats_t* stats = sqfs_block_processor_get_stats(proc_);
  summary->bytes = file_->get_size(file_);
  summary->inodes = inodes;
  summary->input_bytes = stats->input_bytes_read;
  summary->data_blocks = stats->data_block_count;
  summary->fragment_blocks = stats->frag_block_count;
  return true;
}
