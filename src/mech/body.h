/* body.h: byte ranges of files used as HTTP bodies: range reads and one-pass digests (no Lua). */
#ifndef LUAWS_BODY_H
#define LUAWS_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Digests luaws_body_digest can compute (bit flags). */
enum {
  LUAWS_DIGEST_SHA256 = 1, /* x-amz-content-sha256, x-amz-checksum-sha256 */
  LUAWS_DIGEST_SHA1 = 2,   /* x-amz-checksum-sha1 */
  LUAWS_DIGEST_MD5 = 4,    /* Content-MD5 */
  LUAWS_DIGEST_CRC32 = 8,  /* x-amz-checksum-crc32 (big-endian bytes) */
  LUAWS_DIGEST_CRC32C = 16, /* x-amz-checksum-crc32c (Castagnoli, big-endian bytes) */
};

typedef struct luaws_digests {
  unsigned done;           /* the LUAWS_DIGEST_* flags computed so far */
  unsigned char sha256[32], sha1[20], md5[16], crc32[4], crc32c[4];
} luaws_digests;

/* Reads length bytes of fd from offset (pread: the descriptor's position is untouched) once and
 * computes the digests named in flags that out->done lacks, adding them to out->done.
 * Returns 0, or an errno value (EIO when the file is shorter than offset + length, ENOMEM when
 * the digest library fails). */
int luaws_body_digest(int fd, off_t offset, off_t length, unsigned flags, luaws_digests *out);

/* pread that retries EINTR. Returns bytes read, 0 at end of file, -1 with errno set. */
ssize_t luaws_body_pread(int fd, void *buf, size_t n, off_t offset);

#endif
