/* luacompile.c: build-time tool that turns Lua source files into Lua 5.4 bytecode (models stripped,
 * the library with its line numbers, without local variable and upvalue names). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "bytecode_names.h"

/* lua_Writer: appends `size` bytes to the FILE in `ud`. Returns 0 on success, as lua_dump wants. */
static int write_chunk(lua_State *L, const void *p, size_t size, void *ud) {
  (void)L;
  return fwrite(p, 1, size, (FILE *)ud) == size ? 0 : 1;
}

/* A growing byte buffer for a dump (malloc'd). */
typedef struct {
  unsigned char *data;
  size_t len, cap;
} byte_buffer;

/* lua_Writer: appends `size` bytes to the byte_buffer in `ud`. Returns 0, or 1 out of memory. */
static int buffer_chunk(lua_State *L, const void *p, size_t size, void *ud) {
  (void)L;
  byte_buffer *b = ud;
  if (b->cap - b->len < size) {
    size_t cap = b->cap ? b->cap : 65536;
    while (cap - b->len < size)
      cap *= 2;
    unsigned char *grown = realloc(b->data, cap);
    if (grown == NULL)
      return 1;
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, size);
  b->len += size;
  return 0;
}

/* Writes the function on top of L's stack to f: stripped of all debug info when strip is set,
 * else without local variable and upvalue names only (bytecode_names.c). Stack: unchanged. Returns 0 or 1. */
static int write_compiled(lua_State *L, FILE *f, int strip) {
  if (strip)
    return lua_dump(L, write_chunk, f, 1) != 0;
  byte_buffer b = {NULL, 0, 0};
  int failed = lua_dump(L, buffer_chunk, &b, 0) != 0;
  if (!failed && drop_local_names(b.data, b.len, f) != 0) {
    fprintf(stderr, "luacompile: cannot rewrite this Lua's bytecode format\n");
    failed = 1;
  }
  free(b.data);
  return failed;
}

/* Compiles `in` (text only) and writes its stripped bytecode to `out` through a temporary file
 * renamed into place, so a failed or interrupted build never leaves a truncated .luac that
 * looks fresh. Uses the stack of L: pushes and pops the compiled chunk. Returns 0 or 1 (message
 * on stderr). */
static int compile(lua_State *L, const char *in, const char *out, const char *chunkname, int strip) {
  int loaded;
  if (chunkname == NULL) {
    loaded = luaL_loadfilex(L, in, "t");
  } else {
    /* The library keeps its debug info under a name relative to the data dir ("@luaws/sdk/x.lua"),
     * so tracebacks read the same in the build tree and in any installed, moved tree. */
    FILE *src = fopen(in, "rb");
    if (src == NULL) {
      fprintf(stderr, "luacompile: %s: %s\n", in, strerror(errno));
      return 1;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, src)) > 0)
      luaL_addlstring(&b, chunk, n);
    fclose(src);
    luaL_pushresult(&b);
    size_t len;
    const char *text = lua_tolstring(L, -1, &len);
    loaded = luaL_loadbufferx(L, text, len, chunkname, "t");
    lua_remove(L, -2);
  }
  if (loaded != LUA_OK) {
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
  int failed = write_compiled(L, f, strip);
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

/* Creates every missing parent folder of `path` (like mkdir -p of its dirname). */
static void make_parents(const char *path) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p == '/') {
      *p = '\0';
      mkdir(buf, 0755);
      *p = '/';
    }
  }
}

/* luacompile -g ROOT OUTDIR IN.lua...: the library: each ROOT/<rel>.lua to OUTDIR/<rel>.luac with
 * its debug info, named "@<rel>.lua". Returns the exit status. */
static int compile_library(lua_State *L, int argc, char **argv) {
  size_t root_len = strlen(argv[2]);
  for (int i = 4; i < argc; i++) {
    const char *in = argv[i];
    if (strncmp(in, argv[2], root_len) != 0 || in[root_len] != '/') {
      fprintf(stderr, "luacompile: %s is not under %s\n", in, argv[2]);
      return 1;
    }
    const char *rel = in + root_len + 1;
    char out[4096], name[4096];
    size_t rel_len = strlen(rel);
    if (rel_len < 5 || strcmp(rel + rel_len - 4, ".lua") != 0) {
      fprintf(stderr, "luacompile: %s is not a .lua file\n", in);
      return 1;
    }
    snprintf(out, sizeof out, "%s/%.*s.luac", argv[3], (int)(rel_len - 4), rel);
    snprintf(name, sizeof name, "@%s", rel);
    make_parents(out);
    if (compile(L, in, out, name, 0) != 0)
      return 1;
  }
  return 0;
}

/* luacompile IN.lua OUT.luac, or luacompile -d DIR IN.lua... (each IN to DIR/<base>.luac): one
 * process for hundreds of service models is much faster than one process each. Models are
 * stripped; -g compiles the library (see compile_library). */
int main(int argc, char **argv) {
  int many = argc >= 3 && strcmp(argv[1], "-d") == 0;
  int library = argc >= 4 && strcmp(argv[1], "-g") == 0;
  if (!many && !library && argc != 3) {
    fprintf(stderr, "usage: luacompile INPUT.lua OUTPUT.luac | luacompile -d DIR INPUT.lua... | "
                    "luacompile -g ROOT OUTDIR INPUT.lua...\n");
    return 2;
  }
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    fprintf(stderr, "luacompile: cannot create Lua state\n");
    return 1;
  }
  int status = 0;
  if (library) {
    status = compile_library(L, argc, argv);
  } else if (!many) {
    status = compile(L, argv[1], argv[2], NULL, 1);
  } else {
    for (int i = 3; i < argc && status == 0; i++) {
      char *out = output_path(argv[2], argv[i]);
      if (out == NULL) {
        fprintf(stderr, "luacompile: out of memory\n");
        status = 1;
        break;
      }
      status = compile(L, argv[i], out, NULL, 1);
      free(out);
    }
  }
  lua_close(L);
  return status;
}
