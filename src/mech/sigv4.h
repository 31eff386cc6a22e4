/* sigv4.h: AWS Signature Version 4 in stages (canonical request, string to sign, signature). */
#ifndef LUAWS_SIGV4_H
#define LUAWS_SIGV4_H

#include <stdbool.h>
#include <stddef.h>

/* Pure C, no Lua. A signer owns reusable OpenSSL contexts, growable buffers and a small cache
 * of derived signing keys. It is not thread safe: use one signer per thread (Lua state). Every
 * string the signer hands back points into its own buffers and stays valid until the next call
 * on the same signer or luaws_sigv4_signer_free. */

typedef struct luaws_sigv4_signer luaws_sigv4_signer;

enum luaws_sigv4_mode {
  LUAWS_SIGV4_HEADER = 0, /* Authorization header */
  LUAWS_SIGV4_QUERY = 1,  /* presigned URL: X-Amz-* query parameters, X-Amz-Expires */
};

/* Flags for luaws_sigv4_request.flags. */
#define LUAWS_SIGV4_NORMALIZE_PATH 0x1u     /* drop "." and ".." segments, merge "//" */
#define LUAWS_SIGV4_DOUBLE_ENCODE 0x2u      /* encode the (already encoded) path again; off for S3 */
#define LUAWS_SIGV4_SIGN_BODY 0x4u          /* add and sign x-amz-content-sha256 (header mode) */
#define LUAWS_SIGV4_OMIT_SESSION_TOKEN 0x8u /* add the token after signing, unsigned */

/* The literal payload hash S3 accepts for unsigned bodies. */
#define LUAWS_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

/* Longest secret key, region and service kept in the signing-key cache; longer ones still
 * sign correctly but bypass the cache. */
#define LUAWS_SIGV4_CACHE_SECRET_MAX 128
#define LUAWS_SIGV4_CACHE_SCOPE_MAX 96
#define LUAWS_SIGV4_CACHE_SLOTS 8

typedef struct luaws_sigv4_header {
  const char *name;
  size_t name_len;
  const char *value; /* as it will be sent; may hold folded lines and untrimmed spaces */
  size_t value_len;
} luaws_sigv4_header;

typedef struct luaws_sigv4_request {
  const char *method;        /* used as given, e.g. "GET" */
  const char *path;          /* as it goes on the wire (percent-encoded), before any '?' */
  size_t path_len;
  const char *query;         /* raw query without '?', may be NULL or empty */
  size_t query_len;
  const char *host;          /* signed as `host` unless headers hold a Host; may be NULL then */
  size_t host_len;
  const luaws_sigv4_header *headers;
  size_t header_count;
  const char *payload;       /* body bytes; hashed unless payload_hash or the header gives one */
  size_t payload_len;
  const char *payload_hash;  /* NULL, or hex sha256 / "UNSIGNED-PAYLOAD" used as given */
  const char *access_key;
  const char *secret_key;
  const char *session_token; /* NULL or "" when there is none */
  const char *region;
  const char *service;
  const char *amz_date;      /* "YYYYMMDDTHHMMSSZ" (UTC) */
  int mode;                  /* enum luaws_sigv4_mode */
  long expires;              /* seconds, query mode only: 1 .. 604800 */
  unsigned flags;            /* LUAWS_SIGV4_* flags */
} luaws_sigv4_request;

/* A header the signer adds to the request (X-Amz-Date, X-Amz-Security-Token,
 * x-amz-content-sha256, Authorization), in the order they should be sent. */
typedef struct luaws_sigv4_added_header {
  const char *name;
  const char *value;
  size_t value_len;
} luaws_sigv4_added_header;

typedef struct luaws_sigv4_result {
  const char *canonical_request;
  size_t canonical_request_len;
  const char *string_to_sign;
  size_t string_to_sign_len;
  const char *signed_headers; /* "host;x-amz-date" */
  size_t signed_headers_len;
  const char *payload_hash;   /* last line of the canonical request */
  size_t payload_hash_len;
  char signature[65];         /* lowercase hex, NUL-terminated */
  const char *authorization;  /* header mode; NULL in query mode */
  size_t authorization_len;
  const char *query_params;   /* query mode: "X-Amz-Algorithm=...&X-Amz-Signature=..." to append */
  size_t query_params_len;
  luaws_sigv4_added_header added[4]; /* header mode: headers to add; query mode: none */
  size_t added_count;
} luaws_sigv4_result;

/* What the signer does with one of the caller's headers. */
enum luaws_sigv4_header_role {
  LUAWS_SIGV4_SIGNED = 0,   /* sent and signed */
  LUAWS_SIGV4_UNSIGNED = 1, /* sent but not signed (User-Agent, Expect, ...) */
  LUAWS_SIGV4_REPLACED = 2, /* not sent: the signer adds its own (Authorization, X-Amz-Date, ...) */
};

/* Status codes; luaws_sigv4_error() gives the message for the last failure. */
enum luaws_sigv4_status {
  LUAWS_SIGV4_OK = 0,
  LUAWS_SIGV4_EINVAL = 1,  /* a field of the request is missing or malformed */
  LUAWS_SIGV4_ENOMEM = 2,
  LUAWS_SIGV4_ECRYPTO = 3, /* OpenSSL failed */
};

/* Returns a new signer (OpenSSL digests and MAC fetched once), or NULL when out of memory or
 * when OpenSSL has no SHA-256/HMAC. */
luaws_sigv4_signer *luaws_sigv4_signer_new(void);

/* Wipes the key cache and every buffer (they may hold tokens), then frees. NULL is fine. */
void luaws_sigv4_signer_free(luaws_sigv4_signer *s);

/* Forgets every cached signing key, wiping it. */
void luaws_sigv4_signer_clear_cache(luaws_sigv4_signer *s);

/* Number of signing-key derivations and cache hits since the signer was made (for tests). */
void luaws_sigv4_signer_stats(const luaws_sigv4_signer *s, unsigned long *derived,
                              unsigned long *hits);

/* Message describing the last failure on this signer ("" after success). Never holds secrets. */
const char *luaws_sigv4_error(const luaws_sigv4_signer *s);

/* Stage 1: builds the canonical request into the signer; sets result's canonical_request,
 * signed_headers and payload_hash. Query mode includes the X-Amz-* parameters. */
int luaws_sigv4_canonical_request(luaws_sigv4_signer *s, const luaws_sigv4_request *req,
                                  luaws_sigv4_result *out);

/* Stage 2: builds the string to sign for a canonical request (any bytes); sets
 * out->string_to_sign. */
int luaws_sigv4_string_to_sign(luaws_sigv4_signer *s, const char *amz_date, const char *region,
                               const char *service, const char *canonical_request,
                               size_t canonical_request_len, luaws_sigv4_result *out);

/* Stage 3: hex HMAC of the string to sign under the signing key derived from (secret, date of
 * amz_date, region, service), taken from the cache when it is there. Writes 64 hex + NUL. */
int luaws_sigv4_signature(luaws_sigv4_signer *s, const char *secret_key, const char *amz_date,
                          const char *region, const char *service, const char *string_to_sign,
                          size_t string_to_sign_len, char signature[65]);

/* All stages, then the Authorization header (header mode) or the query parameters to append
 * (query mode) and the headers to add. */
int luaws_sigv4_sign(luaws_sigv4_signer *s, const luaws_sigv4_request *req,
                     luaws_sigv4_result *out);

/* Role of a caller header named `name` (any case) for this request's mode, token and flags. */
enum luaws_sigv4_header_role luaws_sigv4_header_role(const luaws_sigv4_request *req,
                                                     const char *name, size_t name_len);

/* Checks "YYYYMMDDTHHMMSSZ": digits in place and fields in range. */
bool luaws_sigv4_valid_amz_date(const char *amz_date);

/* One-shot helpers for other modules: SHA-256 and HMAC-SHA256 (32-byte outputs), and lowercase
 * hex of n bytes into out (2n chars + NUL). Return false when OpenSSL fails. */
bool luaws_sha256(const void *data, size_t len, unsigned char out[32]);
bool luaws_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                       unsigned char out[32]);
void luaws_hex_encode(const unsigned char *in, size_t n, char *out);

/* The value (0-15) of one hex digit, either case; -1 when c is not one. */
int luaws_hex_value(unsigned char c);

#endif
