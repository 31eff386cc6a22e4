/* listen.c: a one-shot HTTP listener on 127.0.0.1 (the redirect target of a browser sign-in). */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int luaws_listen_open(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 4) != 0 ||
      getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

/* Waits until fd is readable or the deadline passes. Returns 1 ready, 0 timeout, -3 stopped,
 * -1 error. */
static int wait_readable(int fd, long long deadline, volatile const sig_atomic_t *stop) {
  for (;;) {
    if (stop && *stop)
      return -3;
    long long left = deadline - now_ms();
    if (left <= 0)
      return 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, left > 100 ? 100 : (int)left);
    if (n > 0)
      return 1;
    if (n < 0 && errno != EINTR)
      return -1;
  }
}

int luaws_listen_accept(int fd, int timeout_ms, volatile const sig_atomic_t *stop, char *buf, size_t cap) {
  long long deadline = now_ms() + timeout_ms;
  int ready = wait_readable(fd, deadline, stop);
  if (ready <= 0)
    return ready == 0 ? -2 : ready;
  int conn = accept(fd, NULL, NULL);
  if (conn < 0)
    return -1;
  fcntl(conn, F_SETFD, FD_CLOEXEC);
  size_t used = 0;
  long long read_deadline = now_ms() + 10000; /* a client gets 10 s to send its request head */
  buf[0] = '\0';
  while (used + 1 < cap && strstr(buf, "\r\n\r\n") == NULL) {
    ready = wait_readable(conn, read_deadline, stop);
    if (ready <= 0)
      break;
    ssize_t n = read(conn, buf + used, cap - 1 - used);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    used += (size_t)n;
    buf[used] = '\0';
  }
  return conn;
}

int luaws_listen_reply(int conn, int status, const char *body, size_t len) {
  char head[256];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                   status, status == 200 ? "OK" : "Bad Request", len);
  int rc = 0;
  const char *parts[2] = {head, body};
  size_t sizes[2] = {(size_t)n, len};
  for (int i = 0; i < 2 && rc == 0; i++) {
    size_t done = 0;
    while (done < sizes[i]) {
      ssize_t w = write(conn, parts[i] + done, sizes[i] - done);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0) {
        rc = -1;
        break;
      }
      done += (size_t)w;
    }
  }
  int err = errno;
  close(conn);
  errno = err;
  return rc;
}
