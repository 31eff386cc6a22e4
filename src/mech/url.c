/* url.c: splits an http(s) URL into what SigV4 signs (no Lua). */
#include "url.h"

#include <string.h>

static bool ascii_ieq(const char *a, size_t n, const char *lower) {
  if (strlen(lower) != n)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z')
      c = (char)(c + 32);
    if (c != lower[i])
      return false;
  }
  return true;
}

const char *luaws_url_parse(const char *url, size_t len, luaws_url *u) {
  const char *sep = strstr(url, "://");
  if (sep == NULL || !(ascii_ieq(url, (size_t)(sep - url), "https") ||
                       ascii_ieq(url, (size_t)(sep - url), "http")))
    return "must be an http:// or https:// URL";
  bool https = (sep - url) == 5;
  const char *authority = sep + 3, *end = url + len;
  const char *p = authority;
  while (p < end && *p != '/' && *p != '?' && *p != '#')
    p++;
  const char *auth_end = p;
  const char *at = NULL;
  for (const char *q = authority; q < auth_end; q++)
    if (*q == '@')
      at = q;
  const char *host = at ? at + 1 : authority;
  const char *host_end = auth_end, *port = NULL;
  if (host < auth_end && *host == '[') {
    const char *close = memchr(host, ']', (size_t)(auth_end - host));
    if (close == NULL)
      return "has an unclosed IPv6 bracket";
    host_end = close + 1;
    if (host_end < auth_end && *host_end == ':')
      port = host_end + 1;
    else if (host_end != auth_end)
      return "has a malformed host";
  } else {
    const char *colon = memchr(host, ':', (size_t)(auth_end - host));
    if (colon) {
      host_end = colon;
      port = colon + 1;
    }
  }
  size_t host_len = (size_t)(host_end - host);
  if (host_len == 0)
    return "has no host";
  for (size_t i = 0; i < host_len; i++)
    if ((unsigned char)host[i] <= ' ' || host[i] == 0x7f)
      return "has a space or control character in its host";
  size_t port_len = port ? (size_t)(auth_end - port) : 0;
  for (size_t i = 0; i < port_len; i++)
    if (port[i] < '0' || port[i] > '9')
      return "has a malformed port";
  bool default_port = port_len == 0 || (https && port_len == 3 && memcmp(port, "443", 3) == 0) ||
                      (!https && port_len == 2 && memcmp(port, "80", 2) == 0);
  if (host_len + 1 + port_len >= sizeof u->host)
    return "has a host that is too long";
  for (size_t i = 0; i < host_len; i++) {
    char c = host[i];
    u->host[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
  }
  u->host_len = host_len;
  if (!default_port) {
    u->host[u->host_len++] = ':';
    memcpy(u->host + u->host_len, port, port_len);
    u->host_len += port_len;
  }
  u->host[u->host_len] = '\0';

  u->path = auth_end;
  while (p < end && *p != '?' && *p != '#')
    p++;
  u->path_len = (size_t)(p - auth_end);
  u->query = NULL;
  u->query_len = 0;
  if (p < end && *p == '?') {
    u->query = ++p;
    while (p < end && *p != '#')
      p++;
    u->query_len = (size_t)(p - u->query);
  }
  u->base_len = (size_t)(p - url);
  return NULL;
}
