/* url.h: splits an http(s) URL into what SigV4 signs: host[:port], path, query (no Lua). */
#ifndef LUAWS_URL_H
#define LUAWS_URL_H

#include <stdbool.h>
#include <stddef.h>

/* An http(s) URL split for signing; path and query point into the caller's string. */
typedef struct luaws_url {
  const char *path;    /* up to '?' or '#' */
  size_t path_len;
  const char *query;   /* after '?', up to '#'; NULL when there is no '?' */
  size_t query_len;
  size_t base_len;     /* length of the URL before any '#' */
  char host[300];      /* lowercase host, with ":port" when not the scheme's default */
  size_t host_len;
} luaws_url;

/* Splits url[0..len) into *u (the port only when not the scheme's default, the host lowercased).
 * Returns NULL, or a phrase saying what is wrong ("has no host", ...) to follow the word "url". */
const char *luaws_url_parse(const char *url, size_t len, luaws_url *u);

#endif
