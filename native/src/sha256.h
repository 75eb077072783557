/* SHA-256 (FIPS 180-4) of a few kilobytes, for the exec addon's sha256Hex: the prepared-run
 * cache key hashes the declaration and the lock at every `envlock run`, and doing that in C
 * costs microseconds where JavaScript (or loading node:crypto) costs a millisecond or more. */
#ifndef ENVLOCK_SHA256_H
#define ENVLOCK_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct el_sha256 {
  uint32_t state[8];
  uint64_t length;      /* bytes hashed so far */
  unsigned char block[64];
  size_t used;          /* bytes waiting in block */
};

void el_sha256_init(struct el_sha256 *h);
void el_sha256_update(struct el_sha256 *h, const void *data, size_t size);
/* Writes the digest as 64 lowercase hex digits and a NUL. */
void el_sha256_hex(struct el_sha256 *h, char out[65]);

#endif
