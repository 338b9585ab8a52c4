/* heapd's network server: one libuv loop, Unix socket and/or TCP
 * listeners, one session per connection, msgpack-RPC framing, pipelined
 * requests answered in order in batched writes, events, and the collector
 * driven between requests. */
#ifndef HEAPD_SERVER_H
#define HEAPD_SERVER_H

#include "config.h"
#include "heap.h"
#include "methods.h"
#include "notify.h"
#include "ns.h"

#include <msgpack.h>
#include <uv.h>

typedef struct conn conn;

typedef struct method_stats {
    uint64_t calls, errors, nsec;
} method_stats;

typedef struct server_stats {
    uint64_t clients_total, clients_rejected;
    uint64_t clients_slow; /* disconnected for not reading their responses */
    uint64_t protocol_errors;
    uint64_t events_sent;
} server_stats;

/* One watch: a session waiting for an object's "freed" event. */
struct watch {
    hid id;
    conn *c;
};

typedef struct server {
    uv_loop_t *loop;
    heapd_config cfg;
    heap *h;
    hns *ns;
    uv_pipe_t unix_srv;
    uv_tcp_t tcp_srv;
    bool unix_on, tcp_on;
    char *unix_path; /* the socket file heapd made (removed at exit) */
    /* Socket activation: the sockets systemd passed, used instead of
     * unix_srv and tcp_srv; and the timer that pings its watchdog. */
    notify_listener *passed;
    unsigned npassed;
    uv_timer_t watchdog;
    uv_timer_t gc_timer; /* starts cycles by the interval rule, idles slices */
    uv_check_t after_io; /* after each batch of reads: frees and a paced slice */
    uv_idle_t keep_busy; /* keeps the loop spinning while work is pending */
    uv_signal_t sigs[3]; /* TERM, INT, HUP */
    conn *conns;
    uint32_t nconns;
    server_stats st;
    method_stats mst[METHOD__COUNT];
    char *token; /* auth token, or NULL */
    size_t token_len;
    uint64_t start_ns;
    uint64_t drain_left_ns; /* what this loop iteration may still spend freeing */
    bool served;            /* requests were served in this loop iteration */
    bool stopping;
    int exit_code;
    struct watch *watches; /* unsorted; nwatches is small in practice */
    size_t nwatches, watches_cap;
    msgpack_zone zone;       /* decoding scratch, cleared after each message */
    struct persist *persist; /* snapshots (persist.h) */
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

/* The error map of responses and "error" notifications:
 * {"type": "<ErrorType>", "message": msg}. */
void pack_error_map(msgpack_packer *pk, int code, const char *msg);

/* Runs one decoded message from c (dispatch.c); responses go to c's output. */
void dispatch_message(server *srv, conn *c, const msgpack_object *msg);

/* The connection's session, auth state, and identity, for handlers. */
hsession *conn_session(conn *c);
bool conn_authed(const conn *c);
void conn_set_authed(conn *c);
uint64_t conn_id(const conn *c);
msgpack_packer *conn_packer(conn *c);
msgpack_sbuffer *conn_outbuf(conn *c);
void conn_set_gc_subscribed(conn *c, bool on);
/* Packs conn_pack_info for every connection (m_clients). */
void server_pack_clients(server *srv, msgpack_packer *pk);
/* A map per connection: id, peer, age, requests, session depth, handles. */
void conn_pack_info(msgpack_packer *pk, const conn *c);

/* Watches (m_events.c): the free hook sends "freed" to every watcher. */
int server_watch(server *srv, conn *c, hobj *o);
int server_unwatch(server *srv, conn *c, hobj *o);
void server_drop_watches(server *srv, conn *c);

/* The "stats" map, all sections or one (NULL if the section is unknown). */
int server_pack_stats(server *srv, msgpack_packer *pk, const char *section, size_t len);

/* Applies the run-time settings of srv->cfg to the heap and collector. */
void server_apply_runtime(server *srv);

#endif
