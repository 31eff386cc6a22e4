/* http.h: HTTP transfers on one libcurl multi handle (mechanism only; no Lua, no retries). */
#ifndef LUAWS_HTTP_H
#define LUAWS_HTTP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <curl/curl.h>

#include "body.h"

/* Set to 1 (from a SIGINT handler, say) to make every blocking wait in luaws.http stop and
 * raise the Lua error "interrupted". Event loops check it at least every 100 ms and clear it
 * when they act on it. */
extern volatile sig_atomic_t luaws_http_interrupted;

/* Poll loops never sleep longer than this, so an interrupt is noticed promptly. */
#define LUAWS_HTTP_TICK_MS 100

/* Default limits. */
#define LUAWS_HTTP_DEFAULT_MAX_IN_FLIGHT 64
#define LUAWS_HTTP_DEFAULT_MAX_BODY ((size_t)64 << 20)
#define LUAWS_HTTP_DEFAULT_STREAM_BUFFER ((size_t)1 << 20)

typedef struct luaws_http luaws_http;
typedef struct luaws_transfer luaws_transfer;

/* Called once when a transfer finishes (successfully or not), from luaws_http_pump. */
typedef void (*luaws_transfer_done_fn)(luaws_transfer *t, void *data);

typedef struct luaws_http_buffer {
  char *data;
  size_t len, cap;
} luaws_http_buffer;

typedef enum luaws_transfer_state {
  LUAWS_TRANSFER_NEW,       /* initialised, not submitted */
  LUAWS_TRANSFER_QUEUED,    /* waiting for a free in-flight slot */
  LUAWS_TRANSFER_ACTIVE,    /* on the multi handle */
  LUAWS_TRANSFER_DONE,      /* finished; result fields valid */
  LUAWS_TRANSFER_DETACHED,  /* its luaws_http was freed first */
} luaws_transfer_state;

/* One request/response. The memory belongs to the caller (a Lua userdata, say); fields below
 * "results" are valid once state is DONE. Treat everything as read-only. */
struct luaws_transfer {
  luaws_http *http;
  CURL *easy;
  struct curl_slist *headers;
  luaws_transfer *prev, *next;       /* in http's queued or active list */
  luaws_transfer_state state;
  luaws_transfer_done_fn on_done;
  void *on_done_data;
  /* Stream mode: also called (with on_done_data) when the final response's headers are complete
   * and whenever body bytes arrive, from inside luaws_http_pump or luaws_transfer_consumed. */
  luaws_transfer_done_fn on_progress;
  size_t max_body;
  luaws_body_source source;          /* a file body (when luaws_request.body_from_fd) */
  luaws_body_sink sink;              /* sink.path: owned copy of luaws_request.sink_path, or NULL */
  bool stream;                       /* the body is handed over while it arrives (see below) */
  size_t stream_buffer;              /* stream mode: pause the transfer past this many bytes */
  bool headers_done;                 /* stream mode: status and head of the final response valid */
  bool paused;                       /* stream mode: curl holds data until the body is consumed */
  /* results */
  CURLcode result;                   /* CURLE_OK when a response arrived */
  bool too_large;                    /* body exceeded max_body */
  long status;
  double elapsed;                    /* seconds, curl's total time */
  long new_connections;              /* connections opened for this transfer (0 = reused) */
  luaws_http_buffer head;            /* header block of the final response */
  luaws_http_buffer body;            /* empty when a 2xx body went to the sink (sink.opened) */
  int io_errno;                      /* errno of a failed body read or sink write, else 0 */
  char errbuf[CURL_ERROR_SIZE];
};

typedef struct luaws_request {
  const char *method;               /* "GET", "POST", ... */
  const char *url;
  const char *const *headers;       /* "Name: value" lines, NULL-terminated; may be NULL */
  const char *body;                 /* not copied: must outlive the transfer; may be NULL */
  size_t body_len;
  /* A body streamed from a file instead (curl's read callback, pread: never held in memory):
   * body_fd_len bytes of body_fd from body_offset. body_fd must stay open until the transfer is
   * released; it is never closed here. Ignored unless body_from_fd. */
  bool body_from_fd;
  int body_fd;
  off_t body_offset, body_fd_len;
  /* When non-NULL, a 2xx response body is written to this file (created or truncated when the
   * first 2xx response starts, mode 0600 for new files) instead of memory, with no size limit;
   * other statuses keep their body in memory (max_body applies). Copied. */
  const char *sink_path;
  long timeout_ms;                  /* whole transfer; 0 = none */
  long connect_timeout_ms;          /* 0 = curl's default */
  size_t max_body;                  /* 0 = LUAWS_HTTP_DEFAULT_MAX_BODY; stream mode: no limit */
  const char *ca_bundle;            /* PEM file of extra trusted CAs; NULL = system store */
  bool stream;                      /* hand the body over while it arrives (bounded buffer) */
  size_t stream_buffer;             /* 0 = LUAWS_HTTP_DEFAULT_STREAM_BUFFER */
} luaws_request;

typedef struct luaws_http_stats {
  long requests;                    /* transfers submitted so far */
  long in_flight;                   /* on the multi handle now */
  long queued;                      /* waiting for a slot */
  long max_in_flight_seen;
  long connections;                 /* connections opened so far */
  long max_in_flight;               /* the current limit */
} luaws_http_stats;

/* Creates a transport (one multi handle, so one connection cache). NULL when out of memory
 * or curl cannot start. Free with luaws_http_free. */
luaws_http *luaws_http_new(void);

/* Detaches every queued or active transfer (state DETACHED, never completed) and frees the
 * transport. Transfers still need luaws_transfer_release. */
void luaws_http_free(luaws_http *h);

/* Sets the limit on concurrent transfers (>= 1); returns the previous limit. */
long luaws_http_set_max_in_flight(luaws_http *h, long n);

void luaws_http_get_stats(const luaws_http *h, luaws_http_stats *out);

/* Whether any transfer is queued or active. */
bool luaws_http_busy(const luaws_http *h);

/* Prepares t (caller-owned memory) for req. Returns false with a message in t->errbuf when
 * curl refuses the request (the transfer then needs only luaws_transfer_release). */
bool luaws_transfer_init(luaws_transfer *t, luaws_http *h, const luaws_request *req);

/* Queues t; it starts as soon as an in-flight slot is free. on_done (may be NULL) runs from
 * luaws_http_pump when it finishes. */
void luaws_http_submit(luaws_transfer *t, luaws_transfer_done_fn on_done, void *data);

/* Drives curl: starts queued transfers, performs I/O, completes finished transfers (calling
 * their on_done). Waits up to timeout_ms (capped by curl's own timers) for activity only when
 * nothing completed and no stream-mode transfer reported progress. Returns the number of
 * transfers completed. */
int luaws_http_pump(luaws_http *h, int timeout_ms);

/* Stream mode: the caller has taken t->body's bytes; empties it and resumes a transfer paused
 * because the buffer was full (curl may deliver more bytes, and call on_progress, right away). */
void luaws_transfer_consumed(luaws_transfer *t);

/* Stops t if queued or active (it never completes) and frees everything it holds. Safe on
 * any state, and more than once. */
void luaws_transfer_release(luaws_transfer *t);

/* Classifies a finished, failed transfer: returns the error code name ("ConnectionRefused",
 * "DNSFailure", "ConnectTimeout", "ReadTimeout", "ConnectionReset", "TLSError",
 * "TooManyRedirects", "ResponseTooLarge", "BodyReadError", "SinkWriteError", "TransportError").
 * Whether to retry is the caller's policy (luaws.sdk.retry), not decided here. */
const char *luaws_transfer_error_code(const luaws_transfer *t);

/* Monotonic clock in seconds. */
double luaws_http_now(void);

#endif
