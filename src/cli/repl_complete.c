/* repl_complete.c: the REPL's Tab completion (libedit's readline API): globals and fields read
 * raw, a value's __complete names, and service and parameter names from luaws.repl. */
#include "repl_complete.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "editline.h"

/* Pushes field `name` of the REPL's Lua side, require("luaws.repl"), or nil when it cannot
 * load. Stack: +1. */
void luaws_repl_push_field(lua_State *L, const char *name) {
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

static lua_State *completion_state;
static const luaws_editline *editline; /* set by luaws_repl_complete_start */
static const char *pending_chunk; /* earlier lines of the chunk being typed, or NULL */

void luaws_repl_complete_pending(const char *chunk) {
  pending_chunk = chunk;
}
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

/* Asks luaws.repl.complete(text before the word: earlier lines of the chunk and the line, word) for completions that need the models
 * (service names in aws.client(", parameter names in a call's table). On an answer pushes the
 * candidates as a table {name = "function"} like collect_completions and returns true with
 * *append the character for a unique one; else pushes nothing and returns false. */
static bool model_completions(lua_State *L, const char *text, int start, char *append) {
  luaws_repl_push_field(L, "complete");
  const char *line = *editline->rl_line_buffer;
  if (!lua_isfunction(L, -1) || line == NULL || start < 0 || (size_t)start > strlen(line)) {
    lua_pop(L, 1);
    return false;
  }
  if (pending_chunk) {
    lua_pushstring(L, pending_chunk);
    lua_pushliteral(L, "\n");
    lua_pushlstring(L, line, (size_t)start);
    lua_concat(L, 3);
  } else {
    lua_pushlstring(L, line, (size_t)start);
  }
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
  *editline->rl_attempted_completion_over = 1; /* never fall back to file names */
  *editline->rl_completion_append_character = '\0';
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
    *editline->rl_completion_append_character = model_append;
  else if (completion_count == 1 && only_type)
    *editline->rl_completion_append_character =
      strcmp(only_type, "table") == 0 ? '.' : strcmp(only_type, "function") == 0 ? '(' : '\0';
  lua_settop(L, top);
  return completion_count ? editline->rl_completion_matches(text, completion_generator) : NULL;
}

void luaws_repl_complete_start(lua_State *L, const luaws_editline *api) {
  completion_state = L;
  editline = api;
  *editline->rl_attempted_completion_function = complete;
  /* libedit reads the basic set, GNU readline the completer set: the same for both. */
  static char word_breaks[] = " \t\n\"'`@$><=;|&{(+-*/%^~#[,)}";
  *editline->rl_completer_word_break_characters = word_breaks;
  *editline->rl_basic_word_break_characters = word_breaks;
}

void luaws_repl_complete_stop(void) {
  free_completion_list();
  completion_state = NULL;
}
