/* sigv4_digest.c: SHA-256 and HMAC over OpenSSL EVP, the signer's lifetime, and stage 3: the
 * signing key (cached per secret, date, region and service) and the signature. */
#include "sigv4_internal.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>

/* ---- OpenSSL ---------------------------------------------------------------------------- */

bool luaws_sha256(const void *data, size_t len, unsigned char out[32]) {
  unsigned int n = 0;
  return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32;
}

bool luaws_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                       unsigned char out[32]) {
  static const unsigned char no_key = 0;
  unsigned int n = 0;
  return HMAC(EVP_sha256(), key_len ? key : &no_key, (int)key_len, data, len, out, &n) != NULL &&
         n == 32;
}

bool sv4_signer_sha256(luaws_sigv4_signer *s, const void *data, size_t len, unsigned char out[32]) {
  unsigned int n = 0;
  return EVP_DigestInit_ex2(s->md, s->sha256, NULL) == 1 &&
         EVP_DigestUpdate(s->md, data, len) == 1 && EVP_DigestFinal_ex(s->md, out, &n) == 1;
}

/* HMAC-SHA256 (RFC 2104) over the signer's reused digest context. OpenSSL 3.0's EVP_MAC_init
 * copies the key into secure memory and sets up three digest contexts on every call, which
 * costs three times the hashing itself for SigV4's short messages; the construction over a
 * fetched EVP_MD is the same HMAC at a third of the cost (checked against HMAC() in tests). */
bool sv4_signer_hmac(luaws_sigv4_signer *s, const unsigned char *key, size_t key_len,
                     const void *data, size_t len, unsigned char out[32]) {
  unsigned char block[64] = {0}, pad[64], inner[32];
  bool ok = true;
  if (key_len > sizeof block)
    ok = sv4_signer_sha256(s, key, key_len, block);
  else
    memcpy(block, key, key_len);
  for (size_t i = 0; i < sizeof pad; i++)
    pad[i] = block[i] ^ 0x36;
  ok = ok && EVP_DigestInit_ex2(s->md, s->sha256, NULL) == 1 &&
       EVP_DigestUpdate(s->md, pad, sizeof pad) == 1 && EVP_DigestUpdate(s->md, data, len) == 1 &&
       EVP_DigestFinal_ex(s->md, inner, NULL) == 1;
  for (size_t i = 0; i < sizeof pad; i++)
    pad[i] = block[i] ^ 0x5c;
  ok = ok && EVP_DigestInit_ex2(s->md, s->sha256, NULL) == 1 &&
       EVP_DigestUpdate(s->md, pad, sizeof pad) == 1 &&
       EVP_DigestUpdate(s->md, inner, sizeof inner) == 1 &&
       EVP_DigestFinal_ex(s->md, out, NULL) == 1;
  OPENSSL_cleanse(block, sizeof block);
  OPENSSL_cleanse(pad, sizeof pad);
  OPENSSL_cleanse(inner, sizeof inner);
  return ok;
}

luaws_sigv4_signer *luaws_sigv4_signer_new(void) {
  luaws_sigv4_signer *s = calloc(1, sizeof *s);
  if (s == NULL)
    return NULL;
  s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  s->md = EVP_MD_CTX_new();
  if (s->sha256 == NULL || s->md == NULL) {
    luaws_sigv4_signer_free(s);
    return NULL;
  }
  return s;
}

void luaws_sigv4_signer_clear_cache(luaws_sigv4_signer *s) {
  OPENSSL_cleanse(s->cache, sizeof s->cache);
}

void luaws_sigv4_signer_free(luaws_sigv4_signer *s) {
  if (s == NULL)
    return;
  luaws_sigv4_signer_clear_cache(s);
  sbuf *buffers[] = {&s->canonical, &s->headers_block, &s->signed_headers, &s->string_to_sign,
                     &s->authorization, &s->query_out, &s->lower, &s->qbuf, &s->path_tmp,
                     &s->scope};
  for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++)
    sv4_sbuf_wipe(buffers[i]);
  free(s->hitems);
  free(s->qitems);
  EVP_MD_CTX_free(s->md);
  EVP_MD_free(s->sha256);
  free(s);
}

void luaws_sigv4_signer_stats(const luaws_sigv4_signer *s, unsigned long *derived,
                              unsigned long *hits) {
  if (derived)
    *derived = s->derived;
  if (hits)
    *hits = s->hits;
}

const char *luaws_sigv4_error(const luaws_sigv4_signer *s) { return s->error; }

/* ---- stage 3: signing key and signature ------------------------------------------------- */

/* Derives kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" secret, date), region), service),
 * "aws4_request") into key. Intermediate keys are wiped. */
static int derive_key(luaws_sigv4_signer *s, const char *secret, size_t secret_len,
                      const char *date, const char *region, const char *service,
                      unsigned char key[32]) {
  unsigned char stack_secret[4 + LUAWS_SIGV4_CACHE_SECRET_MAX];
  unsigned char *k_secret = stack_secret;
  if (secret_len > LUAWS_SIGV4_CACHE_SECRET_MAX) {
    k_secret = OPENSSL_malloc(4 + secret_len);
    if (k_secret == NULL)
      return sv4_out_of_memory(s);
  }
  memcpy(k_secret, "AWS4", 4);
  memcpy(k_secret + 4, secret, secret_len);
  unsigned char k[32];
  bool ok = sv4_signer_hmac(s, k_secret, 4 + secret_len, date, 8, k) &&
            sv4_signer_hmac(s, k, 32, region, strlen(region), k) &&
            sv4_signer_hmac(s, k, 32, service, strlen(service), k) &&
            sv4_signer_hmac(s, k, 32, "aws4_request", 12, key);
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(k_secret, 4 + secret_len);
  if (k_secret != stack_secret)
    OPENSSL_free(k_secret);
  s->derived++;
  return ok ? LUAWS_SIGV4_OK : sv4_fail(s, LUAWS_SIGV4_ECRYPTO, "sigv4: HMAC-SHA256 failed");
}

/* Finds or derives the signing key; the least recently used slot is wiped and reused. */
static int signing_key(luaws_sigv4_signer *s, const char *secret, const char *date,
                       const char *region, const char *service, unsigned char key[32]) {
  size_t secret_len = strlen(secret), region_len = strlen(region),
         service_len = strlen(service);
  size_t scope_len = region_len + 1 + service_len;
  if (secret_len > LUAWS_SIGV4_CACHE_SECRET_MAX || scope_len > LUAWS_SIGV4_CACHE_SCOPE_MAX)
    return derive_key(s, secret, secret_len, date, region, service, key);
  cache_entry *victim = &s->cache[0];
  for (size_t i = 0; i < LUAWS_SIGV4_CACHE_SLOTS; i++) {
    cache_entry *e = &s->cache[i];
    if (e->last_use != 0 && e->secret_len == secret_len && e->scope_len == scope_len &&
        memcmp(e->date, date, 8) == 0 && memcmp(e->secret, secret, secret_len) == 0 &&
        memcmp(e->scope, region, region_len) == 0 && e->scope[region_len] == '\0' &&
        memcmp(e->scope + region_len + 1, service, service_len) == 0) {
      e->last_use = ++s->clock;
      s->hits++;
      memcpy(key, e->key, 32);
      return LUAWS_SIGV4_OK;
    }
    if (e->last_use < victim->last_use)
      victim = e;
  }
  int rc = derive_key(s, secret, secret_len, date, region, service, key);
  if (rc != LUAWS_SIGV4_OK)
    return rc;
  OPENSSL_cleanse(victim, sizeof *victim);
  victim->last_use = ++s->clock;
  victim->secret_len = secret_len;
  victim->scope_len = scope_len;
  memcpy(victim->date, date, 8);
  memcpy(victim->secret, secret, secret_len);
  memcpy(victim->scope, region, region_len);
  victim->scope[region_len] = '\0';
  memcpy(victim->scope + region_len + 1, service, service_len);
  memcpy(victim->key, key, 32);
  return LUAWS_SIGV4_OK;
}

int luaws_sigv4_signature(luaws_sigv4_signer *s, const char *secret_key, const char *amz_date,
                          const char *region, const char *service, const char *string_to_sign,
                          size_t string_to_sign_len, char signature[65]) {
  s->error[0] = '\0';
  if (secret_key == NULL || secret_key[0] == '\0')
    return sv4_fail(s, LUAWS_SIGV4_EINVAL, "sigv4: secret_key is required");
  if (!luaws_sigv4_valid_amz_date(amz_date))
    return sv4_fail(s, LUAWS_SIGV4_EINVAL, "sigv4: time must be YYYYMMDDTHHMMSSZ (UTC)");
  if (region == NULL || service == NULL || string_to_sign == NULL)
    return sv4_fail(s, LUAWS_SIGV4_EINVAL, "sigv4: region, service and string to sign are required");
  unsigned char key[32], mac[32];
  int rc = signing_key(s, secret_key, amz_date, region, service, key);
  if (rc != LUAWS_SIGV4_OK)
    return rc;
  bool ok = sv4_signer_hmac(s, key, 32, string_to_sign, string_to_sign_len, mac);
  OPENSSL_cleanse(key, sizeof key);
  if (!ok)
    return sv4_fail(s, LUAWS_SIGV4_ECRYPTO, "sigv4: HMAC-SHA256 failed");
  luaws_hex_encode(mac, 32, signature);
  return LUAWS_SIGV4_OK;
}
