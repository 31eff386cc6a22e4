/* repl.c: the interactive read-eval-print loop (libedit, history), after lua.c; Tab completion is
 * in repl_complete.c. */
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
#include "editline.h" /* libedit's readline emulation (history included), loaded on demand */
#include "host.h"
#include "repl_complete.h"

#define PROMPT "luaws> "
#define PROMPT_MORE "...> "
#define HISTORY_LINES 1000

/* Syntax errors ending in this mark mean the chunk is incomplete: read another line. */
#define EOF_MARK "<eof>"

typedef enum { READ_LINE, READ_EOF, READ_CANCELLED } read_status;

/* libedit, for a session on a terminal (NULL otherwise). */
static const luaws_editline *editline;

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
  char *line = editline->readline(prompt);
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
      editline->add_history(line);
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
    editline->read_history(path);
  /* Rewrite the file when converting, or when it outgrew the list (stifled to HISTORY_LINES). */
  if (!libedit_format || lines > HISTORY_LINES)
    editline->write_history(path);
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

/* Adds a finished chunk to the history list and the file, skipping blanks and repeats (a
 * terminal session only: piped input has no history). */
static void remember(const char *chunk, const char *path) {
  if (editline == NULL || chunk[strspn(chunk, " \t\n")] == '\0')
    return;
  int length = *editline->history_length;
  HIST_ENTRY *last = length > 0 ? editline->history_get(*editline->history_base + length - 1) : NULL;
  if (last && strcmp(last->line, chunk) == 0)
    return;
  editline->add_history(chunk);
  if (path)
    append_entry(path, chunk);
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
    /* The chunk so far stays on the stack while the next line is read: completion may see it. */
    luaws_repl_complete_pending(lua_tostring(L, -1));
    got = read_line(terminal, PROMPT_MORE, &line);
    luaws_repl_complete_pending(NULL);
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
  luaws_repl_push_field(L, "print");
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
  if (terminal) {
    const char *why = NULL;
    editline = luaws_editline_get(&why);
    if (editline == NULL) {
      fprintf(stderr, "luaws: no line editing (%s): reading plain lines\n", why);
      terminal = false;
    }
  }
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
    luaws_repl_push_field(L, "help");
    lua_setglobal(L, "help");
  }
  lua_pop(L, 1);
  char *saved_ctype = NULL;
  if (terminal) {
    saved_ctype = use_utf8_ctype();
    *editline->rl_readline_name = "luaws";
    *editline->rl_catch_signals = 0; /* Ctrl-C is ours: see read_terminal_line */
    *editline->rl_getc_function = read_key; /* before using_history(), which initialises libedit */
    luaws_repl_complete_start(L, editline);
    editline->using_history();
    editline->stifle_history(HISTORY_LINES);
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
    luaws_repl_complete_stop();
    editline->clear_history();
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
