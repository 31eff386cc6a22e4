/* xml.c: expat-based XML decoding into plain Lua tables (order and repeats kept), and escaping. */
#include "xml.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#define XML_STATE_MT "luaws.XmlState"

typedef struct text_buffer {
  char *data;
  size_t len, cap;
} text_buffer;

/* One parse. Lives in a userdata so an error thrown from a callback cannot leak it. */
typedef struct xml_state {
  XML_Parser parser;
  lua_State *L;
  int root;              /* stack slot of the root element; open elements follow it */
  int depth, max_depth;
  text_buffer *text;     /* [1..max_depth]: character data of each open element */
  int *children;         /* [1..max_depth]: children appended so far */
  bool stopped;
  char error[96];        /* our own reason for stopping, if any */
  XML_Size error_line, error_column;  /* where that reason applies */
} xml_state;

static void state_free(xml_state *st) {
  if (st->parser) {
    XML_ParserFree(st->parser);
    st->parser = NULL;
  }
  if (st->text) {
    for (int i = 0; i <= st->max_depth; i++)
      free(st->text[i].data);
    free(st->text);
    st->text = NULL;
  }
  free(st->children);
  st->children = NULL;
}

static int state_gc(lua_State *L) {
  state_free(luaL_checkudata(L, 1, XML_STATE_MT));
  return 0;
}

static void stop(xml_state *st, const char *reason) {
  if (!st->stopped) {
    snprintf(st->error, sizeof st->error, "%s", reason);
    st->error_line = XML_GetCurrentLineNumber(st->parser);  /* the start of the event */
    st->error_column = XML_GetCurrentColumnNumber(st->parser);
    st->stopped = true;
    XML_StopParser(st->parser, XML_FALSE);
  }
}

static bool all_whitespace(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
      return false;
  }
  return true;
}

/* Pushes {name=, attrs=} for a new element. */
static void XMLCALL on_start(void *data, const XML_Char *name, const XML_Char **atts) {
  xml_state *st = data;
  lua_State *L = st->L;
  if (st->stopped)
    return;
  if (st->depth >= st->max_depth) {
    char reason[64];
    snprintf(reason, sizeof reason, "nesting deeper than %d levels", st->max_depth);
    stop(st, reason);
    return;
  }
  luaL_checkstack(L, 6, "XML nesting");
  st->depth++;
  st->text[st->depth].len = 0;
  st->children[st->depth] = 0;
  lua_createtable(L, 0, 3);
  lua_pushstring(L, name);
  lua_setfield(L, -2, "name");
  if (atts[0]) {
    lua_newtable(L);
    for (int i = 0; atts[i]; i += 2) {
      lua_pushstring(L, atts[i + 1]);
      lua_setfield(L, -2, atts[i]);
    }
    lua_setfield(L, -2, "attrs");
  }
}

/* Sets text on the element on top and hands it to its parent (or the root slot). */
static void XMLCALL on_end(void *data, const XML_Char *name) {
  xml_state *st = data;
  lua_State *L = st->L;
  (void)name;
  if (st->stopped)
    return;
  text_buffer *text = &st->text[st->depth];
  if (text->len > 0 && !(st->children[st->depth] > 0 && all_whitespace(text->data, text->len))) {
    lua_pushlstring(L, text->data, text->len);
    lua_setfield(L, -2, "text");
  }
  st->depth--;
  if (st->depth == 0)
    lua_replace(L, st->root);
  else
    lua_rawseti(L, -2, ++st->children[st->depth]);
}

static void XMLCALL on_text(void *data, const XML_Char *s, int len) {
  xml_state *st = data;
  if (st->stopped || st->depth == 0 || len <= 0)
    return;
  text_buffer *b = &st->text[st->depth];
  if (b->len + (size_t)len > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + (size_t)len)
      cap *= 2;
    char *grown = realloc(b->data, cap);
    if (grown == NULL) {
      stop(st, "out of memory");
      return;
    }
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, (size_t)len);
  b->len += (size_t)len;
}

static void XMLCALL on_doctype(void *data, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset) {
  (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
  stop(data, "document type declarations are not allowed");
}

int luaws_xml_decode(lua_State *L, const char *s, size_t len, int max_depth, size_t max_size) {
  if (len > max_size) {
    lua_pushnil(L);
    lua_pushfstring(L, "XML document too large (%I bytes; the limit is %I)", (lua_Integer)len,
                    (lua_Integer)max_size);
    return 2;
  }
  int base = lua_gettop(L);
  xml_state *st = lua_newuserdatauv(L, sizeof *st, 0);
  memset(st, 0, sizeof *st);
  luaL_setmetatable(L, XML_STATE_MT);
  st->L = L;
  st->max_depth = max_depth < 1 ? 1 : max_depth;
  st->text = calloc((size_t)st->max_depth + 1, sizeof *st->text);
  st->children = calloc((size_t)st->max_depth + 1, sizeof *st->children);
  st->parser = XML_ParserCreate("UTF-8");
  if (st->text == NULL || st->children == NULL || st->parser == NULL) {
    state_free(st);
    return luaL_error(L, "not enough memory to parse XML");
  }
  XML_SetUserData(st->parser, st);
  XML_SetElementHandler(st->parser, on_start, on_end);
  XML_SetCharacterDataHandler(st->parser, on_text);
  XML_SetStartDoctypeDeclHandler(st->parser, on_doctype);
  lua_pushnil(L);
  st->root = lua_gettop(L);

  enum XML_Status status = XML_STATUS_OK;
  const size_t chunk = (size_t)1 << 30;
  do {
    size_t n = len > chunk ? chunk : len;
    status = XML_Parse(st->parser, s, (int)n, n == len);
    s += n;
    len -= n;
  } while (status == XML_STATUS_OK && len > 0);

  if (status == XML_STATUS_OK && !st->stopped) {
    state_free(st);
    lua_replace(L, base + 1);  /* the root takes the state's slot */
    return 1;
  }
  bool ours = st->error[0] != '\0';
  const char *reason = ours ? st->error : XML_ErrorString(XML_GetErrorCode(st->parser));
  XML_Size line = ours ? st->error_line : XML_GetCurrentLineNumber(st->parser);
  XML_Size column = ours ? st->error_column : XML_GetCurrentColumnNumber(st->parser);
  lua_pushnil(L);
  lua_pushfstring(L, "XML parse error at line %I, column %I: %s", (lua_Integer)line,
                  (lua_Integer)column + 1, reason);
  state_free(st);
  lua_replace(L, base + 2);
  lua_replace(L, base + 1);
  lua_settop(L, base + 2);
  return 2;
}

void luaws_xml_escape(luaL_Buffer *b, const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    switch (s[i]) {
    case '&': luaL_addstring(b, "&amp;"); break;
    case '<': luaL_addstring(b, "&lt;"); break;
    case '>': luaL_addstring(b, "&gt;"); break;
    case '"': luaL_addstring(b, "&quot;"); break;
    case '\'': luaL_addstring(b, "&apos;"); break;
    default: luaL_addchar(b, s[i]); break;
    }
  }
}

void luaws_xml_register(lua_State *L) {
  if (luaL_newmetatable(L, XML_STATE_MT)) {
    lua_pushcfunction(L, state_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
}
