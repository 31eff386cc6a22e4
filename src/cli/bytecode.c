/* bytecode.c: a package searcher that prefers the build's precompiled bytecode of luaws's own modules. */
#include "bytecode.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

/* A module costs a handful of system calls here (a stat of its source, then open, fstat, one
 * read and close of its bytecode) where package.searchpath and luaL_loadfilex took about ten
 * (fopen probes, freopen for binary chunks, 4 KB stdio reads): ~30 modules load per call. */

/* Whether the stat c is at least as new as s. */
static int at_least_as_new(const struct stat *c, const struct stat *s) {
  if (c->st_mtim.tv_sec != s->st_mtim.tv_sec)
    return c->st_mtim.tv_sec > s->st_mtim.tv_sec;
  return c->st_mtim.tv_nsec >= s->st_mtim.tv_nsec;
}

/* Files from this size on are mapped rather than read: a model of hundreds of KB (EC2's is
 * 800 KB) would otherwise be copied into as many fresh pages, each a page fault, for one use.
 * The build and packages replace these files by renaming, never by rewriting in place, so a
 * mapping cannot shrink under the loader. */
#define MAP_FROM_BYTES (64 * 1024)

/* All size bytes of fd in a malloc'd buffer, or NULL. */
static char *read_all(int fd, size_t size) {
  char *data = malloc(size ? size : 1);
  size_t got = 0;
  while (data != NULL && got < size) {
    ssize_t n = read(fd, data + got, size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      free(data);
      data = NULL;
    } else {
      got += (size_t)n;
    }
  }
  return data;
}

/* Loads all of fd (size bytes per its fstat) as a binary chunk named chunkname. Pushes the chunk
 * and returns 1, or pushes nothing and returns 0. */
static int load_fd(lua_State *L, int fd, size_t size, const char *chunkname) {
  void *map = size >= MAP_FROM_BYTES ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
  char *copy = map == MAP_FAILED ? read_all(fd, size) : NULL;
  const char *data = map != MAP_FAILED ? map : copy;
  int ok = data != NULL && luaL_loadbufferx(L, data, size, chunkname, "b") == LUA_OK;
  if (!ok && data != NULL)
    lua_pop(L, 1); /* the load error: foreign or damaged bytecode falls back to the source */
  if (map != MAP_FAILED)
    munmap(map, size);
  free(copy);
  return ok;
}

size_t luaws_bytecode_load_fresh(lua_State *L, const char *compiled, const struct stat *source) {
  int fd = open(compiled, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  struct stat st;
  size_t loaded = 0;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
      at_least_as_new(&st, source)) {
    lua_pushfstring(L, "@%s", compiled);
    if (load_fd(L, fd, (size_t)st.st_size, lua_tostring(L, -1))) {
      lua_remove(L, -2);
      loaded = (size_t)st.st_size;
    } else {
      lua_pop(L, 1);
    }
  }
  close(fd);
  return loaded;
}

/* Upvalues of the searcher: 1 = "<data_dir>/lua/", 2 = "<lib_dir>/". */

/* Pushes the "no file '...'" lines package.searchpath would give for name on path. */
static void push_not_found(lua_State *L, const char *name, const char *path) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchpath");
  lua_pushstring(L, name);
  lua_pushstring(L, path);
  lua_call(L, 2, 2);
  lua_remove(L, -3);
  lua_remove(L, -2);
}

/* package.searchers entry: (name) -> loader, path | error string. Finds the first existing file
 * for name on package.path, as package.searchpath does; when it is the data dir's own
 * lua/<rel>, loads lib_dir/<rel>c instead if that is at least as new. Pushes 1 or 2 values. */
static int search(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "path");
  const char *path = lua_tostring(L, -1);
  if (path == NULL)
    return luaL_error(L, "'package.path' must be a string");
  const char *file_name = luaL_gsub(L, name, ".", LUA_DIRSEP);
  const char *source = NULL; /* kept on the stack while in use */
  struct stat st;
  for (const char *p = path; *p != '\0';) {
    size_t len = strcspn(p, LUA_PATH_SEP);
    if (len > 0) {
      lua_pushlstring(L, p, len);
      const char *candidate = luaL_gsub(L, lua_tostring(L, -1), LUA_PATH_MARK, file_name);
      lua_remove(L, -2);
      if (stat(candidate, &st) == 0 && !S_ISDIR(st.st_mode)) {
        source = candidate;
        break;
      }
      lua_pop(L, 1);
    }
    p += len + (p[len] != '\0');
  }
  if (source == NULL) {
    push_not_found(L, name, path);
    return 1;
  }
  size_t prefix_len;
  const char *prefix = lua_tolstring(L, lua_upvalueindex(1), &prefix_len);
  if (strncmp(source, prefix, prefix_len) == 0) {
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushstring(L, source + prefix_len);
    lua_pushliteral(L, "c");
    lua_concat(L, 3);
    int loaded = luaws_bytecode_load_fresh(L, lua_tostring(L, -1), &st) > 0;
    lua_remove(L, loaded ? -2 : -1); /* the compiled path */
    if (loaded) {
      lua_pushvalue(L, -2); /* the loader's second argument stays the source path */
      return 2;
    }
  }
  if (luaL_loadfilex(L, source, "t") != LUA_OK)
    return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, source,
                      lua_tostring(L, -1));
  lua_pushstring(L, source);
  return 2;
}

void luaws_bytecode_install(lua_State *L, const char *data_dir, const char *lib_dir) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchers");
  lua_pushfstring(L, "%s/lua/", data_dir);
  lua_pushfstring(L, "%s/", lib_dir);
  lua_pushcclosure(L, search, 2);
  lua_rawseti(L, -2, 2);
  lua_pop(L, 2);
}
