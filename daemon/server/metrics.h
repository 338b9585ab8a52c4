/* GET /metrics for Prometheus (SPEC §11), on metrics.listen: what heapd
 * exports (metrics.c) and the small HTTP responder that serves it from
 * the server's loop (metrics_http.c).
 *
 * The responder is built so that no client can hold the loop or grow
 * heapd's memory: a request (line and headers) must fit in
 * METRICS_REQUEST_MAX bytes of a buffer allocated once per connection,
 * at most METRICS_MAX_CONNS connections are open at once (more are closed
 * as they are accepted), and each has METRICS_TIMEOUT_MS from its accept
 * to its last byte written, after which it is closed. Every answer closes
 * the connection. */
#ifndef HEAPD_METRICS_H
#define HEAPD_METRICS_H

#include "prom.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define METRICS_REQUEST_MAX 8192
#define METRICS_MAX_CONNS   16
#define METRICS_TIMEOUT_MS  5000

struct server;
typedef struct metrics_conn metrics_conn;

typedef struct metrics {
    uv_tcp_t listener;
    bool on;
    metrics_conn *conns; /* open connections, a doubly linked list */
    uint32_t nconns;
    uint64_t scrapes, refused; /* answered 200; closed at accept (the cap) */
    uint64_t started_at;       /* heapd's start in unix time, fixed once */
} metrics;

/* Every metric of heapd, in Prometheus's text format, appended to p. */
void metrics_render(struct server *srv, prom *p);

/* Listens on srv->cfg.metrics_listen when set (nothing to do otherwise).
 * 0, or -1 with one line naming metrics.listen in err. */
int metrics_open(struct server *srv, char *err, size_t errlen);
/* Stops listening and closes every open connection (the server stops);
 * their memory goes in their close callbacks. */
void metrics_close(metrics *m);

#endif
