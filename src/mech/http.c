/* http.c: HTTP transfers on one libcurl multi handle: queueing, in-flight limit, completion. */
#include "http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

volatile sig_atomic_t luaws_http_interrupted = 0;

typedef struct transfer_list {
  luaws_transfer *head, *tail;
  long count;
} transfer_list;

struct luaws_http {
  CURLM *multi;
  transfer_list queued, active;
  long max_in_flight;
  long requests, max_in_flight_seen, connections;
  unsigned long events;  /* stream-mode progress reports so far (pump returns early on one) */
};

static bool curl_started = false;

double luaws_http_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void list_append(transfer_list *l, luaws_transfer *t) {
  t->next = NULL;
  t->prev = l->tail;
  if (l->tail)
    l->tail->next = t;
  else
    l->head = t;
  l->tail = t;
  l->count++;
}

static void list_remove(transfer_list *l, luaws_transfer *t) {
  if (t->prev)
    t->prev->next = t->next;
  else
    l->head = t->next;
  if (t->next)
    t->next->prev = t->prev;
  else
    l->tail = t->prev;
  t->prev = t->next = NULL;
  l->count--;
}

/* Appends n bytes; false when memory runs out. */
static bool buffer_add(luaws_http_buffer *b, const char *data, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n)
      cap *= 2;
    char *grown = realloc(b->data, cap);
    if (grown == NULL)
      return false;
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, n);
  b->len += n;
  return true;
}

static void buffer_free(luaws_http_buffer *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

luaws_http *luaws_http_new(void) {
  if (!curl_started) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      return NULL;
    curl_started = true;
  }
  luaws_http *h = calloc(1, sizeof *h);
  if (h == NULL)
    return NULL;
  h->multi = curl_multi_init();
  if (h->multi == NULL) {
    free(h);
    return NULL;
  }
  h->max_in_flight = LUAWS_HTTP_DEFAULT_MAX_IN_FLIGHT;
  curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, h->max_in_flight);
  return h;
}

void luaws_http_free(luaws_http *h) {
  if (h == NULL)
    return;
  transfer_list *lists[] = {&h->queued, &h->active};
  for (int i = 0; i < 2; i++) {
    while (lists[i]->head) {
      luaws_transfer *t = lists[i]->head;
      if (t->state == LUAWS_TRANSFER_ACTIVE)
        curl_multi_remove_handle(h->multi, t->easy);
      list_remove(lists[i], t);
      t->state = LUAWS_TRANSFER_DETACHED;
      t->http = NULL;
    }
  }
  curl_multi_cleanup(h->multi);
  free(h);
}

long luaws_http_set_max_in_flight(luaws_http *h, long n) {
  long previous = h->max_in_flight;
  h->max_in_flight = n < 1 ? 1 : n;
  if (h->max_in_flight > previous)
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, h->max_in_flight);
  return previous;
}

void luaws_http_get_stats(const luaws_http *h, luaws_http_stats *out) {
  out->requests = h->requests;
  out->in_flight = h->active.count;
  out->queued = h->queued.count;
  out->max_in_flight_seen = h->max_in_flight_seen;
  out->connections = h->connections;
  out->max_in_flight = h->max_in_flight;
}

bool luaws_http_busy(const luaws_http *h) {
  return h->queued.count > 0 || h->active.count > 0;
}

/* Writes a 2xx body chunk to the sink (opening it first); curl's count, or 0 to abort. */
static size_t sink_write(luaws_transfer *t, const char *data, size_t n) {
  int err = luaws_body_sink_write(&t->sink, data, n);
  if (err != 0) {
    t->io_errno = err;
    return 0;
  }
  return n;
}

static bool status_is_2xx(luaws_transfer *t) {
  long status = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  return status >= 200 && status < 300;
}

static void notify(luaws_transfer *t) {
  if (t->http)
    t->http->events++;
  if (t->on_progress)
    t->on_progress(t, t->on_done_data);
}

/* Stream mode: keeps at most stream_buffer bytes (or one delivery) for the consumer and pauses
 * the transfer beyond that; curl delivers the refused bytes again once resumed. */
static size_t on_stream_body(luaws_transfer *t, char *data, size_t n) {
  if (!t->headers_done) {
    t->headers_done = true;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
  }
  if (t->body.len > 0 && t->body.len + n > t->stream_buffer) {
    t->paused = true;
    notify(t);
    return CURL_WRITEFUNC_PAUSE;
  }
  if (!buffer_add(&t->body, data, n))
    return 0;
  notify(t);
  return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata) {
  luaws_transfer *t = userdata;
  size_t n = size * nmemb;
  if (t->stream)
    return on_stream_body(t, data, n);
  if (t->sink.path && status_is_2xx(t))
    return sink_write(t, data, n);
  if (t->body.len + n > t->max_body) {
    t->too_large = true;
    return 0;
  }
  if (t->body.cap == 0) {
    curl_off_t expected = -1;
    curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &expected);
    if (expected > 0 && (size_t)expected <= t->max_body) {
      t->body.data = malloc((size_t)expected);
      t->body.cap = t->body.data ? (size_t)expected : 0;
    }
  }
  return buffer_add(&t->body, data, n) ? n : 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata) {
  luaws_transfer *t = userdata;
  size_t n = size * nmemb;
  if (t->stream && t->headers_done)
    return n;  /* trailers of a chunked stream: not part of the head */
  if (n >= 5 && memcmp(data, "HTTP/", 5) == 0)
    t->head.len = 0;  /* a new response (after 100 Continue, say): keep only the last */
  if (t->head.len + n > t->max_body)
    return 0;
  if (!buffer_add(&t->head, data, n))
    return 0;
  if (t->stream && (n == 2 || n == 1) && (data[0] == '\r' || data[0] == '\n')) {
    long code = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200) {  /* the end of the final response's head (1xx heads are followed by more) */
      t->status = code;
      t->headers_done = true;
      notify(t);
    }
  }
  return n;
}

void luaws_transfer_consumed(luaws_transfer *t) {
  t->body.len = 0;
  if (t->paused && t->state == LUAWS_TRANSFER_ACTIVE && t->easy) {
    t->paused = false;
    curl_easy_pause(t->easy, CURLPAUSE_CONT);
  }
}

/* curl's read callback for file bodies: the next bytes of the range, by pread. */
static size_t on_read(char *buf, size_t size, size_t nitems, void *userdata) {
  luaws_transfer *t = userdata;
  ssize_t got = luaws_body_source_read(&t->source, buf, size * nitems);
  if (got < 0) {
    t->io_errno = errno;
    return CURL_READFUNC_ABORT;
  }
  return (size_t)got;
}

/* curl's seek callback (it rewinds a body to resend it). */
static int on_seek(void *userdata, curl_off_t offset, int origin) {
  luaws_transfer *t = userdata;
  if (origin != SEEK_SET || !luaws_body_source_seek(&t->source, (off_t)offset))
    return CURL_SEEKFUNC_FAIL;
  return CURL_SEEKFUNC_OK;
}

static bool has_header(const char *const *headers, const char *name) {
  size_t len = strlen(name);
  for (; headers && *headers; headers++) {
    if (strncasecmp(*headers, name, len) == 0 && ((*headers)[len] == ':' || (*headers)[len] == ';'))
      return true;
  }
  return false;
}

static bool add_header(luaws_transfer *t, const char *line) {
  struct curl_slist *grown = curl_slist_append(t->headers, line);
  if (grown == NULL)
    return false;
  t->headers = grown;
  return true;
}

bool luaws_transfer_init(luaws_transfer *t, luaws_http *h, const luaws_request *req) {
  memset(t, 0, sizeof *t);
  t->http = h;
  t->state = LUAWS_TRANSFER_NEW;
  t->max_body = req->max_body ? req->max_body : LUAWS_HTTP_DEFAULT_MAX_BODY;
  t->stream = req->stream;
  t->stream_buffer = req->stream_buffer ? req->stream_buffer : LUAWS_HTTP_DEFAULT_STREAM_BUFFER;
  t->result = CURLE_OK;
  t->source.fd = t->sink.fd = -1;
  if (req->sink_path) {
    t->sink.path = strdup(req->sink_path);
    if (t->sink.path == NULL) {
      strcpy(t->errbuf, "out of memory");
      return false;
    }
  }
  t->easy = curl_easy_init();
  if (t->easy == NULL) {
    strcpy(t->errbuf, "cannot create a curl handle");
    return false;
  }
  CURL *e = t->easy;
  CURLcode rc = CURLE_OK;
#define SET(opt, val) \
  if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val)
  SET(CURLOPT_ERRORBUFFER, t->errbuf);
  SET(CURLOPT_PRIVATE, t);
  SET(CURLOPT_URL, req->url);
  SET(CURLOPT_PATH_AS_IS, 1L);  /* signed paths ("/a/../b", "//") go out exactly as built */
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_TCP_NODELAY, 1L);
  SET(CURLOPT_FOLLOWLOCATION, 0L);
  SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, t);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, t);
  if (!t->stream && req->sink_path == NULL)
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t->max_body);
  if (req->timeout_ms > 0)
    SET(CURLOPT_TIMEOUT_MS, req->timeout_ms);
  if (req->connect_timeout_ms > 0)
    SET(CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
  if (req->ca_bundle && *req->ca_bundle)
    SET(CURLOPT_CAINFO, req->ca_bundle);  /* curl copies the string */

  const char *method = req->method ? req->method : "GET";
  bool sends_body = req->body != NULL || req->body_from_fd || strcmp(method, "POST") == 0 ||
                    strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
  if (strcmp(method, "HEAD") == 0) {
    SET(CURLOPT_NOBODY, 1L);
  } else if (req->body_from_fd) {
    t->source.fd = req->body_fd;
    t->source.start = t->source.pos = req->body_offset;
    t->source.end = req->body_offset + req->body_fd_len;
    SET(CURLOPT_UPLOAD, 1L);
    SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_fd_len);
    SET(CURLOPT_READFUNCTION, on_read);
    SET(CURLOPT_READDATA, t);
    SET(CURLOPT_SEEKFUNCTION, on_seek);
    SET(CURLOPT_SEEKDATA, t);
    if (strcmp(method, "PUT") != 0)
      SET(CURLOPT_CUSTOMREQUEST, method);
  } else if (sends_body) {
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    SET(CURLOPT_POSTFIELDS, req->body ? req->body : "");
    if (strcmp(method, "POST") != 0)
      SET(CURLOPT_CUSTOMREQUEST, method);
  } else if (strcmp(method, "GET") != 0) {
    SET(CURLOPT_CUSTOMREQUEST, method);
  }
#undef SET
  if (rc != CURLE_OK) {
    if (t->errbuf[0] == '\0')
      snprintf(t->errbuf, sizeof t->errbuf, "%s", curl_easy_strerror(rc));
    return false;
  }

  bool ok = true;
  for (const char *const *line = req->headers; ok && line && *line; line++)
    ok = add_header(t, *line);
  if (ok && !has_header(req->headers, "Expect"))
    ok = add_header(t, "Expect:");  /* no 100-continue round trip */
  if (ok && sends_body && !has_header(req->headers, "Content-Type"))
    ok = add_header(t, "Content-Type:");  /* curl would add a form Content-Type */
  if (!ok || curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers) != CURLE_OK) {
    strcpy(t->errbuf, "cannot set the request headers");
    return false;
  }
  return true;
}

static void close_sink(luaws_transfer *t) {
  int err = t->sink.path ? luaws_body_sink_close(&t->sink) : 0;
  if (err != 0 && t->io_errno == 0 && t->result == CURLE_OK) {
    t->io_errno = err;
    t->result = CURLE_WRITE_ERROR;
  }
}

/* Moves queued transfers onto the multi handle while slots are free. */
static void start_queued(luaws_http *h) {
  while (h->queued.head && h->active.count < h->max_in_flight) {
    luaws_transfer *t = h->queued.head;
    list_remove(&h->queued, t);
    CURLMcode mc = curl_multi_add_handle(h->multi, t->easy);
    if (mc != CURLM_OK) {
      t->result = CURLE_FAILED_INIT;
      snprintf(t->errbuf, sizeof t->errbuf, "%s", curl_multi_strerror(mc));
      t->state = LUAWS_TRANSFER_DONE;
      if (t->on_done)
        t->on_done(t, t->on_done_data);
      continue;
    }
    t->state = LUAWS_TRANSFER_ACTIVE;
    list_append(&h->active, t);
    if (h->active.count > h->max_in_flight_seen)
      h->max_in_flight_seen = h->active.count;
  }
}

void luaws_http_submit(luaws_transfer *t, luaws_transfer_done_fn on_done, void *data) {
  luaws_http *h = t->http;
  t->on_done = on_done;
  t->on_done_data = data;
  t->state = LUAWS_TRANSFER_QUEUED;
  h->requests++;
  list_append(&h->queued, t);
  start_queued(h);
}

/* Completes every transfer curl reports done. Returns how many. */
static int collect(luaws_http *h) {
  int completed = 0;
  int pending;
  CURLMsg *msg;
  while ((msg = curl_multi_info_read(h->multi, &pending)) != NULL) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    luaws_transfer *t = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
    t->result = msg->data.result;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
    curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME, &t->elapsed);
    curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &t->new_connections);
    if (t->sink.path && t->result == CURLE_OK && t->status >= 200 && t->status < 300 &&
        !t->sink.opened) {
      sink_write(t, "", 0);  /* an empty 2xx body still creates (or truncates) the file */
      if (!t->sink.opened)
        t->result = CURLE_WRITE_ERROR;
    }
    close_sink(t);
    h->connections += t->new_connections;
    curl_multi_remove_handle(h->multi, t->easy);
    list_remove(&h->active, t);
    t->state = LUAWS_TRANSFER_DONE;
    completed++;
    if (t->on_done)
      t->on_done(t, t->on_done_data);
  }
  start_queued(h);
  return completed;
}

int luaws_http_pump(luaws_http *h, int timeout_ms) {
  int running = 0;
  unsigned long events = h->events;
  start_queued(h);
  curl_multi_perform(h->multi, &running);
  int completed = collect(h);
  /* Stream data that arrived counts as activity: its reader should run now, not after a poll. */
  if (completed == 0 && h->events == events && timeout_ms > 0) {
    curl_multi_poll(h->multi, NULL, 0, timeout_ms, NULL);
    curl_multi_perform(h->multi, &running);
    completed = collect(h);
  }
  return completed;
}

void luaws_transfer_release(luaws_transfer *t) {
  if (t->state == LUAWS_TRANSFER_QUEUED) {
    list_remove(&t->http->queued, t);
  } else if (t->state == LUAWS_TRANSFER_ACTIVE) {
    curl_multi_remove_handle(t->http->multi, t->easy);
    list_remove(&t->http->active, t);
  }
  t->state = LUAWS_TRANSFER_DETACHED;
  if (t->easy) {
    curl_easy_cleanup(t->easy);
    t->easy = NULL;
  }
  curl_slist_free_all(t->headers);
  t->headers = NULL;
  if (t->sink.path)  /* sink.fd is only meaningful with a sink.path */
    luaws_body_sink_close(&t->sink);
  free(t->sink.path);
  t->sink.path = NULL;
  buffer_free(&t->head);
  buffer_free(&t->body);
}

const char *luaws_transfer_error_code(const luaws_transfer *t) {
  switch (t->result) {
  case CURLE_COULDNT_CONNECT:
    return "ConnectionRefused";
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    return "DNSFailure";
  case CURLE_OPERATION_TIMEDOUT: {
    /* Once the request went out (on a new or a reused connection) it is a read timeout. */
    long request_bytes = 0;
    if (t->easy)
      curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &request_bytes);
    return request_bytes > 0 ? "ReadTimeout" : "ConnectTimeout";
  }
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
    return "ConnectionReset";
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_USE_SSL_FAILED:
    return "TLSError";
  case CURLE_TOO_MANY_REDIRECTS:
    return "TooManyRedirects";
  case CURLE_FILESIZE_EXCEEDED:
    return "ResponseTooLarge";
  case CURLE_WRITE_ERROR:
    if (t->io_errno != 0)
      return "SinkWriteError";
    return t->too_large ? "ResponseTooLarge" : "TransportError";
  case CURLE_ABORTED_BY_CALLBACK:
  case CURLE_READ_ERROR:
    return t->io_errno != 0 ? "BodyReadError" : "TransportError";
  default:
    return "TransportError";
  }
}
