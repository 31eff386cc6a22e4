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

/* A byte range of a file being sent as a request body (the descriptor is not owned). */
typedef struct luaws_body_source {
  int fd;
  off_t start, pos, end;
} luaws_body_source;

/* Copies the next bytes of the range (at most n) into buf. Returns the count, 0 at the end of
 * the range, or -1 with errno set (EIO when the file ends before the range does). */
ssize_t luaws_body_source_read(luaws_body_source *s, char *buf, size_t n);

/* Moves to offset bytes from the start of the range (to send it again); false when outside. */
bool luaws_body_source_seek(luaws_body_source *s, off_t offset);

/* A file a response body is written to; path is owned (malloc'd) by whoever set it. */
typedef struct luaws_body_sink {
  char *path;
  int fd;                  /* -1 until the first write opens the file, and after close */
  bool opened;             /* the file was opened (created or truncated) */
  off_t bytes;             /* written so far */
} luaws_body_sink;

/* Opens the file on the first call (created, or truncated, mode 0600 when new) and appends n
 * bytes (n may be 0: only open). Returns 0 or an errno value. */
int luaws_body_sink_write(luaws_body_sink *k, const char *data, size_t n);

/* Closes the file when open. Returns 0 or an errno value. */
int luaws_body_sink_close(luaws_body_sink *k);

/* pread that retries EINTR. Returns bytes read, 0 at end of file, -1 with errno set. */
ssize_t luaws_body_pread(int fd, void *buf, size_t n, off_t offset);

#endif
