/* main.c: the luaws command line: scripts, -e chunks, the REPL and recipe commands. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "host.h"
#include "repl.h"

static const char USAGE[] =
  "usage: luaws [options] [script [args] | -e chunk | repl | run RECIPE [--arg value ...]\n"
  "             | list | help RECIPE]\n"
  "\n"
  "  script [args]   run a Lua script; its arguments are in `arg`, as with lua\n"
  "  -e chunk        run a string of Lua\n"
  "  repl            interactive session (the default on a terminal)\n"
  "  run RECIPE      run a recipe (plan only unless --apply)\n"
  "  list            list the recipes luaws can find\n"
  "  help RECIPE     describe a recipe, its arguments and an example\n"
  "\n"
  "options:\n"
  "  --debug         log requests (secrets redacted) and show tracebacks\n"
  "  --version       print luaws, Lua, curl and OpenSSL versions\n"
  "  --help          print this help\n"
  "\n"
  "In scripts and the REPL the library is preloaded as `aws`.\n";

static void print_versions(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "luaws.host");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "versions");
  lua_call(L, 0, 1);
  const char *keys[] = {"luaws", "lua", "curl", "openssl"};
  const char *labels[] = {"luaws", "Lua", "curl", "OpenSSL"};
  for (int i = 0; i < 4; i++) {
    lua_getfield(L, -1, keys[i]);
    printf("%s%s %s", i ? ", " : "", labels[i], lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  printf("\n");
  lua_pop(L, 2);
}

/* Sets the global `arg` as lua.c does: arg[0] is the script, arg[1..] its arguments,
 * negative indices the interpreter and options before it. Stack: unchanged. */
static void set_arg_table(lua_State *L, int argc, char **argv, int script) {
  lua_createtable(L, argc - script - 1, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

/* Runs a file (NULL: stdin) with its arguments. Returns the exit code. */
static int run_script(lua_State *L, const char *path, int argc, char **argv, int script) {
  set_arg_table(L, argc, argv, script);
  int status = luaL_loadfile(L, path);
  if (status != LUA_OK)
    return luaws_host_report(L, status);
  int nargs = argc - script - 1;
  luaL_checkstack(L, nargs, "too many arguments to script");
  for (int i = script + 1; i < argc; i++)
    lua_pushstring(L, argv[i]);
  return luaws_host_report(L, luaws_host_docall(L, nargs, 0));
}

static int run_chunk(lua_State *L, const char *chunk) {
  int status = luaL_loadbuffer(L, chunk, strlen(chunk), "=(command line)");
  if (status == LUA_OK)
    status = luaws_host_docall(L, 0, 0);
  return luaws_host_report(L, status);
}

/* Hands a recipe command and all remaining arguments to the Lua side (luaws.cli). */
static int run_recipe_command(lua_State *L, int argc, char **argv, int first) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "luaws.cli");
  int status = luaws_host_docall(L, 1, 1);
  if (status != LUA_OK)
    return luaws_host_report(L, status);
  lua_getfield(L, -1, "main");
  lua_remove(L, -2);
  lua_createtable(L, argc - first, 0);
  for (int i = first; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - first + 1);
  }
  status = luaws_host_docall(L, 1, 1);
  if (status != LUA_OK)
    return luaws_host_report(L, status);
  int code = (int)luaL_optinteger(L, -1, 0);
  lua_pop(L, 1);
  return code;
}

int main(int argc, char **argv) {
  luaws_host_options options = {.argv0 = argv[0], .debug = false};
  int first = 1;
  bool want_version = false;
  for (; first < argc; first++) {
    if (strcmp(argv[first], "--debug") == 0)
      options.debug = true;
    else if (strcmp(argv[first], "--version") == 0)
      want_version = true;
    else if (strcmp(argv[first], "--help") == 0 || strcmp(argv[first], "-h") == 0) {
      fputs(USAGE, stdout);
      return 0;
    } else
      break;
  }
  if (getenv("LUAWS_DEBUG") && *getenv("LUAWS_DEBUG"))
    options.debug = true;

  lua_State *L = luaws_host_new(&options);
  if (L == NULL)
    return 1;
  int code = 0;
  if (want_version) {
    print_versions(L);
  } else if (first >= argc) {
    code = isatty(STDIN_FILENO) ? luaws_repl(L) : run_script(L, NULL, argc, argv, argc - 1);
  } else if (strcmp(argv[first], "-e") == 0) {
    if (first + 1 >= argc) {
      fprintf(stderr, "luaws: -e needs a chunk of Lua\n");
      code = 2;
    } else {
      set_arg_table(L, argc, argv, first + 1);
      code = run_chunk(L, argv[first + 1]);
    }
  } else if (strcmp(argv[first], "repl") == 0) {
    code = luaws_repl(L);
  } else if (strcmp(argv[first], "-") == 0) {
    code = run_script(L, NULL, argc, argv, first);
  } else if (strcmp(argv[first], "run") == 0 || strcmp(argv[first], "list") == 0 ||
             strcmp(argv[first], "help") == 0 || argv[first][0] == '-') {
    code = run_recipe_command(L, argc, argv, first);
  } else {
    code = run_script(L, argv[first], argc, argv, first);
  }
  lua_close(L);
  return code;
}
