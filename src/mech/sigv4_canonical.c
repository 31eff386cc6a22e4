/* sigv4_canonical.c: stage 1 of the signer: the canonical request (headers, URI, query, payload hash). */
#include "sigv4_internal.h"

/* ---- stage 1: canonical request --------------------------------------------------------- */

bool sv4_has_token(const luaws_sigv4_request *req) {
  return req->session_token != NULL && req->session_token[0] != '\0';
}

typedef struct known_header {
  const char *name; /* lowercase */
  size_t len;
} known_header;
#define KNOWN(literal) {literal, sizeof(literal) - 1}

/* Hop-by-hop and SDK-layer headers that proxies rewrite; botocore leaves the same unsigned. */
static const known_header UNSIGNED_HEADERS[] = {
  KNOWN("connection"), KNOWN("expect"), KNOWN("keep-alive"), KNOWN("proxy-authenticate"),
  KNOWN("proxy-authorization"), KNOWN("te"), KNOWN("trailer"), KNOWN("transfer-encoding"),
  KNOWN("upgrade"), KNOWN("user-agent"), KNOWN("x-amzn-trace-id"),
};

static bool is_known(const char *name, size_t len, const known_header *h) {
  return len == h->len && sv4_equals_ci(name, len, h->name);
}

enum luaws_sigv4_header_role luaws_sigv4_header_role(const luaws_sigv4_request *req,
                                                     const char *name, size_t name_len) {
  static const known_header authorization = KNOWN("authorization"), date = KNOWN("x-amz-date"),
                            token = KNOWN("x-amz-security-token"),
                            content = KNOWN("x-amz-content-sha256");
  bool header_mode = req->mode == LUAWS_SIGV4_HEADER;
  if (is_known(name, name_len, &authorization) ||
      (header_mode && is_known(name, name_len, &date)) ||
      (sv4_has_token(req) && is_known(name, name_len, &token)) ||
      (header_mode && (req->flags & LUAWS_SIGV4_SIGN_BODY) && is_known(name, name_len, &content)))
    return LUAWS_SIGV4_REPLACED;
  for (size_t i = 0; i < sizeof UNSIGNED_HEADERS / sizeof UNSIGNED_HEADERS[0]; i++)
    if (is_known(name, name_len, &UNSIGNED_HEADERS[i]))
      return LUAWS_SIGV4_UNSIGNED;
  return LUAWS_SIGV4_SIGNED;
}

static int check_request(luaws_sigv4_signer *s, const luaws_sigv4_request *req) {
  if (req->method == NULL || req->method[0] == '\0')
    return sv4_fail(s, LUAWS_SIGV4_EINVAL, "sigv4: method is required");
  if (req->access_key == NULL || req->access_key[0] == '\0')
    return sv4_fail(s, LUAWS_SIGV4_EINVAL, "sigv4: access_key is required");
  if (req->secret_key == NULL || req->secret_key[0] == '\0')
    return sv4_fail(s, LUAWS_SIGV4_EINVAL, "sigv4: secret_key is required");
  if (req->region == NULL || req->region[0] == '\0')
    return sv4_fail(s, LUAWS_SIGV4_EINVAL, "sigv4: region is required");
  if (req->service == NULL || req->service[0] == '\0')
    return sv4_fail(s, LUAWS_SIGV4_EINVAL, "sigv4: service is required");
  if (!luaws_sigv4_valid_amz_date(req->amz_date))
    return sv4_fail(s, LUAWS_SIGV4_EINVAL, "sigv4: time must be YYYYMMDDTHHMMSSZ (UTC)");
  if (req->path == NULL && req->path_len != 0)
    return sv4_fail(s, LUAWS_SIGV4_EINVAL, "sigv4: path is missing");
  if (req->mode != LUAWS_SIGV4_HEADER && req->mode != LUAWS_SIGV4_QUERY)
    return sv4_fail(s, LUAWS_SIGV4_EINVAL, "sigv4: mode must be header or query");
  if (req->mode == LUAWS_SIGV4_QUERY && (req->expires < 1 || req->expires > 604800))
    return sv4_fail(s, LUAWS_SIGV4_EINVAL, "sigv4: expires must be 1 to 604800 seconds");
  if (req->header_count > 0 && req->headers == NULL)
    return sv4_fail(s, LUAWS_SIGV4_EINVAL, "sigv4: headers are missing");
  return LUAWS_SIGV4_OK;
}

/* Returns an array of at least `need` items (the same or a larger one), NULL when out of
 * memory (the old array is then kept). */
static void *grow_items(void *items, size_t *cap, size_t need, size_t size) {
  if (need <= *cap)
    return items;
  size_t n = *cap ? *cap : 16;
  while (n < need)
    n *= 2;
  void *p = realloc(items, n * size);
  if (p != NULL)
    *cap = n;
  return p;
}

/* Picks the payload hash: the caller's, an x-amz-content-sha256 header's, or sha256(body). */
static int choose_payload_hash(luaws_sigv4_signer *s, const luaws_sigv4_request *req,
                               luaws_sigv4_result *out) {
  if (req->payload_hash != NULL) {
    out->payload_hash = req->payload_hash;
    out->payload_hash_len = strlen(req->payload_hash);
    return LUAWS_SIGV4_OK;
  }
  for (size_t i = 0; i < req->header_count; i++) {
    const luaws_sigv4_header *h = &req->headers[i];
    if (sv4_equals_ci(h->name, h->name_len, "x-amz-content-sha256")) {
      const char *v = h->value;
      size_t n = h->value_len;
      while (n > 0 && sv4_is_space((unsigned char)*v))
        v++, n--;
      while (n > 0 && sv4_is_space((unsigned char)v[n - 1]))
        n--;
      out->payload_hash = v;
      out->payload_hash_len = n;
      return LUAWS_SIGV4_OK;
    }
  }
  if (req->payload_len == 0) {
    out->payload_hash = SV4_EMPTY_SHA256;
    out->payload_hash_len = 64;
    return LUAWS_SIGV4_OK;
  }
  unsigned char digest[32];
  if (req->payload == NULL)
    return sv4_fail(s, LUAWS_SIGV4_EINVAL, "sigv4: payload is missing");
  if (!sv4_signer_sha256(s, req->payload, req->payload_len, digest))
    return sv4_fail(s, LUAWS_SIGV4_ECRYPTO, "sigv4: SHA-256 failed");
  luaws_hex_encode(digest, 32, s->payload_hash);
  out->payload_hash = s->payload_hash;
  out->payload_hash_len = 64;
  return LUAWS_SIGV4_OK;
}

/* Sorts small arrays (a request has a handful of headers and parameters) by insertion, which
 * is stable and allocation-free; large ones go to qsort. */
static void sort_items(void *items, size_t count, size_t size,
                       int (*compare)(const void *, const void *)) {
  unsigned char tmp[64];
  if (count > 24 || size > sizeof tmp) {
    qsort(items, count, size, compare);
    return;
  }
  unsigned char *base = items;
  for (size_t i = 1; i < count; i++) {
    size_t j = i;
    if (compare(base + (j - 1) * size, base + j * size) <= 0)
      continue;
    memcpy(tmp, base + i * size, size);
    while (j > 0 && compare(base + (j - 1) * size, tmp) > 0) {
      memcpy(base + j * size, base + (j - 1) * size, size);
      j--;
    }
    memcpy(base + j * size, tmp, size);
  }
}

static int compare_headers(const void *pa, const void *pb) {
  const header_item *a = pa, *b = pb;
  size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
  int c = memcmp(a->name, b->name, n);
  if (c != 0)
    return c;
  if (a->name_len != b->name_len)
    return a->name_len < b->name_len ? -1 : 1;
  return a->order < b->order ? -1 : (a->order > b->order);
}

/* Builds s->headers_block ("name:value\n" lines) and s->signed_headers. */
static int build_headers(luaws_sigv4_signer *s, const luaws_sigv4_request *req,
                         const luaws_sigv4_result *out) {
  size_t count = 0;
  bool have_host = false;
  bool header_mode = req->mode == LUAWS_SIGV4_HEADER;
  header_item *items = grow_items(s->hitems, &s->hcap, req->header_count + 4, sizeof *items);
  if (items == NULL)
    return sv4_out_of_memory(s);
  s->hitems = items;
  sv4_sbuf_reset(&s->lower);
  for (size_t i = 0; i < req->header_count; i++) {
    const luaws_sigv4_header *h = &req->headers[i];
    if (!sv4_valid_header_name(h->name, h->name_len))
      return sv4_fail(s, LUAWS_SIGV4_EINVAL, "sigv4: headers[%zu] has an invalid name (not an HTTP token)",
                  i + 1);
    if (!sv4_valid_header_value(h->value, h->value_len))
      return sv4_fail(s, LUAWS_SIGV4_EINVAL,
                  "sigv4: headers[%zu] has an invalid value (NUL or an unfolded line break)", i + 1);
    if (luaws_sigv4_header_role(req, h->name, h->name_len) != LUAWS_SIGV4_SIGNED)
      continue;
    header_item *item = &s->hitems[count++];
    item->name_off = s->lower.len;
    item->name_len = h->name_len;
    item->value = h->value ? h->value : "";
    item->value_len = h->value_len;
    item->order = i;
    if (sv4_sbuf_reserve(&s->lower, h->name_len)) {
      for (size_t k = 0; k < h->name_len; k++)
        s->lower.data[s->lower.len++] = (char)sv4_to_lower((unsigned char)h->name[k]);
    }
    if (sv4_equals_ci(h->name, h->name_len, "host"))
      have_host = true;
  }
  if (s->lower.failed)
    return sv4_out_of_memory(s);
  for (size_t i = 0; i < count; i++)
    s->hitems[i].name = s->lower.data + s->hitems[i].name_off;

  size_t order = req->header_count;
#define ADD_ITEM(literal, v, vlen)                                                                 \
  do {                                                                                             \
    header_item *item_ = &s->hitems[count++];                                                      \
    item_->name = (literal);                                                                       \
    item_->name_len = sizeof(literal) - 1;                                                         \
    item_->name_off = SIZE_MAX;                                                                    \
    item_->value = (v);                                                                            \
    item_->value_len = (vlen);                                                                     \
    item_->order = order++;                                                                        \
  } while (0)
  if (!have_host) {
    if (req->host == NULL || req->host_len == 0)
      return sv4_fail(s, LUAWS_SIGV4_EINVAL, "sigv4: host is required (no Host header)");
    ADD_ITEM("host", req->host, req->host_len);
  }
  if (header_mode) {
    ADD_ITEM("x-amz-date", req->amz_date, 16);
    if (sv4_has_token(req) && !(req->flags & LUAWS_SIGV4_OMIT_SESSION_TOKEN))
      ADD_ITEM("x-amz-security-token", req->session_token, strlen(req->session_token));
    if (req->flags & LUAWS_SIGV4_SIGN_BODY)
      ADD_ITEM("x-amz-content-sha256", out->payload_hash, out->payload_hash_len);
  }
#undef ADD_ITEM
  sort_items(s->hitems, count, sizeof(header_item), compare_headers);

  sv4_sbuf_reset(&s->headers_block);
  sv4_sbuf_reset(&s->signed_headers);
  for (size_t i = 0; i < count;) {
    const header_item *first = &s->hitems[i];
    if (i > 0)
      sv4_sbuf_addc(&s->signed_headers, ';');
    sv4_sbuf_add(&s->signed_headers, first->name, first->name_len);
    sv4_sbuf_add(&s->headers_block, first->name, first->name_len);
    sv4_sbuf_addc(&s->headers_block, ':');
    size_t j = i;
    for (; j < count && s->hitems[j].name_len == first->name_len &&
           memcmp(s->hitems[j].name, first->name, first->name_len) == 0;
         j++) {
      if (j > i)
        sv4_sbuf_addc(&s->headers_block, ',');
      sv4_append_header_value(&s->headers_block, s->hitems[j].value, s->hitems[j].value_len);
    }
    sv4_sbuf_addc(&s->headers_block, '\n');
    i = j;
  }
  if (!sv4_sbuf_finish(&s->headers_block) || !sv4_sbuf_finish(&s->signed_headers))
    return sv4_out_of_memory(s);
  return LUAWS_SIGV4_OK;
}

/* Appends the canonical URI of req->path to s->canonical. */
static void append_canonical_path(luaws_sigv4_signer *s, const luaws_sigv4_request *req) {
  const char *path = req->path;
  size_t len = req->path_len;
  if (len == 0) {
    sv4_sbuf_addc(&s->canonical, '/');
    return;
  }
  if (req->flags & LUAWS_SIGV4_NORMALIZE_PATH) {
    /* RFC 3986 remove_dot_segments plus merged slashes, exactly as botocore does it: each kept
     * segment is stored as "/seg" so ".." truncates back to the previous '/'. */
    sbuf *t = &s->path_tmp;
    sv4_sbuf_reset(t);
    size_t start = 0;
    while (start <= len) {
      size_t end = start;
      while (end < len && path[end] != '/')
        end++;
      size_t n = end - start;
      const char *seg = path + start;
      if (n == 2 && seg[0] == '.' && seg[1] == '.') {
        while (t->len > 0 && t->data[--t->len] != '/')
          ;
      } else if (n > 0 && !(n == 1 && seg[0] == '.')) {
        sv4_sbuf_addc(t, '/');
        sv4_sbuf_add(t, seg, n);
      }
      start = end + 1;
    }
    bool any = t->len > 0;
    const char *norm = t->data;
    size_t norm_len = t->len;
    if (path[0] != '/' && any)
      norm++, norm_len--;
    if (!any && path[0] == '/')
      sv4_sbuf_addc(&s->canonical, '/');
    if (s->canonical.failed || t->failed) {
      s->canonical.failed = true;
      return;
    }
    if (req->flags & LUAWS_SIGV4_DOUBLE_ENCODE)
      sv4_uri_encode(&s->canonical, norm, norm_len, true);
    else
      sv4_uri_encode_once(&s->canonical, norm, norm_len);
    if (any && path[len - 1] == '/')
      sv4_sbuf_addc(&s->canonical, '/');
    return;
  }
  if (req->flags & LUAWS_SIGV4_DOUBLE_ENCODE)
    sv4_uri_encode(&s->canonical, path, len, true);
  else
    sv4_uri_encode_once(&s->canonical, path, len);
}

static int compare_query(const void *pa, const void *pb) {
  const query_item *a = pa, *b = pb;
  size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
  int c = memcmp(a->key, b->key, n);
  if (c != 0)
    return c;
  if (a->key_len != b->key_len)
    return a->key_len < b->key_len ? -1 : 1;
  n = a->value_len < b->value_len ? a->value_len : b->value_len;
  c = memcmp(a->value, b->value, n);
  if (c != 0)
    return c;
  return a->value_len < b->value_len ? -1 : (a->value_len > b->value_len);
}

/* Starts a query item whose key and value the caller appends to s->qbuf next. */
static query_item *begin_item(luaws_sigv4_signer *s, size_t *count) {
  query_item *items = grow_items(s->qitems, &s->qcap, *count + 1, sizeof *items);
  if (items == NULL)
    return NULL;
  s->qitems = items;
  query_item *item = &s->qitems[(*count)++];
  item->key_off = s->qbuf.len;
  return item;
}

static void mark_value(luaws_sigv4_signer *s, query_item *item) {
  item->key_len = s->qbuf.len - item->key_off;
  item->value_off = s->qbuf.len;
}

static void end_item(luaws_sigv4_signer *s, query_item *item) {
  item->value_len = s->qbuf.len - item->value_off;
}

/* Appends the canonical query string (the request's parameters decoded and re-encoded, plus
 * the X-Amz-* parameters in query mode, sorted by key then value) to s->canonical. */
static int append_canonical_query(luaws_sigv4_signer *s, const luaws_sigv4_request *req) {
  size_t count = 0;
  sv4_sbuf_reset(&s->qbuf);
  const char *q = req->query;
  size_t qlen = q ? req->query_len : 0;
  for (size_t start = 0; start < qlen;) {
    size_t end = start;
    while (end < qlen && q[end] != '&')
      end++;
    if (end > start) {
      size_t eq = start;
      while (eq < end && q[eq] != '=')
        eq++;
      query_item *item = begin_item(s, &count);
      if (item == NULL)
        return sv4_out_of_memory(s);
      sv4_uri_reencode(&s->qbuf, q + start, eq - start);
      mark_value(s, item);
      if (eq < end)
        sv4_uri_reencode(&s->qbuf, q + eq + 1, end - eq - 1);
      end_item(s, item);
    }
    start = end + 1;
  }
  if (req->mode == LUAWS_SIGV4_QUERY) {
    char expires[24];
    snprintf(expires, sizeof expires, "%ld", req->expires);
    struct {
      const char *key;
      const char *value;
    } fixed[] = {
      {"X-Amz-Algorithm", SV4_ALGORITHM},
      {"X-Amz-Date", req->amz_date},
      {"X-Amz-Expires", expires},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
      query_item *item = begin_item(s, &count);
      if (item == NULL)
        return sv4_out_of_memory(s);
      sv4_sbuf_adds(&s->qbuf, fixed[i].key);
      mark_value(s, item);
      sv4_sbuf_adds(&s->qbuf, fixed[i].value);
      end_item(s, item);
    }
    query_item *item = begin_item(s, &count);
    if (item == NULL)
      return sv4_out_of_memory(s);
    sv4_sbuf_adds(&s->qbuf, "X-Amz-Credential");
    mark_value(s, item);
    sv4_uri_encode(&s->qbuf, req->access_key, strlen(req->access_key), false);
    sv4_sbuf_adds(&s->qbuf, "%2F");
    sv4_uri_encode(&s->qbuf, s->scope.data, s->scope.len, false);
    end_item(s, item);

    if ((item = begin_item(s, &count)) == NULL)
      return sv4_out_of_memory(s);
    sv4_sbuf_adds(&s->qbuf, "X-Amz-SignedHeaders");
    mark_value(s, item);
    sv4_uri_encode(&s->qbuf, s->signed_headers.data, s->signed_headers.len, false);
    end_item(s, item);

    if (sv4_has_token(req) && !(req->flags & LUAWS_SIGV4_OMIT_SESSION_TOKEN)) {
      if ((item = begin_item(s, &count)) == NULL)
        return sv4_out_of_memory(s);
      sv4_sbuf_adds(&s->qbuf, "X-Amz-Security-Token");
      mark_value(s, item);
      sv4_uri_encode(&s->qbuf, req->session_token, strlen(req->session_token), false);
      end_item(s, item);
    }
  }
  if (!sv4_sbuf_finish(&s->qbuf))
    return sv4_out_of_memory(s);
  for (size_t i = 0; i < count; i++) {
    s->qitems[i].key = s->qbuf.data + s->qitems[i].key_off;
    s->qitems[i].value = s->qbuf.data + s->qitems[i].value_off;
  }
  sort_items(s->qitems, count, sizeof(query_item), compare_query);
  for (size_t i = 0; i < count; i++) {
    if (i > 0)
      sv4_sbuf_addc(&s->canonical, '&');
    sv4_sbuf_add(&s->canonical, s->qitems[i].key, s->qitems[i].key_len);
    sv4_sbuf_addc(&s->canonical, '=');
    sv4_sbuf_add(&s->canonical, s->qitems[i].value, s->qitems[i].value_len);
  }
  return LUAWS_SIGV4_OK;
}

/* s->scope = "YYYYMMDD/region/service/aws4_request". */
static int build_scope(luaws_sigv4_signer *s, const char *amz_date, const char *region,
                       const char *service) {
  sv4_sbuf_reset(&s->scope);
  sv4_sbuf_add(&s->scope, amz_date, 8);
  sv4_sbuf_addc(&s->scope, '/');
  sv4_sbuf_adds(&s->scope, region);
  sv4_sbuf_addc(&s->scope, '/');
  sv4_sbuf_adds(&s->scope, service);
  sv4_sbuf_adds(&s->scope, "/aws4_request");
  return sv4_sbuf_finish(&s->scope) ? LUAWS_SIGV4_OK : sv4_out_of_memory(s);
}

int luaws_sigv4_canonical_request(luaws_sigv4_signer *s, const luaws_sigv4_request *req,
                                  luaws_sigv4_result *out) {
  s->error[0] = '\0';
  int rc = check_request(s, req);
  if (rc == LUAWS_SIGV4_OK)
    rc = choose_payload_hash(s, req, out);
  if (rc == LUAWS_SIGV4_OK)
    rc = build_headers(s, req, out);
  if (rc == LUAWS_SIGV4_OK)
    rc = build_scope(s, req->amz_date, req->region, req->service);
  if (rc != LUAWS_SIGV4_OK)
    return rc;
  sbuf *c = &s->canonical;
  sv4_sbuf_reset(c);
  sv4_sbuf_adds(c, req->method);
  sv4_sbuf_addc(c, '\n');
  append_canonical_path(s, req);
  sv4_sbuf_addc(c, '\n');
  if ((rc = append_canonical_query(s, req)) != LUAWS_SIGV4_OK)
    return rc;
  sv4_sbuf_addc(c, '\n');
  sv4_sbuf_add(c, s->headers_block.data, s->headers_block.len);
  sv4_sbuf_addc(c, '\n');
  sv4_sbuf_add(c, s->signed_headers.data, s->signed_headers.len);
  sv4_sbuf_addc(c, '\n');
  sv4_sbuf_add(c, out->payload_hash, out->payload_hash_len);
  if (!sv4_sbuf_finish(c))
    return sv4_out_of_memory(s);
  out->canonical_request = c->data;
  out->canonical_request_len = c->len;
  out->signed_headers = s->signed_headers.data;
  out->signed_headers_len = s->signed_headers.len;
  return LUAWS_SIGV4_OK;
}
