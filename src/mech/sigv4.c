/* sigv4.c: AWS Signature Version 4 signer, staged like aws-c-auth (no Lua): stage 2 (string to
 * sign) and all stages together; stage 1 is sigv4_canonical.c, stage 3 sigv4_digest.c. */
#include "sigv4_internal.h"

/* ---- stage 2: string to sign ------------------------------------------------------------ */

int luaws_sigv4_string_to_sign(luaws_sigv4_signer *s, const char *amz_date, const char *region,
                               const char *service, const char *canonical_request,
                               size_t canonical_request_len, luaws_sigv4_result *out) {
  s->error[0] = '\0';
  if (!luaws_sigv4_valid_amz_date(amz_date))
    return sv4_fail(s, LUAWS_SIGV4_EINVAL, "sigv4: time must be YYYYMMDDTHHMMSSZ (UTC)");
  if (region == NULL || service == NULL || canonical_request == NULL)
    return sv4_fail(s, LUAWS_SIGV4_EINVAL, "sigv4: region, service and canonical request are required");
  unsigned char digest[32];
  char hex[65];
  if (!sv4_signer_sha256(s, canonical_request, canonical_request_len, digest))
    return sv4_fail(s, LUAWS_SIGV4_ECRYPTO, "sigv4: SHA-256 failed");
  luaws_hex_encode(digest, 32, hex);
  sbuf *b = &s->string_to_sign;
  sv4_sbuf_reset(b);
  sv4_sbuf_add(b, SV4_ALGORITHM, sizeof SV4_ALGORITHM - 1);
  sv4_sbuf_addc(b, '\n');
  sv4_sbuf_add(b, amz_date, 16);
  sv4_sbuf_addc(b, '\n');
  sv4_sbuf_add(b, amz_date, 8);
  sv4_sbuf_addc(b, '/');
  sv4_sbuf_adds(b, region);
  sv4_sbuf_addc(b, '/');
  sv4_sbuf_adds(b, service);
  sv4_sbuf_adds(b, "/aws4_request\n");
  sv4_sbuf_add(b, hex, 64);
  if (!sv4_sbuf_finish(b))
    return sv4_out_of_memory(s);
  out->string_to_sign = b->data;
  out->string_to_sign_len = b->len;
  return LUAWS_SIGV4_OK;
}

/* ---- all stages ------------------------------------------------------------------------- */

int luaws_sigv4_sign(luaws_sigv4_signer *s, const luaws_sigv4_request *req,
                     luaws_sigv4_result *out) {
  memset(out, 0, sizeof *out);
  int rc = luaws_sigv4_canonical_request(s, req, out);
  if (rc == LUAWS_SIGV4_OK)
    rc = luaws_sigv4_string_to_sign(s, req->amz_date, req->region, req->service,
                                    out->canonical_request, out->canonical_request_len, out);
  if (rc == LUAWS_SIGV4_OK)
    rc = luaws_sigv4_signature(s, req->secret_key, req->amz_date, req->region, req->service,
                               out->string_to_sign, out->string_to_sign_len, out->signature);
  if (rc != LUAWS_SIGV4_OK)
    return rc;

  if (req->mode == LUAWS_SIGV4_QUERY) {
    sbuf *q = &s->query_out;
    sv4_sbuf_reset(q);
    sv4_sbuf_adds(q, "X-Amz-Algorithm=");
    sv4_sbuf_adds(q, SV4_ALGORITHM);
    sv4_sbuf_adds(q, "&X-Amz-Credential=");
    sv4_uri_encode(q, req->access_key, strlen(req->access_key), false);
    sv4_sbuf_adds(q, "%2F");
    sv4_uri_encode(q, s->scope.data, s->scope.len, false);
    sv4_sbuf_adds(q, "&X-Amz-Date=");
    sv4_sbuf_add(q, req->amz_date, 16);
    char expires[24];
    snprintf(expires, sizeof expires, "&X-Amz-Expires=%ld", req->expires);
    sv4_sbuf_adds(q, expires);
    sv4_sbuf_adds(q, "&X-Amz-SignedHeaders=");
    sv4_uri_encode(q, s->signed_headers.data, s->signed_headers.len, false);
    if (sv4_has_token(req)) {
      sv4_sbuf_adds(q, "&X-Amz-Security-Token=");
      sv4_uri_encode(q, req->session_token, strlen(req->session_token), false);
    }
    sv4_sbuf_adds(q, "&X-Amz-Signature=");
    sv4_sbuf_add(q, out->signature, 64);
    if (!sv4_sbuf_finish(q))
      return sv4_out_of_memory(s);
    out->query_params = q->data;
    out->query_params_len = q->len;
    return LUAWS_SIGV4_OK;
  }

  sbuf *a = &s->authorization;
  sv4_sbuf_reset(a);
  sv4_sbuf_adds(a, SV4_ALGORITHM);
  sv4_sbuf_adds(a, " Credential=");
  sv4_sbuf_adds(a, req->access_key);
  sv4_sbuf_addc(a, '/');
  sv4_sbuf_add(a, s->scope.data, s->scope.len);
  sv4_sbuf_adds(a, ", SignedHeaders=");
  sv4_sbuf_add(a, s->signed_headers.data, s->signed_headers.len);
  sv4_sbuf_adds(a, ", Signature=");
  sv4_sbuf_add(a, out->signature, 64);
  if (!sv4_sbuf_finish(a))
    return sv4_out_of_memory(s);
  out->authorization = a->data;
  out->authorization_len = a->len;

  size_t n = 0;
  out->added[n++] = (luaws_sigv4_added_header){"X-Amz-Date", req->amz_date, 16};
  if (sv4_has_token(req))
    out->added[n++] = (luaws_sigv4_added_header){"X-Amz-Security-Token", req->session_token,
                                                 strlen(req->session_token)};
  if (req->flags & LUAWS_SIGV4_SIGN_BODY)
    out->added[n++] = (luaws_sigv4_added_header){"X-Amz-Content-SHA256", out->payload_hash,
                                                 out->payload_hash_len};
  out->added[n++] = (luaws_sigv4_added_header){"Authorization", a->data, a->len};
  out->added_count = n;
  return LUAWS_SIGV4_OK;
}
