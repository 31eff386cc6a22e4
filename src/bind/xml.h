/* xml.h: expat-based XML decoding into plain Lua tables, and XML escaping. */
#ifndef LUAWS_XML_H
#define LUAWS_XML_H

#include <stddef.h>

#include <lua.h>
#include <lauxlib.h>

#define LUAWS_XML_MAX_DEPTH 200
#define LUAWS_XML_MAX_SIZE ((size_t)64 << 20)

/* Registers the metatable decoding needs; call once per state (the module opener does).
 * Stack: unchanged. */
void luaws_xml_register(lua_State *L);

/* Parses s (len bytes) and pushes the root element, or nil and "XML parse error at line L,
 * column C: <message>" for malformed input, a DTD, nesting deeper than max_depth or input
 * longer than max_size. Element = {name=, attrs={...} or nil, text= or nil, [1..n]=children}.
 * Raises only on memory errors. Returns the number of values pushed (1 or 2). */
int luaws_xml_decode(lua_State *L, const char *s, size_t len, int max_depth, size_t max_size);

/* Adds s with & < > " ' replaced by entities to the buffer. */
void luaws_xml_escape(luaL_Buffer *b, const char *s, size_t len);

#endif
