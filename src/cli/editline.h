/* editline.h: libedit's readline API, loaded with dlopen when the REPL first reads a terminal. */
#ifndef LUAWS_EDITLINE_H
#define LUAWS_EDITLINE_H

#include <stdio.h>

#include <editline/readline.h> /* the types (HIST_ENTRY, rl_*_func_t); nothing is linked */

/* The functions and variables of libedit's readline emulation that the REPL uses: each
 * variable is a pointer to libedit's own. */
typedef struct luaws_editline {
  char *(*readline)(const char *prompt);
  void (*using_history)(void);
  int (*add_history)(const char *line);
  void (*clear_history)(void);
  void (*stifle_history)(int max);
  HIST_ENTRY *(*history_get)(int offset);
  int (*read_history)(const char *path);
  int (*write_history)(const char *path);
  char **(*rl_completion_matches)(const char *text, rl_compentry_func_t *generator);
  const char **rl_readline_name;
  char **rl_line_buffer;
  int *history_base, *history_length;
  const char **rl_basic_word_break_characters;
  char **rl_completer_word_break_characters;
  rl_completion_func_t **rl_attempted_completion_function;
  int *rl_attempted_completion_over;
  int *rl_completion_append_character;
  int *rl_catch_signals;
  int (**rl_getc_function)(FILE *);
} luaws_editline;

/* libedit's API, loading libedit.so.2 (or the library $LUAWS_LIBEDIT names) on the first call.
 * Returns NULL when it cannot be loaded or lacks a symbol, with *why (when why is not NULL)
 * saying so in a phrase. */
const luaws_editline *luaws_editline_get(const char **why);

#endif
