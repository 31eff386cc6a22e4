/* lua_http.c: the "luaws.http" module: request{} over the shared curl multi handle, plus the scheduler API. */
#include <ctype.h>
#include <string.h>

#include <lauxlib.h>

#include "http.h"
#include "lua_body.h"
#include "modules.h"
#include "lua_listen.h"
#include "scheduler.h"

#define TRANSFER_MT "luaws.Transfer"
#define TRANSPORT_ERROR_MT "luaws.TransportError"

/* Slots of request() after argument parsing. */
enum { ARG_SPEC = 1, SLOT_TRANSFER = 2, SLOT_LINES = 3 };

static int transfer_release(lua_State *L) {
  luaws_transfer *t = luaL_checkudata(L, 1, TRANSFER_MT);
  luaws_transfer_release(t);
  return 0;
}

static int transport_error_tostring(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "code");
  lua_getfield(L, 1, "message");
  lua_pushfstring(L, "%s: %s", luaL_optstring(L, -2, "TransportError"), luaL_optstring(L, -1, "?"));
  return 1;
}

/* Checks a header name/value pair (no CR/LF, no ':' in names) and pushes "Name: value"
 * (curl's "Name;" for an empty value). Stack: pushes one string. */
static void push_header_line(lua_State *L, int name_idx, int value_idx) {
  size_t name_len, value_len;
  const char *name = lua_tolstring(L, name_idx, &name_len);
  if (name == NULL || lua_type(L, name_idx) != LUA_TSTRING || name_len == 0 ||
      strpbrk(name, ":\r\n \t") != NULL || strlen(name) != name_len)
    luaL_error(L, "bad header name %s", name ? name : luaL_typename(L, name_idx));
  int value_type = lua_type(L, value_idx);
  if (value_type != LUA_TSTRING && value_type != LUA_TNUMBER)
    luaL_error(L, "bad value for header '%s' (string expected, got %s)", name,
               luaL_typename(L, value_idx));
  const char *value = lua_tolstring(L, value_idx, &value_len);
  if (strpbrk(value, "\r\n") != NULL || strlen(value) != value_len)
    luaL_error(L, "bad value for header '%s' (line breaks are not allowed)", name);
  if (value_len == 0)
    lua_pushfstring(L, "%s;", name);
  else
    lua_pushfstring(L, "%s: %s", name, value);
}

/* Turns spec.headers (a list of {name, value} or a map) into a table of lines at SLOT_LINES
 * and returns a NULL-terminated array of pointers into it (a userdata pushed on the stack). */
static const char **header_lines(lua_State *L) {
  lua_newtable(L);  /* SLOT_LINES */
  int count = 0;
  if (lua_getfield(L, ARG_SPEC, "headers") != LUA_TNIL) {
    luaL_argexpected(L, lua_istable(L, -1), ARG_SPEC, "headers as a table");
    int headers = lua_gettop(L);
    if (lua_rawgeti(L, headers, 1) != LUA_TNIL) {
      lua_pop(L, 1);
      lua_Integer n = (lua_Integer)lua_rawlen(L, headers);
      for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, headers, i) != LUA_TTABLE)
          luaL_error(L, "bad header #%d (a {name, value} pair expected)", (int)i);
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        push_header_line(L, -2, -1);
        lua_rawseti(L, SLOT_LINES, ++count);
        lua_pop(L, 3);
      }
    } else {
      lua_pop(L, 1);
      lua_pushnil(L);
      while (lua_next(L, headers)) {
        push_header_line(L, -2, -1);
        lua_rawseti(L, SLOT_LINES, ++count);
        lua_pop(L, 1);
      }
    }
  }
  lua_pop(L, 1);
  const char **lines = lua_newuserdatauv(L, sizeof(char *) * (size_t)(count + 1), 0);
  for (int i = 1; i <= count; i++) {
    lua_rawgeti(L, SLOT_LINES, i);
    lines[i - 1] = lua_tostring(L, -1);  /* anchored by the SLOT_LINES table */
    lua_pop(L, 1);
  }
  lines[count] = NULL;
  return lines;
}

static long opt_milliseconds(lua_State *L, const char *field, double default_seconds) {
  lua_getfield(L, ARG_SPEC, field);
  double seconds = luaL_optnumber(L, -1, default_seconds);
  lua_pop(L, 1);
  if (!(seconds > 0))
    return 0;
  if (seconds > 1e6)
    seconds = 1e6;
  long ms = (long)(seconds * 1000.0 + 0.5);
  return ms > 0 ? ms : 1;
}

/* Pushes the response headers of t as a table (names lower-cased, repeats joined ", "). */
static void push_response_headers(lua_State *L, const luaws_transfer *t) {
  lua_newtable(L);
  int headers = lua_gettop(L);
  const char *p = t->head.data, *end = p ? p + t->head.len : p;
  bool status_line = true;
  while (p && p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *line_end = eol ? eol : end;
    const char *next = eol ? eol + 1 : end;
    if (line_end > p && line_end[-1] == '\r')
      line_end--;
    if (status_line || line_end == p) {
      status_line = false;
      p = next;
      continue;
    }
    const char *colon = memchr(p, ':', (size_t)(line_end - p));
    if (colon == NULL || colon == p) {
      p = next;
      continue;
    }
    luaL_Buffer name;
    luaL_buffinit(L, &name);
    for (const char *c = p; c < colon; c++)
      luaL_addchar(&name, (char)tolower((unsigned char)*c));
    luaL_pushresult(&name);
    const char *v = colon + 1, *v_end = line_end;
    while (v < v_end && (*v == ' ' || *v == '\t'))
      v++;
    while (v_end > v && (v_end[-1] == ' ' || v_end[-1] == '\t'))
      v_end--;
    lua_pushvalue(L, -1);
    if (lua_rawget(L, headers) == LUA_TSTRING) {
      lua_pushliteral(L, ", ");
      lua_pushlstring(L, v, (size_t)(v_end - v));
      lua_concat(L, 3);
    } else {
      lua_pop(L, 1);
      lua_pushlstring(L, v, (size_t)(v_end - v));
    }
    lua_rawset(L, headers);
    p = next;
  }
}

/* Pushes nil and a luaws.TransportError for a failed transfer. */
static int push_transport_error(lua_State *L, const luaws_transfer *t) {
  const char *code = luaws_transfer_error_code(t);
  lua_pushnil(L);
  lua_createtable(L, 0, 4);
  lua_pushstring(L, code);
  lua_setfield(L, -2, "code");
  if (strcmp(code, "ResponseTooLarge") == 0)
    lua_pushfstring(L, "response body larger than %I bytes", (lua_Integer)t->max_body);
  else if (strcmp(code, "SinkWriteError") == 0)
    lua_pushfstring(L, "%s: %s", t->sink.path ? t->sink.path : "sink", strerror(t->io_errno));
  else if (strcmp(code, "BodyReadError") == 0)
    lua_pushfstring(L, "reading the request body: %s", strerror(t->io_errno));
  else if (t->errbuf[0])
    lua_pushstring(L, t->errbuf);
  else
    lua_pushstring(L, curl_easy_strerror(t->result));
  lua_setfield(L, -2, "message");
  lua_pushinteger(L, (lua_Integer)t->result);
  lua_setfield(L, -2, "curl_code");
  luaL_setmetatable(L, TRANSPORT_ERROR_MT);
  return 2;
}

/* Continuation of request(): builds the result from the finished transfer at SLOT_TRANSFER. */
static int request_finish(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  (void)ctx;
  luaws_transfer *t = luaL_checkudata(L, SLOT_TRANSFER, TRANSFER_MT);
  if (t->state != LUAWS_TRANSFER_DONE)
    return luaL_error(L, "luaws.http: the transport was closed during the request");
  int n;
  if (t->result != CURLE_OK) {
    n = push_transport_error(L, t);
  } else {
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, t->status);
    lua_setfield(L, -2, "status");
    push_response_headers(L, t);
    lua_setfield(L, -2, "headers");
    lua_pushlstring(L, t->body.data ? t->body.data : "", t->body.len);
    lua_setfield(L, -2, "body");
    if (t->sink.opened) {
      lua_pushstring(L, t->sink.path);
      lua_setfield(L, -2, "sink");
      lua_pushinteger(L, (lua_Integer)t->sink.bytes);
      lua_setfield(L, -2, "sink_bytes");
    }
    lua_pushnumber(L, t->elapsed);
    lua_setfield(L, -2, "elapsed");
    n = 1;
  }
  luaws_transfer_release(t);  /* frees the buffers now rather than at collection */
  return n;
}

/* ---- stream mode ---- */

static bool headers_ready(const luaws_transfer *t) {
  return t->headers_done;
}

static bool body_ready(const luaws_transfer *t) {
  return t->body.len > 0;
}

/* The body iterator of a streamed response (upvalue 1: the transfer): the next chunk (all
 * bytes received since the last call), waiting for one when none is there; nil at the end;
 * raises the TransportError table when the connection fails mid-body. */
static int stream_next_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  (void)ctx;
  luaws_transfer *t = luaL_checkudata(L, lua_upvalueindex(1), TRANSFER_MT);
  if (t->body.len > 0) {
    lua_pushlstring(L, t->body.data, t->body.len);
    luaws_transfer_consumed(t);
    return 1;
  }
  if (t->state == LUAWS_TRANSFER_DONE && t->result != CURLE_OK) {
    push_transport_error(L, t);
    luaws_transfer_release(t);
    return lua_error(L);
  }
  if (t->state == LUAWS_TRANSFER_DONE || t->state == LUAWS_TRANSFER_DETACHED) {
    luaws_transfer_release(t);
    lua_pushnil(L);
    return 1;
  }
  return luaws_sched_wait_stream(L, t, body_ready, 0, stream_next_k);
}

static int stream_next(lua_State *L) {
  return stream_next_k(L, LUA_OK, 0);
}

/* close(): stops a streamed response early (upvalue 1: the transfer); safe more than once. */
static int stream_close(lua_State *L) {
  luaws_transfer *t = luaL_checkudata(L, lua_upvalueindex(1), TRANSFER_MT);
  luaws_transfer_done_fn waiter = t->on_done;
  void *data = t->on_done_data;
  luaws_transfer_release(t);
  if (waiter)
    waiter(t, data);  /* a task waiting on this stream wakes and sees the end */
  return 0;
}

/* Continuation of request{stream=true}: the response head has arrived (or the transfer ended). */
static int stream_start(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  (void)ctx;
  luaws_transfer *t = luaL_checkudata(L, SLOT_TRANSFER, TRANSFER_MT);
  if (t->state == LUAWS_TRANSFER_DETACHED)
    return luaL_error(L, "luaws.http: the transport was closed during the request");
  if (t->state == LUAWS_TRANSFER_DONE && t->result != CURLE_OK) {
    int n = push_transport_error(L, t);
    luaws_transfer_release(t);
    return n;
  }
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, t->status);
  lua_setfield(L, -2, "status");
  push_response_headers(L, t);
  lua_setfield(L, -2, "headers");
  lua_pushvalue(L, SLOT_TRANSFER);
  lua_pushcclosure(L, stream_next, 1);
  lua_setfield(L, -2, "body");
  lua_pushvalue(L, SLOT_TRANSFER);
  lua_pushcclosure(L, stream_close, 1);
  lua_setfield(L, -2, "close");
  return 1;
}

/* request{method=, url=, headers=, body=, sink=, timeout=, connect_timeout=, max_body=}
 *   -> {status=, headers=, body=, elapsed=[, sink=, sink_bytes=]} | nil, TransportError
 * body: a string or a FileBody (file_body(): streamed from the file, never held in memory).
 * sink: a path; a 2xx response body is written there (created/truncated, 0600 when new), with
 * no size limit, and the result's body is "" with sink = the path and sink_bytes = the count;
 * other statuses keep their body in memory. Not with stream=true. The URL path is sent exactly
 * as given.
 * request{..., stream=true, buffer=bytes}
 *   -> {status=, headers=, body=<iterator of chunks>, close=<function>} | nil, TransportError
 *   as soon as the response head arrives; body() yields (or blocks) until bytes arrive, returns
 *   nil at the end and raises a TransportError table if the connection fails midway. At most
 *   `buffer` bytes (default 1 MiB) wait for the reader: curl pauses the download beyond that.
 *   A stream has no overall timeout unless `timeout` is given.
 * Yields inside a task that can yield; blocks (driving other tasks) everywhere else. */
static int http_request(lua_State *L) {
  luaL_checktype(L, ARG_SPEC, LUA_TTABLE);
  lua_settop(L, ARG_SPEC);
  luaws_sched *s = luaws_sched_get(L);
  luaws_request req = {0};

  lua_getfield(L, ARG_SPEC, "stream");
  req.stream = lua_toboolean(L, -1);
  lua_pop(L, 1);

  luaws_transfer *t = lua_newuserdatauv(L, sizeof *t, 3);  /* SLOT_TRANSFER */
  memset(t, 0, sizeof *t);
  t->state = LUAWS_TRANSFER_DETACHED;  /* nothing to release until init */
  luaL_setmetatable(L, TRANSFER_MT);
  if (!req.stream)
    lua_toclose(L, SLOT_TRANSFER);  /* released on return, error or interrupt; a stream at GC */

  const char **lines = header_lines(L);  /* SLOT_LINES, then the pointer array */
  lua_setiuservalue(L, SLOT_TRANSFER, 1);
  lua_pushvalue(L, SLOT_LINES);
  lua_setiuservalue(L, SLOT_TRANSFER, 2);
  lua_settop(L, SLOT_TRANSFER);
  req.headers = lines;

  lua_getfield(L, ARG_SPEC, "url");
  req.url = lua_tostring(L, -1);
  if (lua_type(L, -1) != LUA_TSTRING)
    return luaL_error(L, "bad argument #1 to 'request' (url must be a string)");
  lua_getfield(L, ARG_SPEC, "method");
  req.method = luaL_optstring(L, -1, "GET");
  if (req.method[0] == '\0' || strpbrk(req.method, " \r\n\t") != NULL)
    return luaL_error(L, "bad argument #1 to 'request' (bad method)");
  if (lua_getfield(L, ARG_SPEC, "body") != LUA_TNIL) {
    if (luaws_file_body_range(L, -1, &req.body_fd, &req.body_offset, &req.body_fd_len)) {
      req.body_from_fd = true;
    } else if (lua_type(L, -1) != LUA_TSTRING) {
      return luaL_error(L, "bad argument #1 to 'request' (body must be a string or a file body)");
    } else {
      req.body = lua_tolstring(L, -1, &req.body_len);
    }
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, SLOT_TRANSFER, 3);  /* anchored as long as the transfer */
  }
  if (lua_getfield(L, ARG_SPEC, "sink") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TSTRING)
      return luaL_error(L, "bad argument #1 to 'request' (sink must be a path)");
    if (req.stream)
      return luaL_error(L, "bad argument #1 to 'request' (sink and stream exclude each other)");
    req.sink_path = lua_tostring(L, -1);  /* copied by luaws_transfer_init */
  }
  req.timeout_ms = opt_milliseconds(L, "timeout", req.stream ? 0 : 60);
  lua_getfield(L, ARG_SPEC, "buffer");
  lua_Integer buffer = luaL_optinteger(L, -1, 0);
  req.stream_buffer = buffer > 0 ? (size_t)buffer : 0;
  lua_pop(L, 1);
  req.connect_timeout_ms = opt_milliseconds(L, "connect_timeout", 10);
  lua_getfield(L, ARG_SPEC, "max_body");
  lua_Integer max_body = luaL_optinteger(L, -1, 0);
  req.max_body = max_body > 0 ? (size_t)max_body : 0;
  lua_pop(L, 1);
  lua_getfield(L, ARG_SPEC, "ca_bundle");  /* copied by curl during init; popped right after */
  req.ca_bundle = luaL_optstring(L, -1, NULL);

  bool initialised = luaws_transfer_init(t, luaws_sched_http(s), &req);
  lua_pop(L, 1);
  if (!initialised) {
    t->result = CURLE_FAILED_INIT;
    t->state = LUAWS_TRANSFER_DONE;
    return request_finish(L, LUA_OK, 0);
  }
  if (req.stream)
    return luaws_sched_wait_stream(L, t, headers_ready, 0, stream_start);
  return luaws_sched_wait_transfer(L, t, 0, request_finish);
}

/* set_max_in_flight(n) -> previous limit. */
static int http_set_max_in_flight(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 1, 1, "must be at least 1");
  luaws_sched *s = luaws_sched_get(L);
  lua_pushinteger(L, luaws_http_set_max_in_flight(luaws_sched_http(s), (long)n));
  return 1;
}

/* stats() -> {requests=, in_flight=, queued=, max_in_flight_seen=, connections=, max_in_flight=} */
static int http_stats(lua_State *L) {
  luaws_http_stats st;
  luaws_http_get_stats(luaws_sched_http(luaws_sched_get(L)), &st);
  lua_createtable(L, 0, 6);
  const struct { const char *name; long value; } fields[] = {
    {"requests", st.requests}, {"in_flight", st.in_flight}, {"queued", st.queued},
    {"max_in_flight_seen", st.max_in_flight_seen}, {"connections", st.connections},
    {"max_in_flight", st.max_in_flight},
  };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    lua_pushinteger(L, fields[i].value);
    lua_setfield(L, -2, fields[i].name);
  }
  return 1;
}

static const luaL_Reg http_functions[] = {
  {"request", http_request},
  {"file_body", luaws_file_body_new},
  {"set_max_in_flight", http_set_max_in_flight},
  {"stats", http_stats},
  {NULL, NULL},
};

int luaopen_luaws_http(lua_State *L) {
  luaws_sched_get(L);
  if (luaL_newmetatable(L, TRANSFER_MT)) {
    lua_pushcfunction(L, transfer_release);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, transfer_release);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
  luaws_file_body_register(L);
  if (luaL_newmetatable(L, TRANSPORT_ERROR_MT)) {
    lua_pushcfunction(L, transport_error_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  luaL_newlib(L, http_functions);
  luaL_setfuncs(L, luaws_sched_functions, 0);
  luaL_setfuncs(L, luaws_listen_functions, 0);
  return 1;
}
