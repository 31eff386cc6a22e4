/* fuzz_sigv4.c: libFuzzer target for the SigV4 canonicaliser (src/sigv4.c) and sign's URL parsing. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_driver.h"
#include "sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEADERS 64

static const char SECRET[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
static const char TOKEN[] = "FuzzSessionTokenValue0123456789";
static const char AMZ_DATE[] = "20150830T123600Z";

static void finding(const char *what, const luaws_sigv4_signer *s) {
  fprintf(stderr, "FUZZ ORACLE: sigv4: %s (%s)\n", what, s ? luaws_sigv4_error(s) : "");
  abort();
}

/* A request decoded from fuzz bytes. Byte 0 holds switches; then lines: method, path, query,
 * host, header lines "name:value" (a line starting with a space or tab continues the previous
 * value, folded) up to an empty line; the rest is the body. */
typedef struct fuzz_request {
  luaws_sigv4_request req;
  luaws_sigv4_header headers[MAX_HEADERS];
  char *copy; /* NUL-terminated copy of the input the fields point into */
} fuzz_request;

/* Cuts the next line out of [*p, end): NUL-terminates it in place. Returns its start. */
static char *next_line(char **p, char *end, size_t *len) {
  char *start = *p;
  char *nl = memchr(start, '\n', (size_t)(end - start));
  char *stop = nl ? nl : end;
  *len = (size_t)(stop - start);
  *stop = '\0';
  *p = nl ? nl + 1 : end;
  return start;
}

static void decode_request(fuzz_request *f, const uint8_t *data, size_t size) {
  memset(&f->req, 0, sizeof f->req);
  unsigned flags = size ? data[0] : 0;
  f->copy = malloc(size + 1);
  if (f->copy == NULL)
    abort();
  if (size > 1)
    memcpy(f->copy, data + 1, size - 1);
  char *p = f->copy, *end = f->copy + (size ? size - 1 : 0);
  *end = '\0';
  luaws_sigv4_request *r = &f->req;
  size_t len;
  r->method = next_line(&p, end, &len);
  r->path = next_line(&p, end, &r->path_len);
  r->query = next_line(&p, end, &r->query_len);
  r->host = next_line(&p, end, &r->host_len);
  while (p < end) {
    /* Folded continuation: a line starting with SP/HT joins the previous value. */
    if ((*p == ' ' || *p == '\t') && r->header_count > 0) {
      char *line = next_line(&p, end, &len);
      luaws_sigv4_header *h = &f->headers[r->header_count - 1];
      line[-1] = '\n'; /* restore the newline so the value spans both lines */
      h->value_len = (size_t)(line + len - h->value);
      continue;
    }
    char *line = next_line(&p, end, &len);
    if (len == 0)
      break;
    if (r->header_count == MAX_HEADERS)
      continue;
    luaws_sigv4_header *h = &f->headers[r->header_count++];
    char *colon = memchr(line, ':', len);
    h->name = line;
    h->name_len = colon ? (size_t)(colon - line) : len;
    h->value = colon ? colon + 1 : line + len;
    h->value_len = colon ? len - h->name_len - 1 : 0;
  }
  r->headers = f->headers;
  r->payload = p;
  r->payload_len = (size_t)(end - p);
  r->access_key = "AKIDEXAMPLE";
  r->secret_key = SECRET;
  r->session_token = (flags & 0x20) ? TOKEN : NULL;
  r->region = "us-east-1";
  r->service = (flags & 0x80) ? "s3" : "kms";
  r->amz_date = AMZ_DATE;
  r->mode = (flags & 0x01) ? LUAWS_SIGV4_QUERY : LUAWS_SIGV4_HEADER;
  r->expires = 3600;
  r->flags = ((flags & 0x02) ? LUAWS_SIGV4_NORMALIZE_PATH : 0) |
             ((flags & 0x04) ? LUAWS_SIGV4_DOUBLE_ENCODE : 0) |
             ((flags & 0x08) ? LUAWS_SIGV4_SIGN_BODY : 0) |
             ((flags & 0x10) ? LUAWS_SIGV4_OMIT_SESSION_TOKEN : 0);
  r->payload_hash = (flags & 0x40) ? LUAWS_SIGV4_UNSIGNED_PAYLOAD : NULL;
}

/* Whether hay[0..n) holds needle (memmem is a GNU extension). */
static bool contains(const char *hay, size_t n, const char *needle) {
  size_t k = strlen(needle);
  if (hay == NULL || k > n)
    return false;
  for (size_t i = 0; i + k <= n; i++)
    if (hay[i] == needle[0] && memcmp(hay + i, needle, k) == 0)
      return true;
  return false;
}

/* Invariants of a successful signature. */
static void check_result(const luaws_sigv4_request *req, const luaws_sigv4_result *r,
                         const luaws_sigv4_signer *s, bool input_has_secret) {
  size_t mlen = strlen(req->method);
  if (r->canonical_request_len < mlen + 1 || memcmp(r->canonical_request, req->method, mlen) != 0 ||
      r->canonical_request[mlen] != '\n')
    finding("canonical request does not start with the method line", s);
  if (r->canonical_request_len < r->payload_hash_len ||
      memcmp(r->canonical_request + r->canonical_request_len - r->payload_hash_len,
             r->payload_hash, r->payload_hash_len) != 0)
    finding("canonical request does not end with the payload hash", s);
  /* A name holding ';' (not an HTTP token, but the signer takes it) makes the list ambiguous;
   * the order check only applies without one. */
  bool ambiguous = false;
  for (size_t i = 0; i < req->header_count; i++)
    ambiguous = ambiguous || memchr(req->headers[i].name, ';', req->headers[i].name_len) != NULL;
  const char *prev = NULL;
  size_t prev_len = 0;
  for (size_t i = 0, start = 0; i <= r->signed_headers_len; i++) {
    if (i < r->signed_headers_len && r->signed_headers[i] != ';') {
      if (r->signed_headers[i] >= 'A' && r->signed_headers[i] <= 'Z')
        finding("signed header names are not lowercase", s);
      continue;
    }
    const char *name = r->signed_headers + start;
    size_t n = i - start;
    if (prev != NULL && !ambiguous) {
      int c = memcmp(prev, name, prev_len < n ? prev_len : n);
      if (c > 0 || (c == 0 && prev_len > n))
        finding("signed headers are not sorted", s);
    }
    prev = name, prev_len = n, start = i + 1;
  }
  /* The input itself may spell the secret; only a secret the input did not bring is a leak. */
  if (!input_has_secret && (contains(r->canonical_request, r->canonical_request_len, SECRET) ||
      contains(r->string_to_sign, r->string_to_sign_len, SECRET) ||
      contains(r->authorization, r->authorization_len, SECRET) ||
      contains(r->query_params, r->query_params_len, SECRET)))
    finding("the secret key leaked into the output", s);
  for (int i = 0; i < 64; i++)
    if (!((r->signature[i] >= '0' && r->signature[i] <= '9') ||
          (r->signature[i] >= 'a' && r->signature[i] <= 'f')))
      finding("signature is not lowercase hex", s);
  if (req->mode == LUAWS_SIGV4_HEADER) {
    if (!contains(r->authorization, r->authorization_len, r->signature))
      finding("authorization does not carry the signature", s);
  } else if (!contains(r->query_params, r->query_params_len, r->signature)) {
    finding("query parameters do not carry the signature", s);
  }
}

/* Canonical request alone, then the full signature three ways (fresh key, cached key, second
 * signer): they must agree. Then the same bytes through luaws.sigv4.sign's URL parser. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static luaws_sigv4_signer *signer, *other;
  if (signer == NULL) {
    signer = luaws_sigv4_signer_new();
    other = luaws_sigv4_signer_new();
    if (signer == NULL || other == NULL)
      abort();
  }
  fuzz_request f;
  decode_request(&f, data, size);
  luaws_sigv4_result result, again;
  int rc = luaws_sigv4_canonical_request(signer, &f.req, &result);
  if (rc != LUAWS_SIGV4_OK && rc != LUAWS_SIGV4_EINVAL)
    finding("canonical_request failed other than EINVAL", signer);
  if (rc == LUAWS_SIGV4_OK && luaws_sigv4_error(signer)[0] != '\0')
    finding("success left an error message", signer);

  int signed_rc = luaws_sigv4_sign(signer, &f.req, &result);
  if (signed_rc != rc)
    finding("sign and canonical_request disagree on validity", signer);
  if (signed_rc == LUAWS_SIGV4_OK) {
    check_result(&f.req, &result, signer, contains((const char *)data, size, SECRET));
    char first[65];
    memcpy(first, result.signature, sizeof first);
    if (luaws_sigv4_sign(signer, &f.req, &again) != LUAWS_SIGV4_OK ||
        memcmp(first, again.signature, sizeof first) != 0)
      finding("the cached signing key gave another signature", signer);
    luaws_sigv4_signer_clear_cache(other);
    if (luaws_sigv4_sign(other, &f.req, &again) != LUAWS_SIGV4_OK ||
        memcmp(first, again.signature, sizeof first) != 0)
      finding("a second signer gave another signature", other);
  }
  free(f.copy);

  fuzz_lua_run(fuzz_lua_state("sigv4"), data, size);
  return 0;
}
