/* heapd's server: one libuv loop, the listeners, one session per
 * connection, the collector and the deferred frees driven between requests,
 * events, signals and an orderly stop. Each job has its own file: accepting
 * in listeners.c, a connection's bytes in conn.c, a message in dispatch.c,
 * events in events.c, the stats in stats.c; this header holds the state
 * they share. */
#ifndef HEAPD_SERVER_H
#define HEAPD_SERVER_H

#include "authlimit.h"
#include "config.h"
#include "events.h"
#include "heap.h"
#include "listeners.h"
#include "metrics.h"
#include "methods.h"
#include "ns.h"

#include <msgpack.h>
#include <uv.h>

typedef struct conn conn;
struct persist;

typedef struct method_stats {
    uint64_t calls, errors, nsec;
} method_stats;

typedef struct server_stats {
    uint64_t clients_total, clients_rejected;
    uint64_t clients_slow; /* disconnected for not reading their responses */
    uint64_t protocol_errors;
    uint64_t events_sent;
} server_stats;

typedef struct server {
    uv_loop_t *loop;
    heapd_config cfg; /* the one copy of every setting, the collector's included */
    heap *h;
    hns *ns;
    listeners lis;
    metrics met; /* GET /metrics on metrics.listen, when set */
    uv_timer_t watchdog;
    uv_timer_t gc_timer;   /* starts cycles by the interval rule, idles slices */
    uv_timer_t stop_timer; /* a stop waits this long for clients to read */
    uv_check_t after_io;   /* after each batch of reads: frees and a paced slice */
    uv_idle_t keep_busy;   /* keeps the loop spinning while work is pending */
    uv_signal_t sigs[3];   /* TERM, INT, HUP */
    authlimit auth;        /* failed auth attempts, answered late */
    conn *conns;
    uint32_t nconns;
    server_stats st;
    method_stats mst[METHOD__COUNT];
    events ev;
    uint64_t start_ns;
    uint64_t drain_left_ns; /* what this loop iteration may still spend freeing */
    bool served;            /* requests were served in this loop iteration */
    uint32_t nyielded;      /* connections waiting for their next turn (conn.c) */
    bool stopping;
    int exit_code;
    msgpack_zone zone;       /* decoding scratch, cleared after each message */
    struct persist *persist; /* snapshots (persist.h) */
    struct elog *elog;       /* the effect log (elog.h), or NULL */
} server;

/* Creates the server from a loaded configuration (taking it over): heap,
 * namespaces, listeners. Returns NULL with a one-line reason in err. */
server *server_new(uv_loop_t *loop, heapd_config *cfg, char *err, size_t errlen);
/* Runs until a signal or `shutdown` stops it; returns the exit status. */
int server_run(server *srv);
/* Closes every handle, frees every object and the server. */
void server_free(server *srv);

/* Begins an orderly stop (stop accepting, close clients after their
 * responses are written, exit 0). */
void server_stop(server *srv);

/* Applies the run-time settings of srv->cfg to the heap and collector. */
void server_apply_runtime(server *srv);

/* Packs conn_pack_info for every connection (m_clients). */
void server_pack_clients(server *srv, msgpack_packer *pk);

/* Hooks the connection code calls: after each request (release what it
 * freed within this iteration's budget, send events), and after a
 * connection closed (the stop completes when the last one is gone). */
void server_after_request(server *srv);
void server_after_close(server *srv);
/* Keeps the loop turning (no blocking poll) until the work queued is done:
 * a connection that yielded its turn. */
void server_wake(server *srv);

#endif
