/* lua_listen.c: luaws.http.listen: a one-shot listener on 127.0.0.1 for browser sign-in redirects. */
#include "lua_listen.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "listen.h"

#define LISTENER_MT "luaws.Listener"
#define HEAD_MAX 8192

typedef struct listener {
  int fd;    /* listening socket, -1 once closed */
  int conn;  /* accepted connection awaiting a reply, -1 when none */
  int port;
} listener;

static listener *check_listener(lua_State *L) {
  return luaL_checkudata(L, 1, LISTENER_MT);
}

/* listener:close(): closes the socket and any unanswered connection (also __gc/__close). */
static int listener_close(lua_State *L) {
  listener *l = check_listener(L);
  if (l->conn >= 0)
    close(l->conn);
  if (l->fd >= 0)
    close(l->fd);
  l->conn = l->fd = -1;
  return 0;
}

/* listen() -> listener with field-like method port() | nil, err. Binds 127.0.0.1 on a free port. */
static int http_listen(lua_State *L) {
  int port = 0;
  int fd = luaws_listen_open(&port);
  if (fd < 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "cannot listen on 127.0.0.1: %s", strerror(errno));
    return 2;
  }
  listener *l = lua_newuserdatauv(L, sizeof *l, 0);
  l->fd = fd;
  l->conn = -1;
  l->port = port;
  luaL_setmetatable(L, LISTENER_MT);
  return 1;
}

/* listener:port() -> the port number. */
static int listener_port(lua_State *L) {
  lua_pushinteger(L, check_listener(L)->port);
  return 1;
}

/* listener:accept(timeout_seconds) -> {method=, target=} | nil, "timeout" | nil, err. Blocks (at
 * most timeout seconds; Ctrl-C raises "interrupted") for one request; answer it with reply(). */
static int listener_accept(lua_State *L) {
  listener *l = check_listener(L);
  lua_Number timeout = luaL_checknumber(L, 2);
  if (l->fd < 0)
    return luaL_error(L, "listener is closed");
  if (l->conn >= 0) {
    close(l->conn);
    l->conn = -1;
  }
  char head[HEAD_MAX];
  int ms = timeout <= 0 ? 0 : timeout > 86400 ? 86400000 : (int)(timeout * 1000);
  int conn = luaws_listen_accept(l->fd, ms, &luaws_http_interrupted, head, sizeof head);
  if (conn == -3) {
    luaws_http_interrupted = 0;
    return luaL_error(L, "interrupted");
  }
  if (conn < 0) {
    lua_pushnil(L);
    if (conn == -2)
      lua_pushliteral(L, "timeout");
    else
      lua_pushfstring(L, "accept failed: %s", strerror(errno));
    return 2;
  }
  l->conn = conn;
  char method[16], target[4096];
  lua_createtable(L, 0, 2);
  if (sscanf(head, "%15s %4095s", method, target) == 2) {
    lua_pushstring(L, method);
    lua_setfield(L, -2, "method");
    lua_pushstring(L, target);
    lua_setfield(L, -2, "target");
  }
  return 1;
}

/* listener:reply(status, html) -> true | nil, err: answers the accepted request and closes it. */
static int listener_reply(lua_State *L) {
  listener *l = check_listener(L);
  int status = (int)luaL_checkinteger(L, 2);
  size_t len;
  const char *body = luaL_checklstring(L, 3, &len);
  if (l->conn < 0)
    return luaL_error(L, "no accepted request to reply to");
  int conn = l->conn;
  l->conn = -1;
  if (luaws_listen_reply(conn, status, body, len) != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "reply failed: %s", strerror(errno));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg listener_methods[] = {
  {"port", listener_port},
  {"accept", listener_accept},
  {"reply", listener_reply},
  {"close", listener_close},
  {NULL, NULL},
};

/* listen(): creates the listener metatable on first use, then opens a listener. */
static int http_listen_entry(lua_State *L) {
  if (luaL_newmetatable(L, LISTENER_MT)) {
    luaL_newlib(L, listener_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, listener_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, listener_close);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
  return http_listen(L);
}

const luaL_Reg luaws_listen_functions[] = {
  {"listen", http_listen_entry},
  {NULL, NULL},
};
