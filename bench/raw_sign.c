/* raw_sign.c: one SigV4 signature's hashing as bare OpenSSL loops, and luaws's C signer alone.
 * usage: raw_sign CANONICAL_FILE STRING_TO_SIGN_FILE BODY SECONDS   (prints one JSON object)
 * Built by bench/sign_bench.py with `cc -O2 -iquote src bench/raw_sign.c src/sigv4.c
 * -lcrypto`; not part of the CMake build. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "sigv4.h"

static const char SECRET[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

static EVP_MD *sha256;
static EVP_MD_CTX *md;
static EVP_MAC_CTX *mac;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    perror(path);
    exit(2);
  }
  static char buf[1 << 16];
  *len = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  char *out = malloc(*len + 1);
  memcpy(out, buf, *len);
  out[*len] = '\0';
  return out;
}

static void hex(const unsigned char *in, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
}

static void digest(const void *data, size_t len, unsigned char out[32]) {
  EVP_DigestInit_ex2(md, sha256, NULL);
  EVP_DigestUpdate(md, data, len);
  EVP_DigestFinal_ex(md, out, NULL);
}

/* HMAC through OpenSSL's MAC API, the obvious way to write it. */
static void hmac_mac(const unsigned char *key, size_t key_len, const void *data, size_t len,
                     unsigned char out[32]) {
  size_t n;
  EVP_MAC_init(mac, key, key_len, NULL);
  EVP_MAC_update(mac, data, len);
  EVP_MAC_final(mac, out, &n, 32);
}

/* HMAC as RFC 2104 over the reused digest context (what luaws does). */
static void hmac_digest(const unsigned char *key, size_t key_len, const void *data, size_t len,
                        unsigned char out[32]) {
  unsigned char block[64] = {0}, pad[64], inner[32];
  memcpy(block, key, key_len);
  for (int i = 0; i < 64; i++)
    pad[i] = block[i] ^ 0x36;
  EVP_DigestInit_ex2(md, sha256, NULL);
  EVP_DigestUpdate(md, pad, 64);
  EVP_DigestUpdate(md, data, len);
  EVP_DigestFinal_ex(md, inner, NULL);
  for (int i = 0; i < 64; i++)
    pad[i] = block[i] ^ 0x5c;
  EVP_DigestInit_ex2(md, sha256, NULL);
  EVP_DigestUpdate(md, pad, 64);
  EVP_DigestUpdate(md, inner, 32);
  EVP_DigestFinal_ex(md, out, NULL);
}

typedef void (*hmac_fn)(const unsigned char *, size_t, const void *, size_t, unsigned char[32]);

static void derive(hmac_fn hmac, const char *sts, unsigned char key[32]) {
  unsigned char k_secret[4 + sizeof SECRET];
  memcpy(k_secret, "AWS4", 4);
  memcpy(k_secret + 4, SECRET, sizeof SECRET - 1);
  const char *scope = sts + 34; /* "AWS4-HMAC-SHA256\n" + amz_date "\n" */
  const char *region = strchr(scope, '/') + 1;
  const char *service = strchr(region, '/') + 1;
  const char *end = strchr(service, '/');
  hmac(k_secret, 4 + sizeof SECRET - 1, scope, 8, key);
  hmac(key, 32, region, (size_t)(service - region - 1), key);
  hmac(key, 32, service, (size_t)(end - service), key);
  hmac(key, 32, "aws4_request", 12, key);
}

/* One signature: hash the body, hash the canonical request into the string to sign, HMAC it
 * (deriving the signing key first when derive_each is set), hex the result. */
static double run(hmac_fn hmac, int derive_each, const char *canonical, size_t canonical_len,
                  char *sts, size_t sts_len, const char *body, double seconds, char sig[65]) {
  unsigned char d[32], key[32];
  char body_hex[64];
  derive(hmac, sts, key);
  long calls = 0;
  double start = now(), elapsed;
  do {
    for (int i = 0; i < 1000; i++) {
      digest(body, strlen(body), d);
      hex(d, 32, body_hex);
      digest(canonical, canonical_len, d);
      hex(d, 32, sts + sts_len - 64);
      if (derive_each)
        derive(hmac, sts, key);
      hmac(key, 32, sts, sts_len, d);
      hex(d, 32, sig);
    }
    calls += 1000;
    elapsed = now() - start;
  } while (elapsed < seconds);
  sig[64] = '\0';
  return (double)calls / elapsed;
}

/* luaws_sigv4_sign on the same request, no Lua: parsing, canonical form, hashing. */
static double run_c_signer(double seconds, char sig[65]) {
  luaws_sigv4_signer *s = luaws_sigv4_signer_new();
  luaws_sigv4_header headers[] = {
    {"Content-Type", 12, "application/x-amz-json-1.1", 26},
    {"X-Amz-Target", 12, "TrentService.ListKeys", 21},
  };
  luaws_sigv4_request req = {
    .method = "POST", .path = "/", .path_len = 1, .host = "kms.us-east-1.amazonaws.com",
    .host_len = 27, .headers = headers, .header_count = 2, .payload = "{}", .payload_len = 2,
    .access_key = "AKIDEXAMPLE", .secret_key = SECRET, .region = "us-east-1", .service = "kms",
    .amz_date = "20150830T123600Z", .mode = LUAWS_SIGV4_HEADER,
    .flags = LUAWS_SIGV4_NORMALIZE_PATH | LUAWS_SIGV4_DOUBLE_ENCODE,
  };
  luaws_sigv4_result r;
  long calls = 0;
  double start = now(), elapsed;
  do {
    for (int i = 0; i < 1000; i++)
      luaws_sigv4_sign(s, &req, &r);
    calls += 1000;
    elapsed = now() - start;
  } while (elapsed < seconds);
  memcpy(sig, r.signature, 65);
  luaws_sigv4_signer_free(s);
  return (double)calls / elapsed;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: raw_sign CANONICAL_FILE STRING_TO_SIGN_FILE BODY SECONDS\n");
    return 2;
  }
  size_t canonical_len, sts_len;
  char *canonical = slurp(argv[1], &canonical_len);
  char *sts = slurp(argv[2], &sts_len);
  double seconds = atof(argv[4]);
  sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  md = EVP_MD_CTX_new();
  EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  mac = EVP_MAC_CTX_new(hmac);
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
    OSSL_PARAM_construct_end(),
  };
  EVP_MAC_CTX_set_params(mac, params);
  char sig1[65], sig2[65], sig3[65], sig4[65];
  double digest_cached = run(hmac_digest, 0, canonical, canonical_len, sts, sts_len, argv[3],
                             seconds, sig1);
  double mac_cached = run(hmac_mac, 0, canonical, canonical_len, sts, sts_len, argv[3], seconds,
                          sig2);
  double mac_derived = run(hmac_mac, 1, canonical, canonical_len, sts, sts_len, argv[3], seconds,
                           sig3);
  double c_signer = run_c_signer(seconds, sig4);
  printf("{\"digest_hmac_cached_key\": %.0f, \"mac_hmac_cached_key\": %.0f, "
         "\"mac_hmac_derived_key\": %.0f, \"c_signer\": %.0f, \"signature\": \"%s\", "
         "\"same\": %s}\n",
         digest_cached, mac_cached, mac_derived, c_signer, sig1,
         strcmp(sig1, sig2) == 0 && strcmp(sig2, sig3) == 0 && strcmp(sig3, sig4) == 0 ? "true"
                                                                                    : "false");
  return 0;
}
