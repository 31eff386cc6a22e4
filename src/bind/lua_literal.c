/* lua_literal.c: the "luaws.literal" module: decode(text) builds the value of a Lua table
 * constructor made of data only (tables, strings, numbers, booleans) without the Lua compiler.
 * Shipped service models keep each shape as such text, decoded when a call first needs the
 * shape; compiling it with load() costs ~170 instructions a byte, this ~15. */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "modules.h"

#define LITERAL_MAX_DEPTH 64

typedef struct {
  lua_State *L;
  const char *s, *p, *end;
  const char *error; /* set on the first problem */
} literal_reader;

static void fail(literal_reader *r, const char *what) {
  if (r->error == NULL)
    r->error = what;
}

static void skip_space(literal_reader *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\t' || *r->p == '\r'))
    r->p++;
}

static int is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

/* Whether name[0..len) is one of Lua's reserved words (never a field name without ["..."]). */
static int is_reserved(const char *name, size_t len) {
  static const char *const words[] = {"and", "break", "do", "else", "elseif", "end", "false",
                                      "for", "function", "goto", "if", "in", "local", "nil", "not",
                                      "or", "repeat", "return", "then", "true", "until", "while"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (strlen(words[i]) == len && memcmp(words[i], name, len) == 0)
      return 1;
  return 0;
}

/* A quoted string at r->p: pushes it. Escapes: \n \t \r \a \b \f \v \\ \" \' and \ddd. */
static void read_string(literal_reader *r) {
  char quote = *r->p++;
  const char *start = r->p;
  while (r->p < r->end && *r->p != quote && *r->p != '\\' && *r->p != '\n' && *r->p != '\r')
    r->p++;
  if (r->p < r->end && *r->p == quote) { /* the common case: no escapes */
    lua_pushlstring(r->L, start, (size_t)(r->p - start));
    r->p++;
    return;
  }
  luaL_Buffer b;
  luaL_buffinit(r->L, &b);
  luaL_addlstring(&b, start, (size_t)(r->p - start));
  while (r->p < r->end && *r->p != quote) {
    char c = *r->p++;
    if (c == '\n' || c == '\r') { /* as in Lua, a line break ends a short string */
      fail(r, "unfinished string");
      break;
    }
    if (c != '\\') {
      luaL_addchar(&b, c);
      continue;
    }
    if (r->p >= r->end)
      break;
    c = *r->p++;
    static const char from[] = "ntrabfv\\\"'", to[] = "\n\t\r\a\b\f\v\\\"'";
    const char *hit = strchr(from, c);
    if (c != '\0' && hit != NULL) {
      luaL_addchar(&b, to[hit - from]);
    } else if (c >= '0' && c <= '9') {
      int code = c - '0';
      for (int i = 0; i < 2 && r->p < r->end && *r->p >= '0' && *r->p <= '9'; i++)
        code = code * 10 + (*r->p++ - '0');
      if (code > 255)
        fail(r, "decimal escape too large");
      luaL_addchar(&b, (char)code);
    } else {
      fail(r, "invalid escape sequence");
    }
  }
  if (r->p >= r->end)
    fail(r, "unfinished string");
  else
    r->p++;
  luaL_pushresult(&b);
}

/* A number at r->p (what lua_stringtonumber accepts, up to a delimiter): pushes it. */
static void read_number(literal_reader *r) {
  const char *start = r->p;
  while (r->p < r->end && (is_name_char(*r->p) || *r->p == '.' || *r->p == '-' || *r->p == '+'))
    r->p++;
  char token[64];
  size_t n = (size_t)(r->p - start);
  if (n == 0 || n >= sizeof token) {
    fail(r, "malformed number");
    lua_pushnil(r->L);
    return;
  }
  memcpy(token, start, n);
  token[n] = '\0';
  if (lua_stringtonumber(r->L, token) == 0) {
    fail(r, "malformed number");
    lua_pushnil(r->L);
  }
}

static void read_value(literal_reader *r, int depth);

/* A table constructor at r->p ('{'): pushes the table. Its fields are read onto the stack as
 * (key, value) pairs first (positional items keyed 1, 2, ...), so the table is created at its
 * final size: growing it field by field would rehash it at every power of two. Numeric keys in
 * brackets are refused, so no field can collide with a positional item and the order in which
 * Lua would store them does not matter. */
static void read_table(literal_reader *r, int depth) {
  lua_State *L = r->L;
  if (depth > LITERAL_MAX_DEPTH) {
    fail(r, "tables nested too deeply");
    lua_pushnil(L);
    return;
  }
  r->p++;
  int base = lua_gettop(L);
  int items = 0, fields = 0;
  for (;;) {
    skip_space(r);
    if (r->error != NULL || r->p >= r->end) {
      fail(r, "unfinished table");
      break;
    }
    if (*r->p == '}') {
      r->p++;
      break;
    }
    if (!lua_checkstack(L, 4)) {
      fail(r, "table too large");
      break;
    }
    const char *name = r->p;
    int keyed = 0;
    if (is_name_start(*r->p)) {
      while (r->p < r->end && is_name_char(*r->p))
        r->p++;
      size_t len = (size_t)(r->p - name);
      skip_space(r);
      if (r->p < r->end && *r->p == '=' && (r->p + 1 >= r->end || r->p[1] != '=')) {
        if (is_reserved(name, len)) {
          fail(r, "reserved word as a field name");
          break;
        }
        r->p++;
        lua_pushlstring(L, name, len);
        keyed = 1;
      } else {
        r->p = name; /* a positional true, false or nil */
      }
    } else if (*r->p == '[') {
      r->p++;
      read_value(r, depth + 1);
      skip_space(r);
      if (r->error == NULL && (r->p >= r->end || *r->p != ']'))
        fail(r, "']' expected");
      else
        r->p++;
      skip_space(r);
      if (r->error == NULL && (r->p >= r->end || *r->p != '='))
        fail(r, "'=' expected");
      else
        r->p++;
      if (r->error == NULL && lua_isnil(L, -1))
        fail(r, "table index is nil");
      if (r->error == NULL && lua_type(L, -1) == LUA_TNUMBER)
        fail(r, "numeric keys are not supported");
      if (r->error != NULL) {
        lua_pop(L, 1);
        break;
      }
      keyed = 1;
    }
    if (keyed) {
      fields++;
    } else {
      lua_pushinteger(L, ++items);
    }
    read_value(r, depth + 1);
    skip_space(r);
    if (r->p < r->end && (*r->p == ',' || *r->p == ';'))
      r->p++;
    else if (r->p < r->end && *r->p != '}')
      fail(r, "',' or '}' expected");
  }
  if (r->error != NULL) {
    lua_settop(L, base);
    lua_pushnil(L);
    return;
  }
  int top = lua_gettop(L);
  lua_createtable(L, items, fields);
  for (int i = base + 1; i < top; i += 2) {
    lua_pushvalue(L, i);
    lua_pushvalue(L, i + 1);
    lua_rawset(L, -3);
  }
  lua_copy(L, -1, base + 1);
  lua_settop(L, base + 1);
}

/* Any value at r->p: pushes it (nil after an error). */
static void read_value(literal_reader *r, int depth) {
  skip_space(r);
  if (r->error != NULL || r->p >= r->end) {
    fail(r, "value expected");
    lua_pushnil(r->L);
    return;
  }
  char c = *r->p;
  if (c == '{') {
    read_table(r, depth);
  } else if (c == '"' || c == '\'') {
    read_string(r);
  } else if ((c >= '0' && c <= '9') || c == '-' || c == '.') {
    read_number(r);
  } else {
    const char *start = r->p;
    while (r->p < r->end && is_name_char(*r->p))
      r->p++;
    size_t n = (size_t)(r->p - start);
    if (n == 4 && memcmp(start, "true", 4) == 0) {
      lua_pushboolean(r->L, 1);
    } else if (n == 5 && memcmp(start, "false", 5) == 0) {
      lua_pushboolean(r->L, 0);
    } else if (n == 3 && memcmp(start, "nil", 3) == 0) {
      lua_pushnil(r->L);
    } else {
      fail(r, "unexpected symbol");
      lua_pushnil(r->L);
    }
  }
}

/* decode(text) -> value | nil, "literal: <problem> at byte N". text is one constructor or
 * scalar, nothing after it but spaces. */
static int literal_decode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  literal_reader r = {L, s, s, s + len, NULL};
  lua_settop(L, 1);
  read_value(&r, 0);
  skip_space(&r);
  if (r.error == NULL && r.p != r.end)
    r.error = "unexpected text after the value";
  if (r.error != NULL) {
    lua_settop(L, 1);
    lua_pushnil(L);
    lua_pushfstring(L, "literal: %s at byte %d", r.error, (int)(r.p - s) + 1);
    return 2;
  }
  return 1;
}

static const luaL_Reg literal_functions[] = {
  {"decode", literal_decode},
  {NULL, NULL},
};

int luaopen_luaws_literal(lua_State *L) {
  luaL_newlib(L, literal_functions);
  return 1;
}
