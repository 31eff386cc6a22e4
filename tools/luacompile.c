/* luacompile.c: build-time tool that turns Lua source files into stripped Lua 5.4 bytecode. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

/* lua_Writer: appends `size` bytes to the FILE in `ud`. Returns 0 on success, as lua_dump wants. */
static int write_chunk(lua_State *L, const void *p, size_t size, void *ud) {
  (void)L;
  return fwrite(p, 1, size, (FILE *)ud) == size ? 0 : 1;
}

/* Compiles `in` (text only) and writes its stripped bytecode to `out` through a temporary file
 * renamed into place, so a failed or interrupted build never leaves a truncated .luac that
 * looks fresh. Uses the stack of L: pushes and pops the compiled chunk. Returns 0 or 1 (message
 * on stderr). */
static int compile(lua_State *L, const char *in, const char *out) {
  if (luaL_loadfilex(L, in, "t") != LUA_OK) {
    fprintf(stderr, "luacompile: %s\n", lua_tostring(L, -1));
    return 1;
  }
  size_t len = strlen(out) + 16;
  char *tmp = malloc(len);
  if (tmp == NULL) {
    fprintf(stderr, "luacompile: out of memory\n");
    return 1;
  }
  snprintf(tmp, len, "%s.tmp%ld", out, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (f == NULL) {
    fprintf(stderr, "luacompile: %s: %s\n", tmp, strerror(errno));
    free(tmp);
    return 1;
  }
  int failed = lua_dump(L, write_chunk, f, 1) != 0;
  failed |= ferror(f) != 0;
  failed |= fclose(f) != 0;
  if (!failed && rename(tmp, out) != 0)
    failed = 1;
  if (failed) {
    fprintf(stderr, "luacompile: cannot write %s: %s\n", out, strerror(errno));
    remove(tmp);
  }
  free(tmp);
  lua_pop(L, 1);
  return failed;
}

/* The output path for `in` in folder `dir`: dir/<basename of in without ".lua">.luac, malloc'd
 * (NULL when out of memory). */
static char *output_path(const char *dir, const char *in) {
  const char *base = strrchr(in, '/');
  base = base ? base + 1 : in;
  size_t n = strlen(base);
  if (n > 4 && strcmp(base + n - 4, ".lua") == 0)
    n -= 4;
  size_t len = strlen(dir) + 1 + n + sizeof ".luac";
  char *out = malloc(len);
  if (out != NULL)
    snprintf(out, len, "%s/%.*s.luac", dir, (int)n, base);
  return out;
}

/* luacompile IN.lua OUT.luac, or luacompile -d DIR IN.lua... (each IN to DIR/<base>.luac): one
 * process for hundreds of service models is much faster than one process each. */
int main(int argc, char **argv) {
  int many = argc >= 3 && strcmp(argv[1], "-d") == 0;
  if (!many && argc != 3) {
    fprintf(stderr, "usage: luacompile INPUT.lua OUTPUT.luac | luacompile -d DIR INPUT.lua...\n");
    return 2;
  }
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    fprintf(stderr, "luacompile: cannot create Lua state\n");
    return 1;
  }
  int status = 0;
  if (!many) {
    status = compile(L, argv[1], argv[2]);
  } else {
    for (int i = 3; i < argc && status == 0; i++) {
      char *out = output_path(argv[2], argv[i]);
      if (out == NULL) {
        fprintf(stderr, "luacompile: out of memory\n");
        status = 1;
        break;
      }
      status = compile(L, argv[i], out);
      free(out);
    }
  }
  lua_close(L);
  return status;
}
