// Writes the inode and directory tables from the in-memory tree that the layer applier built.
// TypeScript (core/squashfs/tree-encoding.ts) describes the tree in this little-endian form:
//   u32 version (1), u32 node count, then per node, node 0 being the root directory:
//   u8 type (1 dir, 2 file, 3 symlink, 4 fifo), u16 permission bits, u32 mtime, then
//     dir:     u32 child count, per child: u32 node, u16 name length, name bytes
//     file:    u32 file id from beginFile, or 0xFFFFFFFF for an empty file never streamed
//     symlink: u32 target length, target bytes
// A node named from several directories is a hard link (one inode). Everything is checked
// here again, so a wrong description fails cleanly instead of writing a broken image.
#include "sqfs-writer.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <vector>

#include <sqfs/error.h>

namespace {

constexpr uint32_t kVersion = 1;
constexpr uint32_t kNoFile = 0xFFFFFFFF;
constexpr uint32_t kNoXattr = 0xFFFFFFFF;
constexpr size_t kMaxName = 256;  // SQUASHFS_NAME_LEN: the kernel refuses longer names
enum : uint8_t { kDir = 1, kFile = 2, kSymlink = 3, kFifo = 4 };

struct Child {
  uint32_t node;
  std::string name;
};

struct Node {
  uint8_t type = 0;
  uint16_t perm = 0;
  uint32_t mtime = 0;
  uint32_t file_id = kNoFile;
  std::string target;
  std::vector<Child> children;
  uint32_t links = 0;    // names that refer to it (non-directories)
  uint32_t subdirs = 0;  // for a directory's link count
  uint32_t parent = 0;
  uint32_t ino = 0;
  uint64_t ref = 0;
};

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  bool ok() const { return ok_; }
  bool done() const { return p_ == end_; }
  uint32_t U(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return Bad();
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) v |= static_cast<uint32_t>(p_[i]) << (8 * i);
    p_ += n;
    return v;
  }
  std::string Bytes(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return Bad(), std::string();
    std::string s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
  }

 private:
  uint32_t Bad() {
    ok_ = false;
    p_ = end_;
    return 0;
  }
  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

bool Malformed(SqfsFailure* failure, const std::string& why) {
  failure->code = "SQFS_TREE";
  failure->message = "the image tree description is malformed: " + why;
  return false;
}

bool Parse(const uint8_t* data, size_t size, std::vector<Node>* nodes, SqfsFailure* failure) {
  Reader in(data, size);
  if (in.U(4) != kVersion) return Malformed(failure, "unknown version");
  uint32_t count = in.U(4);
  if (!in.ok() || count == 0 || count > size / 7) return Malformed(failure, "bad node count");
  nodes->resize(count);
  for (Node& node : *nodes) {
    node.type = static_cast<uint8_t>(in.U(1));
    node.perm = static_cast<uint16_t>(in.U(2) & 07777);
    node.mtime = in.U(4);
    if (node.type == kDir) {
      uint32_t children = in.U(4);
      if (children > size) return Malformed(failure, "bad child count");
      node.children.reserve(children);
      for (uint32_t i = 0; i < children && in.ok(); i++) {
        uint32_t child = in.U(4);
        uint32_t length = in.U(2);
        node.children.push_back({child, in.Bytes(length)});
      }
    } else if (node.type == kFile) {
      node.file_id = in.U(4);
    } else if (node.type == kSymlink) {
      uint32_t length = in.U(4);
      node.target = in.Bytes(length);
    } else if (node.type != kFifo) {
      return Malformed(failure, "unknown node type " + std::to_string(node.type));
    }
    if (!in.ok()) return Malformed(failure, "truncated");
  }
  if (!in.done()) return Malformed(failure, "trailing bytes");
  if ((*nodes)[0].type != kDir) return Malformed(failure, "the root is not a directory");
  return true;
}

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > kMaxName || name == "." || name == "..") return false;
  return name.find('/') == std::string::npos && name.find('\0') == std::string::npos;
}

// Depth first from the root: checks that directories form a tree, sorts every listing by name
// bytes (the order readers rely on), counts links, and numbers inodes so that everything a
// directory lists is numbered (and later written) before the directory itself.
bool Number(std::vector<Node>& nodes, uint32_t file_ids, uint32_t* count, SqfsFailure* failure) {
  std::vector<bool> file_used(file_ids, false);
  std::vector<uint32_t> stack{0};
  std::vector<size_t> cursor{0};
  uint32_t next = 1;
  while (!stack.empty()) {
    Node& dir = nodes[stack.back()];
    size_t& at = cursor.back();
    if (at == 0) {
      std::sort(dir.children.begin(), dir.children.end(),
                [](const Child& a, const Child& b) { return a.name < b.name; });
      for (size_t i = 0; i < dir.children.size(); i++) {
        const Child& c = dir.children[i];
        if (!ValidName(c.name)) return Malformed(failure, "invalid name");
        if (i > 0 && dir.children[i - 1].name == c.name) return Malformed(failure, "duplicate name " + c.name);
        if (c.node == 0 || c.node >= nodes.size()) return Malformed(failure, "bad node index");
      }
    }
    if (at < dir.children.size()) {
      uint32_t index = dir.children[at++].node;
      Node& child = nodes[index];
      if (child.type == kDir) {
        if (child.links++ != 0) return Malformed(failure, "a directory has two names");
        child.parent = stack.back();
        dir.subdirs++;
        stack.push_back(index);
        cursor.push_back(0);
      } else if (child.links++ == 0 && child.type == kFile && child.file_id != kNoFile) {
        if (child.file_id >= file_ids || file_used[child.file_id]) return Malformed(failure, "bad file id");
        file_used[child.file_id] = true;
      }
      continue;
    }
    for (const Child& c : dir.children) {
      if (nodes[c.node].ino == 0) nodes[c.node].ino = next++;
      if (next == 0xFFFFFFFF) return Malformed(failure, "too many inodes");
    }
    stack.pop_back();
    cursor.pop_back();
  }
  nodes[0].ino = next;
  *count = next;
  return true;
}

sqfs_inode_generic_t* NewInode(size_t extra) {
  return static_cast<sqfs_inode_generic_t*>(calloc(1, sizeof(sqfs_inode_generic_t) + extra));
}

}  // namespace

bool SqfsWriteTree(SqfsImage* image, const uint8_t* tree, size_t size, uint32_t* inode_count,
                   uint64_t* root_ref, SqfsFailure* failure) {
  std::vector<Node> nodes;
  if (!Parse(tree, size, &nodes, failure)) return false;
  uint32_t count = 0;
  if (!Number(nodes, static_cast<uint32_t>(image->FilesBegun()), &count, failure)) return false;
  std::vector<uint32_t> order(count, 0);
  for (uint32_t i = 0; i < nodes.size(); i++) {
    if (nodes[i].ino != 0) order[nodes[i].ino - 1] = i;
  }
  sqfs_u16 owner = 0;  // every inode is owned by uid/gid 0: ownership is not part of an image
  int ret = sqfs_id_table_id_to_index(image->id_table(), 0, &owner);
  if (ret != 0) return image->Fail(failure, "writing the id table", ret);

  for (uint32_t index : order) {
    Node& node = nodes[index];
    sqfs_inode_generic_t* inode = nullptr;
    uint16_t type_bits = 0;
    if (node.type == kDir) {
      type_bits = S_IFDIR;
      sqfs_dir_writer_t* dw = image->dir_writer();
      ret = sqfs_dir_writer_begin(dw, 0);
      for (size_t i = 0; ret == 0 && i < node.children.size(); i++) {
        const Node& c = nodes[node.children[i].node];
        uint16_t mode = c.perm | (c.type == kDir ? S_IFDIR : c.type == kFile ? S_IFREG : c.type == kSymlink ? S_IFLNK : S_IFIFO);
        ret = sqfs_dir_writer_add_entry(dw, node.children[i].name.c_str(), c.ino, c.ref, mode);
      }
      if (ret == 0) ret = sqfs_dir_writer_end(dw);
      if (ret != 0) return image->Fail(failure, "writing a directory", ret);
      // The root's parent is one past the last inode, as mksquashfs does.
      uint32_t parent = index == 0 ? count + 1 : nodes[node.parent].ino;
      inode = sqfs_dir_writer_create_inode(dw, 2 + node.subdirs, kNoXattr, parent);
      if (inode != nullptr && inode->base.type == SQFS_INODE_DIR) inode->data.dir.nlink = 2 + node.subdirs;
      if (inode != nullptr && inode->base.type == SQFS_INODE_EXT_DIR) inode->data.dir_ext.nlink = 2 + node.subdirs;
    } else if (node.type == kFile) {
      type_bits = S_IFREG;
      inode = node.file_id == kNoFile ? NewInode(0) : image->TakeFileInode(node.file_id);
      if (inode != nullptr && node.file_id == kNoFile) {
        inode->base.type = SQFS_INODE_FILE;
        sqfs_inode_set_frag_location(inode, 0xFFFFFFFF, 0xFFFFFFFF);
      }
      if (inode != nullptr && node.links > 1) {
        sqfs_inode_make_extended(inode);
        inode->data.file_ext.nlink = node.links;
      }
    } else if (node.type == kSymlink) {
      type_bits = S_IFLNK;
      inode = NewInode(node.target.size());
      if (inode != nullptr) {
        inode->base.type = SQFS_INODE_SLINK;
        inode->payload_bytes_available = inode->payload_bytes_used = static_cast<sqfs_u32>(node.target.size());
        inode->data.slink.nlink = node.links;
        inode->data.slink.target_size = static_cast<sqfs_u32>(node.target.size());
        memcpy(inode->extra, node.target.data(), node.target.size());
      }
    } else {
      type_bits = S_IFIFO;
      inode = NewInode(0);
      if (inode != nullptr) {
        inode->base.type = SQFS_INODE_FIFO;
        inode->data.ipc.nlink = node.links;
      }
    }
    if (inode == nullptr) return image->Fail(failure, "creating an inode", SQFS_ERROR_ALLOC);
    inode->base.mode = static_cast<sqfs_u16>(type_bits | node.perm);
    inode->base.mod_time = node.mtime;
    inode->base.inode_number = node.ino;
    inode->base.uid_idx = owner;
    inode->base.gid_idx = owner;
    sqfs_inode_set_xattr_index(inode, kNoXattr);
    sqfs_u64 block = 0;
    sqfs_u32 offset = 0;
    sqfs_meta_writer_get_position(image->inode_writer(), &block, &offset);
    node.ref = (block << 16) | offset;
    ret = sqfs_meta_writer_write_inode(image->inode_writer(), inode);
    sqfs_free(inode);
    if (ret != 0) return image->Fail(failure, "writing the inode table", ret);
  }
  *inode_count = count;
  *root_ref = nodes[0].ref;
  return true;
}
