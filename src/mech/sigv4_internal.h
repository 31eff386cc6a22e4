/* sigv4_internal.h: what the signer's stages share (buffers, encoders, digests); not a public API. */
#ifndef LUAWS_SIGV4_INTERNAL_H
#define LUAWS_SIGV4_INTERNAL_H

#include "sigv4.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

extern const char SV4_ALGORITHM[17];     /* "AWS4-HMAC-SHA256" */
extern const char SV4_EMPTY_SHA256[65];  /* hex SHA-256 of the empty string */
extern const char SV4_HEX_LOWER[17];
extern const char SV4_HEX_UPPER[17];

/* A growable byte buffer. Appends after a failed allocation are dropped and `failed` stays
 * set, so builders check once at the end instead of after every append. */
typedef struct sbuf {
  char *data;
  size_t len, cap;
  bool failed;
} sbuf;

typedef struct header_item {
  const char *name; /* lowercase */
  size_t name_len;
  size_t name_off;  /* offset in signer->lower, or SIZE_MAX when `name` is a literal */
  const char *value;
  size_t value_len;
  size_t order;     /* input position: keeps duplicate values in the caller's order */
} header_item;

typedef struct query_item {
  size_t key_off, key_len, value_off, value_len; /* offsets into signer->qbuf while building */
  const char *key, *value;                       /* fixed up once qbuf stops growing */
} query_item;

typedef struct cache_entry {
  unsigned long last_use; /* 0: empty slot */
  size_t secret_len, scope_len;
  char date[8];
  unsigned char secret[LUAWS_SIGV4_CACHE_SECRET_MAX];
  char scope[LUAWS_SIGV4_CACHE_SCOPE_MAX]; /* region '\0' service */
  unsigned char key[32];
} cache_entry;

struct luaws_sigv4_signer {
  EVP_MD *sha256;
  EVP_MD_CTX *md;
  sbuf canonical, headers_block, signed_headers, string_to_sign, authorization, query_out,
       lower, qbuf, path_tmp, scope;
  header_item *hitems;
  size_t hcap;
  query_item *qitems;
  size_t qcap;
  char payload_hash[65];
  cache_entry cache[LUAWS_SIGV4_CACHE_SLOTS];
  unsigned long clock, derived, hits;
  char error[160];
};

/* Shared by the stages (sigv4_text.c, sigv4_digest.c, sigv4_canonical.c); each is documented
 * where it is defined. */

void sv4_append_header_value(sbuf *b, const char *v, size_t n);
bool sv4_equals_ci(const char *a, size_t n, const char *lower);
int sv4_fail(luaws_sigv4_signer *s, int code, const char *fmt, ...);
bool sv4_has_token(const luaws_sigv4_request *req);
bool sv4_is_space(unsigned char c);
int sv4_out_of_memory(luaws_sigv4_signer *s);
void sv4_sbuf_add(sbuf *b, const char *s, size_t n);
void sv4_sbuf_addc(sbuf *b, char c);
void sv4_sbuf_adds(sbuf *b, const char *s);
bool sv4_sbuf_finish(sbuf *b);
bool sv4_sbuf_reserve(sbuf *b, size_t extra);
void sv4_sbuf_reset(sbuf *b);
void sv4_sbuf_wipe(sbuf *b);
bool sv4_signer_hmac(luaws_sigv4_signer *s, const unsigned char *key, size_t key_len,
                     const void *data, size_t len, unsigned char out[32]);
bool sv4_signer_sha256(luaws_sigv4_signer *s, const void *data, size_t len, unsigned char out[32]);
unsigned char sv4_to_lower(unsigned char c);
void sv4_uri_encode(sbuf *b, const char *in, size_t n, bool keep_slash);
void sv4_uri_encode_once(sbuf *b, const char *in, size_t n);
void sv4_uri_reencode(sbuf *b, const char *in, size_t n);
bool sv4_valid_header_name(const char *name, size_t n);
bool sv4_valid_header_value(const char *v, size_t n);

#endif
