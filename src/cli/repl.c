/* repl.c: the interactive read-eval-print loop (readline, history, completion), after lua.c. */
#include "repl.h"

#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <editline/readline.h> /* libedit's readline emulation (history included) */

#include "host.h"

#define PROMPT "luaws> "
#define PROMPT_MORE "...> "
#define HISTORY_LINES 1000

/* Syntax errors ending in this mark mean the chunk is incomplete: read another line. */
#define EOF_MARK "<eof>"

typedef enum { READ_LINE, READ_EOF, READ_CANCELLED } read_status;

/* ---- reading lines ------------------------------------------------------------------------ */

/* Terminal input goes through libedit's readline(), with its signal handling off
 * (rl_catch_signals = 0) and its keys read by read_key below: a Ctrl-C while waiting for a key
 * ends readline() as end of input would, and the flag tells the two apart. No longjmp, and no
 * line state is left behind (libedit resets its line buffer on each call). libedit's own read
 * retries once after EINTR, which would swallow the first Ctrl-C: hence read_key. */
static volatile sig_atomic_t prompt_interrupted;

static void on_prompt_sigint(int sig) {
  (void)sig;
  prompt_interrupted = 1;
}

/* Reads one byte from stdin, waiting in pselect with SIGINT unblocked only there, so a Ctrl-C
 * cannot slip in between the check and the wait. Returns the byte, or -1 on end of input,
 * error or Ctrl-C. */
static int read_byte(void) {
  sigset_t block, original_mask, waiting_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigprocmask(SIG_BLOCK, &block, &original_mask);
  waiting_mask = original_mask;
  sigdelset(&waiting_mask, SIGINT);
  int result = -1;
  while (!prompt_interrupted) {
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(STDIN_FILENO, &readable);
    int ready = pselect(STDIN_FILENO + 1, &readable, NULL, NULL, NULL, &waiting_mask);
    if (ready < 0 && errno == EINTR)
      continue;
    unsigned char byte;
    if (ready > 0 && read(STDIN_FILENO, &byte, 1) == 1)
      result = byte;
    break;
  }
  sigprocmask(SIG_SETMASK, &original_mask, NULL);
  return result;
}

/* rl_getc_function: one character as a code point. libedit turns what this returns straight
 * into a wide character, so UTF-8 sequences are decoded here (a bad one yields U+FFFD). */
static int read_key(FILE *stream) {
  (void)stream;
  int c = read_byte();
  if (c < 0x80)
    return c;
  int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : -1;
  if (more < 0)
    return 0xfffd;
  int code = c & (0x3f >> more);
  for (int i = 0; i < more; i++) {
    int next = read_byte();
    if (next < 0)
      return -1;
    if ((next & 0xc0) != 0x80)
      return 0xfffd;
    code = (code << 6) | (next & 0x3f);
  }
  return code;
}

/* Reads one line from the terminal with the prompt. On READ_LINE *out is malloc'd. */
static read_status read_terminal_line(const char *prompt, char **out) {
  prompt_interrupted = 0;
  char *line = readline(prompt);
  if (prompt_interrupted) {
    /* Ctrl-C: drop what was typed, leave the line on screen, start afresh. */
    free(line);
    fputs("^C\n", stdout);
    fflush(stdout);
    return READ_CANCELLED;
  }
  if (line == NULL)
    return READ_EOF;
  *out = line;
  return READ_LINE;
}

/* Reads one line from a pipe or file (no prompt, no editing). On READ_LINE *out is malloc'd. */
static read_status read_plain_line(char **out) {
  char *line = NULL;
  size_t capacity = 0;
  ssize_t len = getline(&line, &capacity, stdin);
  if (len < 0) {
    free(line);
    return READ_EOF;
  }
  if (len > 0 && line[len - 1] == '\n')
    line[len - 1] = '\0';
  *out = line;
  return READ_LINE;
}

/* ---- history ------------------------------------------------------------------------------ */

/* The history file: $LUAWS_HISTORY, else ~/.luaws_history; NULL when there is no home. The
 * result is malloc'd. */
static char *history_path(void) {
  const char *explicit_path = getenv("LUAWS_HISTORY");
  if (explicit_path && *explicit_path)
    return strdup(explicit_path);
  const char *home = getenv("HOME");
  if (!home || !*home)
    return NULL;
  size_t size = strlen(home) + sizeof "/.luaws_history";
  char *path = malloc(size);
  if (path)
    snprintf(path, size, "%s/.luaws_history", home);
  return path;
}

/* libedit's history file format: this first line, then one entry per line with blanks,
 * newlines, backslashes and control bytes escaped as strvis(3) does (\040, \012, \\). */
#define HISTORY_COOKIE "_HiStOrY_V2_"

/* Loads a history file of plain lines (GNU readline's format, from older luaws) into the list.
 * Returns the number of entries read. */
static int load_plain_history(FILE *f) {
  char *line = NULL;
  size_t capacity = 0;
  ssize_t len;
  int n = 0;
  while ((len = getline(&line, &capacity, f)) > 0) {
    if (line[len - 1] == '\n')
      line[len - 1] = '\0';
    if (*line) {
      add_history(line);
      n++;
    }
  }
  free(line);
  return n;
}

/* Creates the history file owner-only if needed (and tightens an existing one), then loads it;
 * a file in the old plain format is rewritten in libedit's. Returns false when it cannot be
 * used. */
static bool open_history(const char *path) {
  int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    return false;
  fchmod(fd, 0600); /* commands typed may name accounts and keys: not for other users */
  FILE *f = fdopen(fd, "r");
  if (f == NULL) {
    close(fd);
    return false;
  }
  char first[sizeof HISTORY_COOKIE + 1] = "";
  bool libedit_format = fgets(first, sizeof first, f) == NULL ||
                        strncmp(first, HISTORY_COOKIE, sizeof HISTORY_COOKIE - 1) == 0;
  int lines = 0;
  if (libedit_format) {
    for (int c; (c = getc(f)) != EOF;)
      lines += c == '\n';
  } else {
    rewind(f);
    load_plain_history(f);
  }
  fclose(f);
  if (libedit_format)
    read_history(path);
  /* Rewrite the file when converting, or when it outgrew the list (stifled to HISTORY_LINES). */
  if (!libedit_format || lines > HISTORY_LINES)
    write_history(path);
  return true;
}

/* Appends one entry to the history file in libedit's format (the cookie first in an empty
 * file). libedit's append_history(1, ...) writes one entry too many, so this does it. */
static void append_entry(const char *path, const char *chunk) {
  FILE *f = fopen(path, "a");
  if (f == NULL)
    return;
  if (ftell(f) == 0 && fseek(f, 0, SEEK_END) == 0 && ftell(f) == 0)
    fputs(HISTORY_COOKIE "\n", f);
  for (const unsigned char *p = (const unsigned char *)chunk; *p; p++) {
    if (*p == '\\')
      fputs("\\\\", f);
    else if (*p <= ' ' || *p == 0x7f)
      fprintf(f, "\\%03o", *p);
    else
      fputc(*p, f);
  }
  fputc('\n', f);
  fclose(f);
}

/* Adds a finished chunk to the history list and the file, skipping blanks and repeats. */
static void remember(const char *chunk, const char *path) {
  if (chunk[strspn(chunk, " \t\n")] == '\0')
    return;
  HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
  if (last && strcmp(last->line, chunk) == 0)
    return;
  add_history(chunk);
  if (path)
    append_entry(path, chunk);
}

/* ---- completion --------------------------------------------------------------------------- */

static lua_State *completion_state;
static char **completion_list;
static size_t completion_count;

/* Looks up `name` in the value at `idx` without running code: a raw get, then the chain of
 * __index tables (how classes and userdata expose methods). Pushes the value or nil. */
static void push_field_raw(lua_State *L, int idx, const char *name) {
  lua_pushvalue(L, idx);
  for (int depth = 0; depth < 8; depth++) {
    if (lua_istable(L, -1)) {
      lua_pushstring(L, name);
      if (lua_rawget(L, -2) != LUA_TNIL) {
        lua_remove(L, -2);
        return;
      }
      lua_pop(L, 1);
    }
    if (!lua_getmetatable(L, -1))
      break;
    lua_pushliteral(L, "__index");
    lua_rawget(L, -2);
    lua_replace(L, -3);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_pushnil(L);
}

static bool is_identifier(const char *s, size_t len) {
  if (len == 0 || !(s[0] == '_' || ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')))
    return false;
  for (size_t i = 1; i < len; i++) {
    char c = s[i];
    if (!(c == '_' || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
      return false;
  }
  return true;
}

/* lua_CFunction (1: text being completed) -> table mapping each completion to its type name.
 * Runs protected, so a memory error cannot escape into readline. */
static int collect_completions(lua_State *L) {
  const char *text = luaL_checkstring(L, 1);
  /* The last separator splits the path being walked from the partial name. */
  const char *last = NULL;
  for (const char *p = text; *p; p++)
    if (*p == '.' || *p == ':')
      last = p;
  lua_newtable(L); /* 2: results */
  lua_pushglobaltable(L); /* 3: the value whose fields are candidates */
  const char *partial = text;
  if (last) {
    const char *segment = text;
    while (segment < last) {
      size_t len = strcspn(segment, ".:");
      if (segment + len < last && segment[len] == ':')
        return 1; /* a method call can only come last */
      if (!is_identifier(segment, len))
        return 1;
      lua_pushlstring(L, segment, len);
      push_field_raw(L, 3, lua_tostring(L, -1));
      lua_replace(L, 3);
      lua_pop(L, 1);
      segment += len + 1;
    }
    partial = last + 1;
  }
  size_t prefix_len = (size_t)(partial - text);
  size_t partial_len = strlen(partial);
  bool methods_only = last && *last == ':';
  /* Candidates: the value's own keys, then those of its __index tables. */
  lua_pushvalue(L, 3);
  for (int depth = 0; depth < 8 && !lua_isnil(L, -1); depth++) {
    if (lua_istable(L, -1)) {
      lua_pushnil(L);
      while (lua_next(L, -2)) {
        size_t len;
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &len) : NULL;
        if (key && is_identifier(key, len) && strncmp(key, partial, partial_len) == 0 &&
            (!methods_only || lua_isfunction(L, -1))) {
          lua_pushlstring(L, text, prefix_len);
          lua_pushvalue(L, -3);
          lua_concat(L, 2);
          lua_pushstring(L, luaL_typename(L, -2));
          lua_rawset(L, 2);
        }
        lua_pop(L, 1);
      }
    }
    if (!lua_getmetatable(L, -1))
      break;
    lua_pushliteral(L, "__index");
    lua_rawget(L, -2);
    lua_replace(L, -3);
    lua_pop(L, 1);
  }
  /* Objects that resolve names in code (an __index function: a client's operations) may
   * list them: a __complete metamethod returning an array of names. Failures add nothing. */
  lua_settop(L, 3);
  if (luaL_getmetafield(L, 3, "__complete") == LUA_TFUNCTION) {
    lua_pushvalue(L, 3);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
      lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
      for (lua_Integer i = 1; i <= n; i++) {
        size_t len;
        const char *name = lua_rawgeti(L, -1, i) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
        if (name && is_identifier(name, len) && strncmp(name, partial, partial_len) == 0) {
          lua_pushlstring(L, text, prefix_len);
          lua_pushvalue(L, -2);
          lua_concat(L, 2);
          lua_pushliteral(L, "function");
          lua_rawset(L, 2);
        }
        lua_pop(L, 1);
      }
    }
  }
  lua_settop(L, 2);
  return 1;
}

/* Readline generator over completion_list. Returns malloc'd strings readline frees. */
static char *completion_generator(const char *text, int state) {
  static size_t next;
  (void)text;
  if (state == 0)
    next = 0;
  return next < completion_count ? strdup(completion_list[next++]) : NULL;
}

static void free_completion_list(void) {
  for (size_t i = 0; i < completion_count; i++)
    free(completion_list[i]);
  free(completion_list);
  completion_list = NULL;
  completion_count = 0;
}

/* Pushes field `name` of the REPL's Lua side, require("luaws.repl"), or nil when it cannot
 * load. Stack: +1. */
static void push_repl_field(lua_State *L, const char *name) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "luaws.repl");
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
  } else {
    lua_pop(L, 1);
    lua_pushnil(L);
  }
}

/* Asks luaws.repl.complete(line before the word, word) for completions that need the models
 * (service names in aws.client(", parameter names in a call's table). On an answer pushes the
 * candidates as a table {name = "function"} like collect_completions and returns true with
 * *append the character for a unique one; else pushes nothing and returns false. */
static bool model_completions(lua_State *L, const char *text, int start, char *append) {
  push_repl_field(L, "complete");
  if (!lua_isfunction(L, -1) || rl_line_buffer == NULL || start < 0 ||
      (size_t)start > strlen(rl_line_buffer)) {
    lua_pop(L, 1);
    return false;
  }
  lua_pushlstring(L, rl_line_buffer, (size_t)start);
  lua_pushstring(L, text);
  if (lua_pcall(L, 2, 2, 0) != LUA_OK || !lua_istable(L, -2)) {
    lua_pop(L, 2);
    return false;
  }
  const char *suffix = lua_tostring(L, -1);
  *append = suffix && suffix[0] ? suffix[0] : '\0';
  lua_pop(L, 1);
  lua_newtable(L);
  lua_Integer n = (lua_Integer)lua_rawlen(L, -2);
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_rawgeti(L, -2, i) == LUA_TSTRING) {
      lua_pushliteral(L, "model");
      lua_rawset(L, -3);
    } else {
      lua_pop(L, 1);
    }
  }
  lua_remove(L, -2);
  return true;
}

/* Readline completion: service names and parameter names from the models (luaws.repl), else
 * globals, then fields and methods along a dotted path (aws.cl<TAB>), read raw (no code runs)
 * except for an object's opt-in __complete metamethod. A unique table gets a "." appended, a
 * unique function "(". */
static char **complete(const char *text, int start, int end) {
  (void)end;
  lua_State *L = completion_state;
  rl_attempted_completion_over = 1; /* never fall back to file names */
  rl_completion_append_character = '\0';
  free_completion_list();
  int top = lua_gettop(L);
  char model_append = '\0';
  bool from_models = model_completions(L, text, start, &model_append);
  if (!from_models) {
    lua_pushcfunction(L, collect_completions);
    lua_pushstring(L, text);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
      lua_settop(L, top);
      return NULL;
    }
  }
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    n++;
    lua_pop(L, 1);
  }
  completion_list = calloc(n ? n : 1, sizeof *completion_list);
  const char *only_type = NULL;
  lua_pushnil(L);
  while (completion_list && lua_next(L, -2)) {
    char *copy = strdup(lua_tostring(L, -2));
    if (copy)
      completion_list[completion_count++] = copy;
    only_type = lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  if (completion_count == 1 && from_models)
    rl_completion_append_character = model_append;
  else if (completion_count == 1 && only_type)
    rl_completion_append_character =
      strcmp(only_type, "table") == 0 ? '.' : strcmp(only_type, "function") == 0 ? '(' : '\0';
  lua_settop(L, top);
  return completion_count ? rl_completion_matches(text, completion_generator) : NULL;
}

/* ---- evaluating --------------------------------------------------------------------------- */

/* Whether a load status is a syntax error at end of input; pops that message if so. */
static bool incomplete(lua_State *L, int status) {
  if (status != LUA_ERRSYNTAX)
    return false;
  size_t len;
  const char *msg = lua_tolstring(L, -1, &len);
  size_t mark = sizeof EOF_MARK - 1;
  if (msg && len >= mark && strcmp(msg + len - mark, EOF_MARK) == 0) {
    lua_pop(L, 1);
    return true;
  }
  return false;
}

/* Reads a line with the given prompt from whichever input the REPL uses. */
static read_status read_line(bool terminal, const char *prompt, char **out) {
  return terminal ? read_terminal_line(prompt, out) : read_plain_line(out);
}

/* Reads and compiles one chunk, asking for more lines while it is incomplete. First tries the
 * input as an expression ("return <line>;"), as lua.c's addreturn does, so `1+1` and `=x`
 * print their value. Pushes the compiled function on READ_LINE with *status its load status
 * (the error message instead of the function when that is not LUA_OK). */
static read_status load_chunk(lua_State *L, bool terminal, const char *history, int *status) {
  char *line = NULL;
  read_status got;
  do {
    got = read_line(terminal, PROMPT, &line);
    if (got != READ_LINE)
      return got;
    if (line[strspn(line, " \t")] != '\0')
      break;
    free(line);
  } while (true);

  const char *code = line[0] == '=' ? line + 1 : line;
  lua_pushfstring(L, "return %s;", code);
  *status = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), "=stdin");
  if (*status == LUA_OK || line[0] == '=') {
    lua_remove(L, -2);
    remember(line, history);
    free(line);
    return READ_LINE;
  }
  lua_pop(L, 2);

  lua_pushstring(L, line);
  free(line);
  for (;;) {
    size_t len;
    const char *chunk = lua_tolstring(L, -1, &len);
    *status = luaL_loadbuffer(L, chunk, len, "=stdin");
    if (!incomplete(L, *status))
      break;
    got = read_line(terminal, PROMPT_MORE, &line);
    if (got != READ_LINE) {
      lua_pop(L, 1);
      return got;
    }
    lua_pushliteral(L, "\n");
    lua_pushstring(L, line);
    free(line);
    lua_concat(L, 3);
  }
  remember(lua_tostring(L, -2), history);
  lua_remove(L, -2);
  return READ_LINE;
}

/* Shows an error without ending the session: "interrupted!" for Ctrl-C, else one line (the
 * traceback with --debug). Pops the error. */
static void show_error(lua_State *L, int status) {
  if (luaws_host_is_interrupted(L, -1)) {
    lua_pop(L, 1);
    fflush(stdout);
    fputs("interrupted!\n", stderr);
    fflush(stderr);
    return;
  }
  luaws_host_report(L, status);
}

/* Prints every value above `base` with luaws.repl.print (pretty tables, call results without
 * ResponseMetadata; plain print if that cannot load), and pops them. */
static void print_results(lua_State *L, int base) {
  int n = lua_gettop(L) - base;
  if (n == 0)
    return;
  luaL_checkstack(L, 3, "too many results to print");
  push_repl_field(L, "print");
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 1);
    lua_getglobal(L, "print");
  }
  lua_insert(L, base + 1);
  int status = luaws_host_docall(L, n, 0);
  if (status != LUA_OK)
    show_error(L, status);
}

/* libedit edits wide characters and converts with the LC_CTYPE locale, which is "C" (ASCII)
 * unless set: the REPL switches to the user's locale, or C.UTF-8 when that is not UTF-8, so
 * "café" survives the editor. Returns the previous setting (malloc'd) to restore, or NULL. */
static char *use_utf8_ctype(void) {
  const char *current = setlocale(LC_CTYPE, NULL);
  char *saved = current ? strdup(current) : NULL;
  if (setlocale(LC_CTYPE, "") == NULL || strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
    setlocale(LC_CTYPE, "C.UTF-8");
  return saved;
}

int luaws_repl(lua_State *L) {
  int base = lua_gettop(L);
  bool terminal = isatty(STDIN_FILENO);
  char *history = NULL;
  /* For the whole session a Ctrl-C outside a chunk (at the prompt, or just as a result is
   * printed) only cancels input; luaws_host_docall swaps in its own handler while chunks run.
   * Piped input keeps the default: there Ctrl-C stops luaws as it would a script. */
  struct sigaction action, previous_action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_prompt_sigint;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, terminal ? &action : NULL, &previous_action);
  /* help() explains the REPL, help "s3 PutObject" an operation (unless a script defined one). */
  if (lua_getglobal(L, "help") == LUA_TNIL) {
    push_repl_field(L, "help");
    lua_setglobal(L, "help");
  }
  lua_pop(L, 1);
  char *saved_ctype = NULL;
  if (terminal) {
    saved_ctype = use_utf8_ctype();
    rl_readline_name = "luaws";
    rl_catch_signals = 0; /* Ctrl-C is ours: see read_terminal_line */
    rl_getc_function = read_key; /* before using_history(), which initialises libedit */
    rl_attempted_completion_function = complete;
    /* libedit reads the basic set, GNU readline the completer set: the same for both. */
    static char word_breaks[] = " \t\n\"'`@$><=;|&{(+-*/%^~#[,)}";
    rl_completer_word_break_characters = word_breaks;
    rl_basic_word_break_characters = word_breaks;
    completion_state = L;
    using_history();
    stifle_history(HISTORY_LINES);
    history = history_path();
    if (history && !open_history(history)) {
      fprintf(stderr, "luaws: history not saved: cannot open %s\n", history);
      free(history);
      history = NULL;
    }
    lua_getglobal(L, "aws");
    lua_getfield(L, -1, "version");
    printf("luaws %s (%s): `aws` is loaded. help() explains, Tab completes, Ctrl-D exits.\n",
           lua_isstring(L, -1) ? lua_tostring(L, -1) : "?", LUA_RELEASE);
    fflush(stdout);
    lua_settop(L, base);
  }

  for (;;) {
    int status = LUA_OK;
    read_status got = load_chunk(L, terminal, history, &status);
    if (got == READ_EOF)
      break;
    if (got == READ_CANCELLED)
      continue;
    if (status == LUA_OK)
      status = luaws_host_docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK)
      print_results(L, base);
    else
      show_error(L, status);
    lua_settop(L, base);
  }
  if (terminal) {
    fputs("\n", stdout);
    free_completion_list();
    completion_state = NULL;
    clear_history();
    if (saved_ctype) {
      setlocale(LC_CTYPE, saved_ctype);
      free(saved_ctype);
    }
  }
  fflush(stdout);
  free(history);
  sigaction(SIGINT, &previous_action, NULL);
  lua_settop(L, base);
  return 0;
}
