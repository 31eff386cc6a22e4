/* lua_sigv4.c: the "luaws.sigv4" module: sigv4.sign{...} over the C signer in sigv4.c. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "modules.h"
#include "sigv4.h"
#include "url.h"

#define SIGNER_METATABLE "luaws.Signer"
#define ERROR_METATABLE "luaws.Error" /* shared with luaws.core.errors */
#define STACK_HEADERS 32

typedef struct signer_box {
  luaws_sigv4_signer *signer;
} signer_box;

/* The parts of an http(s) URL the signer needs. */

/* Option and result field names, kept as upvalues 2.. of sign so each lookup is a raw table
 * access instead of interning a C string every call. */
enum field {
  F_METHOD, F_URL, F_HEADERS, F_BODY, F_REGION, F_SERVICE, F_ACCESS_KEY, F_SECRET_KEY,
  F_SESSION_TOKEN, F_TIME, F_MODE, F_EXPIRES, F_NORMALIZE_PATH, F_DOUBLE_ENCODE, F_SIGN_BODY,
  F_OMIT_SESSION_TOKEN, F_PAYLOAD_HASH, F_SIGNATURE, F_CANONICAL_REQUEST, F_STRING_TO_SIGN,
  F_SIGNED_HEADERS, F_AUTHORIZATION, F_AMZ_DATE, F_COUNT
};
static const char *const FIELD_NAMES[F_COUNT] = {
  "method", "url", "headers", "body", "region", "service", "access_key", "secret_key",
  "session_token", "time", "mode", "expires", "normalize_path", "double_encode", "sign_body",
  "omit_session_token", "payload_hash", "signature", "canonical_request", "string_to_sign",
  "signed_headers", "authorization", "amz_date",
};
#define FIELD_UPVALUE(f) lua_upvalueindex(2 + (f))

/* Pushes options[f] (raw) from the table at index 1; returns its type. */
static int get_option(lua_State *L, enum field f) {
  lua_pushvalue(L, FIELD_UPVALUE(f));
  return lua_rawget(L, 1);
}

/* Sets result[f] = the value on top of the stack (result: absolute index). Pops the value. */
static void set_result(lua_State *L, int result, enum field f) {
  lua_pushvalue(L, FIELD_UPVALUE(f));
  lua_insert(L, -2);
  lua_rawset(L, result);
}

/* __tostring of the fallback error table: "code: message". Pushes one string. */
static int error_tostring(lua_State *L) {
  lua_getfield(L, 1, "code");
  lua_getfield(L, 1, "message");
  lua_pushfstring(L, "%s: %s", luaL_optstring(L, -2, "Error"), luaL_optstring(L, -1, "?"));
  return 1;
}

/* Raises an error table {code=, message=, retryable=false} with the shared "luaws.Error"
 * metatable (luaws.core.errors adopts the same registry entry and its __tostring when it loads;
 * C never requires a Lua module). The message never holds a secret: callers only name fields.
 * Does not return. */
static int raise_error(lua_State *L, const char *code, const char *fmt, ...) {
  va_list ap;
  lua_createtable(L, 0, 4);
  lua_pushstring(L, code);
  lua_setfield(L, -2, "code");
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  lua_setfield(L, -2, "message");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "retryable");
  if (luaL_newmetatable(L, ERROR_METATABLE)) {
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_setmetatable(L, -2);
  return lua_error(L);
}

static int bad_field(lua_State *L, const char *field, const char *what) {
  return raise_error(L, "InvalidParameter", "sigv4.sign: %s %s", field, what);
}

/* Pushes options[f]; returns its string (NULL when nil) and leaves it on the stack so the
 * pointer stays valid. Raises when it is neither nil nor a string. */
static const char *string_field(lua_State *L, enum field f, size_t *len, bool required) {
  int type = get_option(L, f);
  if (type == LUA_TNIL && !required)
    return NULL;
  if (type != LUA_TSTRING || (required && lua_rawlen(L, -1) == 0))
    bad_field(L, FIELD_NAMES[f], required ? "is required (a non-empty string)" : "must be a string");
  return lua_tolstring(L, -1, len);
}

/* Reads options[f] as a boolean with a default. Stack: unchanged. */
static bool bool_field(lua_State *L, enum field f, bool fallback) {
  int type = get_option(L, f);
  bool v = fallback;
  if (type == LUA_TBOOLEAN)
    v = lua_toboolean(L, -1);
  else if (type != LUA_TNIL)
    bad_field(L, FIELD_NAMES[f], "must be a boolean");
  lua_pop(L, 1);
  return v;
}

/* Writes options.time as "YYYYMMDDTHHMMSSZ": nil means now; accepts that form, ISO 8601
 * "YYYY-MM-DDTHH:MM:SSZ", or integer seconds since the epoch. Stack: unchanged. */
static void read_time(lua_State *L, char out[17]) {
  int type = get_option(L, F_TIME);
  time_t when = 0;
  if (type == LUA_TNIL) {
    when = time(NULL);
  } else if (type == LUA_TNUMBER) {
    int whole = 0;
    lua_Integer seconds = lua_tointegerx(L, -1, &whole); /* 1.4e9 from JSON is fine too */
    if (!whole)
      bad_field(L, "time", "must be whole epoch seconds");
    when = (time_t)seconds;
  } else if (type == LUA_TSTRING) {
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    if (n == 16 && luaws_sigv4_valid_amz_date(s)) {
      memcpy(out, s, 17);
      lua_pop(L, 1);
      return;
    }
    if (n == 20 && s[4] == '-' && s[7] == '-' && s[13] == ':' && s[16] == ':') {
      char basic[17] = {s[0], s[1], s[2], s[3], s[5], s[6], s[8], s[9], s[10],
                        s[11], s[12], s[14], s[15], s[17], s[18], s[19], '\0'};
      if (luaws_sigv4_valid_amz_date(basic)) {
        memcpy(out, basic, 17);
        lua_pop(L, 1);
        return;
      }
    }
    bad_field(L, "time", "must look like 20150830T123600Z or 2015-08-30T12:36:00Z");
  } else {
    bad_field(L, "time", "must be a timestamp string or integer epoch seconds");
  }
  lua_pop(L, 1);
  struct tm tm;
  if (gmtime_r(&when, &tm) == NULL || strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
    bad_field(L, "time", "is out of range");
}

/* Stores the value at the top of the stack (a header value converted from a number) in the
 * anchor table at stack slot `anchor` (a nil placeholder until first use) so its string lives
 * until sign returns. Stack: pops the value. */
static void anchor_value(lua_State *L, int anchor) {
  if (lua_isnil(L, anchor)) {
    lua_newtable(L);
    lua_replace(L, anchor);
  }
  lua_rawseti(L, anchor, (lua_Integer)lua_rawlen(L, anchor) + 1);
}

/* Reads a header value (string, or number turned into a string and anchored) at the top of
 * the stack into h; pops it. Raises when it is anything else. */
static void header_value(lua_State *L, luaws_sigv4_header *h, int anchor) {
  if (lua_type(L, -1) == LUA_TSTRING) {
    h->value = lua_tolstring(L, -1, &h->value_len);
  } else if (lua_type(L, -1) == LUA_TNUMBER) {
    h->value = lua_tolstring(L, -1, &h->value_len);
    lua_pushvalue(L, -1);
    anchor_value(L, anchor);
  } else {
    bad_field(L, "headers", "values must be strings or numbers");
  }
  lua_pop(L, 1);
}

/* Reads headers (list of {name, value} or map name -> value) at index `t` into an array: the
 * stack one when it fits, else a userdata left on the stack. Returns the array. */
static luaws_sigv4_header *read_headers(lua_State *L, int t, luaws_sigv4_header *stack_headers,
                                        size_t *count, int anchor, bool *listed) {
  *count = 0;
  *listed = false;
  if (lua_type(L, t) == LUA_TNIL)
    return stack_headers;
  if (lua_type(L, t) != LUA_TTABLE)
    bad_field(L, "headers", "must be a list of {name, value} or a map of name = value");
  bool is_list = lua_rawgeti(L, t, 1) == LUA_TTABLE;
  lua_pop(L, 1);
  size_t n = 0;
  if (is_list) {
    n = lua_rawlen(L, t);
  } else {
    lua_pushnil(L);
    while (lua_next(L, t)) {
      n++;
      lua_pop(L, 1);
    }
  }
  luaws_sigv4_header *headers = stack_headers;
  if (n > STACK_HEADERS)
    headers = lua_newuserdatauv(L, n * sizeof *headers, 0);
  if (is_list) {
    for (size_t i = 0; i < n; i++) {
      luaws_sigv4_header *h = &headers[i];
      if (lua_rawgeti(L, t, (lua_Integer)i + 1) != LUA_TTABLE)
        bad_field(L, "headers", "list entries must be {name, value}");
      if (lua_rawgeti(L, -1, 1) != LUA_TSTRING)
        bad_field(L, "headers", "names must be strings");
      h->name = lua_tolstring(L, -1, &h->name_len);
      lua_pop(L, 1);
      lua_rawgeti(L, -1, 2);
      header_value(L, h, anchor);
      lua_pop(L, 1);
    }
  } else {
    size_t i = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
      if (lua_type(L, -2) != LUA_TSTRING)
        bad_field(L, "headers", "map keys must be header names");
      luaws_sigv4_header *h = &headers[i++];
      h->name = lua_tolstring(L, -2, &h->name_len);
      header_value(L, h, anchor);
    }
  }
  *count = n;
  *listed = is_list;
  return headers;
}

/* Pushes {name, value}. */
static void push_pair(lua_State *L, const char *name, size_t name_len, const char *value,
                      size_t value_len) {
  lua_createtable(L, 2, 0);
  lua_pushlstring(L, name, name_len);
  lua_rawseti(L, -2, 1);
  lua_pushlstring(L, value, value_len);
  lua_rawseti(L, -2, 2);
}

/* sigv4.sign(options) -> result. Options: url, region, service, access_key, secret_key
 * (required); method ("GET"), headers (list of {name, value} or map name -> value; values
 * strings or numbers), body, session_token, time (default now), mode ("header" | "query"),
 * expires (3600, query mode), normalize_path (true), double_encode (true; false for S3),
 * sign_body (false), omit_session_token (false), payload_hash (hex or "UNSIGNED-PAYLOAD").
 * Result: signature, canonical_request, string_to_sign, signed_headers, payload_hash, amz_date,
 * authorization (header mode), url (query mode: with the X-Amz-* parameters), headers (the
 * caller's headers to send, minus those the signer replaces, then X-Amz-Date,
 * X-Amz-Security-Token, X-Amz-Content-SHA256, Authorization as they apply; when headers were a
 * list of all-string pairs those same pair tables are reused). Bad options raise an error table
 * {code = "InvalidParameter", message = "sigv4.sign: <field> ..."}. Pushes one table. */
static int sign(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkstack(L, 40, "sigv4.sign");
  signer_box *box = luaL_checkudata(L, lua_upvalueindex(1), SIGNER_METATABLE);
  if (box->signer == NULL)
    return raise_error(L, "InternalError", "sigv4.sign: signer is closed");

  luaws_sigv4_request req = {0};
  luaws_sigv4_header stack_headers[STACK_HEADERS];
  char amz_date[17];
  luaws_url u;

  req.method = string_field(L, F_METHOD, NULL, false);
  if (req.method == NULL)
    req.method = "GET";
  size_t url_len = 0;
  const char *url = string_field(L, F_URL, &url_len, true);
  int url_index = lua_gettop(L);
  const char *url_problem = luaws_url_parse(url, url_len, &u);
  if (url_problem)
    bad_field(L, "url", url_problem);
  req.path = u.path;
  req.path_len = u.path_len;
  req.query = u.query;
  req.query_len = u.query_len;
  req.host = u.host;
  req.host_len = u.host_len;
  req.region = string_field(L, F_REGION, NULL, true);
  req.service = string_field(L, F_SERVICE, NULL, true);
  req.access_key = string_field(L, F_ACCESS_KEY, NULL, true);
  req.secret_key = string_field(L, F_SECRET_KEY, NULL, true);
  req.session_token = string_field(L, F_SESSION_TOKEN, NULL, false);
  req.payload = string_field(L, F_BODY, &req.payload_len, false);
  req.payload_hash = string_field(L, F_PAYLOAD_HASH, NULL, false);
  if (req.payload_hash != NULL && req.payload_hash[0] == '\0')
    bad_field(L, "payload_hash", "must be a hex SHA-256 or UNSIGNED-PAYLOAD");
  read_time(L, amz_date);
  req.amz_date = amz_date;

  size_t mode_len = 0;
  const char *mode = string_field(L, F_MODE, &mode_len, false);
  if (mode == NULL || (mode_len == 6 && memcmp(mode, "header", 6) == 0))
    req.mode = LUAWS_SIGV4_HEADER;
  else if (mode_len == 5 && memcmp(mode, "query", 5) == 0)
    req.mode = LUAWS_SIGV4_QUERY;
  else
    bad_field(L, "mode", "must be \"header\" or \"query\"");
  int type = get_option(L, F_EXPIRES);
  req.expires = 3600;
  if (type != LUA_TNIL) {
    int whole = 0;
    lua_Integer seconds = type == LUA_TNUMBER ? lua_tointegerx(L, -1, &whole) : 0;
    if (!whole || seconds < 1 || seconds > 604800)
      bad_field(L, "expires", "must be whole seconds from 1 to 604800");
    req.expires = (long)seconds;
  }
  lua_pop(L, 1);
  req.flags = (bool_field(L, F_NORMALIZE_PATH, true) ? LUAWS_SIGV4_NORMALIZE_PATH : 0) |
              (bool_field(L, F_DOUBLE_ENCODE, true) ? LUAWS_SIGV4_DOUBLE_ENCODE : 0) |
              (bool_field(L, F_SIGN_BODY, false) ? LUAWS_SIGV4_SIGN_BODY : 0) |
              (bool_field(L, F_OMIT_SESSION_TOKEN, false) ? LUAWS_SIGV4_OMIT_SESSION_TOKEN : 0);

  lua_pushnil(L); /* anchor slot for header values given as numbers */
  int anchor = lua_gettop(L);
  get_option(L, F_HEADERS);
  int headers_index = lua_gettop(L);
  bool headers_listed = false;
  req.headers = read_headers(L, headers_index, stack_headers, &req.header_count, anchor,
                             &headers_listed);

  luaws_sigv4_result r;
  int rc = luaws_sigv4_sign(box->signer, &req, &r);
  if (rc == LUAWS_SIGV4_ENOMEM)
    return luaL_error(L, "not enough memory");
  if (rc != LUAWS_SIGV4_OK) {
    const char *message = luaws_sigv4_error(box->signer);
    if (strncmp(message, "sigv4: ", 7) == 0)
      message += 7;
    return raise_error(L, rc == LUAWS_SIGV4_EINVAL ? "InvalidParameter" : "InternalError",
                       "sigv4.sign: %s", message);
  }

  lua_createtable(L, 0, 10);
  int result = lua_gettop(L);
  lua_pushlstring(L, r.signature, 64);
  set_result(L, result, F_SIGNATURE);
  lua_pushlstring(L, r.canonical_request, r.canonical_request_len);
  set_result(L, result, F_CANONICAL_REQUEST);
  lua_pushlstring(L, r.string_to_sign, r.string_to_sign_len);
  set_result(L, result, F_STRING_TO_SIGN);
  lua_pushlstring(L, r.signed_headers, r.signed_headers_len);
  set_result(L, result, F_SIGNED_HEADERS);
  lua_pushlstring(L, r.payload_hash, r.payload_hash_len);
  set_result(L, result, F_PAYLOAD_HASH);
  lua_pushlstring(L, amz_date, 16);
  int amz_date_index = lua_gettop(L);
  lua_pushvalue(L, amz_date_index);
  set_result(L, result, F_AMZ_DATE);
  int authorization_index = 0;
  if (r.authorization) {
    lua_pushlstring(L, r.authorization, r.authorization_len);
    authorization_index = lua_gettop(L);
    lua_pushvalue(L, authorization_index);
    set_result(L, result, F_AUTHORIZATION);
  }

  /* Values given as numbers are sent as strings, so only all-string lists are reused. */
  bool reuse_pairs = headers_listed && lua_isnil(L, anchor);
  lua_createtable(L, (int)(req.header_count + r.added_count), 0);
  lua_Integer n = 0;
  for (size_t i = 0; i < req.header_count; i++) {
    const luaws_sigv4_header *h = &req.headers[i];
    if (luaws_sigv4_header_role(&req, h->name, h->name_len) == LUAWS_SIGV4_REPLACED)
      continue;
    if (reuse_pairs) /* the caller's own {name, value} table: no copy needed */
      lua_rawgeti(L, headers_index, (lua_Integer)i + 1);
    else
      push_pair(L, h->name, h->name_len, h->value, h->value_len);
    lua_rawseti(L, -2, ++n);
  }
  for (size_t i = 0; i < r.added_count; i++) {
    const luaws_sigv4_added_header *a = &r.added[i];
    lua_createtable(L, 2, 0);
    lua_pushstring(L, a->name);
    lua_rawseti(L, -2, 1);
    if (a->value == r.authorization)
      lua_pushvalue(L, authorization_index);
    else if (a->value == req.amz_date)
      lua_pushvalue(L, amz_date_index);
    else
      lua_pushlstring(L, a->value, a->value_len);
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, -2, ++n);
  }
  set_result(L, result, F_HEADERS);

  if (r.query_params) {
    /* The caller's query stays as given; the X-Amz-* parameters go after it, before any '#'. */
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, url, u.base_len);
    if (u.query == NULL)
      luaL_addchar(&b, '?');
    else if (u.query_len > 0)
      luaL_addchar(&b, '&');
    luaL_addlstring(&b, r.query_params, r.query_params_len);
    luaL_addlstring(&b, url + u.base_len, url_len - u.base_len);
    luaL_pushresult(&b);
  } else {
    lua_pushvalue(L, url_index);
  }
  set_result(L, result, F_URL);
  lua_pushvalue(L, result);
  return 1;
}

/* sigv4.cache_stats() -> {derived = n, hits = n}: signing-key derivations and cache hits. */
static int cache_stats(lua_State *L) {
  signer_box *box = luaL_checkudata(L, lua_upvalueindex(1), SIGNER_METATABLE);
  unsigned long derived = 0, hits = 0;
  if (box->signer)
    luaws_sigv4_signer_stats(box->signer, &derived, &hits);
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, (lua_Integer)derived);
  lua_setfield(L, -2, "derived");
  lua_pushinteger(L, (lua_Integer)hits);
  lua_setfield(L, -2, "hits");
  return 1;
}

/* sigv4.clear_cache(): wipes every cached signing key (after credentials rotate, say). */
static int clear_cache(lua_State *L) {
  signer_box *box = luaL_checkudata(L, lua_upvalueindex(1), SIGNER_METATABLE);
  if (box->signer)
    luaws_sigv4_signer_clear_cache(box->signer);
  return 0;
}

/* __gc/__close of the signer userdata: wipes and frees the C signer. */
static int signer_gc(lua_State *L) {
  signer_box *box = luaL_checkudata(L, 1, SIGNER_METATABLE);
  luaws_sigv4_signer_free(box->signer);
  box->signer = NULL;
  return 0;
}

int luaopen_luaws_sigv4(lua_State *L) {
  static const luaL_Reg functions[] = {
    {"cache_stats", cache_stats},
    {"clear_cache", clear_cache},
    {NULL, NULL},
  };
  lua_newtable(L);
  signer_box *box = lua_newuserdatauv(L, sizeof *box, 0);
  box->signer = NULL;
  if (luaL_newmetatable(L, SIGNER_METATABLE)) {
    lua_pushcfunction(L, signer_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushliteral(L, "luaws.Signer");
    lua_setfield(L, -2, "__name");
  }
  lua_setmetatable(L, -2);
  box->signer = luaws_sigv4_signer_new();
  if (box->signer == NULL)
    return luaL_error(L, "luaws.sigv4: cannot set up SHA-256 (OpenSSL) or out of memory");
  luaL_checkstack(L, F_COUNT + 4, "luaws.sigv4");
  lua_pushvalue(L, -1);
  for (int f = 0; f < F_COUNT; f++)
    lua_pushstring(L, FIELD_NAMES[f]);
  lua_pushcclosure(L, sign, 1 + F_COUNT);
  lua_setfield(L, -3, "sign");
  luaL_setfuncs(L, functions, 1); /* pops the signer, shared as upvalue 1 */
  return 1;
}
