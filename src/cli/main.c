/* main.c: the luaws command line: scripts, -e chunks, the REPL and recipe commands. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "host.h"
#include "repl.h"
#include "state.h"

/* Exit code for bad usage or input (unknown option, missing script), as getopt tools do. */
#define EXIT_USAGE 2

static const char USAGE[] =
  "usage: luaws [options] [script [args] | - [args] | repl]\n"
  "       luaws [options] run RECIPE [--arg value ...] | list | help [RECIPE]\n"
  "       luaws help SERVICE [OPERATION] | services   a service's operations, an operation's\n"
  "                  parameters, the services built in\n"
  "       luaws test FILE|DIR ...   test recipes on a local cloud (luaws help test)\n"
  "       luaws sso login [--profile P | --sso-session S] [--use-device-code] | sso logout\n"
  "\n"
  "  script [args]   run a Lua script; its arguments are in `arg` and `...`, as with lua\n"
  "  - [args]        run the script read from stdin\n"
  "  repl            interactive session (the default when stdin is a terminal;\n"
  "                  otherwise luaws with no script runs stdin)\n"
  "  run RECIPE      run a recipe (plan only unless --apply)\n"
  "  list            list the recipes luaws can find\n"
  "  help RECIPE     describe a recipe, its arguments and an example\n"
  "\n"
  "options:\n"
  "  -e CHUNK        run a string of Lua (repeatable; runs before the script)\n"
  "  -i              enter the REPL after running the script or chunks\n"
  "  --profile NAME  AWS profile for aws.client (wins over AWS_* keys, as in the CLI)\n"
  "  --region NAME   AWS region for aws.client\n"
  "  --endpoint-url URL  send aws.client requests there\n"
  "  --output FORMAT text (rows), json or table: recipe output (recipe commands)\n"
  "  --apply         make the changes a recipe plans (recipe commands)\n"
  "  --debug         log requests (secrets redacted) and show tracebacks\n"
  "  --version       print the versions of luaws, Lua, libcurl, OpenSSL, expat and\n"
  "                  the botocore data of the models, and the licence (MIT)\n"
  "  --help          print this help\n"
  "  --              end of options; the next argument is the script\n"
  "\n"
  "In scripts and the REPL the library is preloaded as `aws`.\n"
  "Environment: LUAWS_PATH (colon-separated folders searched first for Lua modules),\n"
  "LUAWS_HISTORY (REPL history file, default ~/.luaws_history), LUAWS_DEBUG (like --debug).\n"
  "Exit status: 0 success, 1 error, 2 bad usage, a script that cannot be read or does not\n"
  "compile (syntax error), a broken config file; 130 interrupted.\n";

/* What the command line asks for. Indices point into argv. */
typedef struct command_line {
  bool help, version, debug, interactive, has_chunks;
  const char *profile, *region, *endpoint_url;
  const char *recipe_option;  /* first recipe-only option seen (--apply, --output) */
  int first_arg;              /* first argument that is not an option; argc when none */
  bool after_dashdash;        /* first_arg came after "--": it is a script, whatever its name */
} command_line;

static int usage_error(const char *fmt, const char *what) {
  fputs("luaws: ", stderr);
  fprintf(stderr, fmt, what);
  fputs(" (try 'luaws --help')\n", stderr);
  return EXIT_USAGE;
}

/* Returns the value of option `name` at argv[*i] ("--name value" or "--name=value"), advancing
 * *i past it; NULL when argv[*i] is another option. Sets *missing when the value is absent. */
static const char *option_value(int argc, char **argv, int *i, const char *name, bool *missing) {
  size_t len = strlen(name);
  const char *arg = argv[*i];
  if (strncmp(arg, name, len) != 0)
    return NULL;
  if (arg[len] == '=')
    return arg + len + 1;
  if (arg[len] != '\0')
    return NULL;
  if (*i + 1 >= argc) {
    *missing = true;
    return NULL;
  }
  *i += 1;
  return argv[*i];
}

/* Parses options up to the first non-option argument. Returns 0, or EXIT_USAGE after printing
 * a one-line error. */
static int parse_command_line(int argc, char **argv, command_line *cl) {
  memset(cl, 0, sizeof *cl);
  cl->first_arg = argc;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    bool missing = false;
    const char *value;
    if (arg[0] != '-' || strcmp(arg, "-") == 0) {
      cl->first_arg = i;
      return 0;
    }
    if (strcmp(arg, "--") == 0) {
      cl->first_arg = i + 1;
      cl->after_dashdash = true;
      return 0;
    }
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
      cl->help = true;
    else if (strcmp(arg, "--version") == 0 || strcmp(arg, "-v") == 0)
      cl->version = true;
    else if (strcmp(arg, "--debug") == 0)
      cl->debug = true;
    else if (strcmp(arg, "-i") == 0)
      cl->interactive = true;
    else if (strcmp(arg, "--apply") == 0) {
      if (!cl->recipe_option)
        cl->recipe_option = arg;
    } else if (strcmp(arg, "-e") == 0) {
      if (++i >= argc)
        return usage_error("%s needs a chunk of Lua", "-e");
      cl->has_chunks = true;
    } else if ((value = option_value(argc, argv, &i, "--profile", &missing)) != NULL)
      cl->profile = value;
    else if (!missing && (value = option_value(argc, argv, &i, "--region", &missing)) != NULL)
      cl->region = value;
    else if (!missing &&
             (value = option_value(argc, argv, &i, "--endpoint-url", &missing)) != NULL)
      cl->endpoint_url = value;
    else if (!missing && (value = option_value(argc, argv, &i, "--output", &missing)) != NULL) {
      if (!cl->recipe_option)
        cl->recipe_option = "--output";
    } else if (missing)
      return usage_error("%s needs a value", arg);
    else
      return usage_error("unknown option '%s'", arg);
  }
  return 0;
}

static bool is_recipe_command(const char *word) {
  return strcmp(word, "run") == 0 || strcmp(word, "list") == 0 || strcmp(word, "help") == 0 ||
         strcmp(word, "test") == 0 || strcmp(word, "sso") == 0;
}

/* Whether `word` reads as a mistyped command rather than a script: no such file, no "/", no
 * ".": luaws.recipe.cli then suggests the close command (`luaws frob`). */
static bool is_mistyped_command(const char *word) {
  return strpbrk(word, "/.") == NULL && strcmp(word, "-") != 0 && strcmp(word, "repl") != 0 &&
         access(word, F_OK) != 0;
}

/* Pushes the version of the botocore data the shipped models were generated from (read from a
 * model's header by luaws.sdk.help), or "unknown". Stack: +1. */
static void push_data_version(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "luaws.sdk.help");
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_getfield(L, -1, "data_version") == LUA_TFUNCTION &&
      lua_pcall(L, 0, 1, 0) == LUA_OK && lua_isstring(L, -1)) {
    lua_remove(L, -2);
    return;
  }
  lua_settop(L, lua_gettop(L) - 1);
  lua_pushliteral(L, "unknown");
}

/* Prints "luaws X, Lua X, libcurl X, OpenSSL X, expat X, botocore data X" and the licence.
 * Returns the exit code. Stack: unchanged. */
static int print_versions(lua_State *L) {
  int top = lua_gettop(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "luaws.host");
  int status = luaws_host_docall(L, 1, 1);
  if (status != LUA_OK)
    return luaws_host_report(L, status);
  lua_getfield(L, -1, "versions");
  lua_call(L, 0, 1);
  push_data_version(L);
  lua_setfield(L, -2, "data");
  static const char *const keys[] = {"luaws", "lua", "curl", "openssl", "expat", "data"};
  static const char *const labels[] = {"luaws", "Lua", "libcurl", "OpenSSL", "expat",
                                       "botocore data"};
  for (int i = 0; i < 6; i++) {
    lua_getfield(L, -1, keys[i]);
    printf("%s%s %s", i ? ", " : "", labels[i], lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  printf("\nMIT License, Copyright (c) 2026 The luaws authors (the LICENSE file).\n");
  lua_settop(L, top);
  return 0;
}

/* Sets the global `arg` as lua.c does: arg[0] is the script, arg[1..] its arguments,
 * negative indices the interpreter and options before it. With no script (script == 0),
 * arg[0] is the interpreter. Stack: unchanged. */
static void set_arg_table(lua_State *L, int argc, char **argv, int script) {
  lua_createtable(L, argc - script - 1, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

/* Runs the script argv[script] ("-": stdin) with the arguments after it as `...`.
 * Returns the exit code; an unreadable script is bad input (2). Stack: unchanged. */
static int run_script(lua_State *L, int argc, char **argv, int script) {
  const char *path = strcmp(argv[script], "-") == 0 ? NULL : argv[script];
  int status = luaL_loadfile(L, path);
  if (status == LUA_ERRFILE || status == LUA_ERRSYNTAX) {
    /* unreadable or not Lua: bad input, as documented (exit 2) */
    luaws_host_report(L, status);
    return EXIT_USAGE;
  }
  if (status != LUA_OK)
    return luaws_host_report(L, status);
  int nargs = argc - script - 1;
  luaL_checkstack(L, nargs, "too many arguments to script");
  for (int i = script + 1; i < argc; i++)
    lua_pushstring(L, argv[i]);
  return luaws_host_report(L, luaws_host_docall(L, nargs, 0));
}

/* Runs one -e chunk. Returns the exit code. Stack: unchanged. */
static int run_chunk(lua_State *L, const char *chunk) {
  int status = luaL_loadbuffer(L, chunk, strlen(chunk), "=(command line)");
  if (status == LUA_OK)
    status = luaws_host_docall(L, 0, 0);
  return luaws_host_report(L, status);
}

/* Runs every -e chunk among the options, in order, stopping at the first failure. */
static int run_chunks(lua_State *L, int argc, char **argv, int first_arg) {
  for (int i = 1; i < first_arg && i < argc; i++) {
    if (strcmp(argv[i], "-e") == 0) {
      int code = run_chunk(L, argv[++i]);
      if (code != 0)
        return code;
    } else if (strcmp(argv[i], "--profile") == 0 || strcmp(argv[i], "--region") == 0 ||
               strcmp(argv[i], "--endpoint-url") == 0 || strcmp(argv[i], "--output") == 0) {
      i++; /* skip the option's value, which could itself be "-e" */
    }
  }
  return 0;
}

/* Hands argv[first..] to require(module).main(args, aws), options included and untouched, with
 * the `aws` library (require("luaws")) the recipes get: the recipe commands to
 * luaws.recipe.cli, `__complete` to luaws.complete. Returns the exit code main returns
 * (0 for nil). Stack: unchanged. */
static int run_lua_main(lua_State *L, const char *module, int argc, char **argv, int first) {
  lua_getglobal(L, "require");
  lua_pushstring(L, module);
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
  lua_getglobal(L, "require");
  lua_pushliteral(L, "luaws");
  status = luaws_host_docall(L, 1, 1);
  if (status != LUA_OK)
    return luaws_host_report(L, status);
  status = luaws_host_docall(L, 2, 1);
  if (status != LUA_OK)
    return luaws_host_report(L, status);
  /* main returns an integer; be lenient with nil (success) and false (failure). */
  int code = 0;
  if (lua_isinteger(L, -1))
    code = (int)lua_tointeger(L, -1);
  else if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1))
    code = 1;
  lua_pop(L, 1);
  return code;
}

/* Scripts, -e chunks and the REPL: runs them in order. Returns the exit code. */
static int run_lua(lua_State *L, int argc, char **argv, const command_line *cl) {
  int first = cl->first_arg;
  bool repl_word = first < argc && !cl->after_dashdash && strcmp(argv[first], "repl") == 0;
  if (repl_word && first + 1 < argc)
    return usage_error("%s takes no arguments", "repl");
  int script = (first < argc && !repl_word) ? first : 0;
  set_arg_table(L, argc, argv, script);

  int code = run_chunks(L, argc, argv, first);
  if (code != 0)
    return code;
  if (script)
    code = run_script(L, argc, argv, script);
  else if (!cl->has_chunks && !repl_word && !cl->interactive && !isatty(STDIN_FILENO)) {
    /* `luaws < file` and `cmd | luaws`: the input is a script, not keystrokes. */
    int status = luaL_loadfile(L, NULL);
    code = luaws_host_report(L, status == LUA_OK ? luaws_host_docall(L, 0, 0) : status);
  }
  if (code != 0)
    return code;
  if (repl_word || cl->interactive || (!script && !cl->has_chunks && isatty(STDIN_FILENO)))
    code = luaws_repl(L);
  return code;
}

/* Sets aws.defaults.{profile,region,endpoint_url} from the command line for scripts and the
 * REPL: aws.client uses them when its caller names none, so --profile outranks environment keys
 * as it does for the AWS CLI. Stack: unchanged. */
static void set_client_defaults(lua_State *L, const command_line *cl) {
  lua_getglobal(L, "aws");
  if (lua_getfield(L, -1, "defaults") == LUA_TTABLE) {
    const char *values[] = {cl->profile, cl->region, cl->endpoint_url};
    const char *keys[] = {"profile", "region", "endpoint_url"};
    for (int i = 0; i < 3; i++) {
      if (values[i] == NULL)
        continue;
      lua_pushstring(L, values[i]);
      lua_setfield(L, -2, keys[i]);
    }
  }
  lua_pop(L, 2);
}

int main(int argc, char **argv) {
  /* `luaws __complete WORD...`: the shell completion scripts ask for candidates (hidden). */
  if (argc >= 2 && strcmp(argv[1], "__complete") == 0) {
    luaws_host_options quiet = {.argv0 = argv[0]};
    lua_State *L = luaws_host_new(&quiet);
    if (L == NULL)
      return 1;
    int code = run_lua_main(L, "luaws.complete", argc, argv, 2);
    luaws_state_close(L);
    fflush(stdout);
    return code;
  }
  command_line cl;
  int code = parse_command_line(argc, argv, &cl);
  if (code != 0)
    return code;
  const char *debug_env = getenv("LUAWS_DEBUG");
  luaws_host_options options = {
    .argv0 = argv[0],
    .debug = cl.debug || (debug_env != NULL && *debug_env != '\0' && strcmp(debug_env, "0") != 0),
  };
  bool recipe = !cl.version && !cl.has_chunks && !cl.after_dashdash && cl.first_arg < argc &&
                (is_recipe_command(argv[cl.first_arg]) || is_mistyped_command(argv[cl.first_arg]));
  if (cl.help && !recipe) { /* `luaws --help run X` is the recipe's help: luaws.recipe.cli's job */
    fputs(USAGE, stdout);
    return 0;
  }
  if (!recipe && !cl.version) {
    if (cl.recipe_option)
      return usage_error("%s is an option of recipe commands (luaws run RECIPE ...)",
                         cl.recipe_option);
  }

  lua_State *L = luaws_host_new(&options);
  if (L == NULL)
    return 1;
  if (!recipe && !cl.version)
    set_client_defaults(L, &cl);
  if (cl.version)
    code = print_versions(L);
  else if (recipe)
    code = run_lua_main(L, "luaws.recipe.cli", argc, argv, 1);
  else
    code = run_lua(L, argc, argv, &cl);
  luaws_state_close(L);
  fflush(stdout);
  return code;
}
