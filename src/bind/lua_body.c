/* lua_body.c: luaws.FileBody, a byte range of a file sent as a request body (luaws.http.file_body). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "body.h"
#include "lua_body.h"

#define FILE_BODY_MT "luaws.FileBody"

/* A byte range of an open file, sent as a request body without loading it into Lua. */
typedef struct file_body {
  int fd;                 /* -1 once closed */
  off_t offset, length;
  off_t cursor;           /* fb:read's position within the range */
  luaws_digests digests;  /* cached */
} file_body;

/* Pushes nil, "<what>: <strerror>" and the errno (the io library's convention); returns 3. */
static int push_io_failure(lua_State *L, const char *what, int err) {
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", what, strerror(err));
  lua_pushinteger(L, err);
  return 3;
}

static file_body *check_open_body(lua_State *L, int idx) {
  file_body *b = luaL_checkudata(L, idx, FILE_BODY_MT);
  if (b->fd < 0)
    luaL_error(L, "attempt to use a closed file body");
  return b;
}

/* file_body(path | io file[, offset[, length]]) -> FileBody | nil, err, errno.
 * Opens (or, for an io file, duplicates the descriptor of) a file and names length bytes from
 * offset (default 0 and the rest of the file) as a request body for request{body = ...}.
 * The bytes are read only while sending (and once more for fb:digest). Pushes the userdata. */
int luaws_file_body_new(lua_State *L) {
  luaL_Stream *stream = luaL_testudata(L, 1, LUA_FILEHANDLE);
  lua_Integer offset = luaL_optinteger(L, 2, 0);
  luaL_argcheck(L, offset >= 0, 2, "offset must not be negative");
  int fd;
  const char *name;
  if (stream) {
    luaL_argcheck(L, stream->closef != NULL && stream->f != NULL, 1, "file is closed");
    fflush(stream->f);
    fd = fcntl(fileno(stream->f), F_DUPFD_CLOEXEC, 3);
    name = "file";
  } else {
    name = luaL_checkstring(L, 1);
    fd = open(name, O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0)
    return push_io_failure(L, name, errno);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int err = S_ISREG(st.st_mode) ? errno : EINVAL;
    close(fd);
    return push_io_failure(L, name, err);
  }
  lua_Integer length = luaL_optinteger(L, 3, (lua_Integer)st.st_size - offset);
  if (length < 0 || offset > (lua_Integer)st.st_size || length > (lua_Integer)st.st_size - offset) {
    close(fd);
    return luaL_error(L, "file_body: range %I+%I is outside the file (%I bytes)", offset, length,
                      (lua_Integer)st.st_size);
  }
  file_body *b = lua_newuserdatauv(L, sizeof *b, 1);
  memset(b, 0, sizeof *b);
  b->fd = fd;
  b->offset = (off_t)offset;
  b->length = (off_t)length;
  luaL_setmetatable(L, FILE_BODY_MT);
  lua_pushstring(L, name);
  lua_setiuservalue(L, -2, 1);
  return 1;
}

/* fb:size() -> the number of bytes the body sends. */
static int file_body_size(lua_State *L) {
  file_body *b = luaL_checkudata(L, 1, FILE_BODY_MT);
  lua_pushinteger(L, (lua_Integer)b->length);
  return 1;
}

/* fb:digest(name, ...) -> raw digest strings, one per name ("sha256", "sha1", "md5", "crc32"
 * and "crc32c" as 4 big-endian bytes), computed together in one read of the range and cached. Raises on a
 * read error. Pushes one string per argument. */
static int file_body_digest(lua_State *L) {
  file_body *b = check_open_body(L, 1);
  static const char *const names[] = {"sha256", "sha1", "md5", "crc32", "crc32c", NULL};
  static const unsigned flags[] = {LUAWS_DIGEST_SHA256, LUAWS_DIGEST_SHA1, LUAWS_DIGEST_MD5,
                                   LUAWS_DIGEST_CRC32, LUAWS_DIGEST_CRC32C};
  int n = lua_gettop(L);
  unsigned want = 0;
  for (int i = 2; i <= n; i++)
    want |= flags[luaL_checkoption(L, i, NULL, names)];
  int err = luaws_body_digest(b->fd, b->offset, b->length, want, &b->digests);
  if (err != 0) {
    lua_getiuservalue(L, 1, 1);
    return luaL_error(L, "%s: %s", lua_tostring(L, -1), strerror(err));
  }
  luaL_checkstack(L, n, "digest");
  for (int i = 2; i <= n; i++) {
    switch (luaL_checkoption(L, i, NULL, names)) {
    case 0: lua_pushlstring(L, (const char *)b->digests.sha256, 32); break;
    case 1: lua_pushlstring(L, (const char *)b->digests.sha1, 20); break;
    case 2: lua_pushlstring(L, (const char *)b->digests.md5, 16); break;
    case 3: lua_pushlstring(L, (const char *)b->digests.crc32, 4); break;
    default: lua_pushlstring(L, (const char *)b->digests.crc32c, 4); break;
    }
  }
  return n - 1;
}

/* fb:read(n) -> the next n bytes or fewer of the range (a reader, as io files are), or nil at its
 * end. Independent of sending: request{} always sends the whole range. Pushes one value. */
static int file_body_read(lua_State *L) {
  file_body *b = check_open_body(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n > 0, 2, "must be positive");
  off_t left = b->length - b->cursor;
  if (left <= 0) {
    lua_pushnil(L);
    return 1;
  }
  size_t want = (lua_Integer)left < n ? (size_t)left : (size_t)n;
  luaL_Buffer buf;
  char *p = luaL_buffinitsize(L, &buf, want);
  ssize_t got = luaws_body_pread(b->fd, p, want, b->offset + b->cursor);
  if (got <= 0) {
    lua_getiuservalue(L, 1, 1);
    return luaL_error(L, "%s: %s", lua_tostring(L, -1), got < 0 ? strerror(errno) : "file shrank");
  }
  b->cursor += got;
  luaL_pushresultsize(&buf, (size_t)got);
  return 1;
}

/* fb:close(): closes the descriptor (also on collection and at the end of a to-be-closed scope). */
static int file_body_close(lua_State *L) {
  file_body *b = luaL_checkudata(L, 1, FILE_BODY_MT);
  if (b->fd >= 0)
    close(b->fd);
  b->fd = -1;
  return 0;
}

static int file_body_tostring(lua_State *L) {
  file_body *b = luaL_checkudata(L, 1, FILE_BODY_MT);
  lua_getiuservalue(L, 1, 1);
  lua_pushfstring(L, "luaws.FileBody(%s, %I+%I%s)", lua_tostring(L, -1), (lua_Integer)b->offset,
                  (lua_Integer)b->length, b->fd < 0 ? ", closed" : "");
  return 1;
}

static const luaL_Reg file_body_methods[] = {
  {"size", file_body_size},
  {"digest", file_body_digest},
  {"read", file_body_read},
  {"close", file_body_close},
  {NULL, NULL},
};

bool luaws_file_body_range(lua_State *L, int idx, int *fd, off_t *offset, off_t *length) {
  file_body *b = luaL_testudata(L, idx, FILE_BODY_MT);
  if (b == NULL)
    return false;
  if (b->fd < 0)
    luaL_error(L, "bad argument #1 to 'request' (body is a closed file body)");
  *fd = b->fd;
  *offset = b->offset;
  *length = b->length;
  return true;
}

void luaws_file_body_register(lua_State *L) {
  if (luaL_newmetatable(L, FILE_BODY_MT)) {
    luaL_newlib(L, file_body_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, file_body_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, file_body_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, file_body_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
}
