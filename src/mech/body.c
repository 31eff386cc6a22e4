/* body.c: byte ranges of files used as HTTP bodies: range reads and one-pass digests (no Lua). */
#include "body.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#define CHUNK ((size_t)256 << 10)

ssize_t luaws_body_pread(int fd, void *buf, size_t n, off_t offset) {
  ssize_t got;
  do {
    got = pread(fd, buf, n, offset);
  } while (got < 0 && errno == EINTR);
  return got;
}

ssize_t luaws_body_source_read(luaws_body_source *s, char *buf, size_t n) {
  if (s->pos >= s->end)
    return 0;
  if ((off_t)n > s->end - s->pos)
    n = (size_t)(s->end - s->pos);
  ssize_t got = luaws_body_pread(s->fd, buf, n, s->pos);
  if (got == 0) {
    errno = EIO;  /* the file shrank under us */
    return -1;
  }
  if (got > 0)
    s->pos += got;
  return got;
}

bool luaws_body_source_seek(luaws_body_source *s, off_t offset) {
  if (offset < 0 || offset > s->end - s->start)
    return false;
  s->pos = s->start + offset;
  return true;
}

int luaws_body_sink_write(luaws_body_sink *k, const char *data, size_t n) {
  if (k->fd < 0) {
    k->fd = open(k->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (k->fd < 0)
      return errno;
    k->opened = true;
  }
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(k->fd, data + done, n - done);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return errno;
    done += (size_t)w;
  }
  k->bytes += (off_t)n;
  return 0;
}

int luaws_body_sink_close(luaws_body_sink *k) {
  int err = 0;
  if (k->fd >= 0 && close(k->fd) != 0)
    err = errno;
  k->fd = -1;
  return err;
}

/* CRC-32C (Castagnoli, reflected 0x82f63b78), one table lookup per byte. */
static uint32_t crc32c_update(uint32_t crc, const unsigned char *p, size_t n) {
  static uint32_t table[256];
  static bool ready = false;
  if (!ready) {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++)
        c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
      table[i] = c;
    }
    ready = true;
  }
  crc = ~crc;
  for (size_t i = 0; i < n; i++)
    crc = (crc >> 8) ^ table[(crc ^ p[i]) & 0xffu];
  return ~crc;
}

static void put_be32(unsigned char out[4], uint32_t v) {
  for (int i = 0; i < 4; i++)
    out[i] = (unsigned char)(v >> (24 - 8 * i));
}

int luaws_body_digest(int fd, off_t offset, off_t length, unsigned flags, luaws_digests *out) {
  unsigned want = flags & ~out->done;
  if (want == 0)
    return 0;
  if (offset < 0 || length < 0)
    return EINVAL;
  static const struct { unsigned flag; const char *name; } kinds[] = {
    {LUAWS_DIGEST_SHA256, "SHA256"}, {LUAWS_DIGEST_SHA1, "SHA1"}, {LUAWS_DIGEST_MD5, "MD5"},
  };
  EVP_MD_CTX *ctx[3] = {NULL, NULL, NULL};
  unsigned char *dest[3] = {out->sha256, out->sha1, out->md5};
  uLong crc = crc32(0L, Z_NULL, 0);
  uint32_t crc_c = 0;
  unsigned char *buf = malloc(CHUNK);
  int err = buf ? 0 : ENOMEM;
  for (int i = 0; i < 3 && err == 0; i++) {
    if (!(want & kinds[i].flag))
      continue;
    ctx[i] = EVP_MD_CTX_new();
    const EVP_MD *md = EVP_get_digestbyname(kinds[i].name);
    if (ctx[i] == NULL || md == NULL || EVP_DigestInit_ex(ctx[i], md, NULL) != 1)
      err = ENOMEM;
  }
  off_t pos = offset, end = offset + length;
  while (err == 0 && pos < end) {
    size_t n = (size_t)(end - pos) < CHUNK ? (size_t)(end - pos) : CHUNK;
    ssize_t got = luaws_body_pread(fd, buf, n, pos);
    if (got <= 0) {
      err = got < 0 ? errno : EIO;
      break;
    }
    for (int i = 0; i < 3; i++) {
      if (ctx[i] && EVP_DigestUpdate(ctx[i], buf, (size_t)got) != 1)
        err = ENOMEM;
    }
    if (want & LUAWS_DIGEST_CRC32)
      crc = crc32_z(crc, buf, (z_size_t)got);
    if (want & LUAWS_DIGEST_CRC32C)
      crc_c = crc32c_update(crc_c, buf, (size_t)got);
    pos += got;
  }
  for (int i = 0; i < 3; i++) {
    if (ctx[i] && err == 0 && EVP_DigestFinal_ex(ctx[i], dest[i], NULL) != 1)
      err = ENOMEM;
    EVP_MD_CTX_free(ctx[i]);
  }
  free(buf);
  if (err != 0)
    return err;
  if (want & LUAWS_DIGEST_CRC32)
    put_be32(out->crc32, (uint32_t)crc);
  if (want & LUAWS_DIGEST_CRC32C)
    put_be32(out->crc32c, crc_c);
  out->done |= want;
  return 0;
}
