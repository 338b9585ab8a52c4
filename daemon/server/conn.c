/* Connections: reading and framing, pipelined dispatch, batched writes,
 * slow readers, and closing (which ends the session). */
#include "conn.h"
#include "dispatch.h"
#include "elog.h"
#include "gc.h"
#include "log.h"
#include "mpscan.h"
#include "pack.h"
#include "peer.h"
#include "reply.h"
#include "util.h"
#include "wire.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK  65536
#define WRITE_CHUNK ((size_t)1 << 30)

/* Output held until the effect log block `lsn` is durable (elog.h). */
struct held_out {
    struct held_out *next;
    uint64_t lsn;
    char *data;
    size_t len;
};

struct write_req {
    uv_write_t req;
    conn *c;
    char *data;
    size_t len;
};

conn *conn_new(server *srv)
{
    conn *c = xcalloc(1, sizeof *c);
    c->srv = srv;
    c->s = ns_session_new(srv->ns);
    c->id = ns_session_id(c->s);
    c->connected_ns = now_ns();
    c->active_ms = c->connected_ns / 1000000;
    mpscan_init(&c->scan);
    msgpack_sbuffer_init(&c->out);
    msgpack_packer_init(&c->pk, &c->out, msgpack_sbuffer_write);
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    return c;
}

hsession *conn_session(conn *c)
{
    return c->s;
}
bool conn_authed(const conn *c)
{
    return c->authed;
}
void conn_set_authed(conn *c)
{
    c->authed = true;
}
uint64_t conn_id(const conn *c)
{
    return c->id;
}
void conn_set_gc_subscribed(conn *c, bool on)
{
    c->gc_subscribed = on;
}

bool conn_ref_handles(const conn *c)
{
    return c->ref_handles;
}
void conn_set_ref_handles(conn *c, bool on)
{
    c->ref_handles = on;
}

void conn_handle_add(conn *c, hobj *o)
{
    ns_handle_add(c->srv->ns, c->s, o);
    c->handles++;
}

int conn_handle_release(conn *c, hobj *o, uint32_t count, herr *err)
{
    uint32_t held = ns_handle_count(c->s, o);
    if (held == 0)
        return herr_set(err, HE_VALUE, "this session holds no handle to that object");
    if (held < count)
        return herr_set(err, HE_VALUE, "this session holds %u handle%s to that object, not %u",
                        held, held == 1 ? "" : "s", count);
    for (uint32_t i = 0; i < count; i++)
        ns_handle_release(c->srv->ns, c->s, o, err); /* held: cannot fail */
    c->handles -= count;
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    conn *c = h->data;
    server *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    srv->nyielded -= c->yielded;
    events_drop_conn(&srv->ev, c);
    for (struct held_out *h = c->held, *n; h; h = n) {
        n = h->next;
        free(h->data);
        free(h);
    }
    ns_session_end(srv->ns, c->s); /* frames popped, handles dropped */
    msgpack_sbuffer_destroy(&c->out);
    free(c->in);
    free(c->peer);
    free(c);
    server_after_close(srv);
}

void conn_close(conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_read_stop(&c->u.stream);
    uv_close(&c->u.handle, on_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    conn *c = req->data;
    free(req);
    conn_close(c);
}

void conn_close_after_writes(conn *c)
{
    if (c->closing || c->draining)
        return;
    if (c->held) { /* answers wait for the log: the shutdown comes after them */
        c->close_when_sent = true;
        uv_read_stop(&c->u.stream);
        conn_flush(c);
        return;
    }
    if (c->paused) { /* it is not reading: waiting for its writes could take forever */
        conn_close(c);
        return;
    }
    conn_flush(c);
    c->draining = true; /* nothing is written after the shutdown below */
    uv_read_stop(&c->u.stream);
    uv_shutdown_t *req = xmalloc(sizeof *req);
    req->data = c;
    if (uv_shutdown(req, &c->u.stream, on_shutdown) != 0) {
        free(req);
        conn_close(c);
    }
}

static void run_and_read(conn *c);

void conn_continue(conn *c)
{
    if (!c->yielded)
        return;
    c->yielded = false;
    c->srv->nyielded--;
    if (!c->closing && !c->draining)
        run_and_read(c);
}

static void conn_unpause(conn *c);

/* Output not yet written: the buffer being packed plus libuv's queue. */
static size_t unsent(const conn *c)
{
    return c->out.size + c->held_bytes + uv_stream_get_write_queue_size(&c->u.stream);
}

static void on_written(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    conn *c = w->c;
    free(w->data);
    free(w);
    if (status < 0 && !c->closing)
        conn_close(c);
    else if (c->paused && !c->closing && unsent(c) <= c->srv->cfg.max_output_bytes)
        conn_unpause(c); /* drained below the limit: read and run again */
}

static void write_out(conn *c, char *data, size_t len);

/* Keeps data until the log block lsn is durable; output after held output
 * waits too, so answers stay in order. */
static void hold(conn *c, char *data, size_t len, uint64_t lsn)
{
    struct held_out *h = xmalloc(sizeof *h);
    if (c->held_tail && c->held_tail->lsn > lsn)
        lsn = c->held_tail->lsn;
    *h = (struct held_out){NULL, lsn, data, len};
    if (c->held_tail)
        c->held_tail->next = h;
    else
        c->held = h;
    c->held_tail = h;
    c->held_bytes += len;
}

void conn_release_held(conn *c, uint64_t lsn)
{
    while (c->held && c->held->lsn <= lsn && !c->closing) {
        struct held_out *h = c->held;
        c->held = h->next;
        if (!c->held)
            c->held_tail = NULL;
        c->held_bytes -= h->len;
        write_out(c, h->data, h->len);
        free(h);
    }
    if (!c->held && c->close_when_sent && !c->closing) {
        c->close_when_sent = false;
        conn_close_after_writes(c);
    }
}

/* Hands everything packed so far to libuv as one write: a whole pipelined
 * batch of responses goes out in one system call. With the effect log on,
 * it waits until the records before it are durable (elog.h). */
void conn_flush(conn *c)
{
    if (c->closing || c->draining || c->out.size == 0)
        return;
    REPLY_CHECK(reply_is_whole_objects(c->out.data, c->out.size));
    size_t len = c->out.size;
    char *data = msgpack_sbuffer_release(&c->out);
    uint64_t lsn = elog_hold_lsn(c->srv->elog);
    if (lsn || c->held)
        hold(c, data, len, lsn);
    else
        write_out(c, data, len);
}

static void write_out(conn *c, char *data, size_t len)
{
    if (c->closing) {
        free(data);
        return;
    }
    struct write_req *w = xmalloc(sizeof *w);
    w->c = c;
    w->len = len;
    w->data = data;
    /* a uv_buf_t holds an unsigned int length: an output over 4 GiB (the
     * limits allow up to 2^40) goes as several (libuv copies the array) */
    size_t nbufs = (w->len + WRITE_CHUNK - 1) / WRITE_CHUNK;
    uv_buf_t *bufs = xmalloc(nbufs * sizeof *bufs);
    for (size_t i = 0; i < nbufs; i++) {
        size_t off = i * WRITE_CHUNK, left = w->len - off;
        bufs[i] = uv_buf_init(w->data + off, (unsigned)(left < WRITE_CHUNK ? left : WRITE_CHUNK));
    }
    int rc = uv_write(&w->req, &c->u.stream, bufs, (unsigned)nbufs, on_written);
    free(bufs);
    if (rc != 0) {
        free(w->data);
        free(w);
        conn_close(c);
        return;
    }
    /* Answers cannot take a connection past twice the limit: it stops
     * running requests once over it (conn_over_output_limit), and one answer
     * is at most the limit. Events keep coming while it does not read, so
     * a client whose output still grows past that is disconnected. */
    size_t queued = uv_stream_get_write_queue_size(&c->u.stream);
    if (queued / 2 > c->srv->cfg.max_output_bytes) {
        c->srv->st.clients_slow++;
        log_notice("client %llu disconnected: %zu bytes unread (2 x limits.max_output_bytes)",
                   (unsigned long long)c->id, queued);
        conn_close(c);
    }
}

/* After each request (SPEC §9): once a client's unsent output is over
 * limits.max_output_bytes, it is handed to libuv, and if it is still over,
 * the connection stops reading and running requests until its writes drain
 * below the limit (on_written). So its unsent output never exceeds the
 * limit by more than one answer. True when the connection stopped. */
static bool conn_over_output_limit(conn *c)
{
    size_t limit = c->srv->cfg.max_output_bytes;
    if (unsent(c) <= limit)
        return false;
    conn_flush(c);
    if (c->closing || unsent(c) <= limit)
        return c->closing;
    c->paused = true;
    uv_read_stop(&c->u.stream);
    return true;
}

/* A connection-level error: one notification [2, "error", [{type, message}]]
 * and the connection is closed once it is written. */
void conn_fatal(conn *c, int code, const char *msg)
{
    reply_error_notify(&c->pk, code, msg);
    conn_close_after_writes(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    conn *c = h->data;
    if (c->in_cap - c->in_len < READ_CHUNK) {
        c->in_cap = c->in_len + READ_CHUNK * 2;
        c->in = xrealloc(c->in, c->in_cap);
    }
    *buf = uv_buf_init(c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

/* Decodes and runs one framed message of `len` bytes at p. */
static void run_message(conn *c, const char *p, size_t len)
{
    server *srv = c->srv;
    size_t off = 0;
    msgpack_object msg;
    if (msgpack_unpack(p, len, &off, &srv->zone, &msg) != MSGPACK_UNPACK_SUCCESS) {
        conn_fatal(c, HE_PROTOCOL, "message could not be decoded");
        return;
    }
    c->requests++;
    c->active_ms = now_ns() / 1000000; /* (vDSO: no system call) */
    srv->served = true;
    dispatch_message(srv, c, &msg);
    msgpack_zone_clear(&srv->zone);
}

static const char *scan_error(enum mpscan_result r)
{
#define STR_(x) #x
#define STR(x)  STR_(x)
    switch (r) {
    case MPSCAN_TOO_BIG:
        return "message larger than limits.max_message_bytes";
    case MPSCAN_TOO_DEEP:
        return "message nested deeper than " STR(WIRE_MSGPACK_MAX_DEPTH) " levels";
    default:
        return "bytes that are not msgpack";
    }
#undef STR
#undef STR_
}

/* Frames and runs every whole message in the input buffer. msgpack-c sizes
 * arrays from their declared length, so each message is scanned first
 * (mpscan): declared lengths past the message limit never cost memory. */
/* A client that pipelines many requests runs them for at most half a slice
 * (gc.slice_us) per loop turn; the rest wait in its buffer while the other
 * clients are served (server_after_io resumes it next turn). */
static bool used_its_turn(conn *c, uint64_t t0)
{
    if (now_ns() - t0 < gc_get_config(c->srv->h)->slice_us * 1000 / 2)
        return false;
    c->yielded = true;
    c->srv->nyielded++;
    uv_read_stop(&c->u.stream);
    server_wake(c->srv);
    return true;
}

static void process_input(conn *c)
{
    size_t pos = 0, limit = c->srv->cfg.max_message_bytes;
    uint64_t t0 = now_ns();
    while (!c->closing && !c->draining && !c->waiting && !c->paused && pos < c->in_len) {
        size_t used = 0;
        enum mpscan_result r = mpscan_resume(&c->scan, c->in + pos, c->in_len - pos, limit,
                                             WIRE_MSGPACK_MAX_DEPTH, &used);
        if (r == MPSCAN_INCOMPLETE)
            break; /* c->scan remembers how far the message is known good */
        mpscan_init(&c->scan);
        if (r != MPSCAN_OK) {
            c->srv->st.protocol_errors++;
            log_debug("client %llu: protocol error (%d)", (unsigned long long)c->id, (int)r);
            conn_fatal(c, HE_PROTOCOL, scan_error(r));
            break;
        }
        run_message(c, c->in + pos, used);
        pos += used;
        if (pos == c->in_len)
            conn_flush(c); /* the last answer leaves before any freeing below */
        server_after_request(c->srv);
        if (conn_over_output_limit(c))
            break; /* the rest of the input waits in c->in */
        if (pos < c->in_len && used_its_turn(c, t0))
            break;
    }
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
    conn_flush(c);
}

void conn_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    conn *c = stream->data;
    if (nread < 0) {
        conn_close(c); /* EOF or reset: the session ends with the connection */
        return;
    }
    c->in_len += (size_t)nread;
    process_input(c);
}

void conn_defer(conn *c, uint32_t msgid)
{
    c->waiting = true;
    c->wait_msgid = msgid;
    uv_read_stop(&c->u.stream);
}

/* Runs the requests already read and, unless one stopped it again, reads on. */
static void run_and_read(conn *c)
{
    process_input(c); /* may defer or pause again */
    if (!c->waiting && !c->paused && !c->yielded && !c->closing && !c->draining)
        uv_read_start(&c->u.stream, on_alloc, conn_on_read);
}

static void conn_unpause(conn *c)
{
    c->paused = false;
    if (!c->draining)
        run_and_read(c);
}

void conn_resume(conn *c, bool run_more)
{
    c->waiting = false;
    if (c->closing || c->draining)
        return;
    if (!run_more) {
        conn_flush(c);
        return;
    }
    run_and_read(c);
}

void conn_start(conn *c)
{
    c->u.handle.data = c;
    c->peer = peer_name(&c->u.stream, c->is_tcp, &c->peer_pid);
    uv_read_start(&c->u.stream, on_alloc, conn_on_read);
}

void conn_pack_info(msgpack_packer *pk, const conn *c)
{
    uint64_t now = now_ns();
    msgpack_pack_map(pk, 10 + (c->peer_pid > 0));
    pack_cstr(pk, "id");
    msgpack_pack_uint64(pk, c->id);
    pack_kv_s(pk, "peer", c->peer ? c->peer : "?");
    if (c->peer_pid > 0) {
        pack_cstr(pk, "pid");
        msgpack_pack_int64(pk, c->peer_pid);
    }
    pack_cstr(pk, "age_s");
    msgpack_pack_uint64(pk, (now - c->connected_ns) / 1000000000u);
    pack_cstr(pk, "idle_s"); /* since its last request, as Redis's CLIENT LIST idle= */
    uint64_t ms = now / 1000000;
    msgpack_pack_uint64(pk, ms > c->active_ms ? (ms - c->active_ms) / 1000 : 0);
    pack_cstr(pk, "requests");
    msgpack_pack_uint64(pk, c->requests);
    pack_cstr(pk, "scope_depth");
    msgpack_pack_uint32(pk, ns_depth(c->s));
    pack_cstr(pk, "authed");
    pack_bool(pk, c->authed);
    pack_cstr(pk, "transport");
    pack_cstr(pk, c->is_tcp ? "tcp" : "unix");
    pack_kv_u(pk, "handles", c->handles);
    pack_cstr(pk, "paused"); /* not read from: its answers wait to be read */
    pack_bool(pk, c->paused);
}
