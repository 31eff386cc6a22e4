/* test_sigv4_suite.c: runs every case of the AWS SigV4 test suite (header and query variants)
 * through each signer stage, byte for byte, and compares the signed requests as sets. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sigv4.h"

#define MAX_HEADERS 32
#define MAX_PARAMS 32

static int passed, failed;

typedef struct text {
  char *data;
  size_t len;
} text;

/* A parsed request.txt: method, target, headers (folded lines kept with their "\n"), body. */
typedef struct http_request {
  char method[16];
  char target[4096];
  luaws_sigv4_header headers[MAX_HEADERS];
  size_t header_count;
  const char *body;
  size_t body_len;
  char storage[8192]; /* header names and values point in here */
} http_request;

typedef struct suite_context {
  char access_key[128], secret_key[128], token[1024], region[64], service[64];
  char amz_date[17];
  long expires;
  bool normalize, sign_body, omit_session_token;
} suite_context;

static bool read_file(const char *dir, const char *name, text *out) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return false;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  out->data = malloc((size_t)n + 1);
  out->len = out->data ? fread(out->data, 1, (size_t)n, f) : 0;
  fclose(f);
  if (out->data == NULL)
    return false;
  out->data[out->len] = '\0';
  return true;
}

/* Finds "key": in a flat JSON text and returns a pointer to its value (NULL when absent). */
static const char *json_value(const char *json, const char *key) {
  char quoted[128];
  snprintf(quoted, sizeof quoted, "\"%s\"", key);
  const char *p = strstr(json, quoted);
  if (p == NULL)
    return NULL;
  p += strlen(quoted);
  while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
    p++;
  if (*p != ':')
    return NULL;
  p++;
  while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
    p++;
  return p;
}

static bool json_string(const char *json, const char *key, char *out, size_t size) {
  const char *p = json_value(json, key);
  if (p == NULL || *p != '"')
    return false;
  size_t n = 0;
  for (p++; *p && *p != '"' && n + 1 < size; p++) {
    if (*p == '\\' && p[1])
      p++;
    out[n++] = *p;
  }
  out[n] = '\0';
  return *p == '"';
}

static bool json_bool(const char *json, const char *key, bool fallback) {
  const char *p = json_value(json, key);
  if (p == NULL)
    return fallback;
  return strncmp(p, "true", 4) == 0;
}

static bool parse_context(const char *json, suite_context *c) {
  char stamp[32];
  memset(c, 0, sizeof *c);
  if (!json_string(json, "access_key_id", c->access_key, sizeof c->access_key) ||
      !json_string(json, "secret_access_key", c->secret_key, sizeof c->secret_key) ||
      !json_string(json, "region", c->region, sizeof c->region) ||
      !json_string(json, "service", c->service, sizeof c->service) ||
      !json_string(json, "timestamp", stamp, sizeof stamp) || strlen(stamp) != 20)
    return false;
  json_string(json, "token", c->token, sizeof c->token);
  const char *e = json_value(json, "expiration_in_seconds");
  c->expires = e ? strtol(e, NULL, 10) : 3600;
  c->normalize = json_bool(json, "normalize", true);
  c->sign_body = json_bool(json, "sign_body", false);
  c->omit_session_token = json_bool(json, "omit_session_token", false);
  /* 2015-08-30T12:36:00Z -> 20150830T123600Z */
  const int from[] = {0, 1, 2, 3, 5, 6, 8, 9, 10, 11, 12, 14, 15, 17, 18, 19};
  for (int i = 0; i < 16; i++)
    c->amz_date[i] = stamp[from[i]];
  c->amz_date[16] = '\0';
  return true;
}

/* Parses the request format the suite README describes. */
static bool parse_request(const text *t, http_request *r) {
  memset(r, 0, sizeof *r);
  const char *p = t->data, *end = t->data + t->len;
  const char *eol = memchr(p, '\n', (size_t)(end - p));
  if (eol == NULL)
    eol = end;
  const char *space = memchr(p, ' ', (size_t)(eol - p));
  const char *proto = eol - 9; /* " HTTP/1.1" */
  if (space == NULL || proto <= space || memcmp(proto, " HTTP/1.1", 9) != 0 ||
      (size_t)(space - p) >= sizeof r->method || (size_t)(proto - space - 1) >= sizeof r->target)
    return false;
  memcpy(r->method, p, (size_t)(space - p));
  memcpy(r->target, space + 1, (size_t)(proto - space - 1));
  p = eol < end ? eol + 1 : end;
  size_t used = 0;
  while (p < end) {
    eol = memchr(p, '\n', (size_t)(end - p));
    const char *line_end = eol ? eol : end;
    size_t n = (size_t)(line_end - p);
    if (n == 0) {
      p = eol ? eol + 1 : end;
      r->body = p;
      r->body_len = (size_t)(end - p);
      return true;
    }
    if ((*p == ' ' || *p == '\t') && r->header_count > 0) {
      /* Continuation: extend the previous value, which is the last thing in storage. */
      luaws_sigv4_header *h = &r->headers[r->header_count - 1];
      if (used + n + 1 >= sizeof r->storage)
        return false;
      r->storage[used++] = '\n';
      memcpy(r->storage + used, p, n);
      used += n;
      h->value_len += n + 1;
    } else {
      const char *colon = memchr(p, ':', n);
      if (colon == NULL || r->header_count == MAX_HEADERS || used + n + 1 >= sizeof r->storage)
        return false;
      luaws_sigv4_header *h = &r->headers[r->header_count++];
      memcpy(r->storage + used, p, n);
      h->name = r->storage + used;
      h->name_len = (size_t)(colon - p);
      h->value = h->name + h->name_len + 1;
      h->value_len = n - h->name_len - 1;
      used += n;
    }
    p = eol ? eol + 1 : end;
  }
  return true;
}

static int compare_strings(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds "lowercase-name:value" to list. */
static void add_header_line(char **list, size_t *n, const char *name, size_t name_len,
                            const char *value, size_t value_len) {
  char *s = malloc(name_len + value_len + 2);
  for (size_t i = 0; i < name_len; i++)
    s[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
  s[name_len] = ':';
  memcpy(s + name_len + 1, value, value_len);
  s[name_len + 1 + value_len] = '\0';
  list[(*n)++] = s;
}

/* Splits a query on '&' into list (copies). */
static void add_params(char **list, size_t *n, const char *query) {
  while (query && *query && *n < MAX_PARAMS * 2) {
    size_t len = strcspn(query, "&");
    list[(*n)++] = strndup(query, len);
    query += len + (query[len] == '&');
  }
}

/* Compares two lists as multisets; prints the first difference. Frees both. */
static bool same_set(const char *what, char **a, size_t na, char **b, size_t nb) {
  qsort(a, na, sizeof *a, compare_strings);
  qsort(b, nb, sizeof *b, compare_strings);
  bool same = na == nb;
  for (size_t i = 0; same && i < na; i++)
    if (strcmp(a[i], b[i]) != 0) {
      printf("    %s differ: expected %s, got %s\n", what, a[i], b[i]);
      same = false;
    }
  if (na != nb)
    printf("    %s: expected %zu entries, got %zu\n", what, na, nb);
  for (size_t i = 0; i < na; i++)
    free(a[i]);
  for (size_t i = 0; i < nb; i++)
    free(b[i]);
  return same;
}

static bool same_text(const char *stage, const text *expected, const char *got, size_t got_len) {
  if (expected->len == got_len && memcmp(expected->data, got, got_len) == 0)
    return true;
  printf("    %s differs\n    expected: [%s]\n    got:      [%.*s]\n", stage, expected->data,
         (int)got_len, got);
  return false;
}

/* Runs one variant ("header" or "query") of one case. */
static bool run_variant(luaws_sigv4_signer *signer, const char *dir, const suite_context *c,
                        const http_request *req_txt, int mode) {
  const char *prefix = mode == LUAWS_SIGV4_QUERY ? "query" : "header";
  char name[64];
  text creq = {0}, sts = {0}, sig = {0}, signed_txt = {0};
  bool ok = true;
  snprintf(name, sizeof name, "%s-canonical-request.txt", prefix);
  ok &= read_file(dir, name, &creq);
  snprintf(name, sizeof name, "%s-string-to-sign.txt", prefix);
  ok &= read_file(dir, name, &sts);
  snprintf(name, sizeof name, "%s-signature.txt", prefix);
  ok &= read_file(dir, name, &sig);
  snprintf(name, sizeof name, "%s-signed-request.txt", prefix);
  ok &= read_file(dir, name, &signed_txt);
  if (!ok) {
    printf("    missing %s files\n", prefix);
    goto done;
  }

  const char *target = req_txt->target;
  const char *q = strchr(target, '?');
  luaws_sigv4_request req = {
    .method = req_txt->method,
    .path = target,
    .path_len = q ? (size_t)(q - target) : strlen(target),
    .query = q ? q + 1 : NULL,
    .query_len = q ? strlen(q + 1) : 0,
    .headers = req_txt->headers,
    .header_count = req_txt->header_count,
    .payload = req_txt->body,
    .payload_len = req_txt->body_len,
    .access_key = c->access_key,
    .secret_key = c->secret_key,
    .session_token = c->token[0] ? c->token : NULL,
    .region = c->region,
    .service = c->service,
    .amz_date = c->amz_date,
    .mode = mode,
    .expires = c->expires,
    .flags = LUAWS_SIGV4_DOUBLE_ENCODE | (c->normalize ? LUAWS_SIGV4_NORMALIZE_PATH : 0) |
             (c->sign_body ? LUAWS_SIGV4_SIGN_BODY : 0) |
             (c->omit_session_token ? LUAWS_SIGV4_OMIT_SESSION_TOKEN : 0),
  };

  /* Each stage on its own, fed the expected output of the stage before. */
  luaws_sigv4_result stage = {0};
  char signature[65];
  ok &= luaws_sigv4_canonical_request(signer, &req, &stage) == LUAWS_SIGV4_OK &&
        same_text("stage 1 canonical request", &creq, stage.canonical_request,
                  stage.canonical_request_len);
  ok &= luaws_sigv4_string_to_sign(signer, c->amz_date, c->region, c->service, creq.data,
                                   creq.len, &stage) == LUAWS_SIGV4_OK &&
        same_text("stage 2 string to sign", &sts, stage.string_to_sign,
                  stage.string_to_sign_len);
  ok &= luaws_sigv4_signature(signer, c->secret_key, c->amz_date, c->region, c->service,
                              sts.data, sts.len, signature) == LUAWS_SIGV4_OK &&
        same_text("stage 3 signature", &sig, signature, 64);

  /* All stages together, then the request as it would be sent. */
  luaws_sigv4_result r;
  if (luaws_sigv4_sign(signer, &req, &r) != LUAWS_SIGV4_OK) {
    printf("    sign failed: %s\n", luaws_sigv4_error(signer));
    ok = false;
    goto done;
  }
  ok &= same_text("canonical request", &creq, r.canonical_request, r.canonical_request_len);
  ok &= same_text("string to sign", &sts, r.string_to_sign, r.string_to_sign_len);
  ok &= same_text("signature", &sig, r.signature, 64);

  http_request expected_req;
  if (!parse_request(&signed_txt, &expected_req)) {
    printf("    cannot parse %s-signed-request.txt\n", prefix);
    ok = false;
    goto done;
  }
  char *want[MAX_HEADERS * 2], *got[MAX_HEADERS * 2];
  size_t nwant = 0, ngot = 0;
  for (size_t i = 0; i < expected_req.header_count; i++)
    add_header_line(want, &nwant, expected_req.headers[i].name, expected_req.headers[i].name_len,
                    expected_req.headers[i].value, expected_req.headers[i].value_len);
  for (size_t i = 0; i < req.header_count; i++)
    if (luaws_sigv4_header_role(&req, req.headers[i].name, req.headers[i].name_len) !=
        LUAWS_SIGV4_REPLACED)
      add_header_line(got, &ngot, req.headers[i].name, req.headers[i].name_len,
                      req.headers[i].value, req.headers[i].value_len);
  for (size_t i = 0; i < r.added_count; i++)
    add_header_line(got, &ngot, r.added[i].name, strlen(r.added[i].name), r.added[i].value,
                    r.added[i].value_len);
  ok &= same_set("signed request headers", want, nwant, got, ngot);

  /* The request target: same path, query parameters compared as a set. */
  const char *eq = strchr(expected_req.target, '?');
  size_t want_path = eq ? (size_t)(eq - expected_req.target) : strlen(expected_req.target);
  if (want_path != req.path_len || memcmp(expected_req.target, req.path, want_path) != 0) {
    printf("    signed request path differs: %s\n", expected_req.target);
    ok = false;
  }
  nwant = ngot = 0;
  add_params(want, &nwant, eq ? eq + 1 : NULL);
  add_params(got, &ngot, req.query);
  add_params(got, &ngot, r.query_params);
  ok &= same_set("signed request query parameters", want, nwant, got, ngot);
  if (mode == LUAWS_SIGV4_QUERY && r.authorization != NULL) {
    printf("    query signing produced an Authorization header\n");
    ok = false;
  }

done:
  free(creq.data);
  free(sts.data);
  free(sig.data);
  free(signed_txt.data);
  return ok;
}

static void check(bool ok, const char *what) {
  if (ok) {
    passed++;
  } else {
    failed++;
    printf("FAIL %s\n", what);
  }
}

/* Checks outside the suite: S3-style single encoding, errors, cache reuse. */
static void run_unit_checks(luaws_sigv4_signer *s) {
  luaws_sigv4_header host = {"Host", 4, "examplebucket.s3.amazonaws.com", 30};
  luaws_sigv4_request req = {
    .method = "GET", .path = "/a%2fb/c d/./x", .path_len = 14, .headers = &host,
    .header_count = 1, .payload_hash = LUAWS_SIGV4_UNSIGNED_PAYLOAD, .access_key = "AKID",
    .secret_key = "secret", .region = "us-east-1", .service = "s3",
    .amz_date = "20130524T000000Z", .mode = LUAWS_SIGV4_HEADER, .flags = 0,
  };
  luaws_sigv4_result r;
  check(luaws_sigv4_canonical_request(s, &req, &r) == LUAWS_SIGV4_OK &&
          strncmp(r.canonical_request, "GET\n/a%2Fb/c%20d/./x\n\n", 22) == 0,
        "unit: single encoding keeps escapes, encodes the rest, no normalisation");
  req.flags = LUAWS_SIGV4_DOUBLE_ENCODE | LUAWS_SIGV4_NORMALIZE_PATH;
  check(luaws_sigv4_canonical_request(s, &req, &r) == LUAWS_SIGV4_OK &&
          strncmp(r.canonical_request, "GET\n/a%252fb/c%20d/x\n\n", 22) == 0,
        "unit: double encoding encodes '%' again after normalising");
  check(luaws_sigv4_canonical_request(s, &req, &r) == LUAWS_SIGV4_OK &&
          strcmp(r.canonical_request + r.canonical_request_len - 16, "UNSIGNED-PAYLOAD") == 0,
        "unit: UNSIGNED-PAYLOAD is the last line");

  req.amz_date = "20130524T250000Z";
  check(luaws_sigv4_sign(s, &req, &r) == LUAWS_SIGV4_EINVAL &&
          strstr(luaws_sigv4_error(s), "time") != NULL,
        "unit: a bad time is refused, naming time");
  req.amz_date = "20130524T000000Z";
  req.region = "";
  check(luaws_sigv4_sign(s, &req, &r) == LUAWS_SIGV4_EINVAL &&
          strstr(luaws_sigv4_error(s), "region") != NULL,
        "unit: a missing region is refused, naming region");
  req.region = "us-east-1";

  /* Interleave two dates and two regions: each signature must match a cold signer's. */
  luaws_sigv4_signer *cold = luaws_sigv4_signer_new();
  unsigned long derived_before, hits_before, derived_after, hits_after;
  luaws_sigv4_signer_stats(s, &derived_before, &hits_before);
  const char *dates[] = {"20130524T000000Z", "20130525T000000Z"};
  const char *regions[] = {"us-east-1", "eu-west-1"};
  bool all_same = cold != NULL;
  for (int round = 0; round < 3 && all_same; round++)
    for (int i = 0; i < 4 && all_same; i++) {
      req.amz_date = dates[i & 1];
      req.region = regions[i >> 1];
      char warm_sig[65];
      all_same = luaws_sigv4_sign(s, &req, &r) == LUAWS_SIGV4_OK;
      memcpy(warm_sig, r.signature, 65);
      luaws_sigv4_signer_clear_cache(cold);
      all_same = all_same && luaws_sigv4_sign(cold, &req, &r) == LUAWS_SIGV4_OK &&
                 strcmp(warm_sig, r.signature) == 0;
    }
  luaws_sigv4_signer_stats(s, &derived_after, &hits_after);
  check(all_same, "unit: cached signing keys give the same signatures as fresh ones");
  check(derived_after - derived_before <= 4 && hits_after - hits_before >= 8,
        "unit: four scopes are derived once each, then hit");
  luaws_sigv4_signer_free(cold);

  /* Secrets longer than an HMAC block (the key is hashed first) and than the cache holds. */
  for (size_t secret_len = 1; secret_len <= 200; secret_len += 13) {
    char secret[256], k_secret[260];
    for (size_t i = 0; i < secret_len; i++)
      secret[i] = (char)('A' + i % 26);
    secret[secret_len] = '\0';
    memcpy(k_secret, "AWS4", 4);
    memcpy(k_secret + 4, secret, secret_len);
    unsigned char key[32];
    static const char sts[] = "AWS4-HMAC-SHA256\n20130524T000000Z\n"
                              "20130524/us-east-1/s3/aws4_request\nabc";
    bool ok = luaws_hmac_sha256(k_secret, 4 + secret_len, "20130524", 8, key) &&
              luaws_hmac_sha256(key, 32, "us-east-1", 9, key) &&
              luaws_hmac_sha256(key, 32, "s3", 2, key) &&
              luaws_hmac_sha256(key, 32, "aws4_request", 12, key) &&
              luaws_hmac_sha256(key, 32, sts, sizeof sts - 1, key);
    char expected[65], got[65];
    luaws_hex_encode(key, 32, expected);
    ok = ok && luaws_sigv4_signature(s, secret, "20130524T000000Z", "us-east-1", "s3", sts,
                                     sizeof sts - 1, got) == LUAWS_SIGV4_OK &&
         strcmp(expected, got) == 0;
    char what[80];
    snprintf(what, sizeof what, "unit: %zu-byte secret signs like OpenSSL's HMAC()", secret_len);
    check(ok, what);
  }
}

int main(void) {
  luaws_sigv4_signer *signer = luaws_sigv4_signer_new();
  if (signer == NULL) {
    printf("cannot create a signer\n");
    return 1;
  }
  run_unit_checks(signer);

  const char *suite = getenv("SIGV4_SUITE_DIR");
  struct stat st;
  if (suite == NULL || stat(suite, &st) != 0 || !S_ISDIR(st.st_mode)) {
    printf("skip: SigV4 suite folder not found (SIGV4_SUITE_DIR=%s)\n", suite ? suite : "");
    printf("%d passed, %d failed, 76 skipped\n", passed, failed);
    luaws_sigv4_signer_free(signer);
    return failed ? 1 : 0;
  }
  struct dirent **cases;
  int ncases = scandir(suite, &cases, NULL, alphasort);
  int suite_variants = 0;
  for (int i = 0; i < ncases; i++) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", suite, cases[i]->d_name);
    text ctx_txt = {0}, req_txt = {0};
    if (cases[i]->d_name[0] == '.' || !read_file(dir, "context.json", &ctx_txt)) {
      free(cases[i]);
      continue;
    }
    suite_context ctx;
    http_request req;
    bool parsed = parse_context(ctx_txt.data, &ctx) && read_file(dir, "request.txt", &req_txt) &&
                  parse_request(&req_txt, &req);
    for (int mode = LUAWS_SIGV4_HEADER; mode <= LUAWS_SIGV4_QUERY; mode++) {
      char what[300];
      snprintf(what, sizeof what, "%s (%s)", cases[i]->d_name,
               mode == LUAWS_SIGV4_QUERY ? "query" : "header");
      bool ok = parsed && run_variant(signer, dir, &ctx, &req, mode);
      if (!parsed)
        printf("    cannot parse context.json or request.txt\n");
      check(ok, what);
      suite_variants++;
    }
    free(ctx_txt.data);
    free(req_txt.data);
    free(cases[i]);
  }
  free(cases);
  luaws_sigv4_signer_free(signer);
  printf("suite: %d variants\n", suite_variants);
  printf("%d passed, %d failed\n", passed, failed);
  return (failed == 0 && suite_variants == 76) ? 0 : 1;
}
