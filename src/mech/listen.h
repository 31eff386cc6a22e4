/* listen.h: a one-shot HTTP listener on 127.0.0.1 (the redirect target of a browser sign-in). */
#ifndef LUAWS_LISTEN_H
#define LUAWS_LISTEN_H

#include <signal.h>
#include <stddef.h>

/* Opens a listening TCP socket on 127.0.0.1 at a free port. Returns the fd and sets *port, or
 * returns -1 with errno set. */
int luaws_listen_open(int *port);

/* Waits up to timeout_ms for one connection on fd and reads its request head (up to the blank
 * line, at most cap-1 bytes, NUL-terminated into buf). Polls in slices of at most 100 ms and
 * gives up early when *stop becomes non-zero. Returns the connection's fd (the caller replies
 * and closes it), -2 on timeout, -3 when stopped, or -1 with errno set. */
int luaws_listen_accept(int fd, int timeout_ms, volatile const sig_atomic_t *stop, char *buf, size_t cap);

/* Writes an HTTP/1.1 response (status, text/html body, Connection: close) to conn and closes it.
 * Returns 0, or -1 with errno set (conn is closed either way). */
int luaws_listen_reply(int conn, int status, const char *body, size_t len);

#endif
