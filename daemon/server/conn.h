/* One client connection: reading and framing, pipelined dispatch, batched
 * writes, the output limit, and closing (which ends the session). */
#ifndef HEAPD_CONN_H
#define HEAPD_CONN_H

#include "mpscan.h"
#include "server.h"

struct conn {
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_pipe_t pipe;
        uv_tcp_t tcp;
    } u; /* first: libuv hands back the handle */
    server *srv;
    conn *prev, *next;
    hsession *s;
    uint64_t id;
    bool authed, closing, draining, gc_subscribed, is_tcp;
    bool finalize_subscribed; /* the "finalize" channel */
    bool waiting;             /* a request's answer is deferred (conn_defer) */
    bool paused;              /* unsent output over the limit: not reading (conn.c) */
    bool yielded;             /* ran its slice of requests: the rest wait a turn */
    bool ref_handles;         /* ref-handle mode (hello): every ref answered is a handle */
    uint64_t handles;         /* handles the session holds, all objects together */
    uint32_t wait_msgid;      /* ... and this is its msgid */
    char *in;                 /* bytes read that are not yet a whole message */
    size_t in_len, in_cap;
    mpscan_state scan;   /* progress through the partial message at in[0] */
    msgpack_sbuffer out; /* responses and events not yet handed to libuv */
    msgpack_packer pk;
    uint32_t watch_head; /* this session's watches (watches.h) */
    uint64_t connected_ns, requests;
    uint64_t active_ms; /* uv_now when its last request ran (or it connected): idle */
    char *peer;         /* peer.h: "ADDR:PORT", or the Unix socket's path */
    int64_t peer_pid;   /* a Unix client's pid, else 0 */
    /* The deferred answer (waiting) is a failed auth's, not save's, and how
     * many auth attempts failed here (authlimit.h). */
    bool waiting_auth;
    uint8_t auth_failures;
    /* Output waiting for the effect log (persist/elog.h): chunks in order,
     * each sent once the log block it names is durable. */
    struct held_out *held, *held_tail;
    size_t held_bytes;
    bool close_when_sent; /* conn_close_after_writes came while output was held */
};

conn *conn_new(server *srv);
/* After the accept: notes who the peer is (clients()), then reads. */
void conn_start(conn *c);
void conn_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
void conn_flush(conn *c);
/* The effect log is durable up to block lsn: the output held for it goes. */
void conn_release_held(conn *c, uint64_t lsn);
void conn_close(conn *c);
void conn_close_after_writes(conn *c);
void conn_fatal(conn *c, int code, const char *msg);
/* The request being run answers later (a handler returned REQ_DEFERRED):
 * until conn_resume, c runs no further request, so its answers stay in
 * order, and reading stops (requests wait in the socket). */
void conn_defer(conn *c, uint32_t msgid);
/* A connection that yielded (it had used its slice of this loop turn)
 * runs the requests it has buffered and reads on; a no-op otherwise. */
void conn_continue(conn *c);
/* After the deferred answer has been packed into c's output: sends it
 * and, if run_more, runs the requests that came meanwhile and reads on. */
void conn_resume(conn *c, bool run_more);

/* The connection's session, auth state and identity, for handlers. */
hsession *conn_session(conn *c);
bool conn_authed(const conn *c);
void conn_set_authed(conn *c);
uint64_t conn_id(const conn *c);
void conn_set_gc_subscribed(conn *c, bool on);
bool conn_ref_handles(const conn *c);
void conn_set_ref_handles(conn *c, bool on);

/* Gives the session a handle on o, stealing the caller's reference. */
void conn_handle_add(conn *c, hobj *o);
/* Drops count handles the session holds on o: ValueError, and nothing
 * dropped, when it holds fewer. */
int conn_handle_release(conn *c, hobj *o, uint32_t count, herr *err);
/* A map per connection: id, peer (and a Unix client's pid), age and idle
 * seconds, requests, session depth, auth, transport, handles, paused. */
void conn_pack_info(msgpack_packer *pk, const conn *c);

#endif
