/* heapctl bench's engine (see bench_net.h). The invariants: a connection's
 * fifo holds its requests in flight in the order sent, which is the order
 * of their answers; net->inflight is the sum of the fifo counts of the open
 * connections; a phase ends when it reaches 0. */
#include "bench_net.h"
#include "rpc.h"
#include "mpscan.h"
#include "wire.h"

#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define READ_CHUNK       65536
#define MAX_ANSWER_BYTES (64u << 20) /* heapd's default limits.max_message_bytes */

typedef struct inflight {
    uint64_t sent_ns;
    const bench_req *req;
    uint32_t msgid;
} inflight;

typedef struct bconn {
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_pipe_t pipe;
        uv_tcp_t tcp;
    } u;
    bench_net *net;
    char *in, *out;
    size_t in_len, in_cap, out_len, out_cap;
    mpscan_state scan;
    inflight *fifo; /* a ring of fifo_cap */
    unsigned fifo_cap, head, count;
    unsigned unstamped; /* the last ones in the fifo, not yet written */
    uint64_t seq;       /* rotation requests sent in this phase */
    uint32_t next_msgid;
    bool inited;  /* the handle needs uv_close */
    bool closing; /* and has had it */
    bool open;    /* usable: connected and not closing */
} bconn;

struct bench_net {
    uv_loop_t loop;
    uv_timer_t timer;
    msgpack_zone zone; /* one answer at a time */
    bconn *conns;
    unsigned nconns;
    const bench_phase *ph;
    bench_result *res; /* &idle between phases */
    bench_result idle;
    uint64_t budget; /* requests that may still be started */
    uint64_t inflight;
    bool running;     /* inside uv_run, so uv_stop ends the phase */
    char notice[256]; /* the server's last "error" notification */
};

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p) {
        fputs("heapctl bench: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

__attribute__((format(printf, 2, 3))) static void fail(bench_net *net, const char *fmt, ...)
{
    bench_result *res = net->res;
    net->budget = 0;
    if (res->failed)
        return;
    res->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof res->error, fmt, ap);
    va_end(ap);
}

static void maybe_done(bench_net *net)
{
    if (net->inflight == 0 && net->running)
        uv_stop(&net->loop);
}

static void conn_lost(bconn *c, const char *why)
{
    bench_net *net = c->net;
    if (!c->open)
        return;
    unsigned i = (unsigned)(c - net->conns);
    if (net->notice[0])
        fail(net, "connection %u lost: %s (the server said %s)", i, why, net->notice);
    else
        fail(net, "connection %u lost: %s", i, why);
    net->inflight -= c->count;
    c->count = c->unstamped = 0;
    c->open = false;
    c->closing = true;
    uv_close(&c->u.handle, NULL);
    maybe_done(net);
}

/* ---- sending ---- */

static void conn_send(bconn *c, const bench_req *r, const char *ref8)
{
    if (c->out_cap - c->out_len < r->len) {
        c->out_cap = 2 * (c->out_len + r->len) + 4096;
        c->out = xrealloc(c->out, c->out_cap);
    }
    bench_req_emit(r, c->out + c->out_len, c->next_msgid, ref8);
    c->out_len += r->len;
    c->fifo[(c->head + c->count) % c->fifo_cap] = (inflight){0, r, c->next_msgid};
    c->next_msgid++;
    c->count++;
    c->unstamped++;
    c->net->inflight++;
}

/* Starts c's next request of the rotation if the budget allows. */
static bool send_next(bench_net *net, bconn *c)
{
    const bench_req *r = &net->ph->rot[c->seq % net->ph->nrot];
    if (r->cost > net->budget)
        return false;
    net->budget -= r->cost;
    c->seq++;
    conn_send(c, r, NULL);
    return true;
}

typedef struct wreq {
    uv_write_t req;
    char data[];
} wreq;

static void on_written(uv_write_t *req, int status)
{
    bconn *c = req->handle->data;
    free(req);
    if (status < 0 && status != UV_ECANCELED && status != UV_EPIPE) /* as in conn_flush */
        conn_lost(c, uv_strerror(status));
}

/* What the socket did not take at once waits in libuv's write queue;
 * uv_try_write refuses while that queue is not empty, so order holds. */
static void queue_write(bconn *c, const char *p, size_t n)
{
    wreq *w = xrealloc(NULL, sizeof *w + n);
    memcpy(w->data, p, n);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    int rc = uv_write(&w->req, &c->u.stream, &b, 1, on_written);
    if (rc < 0) {
        free(w);
        conn_lost(c, uv_strerror(rc));
    }
}

/* Writes what c has queued; its requests are sent now. */
static void conn_flush(bconn *c)
{
    if (!c->out_len)
        return;
    uint64_t now = uv_hrtime();
    for (unsigned k = c->count - c->unstamped; k < c->count; k++)
        c->fifo[(c->head + k) % c->fifo_cap].sent_ns = now;
    c->unstamped = 0;
    uv_buf_t b = uv_buf_init(c->out, (unsigned)c->out_len);
    int n = uv_try_write(&c->u.stream, &b, 1);
    if (n == UV_EAGAIN)
        n = 0;
    if (n == UV_EPIPE) {
        c->out_len = 0; /* closed by the server: reading tells why, then EOF */
        return;
    }
    if (n < 0) {
        conn_lost(c, uv_strerror(n));
        return;
    }
    if ((size_t)n < c->out_len)
        queue_write(c, c->out + n, c->out_len - (size_t)n);
    c->out_len = 0;
}

/* ---- answers ---- */

static const msgpack_object *map_get(const msgpack_object *map, const char *key)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(key) &&
            memcmp(kv->key.via.str.ptr, key, strlen(key)) == 0)
            return &kv->val;
    }
    return NULL;
}

/* "Type: message" of an error map, into buf. */
static void error_text(const msgpack_object *err, char *buf, size_t size)
{
    const msgpack_object *type = map_get(err, "type"), *msg = map_get(err, "message");
    if (!type || type->type != MSGPACK_OBJECT_STR || !msg || msg->type != MSGPACK_OBJECT_STR) {
        snprintf(buf, size, "an error that is not {type, message}");
        return;
    }
    snprintf(buf, size, "%.*s: %.*s", (int)type->via.str.size, type->via.str.ptr,
             (int)msg->via.str.size, msg->via.str.ptr);
}

static bool is_array(const msgpack_object *m, uint32_t n, uint64_t kind)
{
    return m->type == MSGPACK_OBJECT_ARRAY && m->via.array.size == n &&
           m->via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
           m->via.array.ptr[0].via.u64 == kind;
}

/* [2, "error", [{type, message}]] comes before the server closes a
 * connection: kept to say why. Other events are ignored. */
static void note_notification(bench_net *net, const msgpack_object *m)
{
    const msgpack_object *method = &m->via.array.ptr[1], *params = &m->via.array.ptr[2];
    if (method->type == MSGPACK_OBJECT_STR && method->via.str.size == 5 &&
        memcmp(method->via.str.ptr, "error", 5) == 0 && params->type == MSGPACK_OBJECT_ARRAY &&
        params->via.array.size == 1)
        error_text(&params->via.array.ptr[0], net->notice, sizeof net->notice);
}

/* A `then` request carries the ref its predecessor answered. */
static void send_then(bconn *c, const bench_req *done, const msgpack_object *result)
{
    if (result->type != MSGPACK_OBJECT_EXT || result->via.ext.type != EXT_REF ||
        result->via.ext.size != 8) {
        fail(c->net, "%s: answered something that is not a ref", done->method);
        return;
    }
    conn_send(c, done->then, result->via.ext.ptr);
}

static void handle_response(bconn *c, const msgpack_object *m, uint64_t now)
{
    bench_net *net = c->net;
    const msgpack_object *a = m->via.array.ptr;
    if (c->count == 0 || a[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        a[1].via.u64 != c->fifo[c->head].msgid) {
        conn_lost(c, "an answer to no request in flight");
        return;
    }
    inflight e = c->fifo[c->head];
    c->head = (c->head + 1) % c->fifo_cap;
    c->count--;
    net->inflight--;
    bench_result *res = net->res;
    if (net->ph->lat_ns && res->done < net->ph->requests)
        net->ph->lat_ns[res->done] = now - e.sent_ns;
    res->done++;
    res->end_ns = now;
    if (a[2].type != MSGPACK_OBJECT_NIL) {
        char text[256];
        error_text(&a[2], text, sizeof text);
        fail(net, "%s: %s", e.req->method, text);
    } else if (e.req->then) {
        send_then(c, e.req, &a[3]);
    } else {
        send_next(net, c);
    }
}

static void handle_message(bconn *c, const char *p, size_t len, uint64_t now)
{
    bench_net *net = c->net;
    msgpack_object m;
    size_t off = 0;
    if (msgpack_unpack(p, len, &off, &net->zone, &m) != MSGPACK_UNPACK_SUCCESS)
        conn_lost(c, "an answer that could not be decoded");
    else if (is_array(&m, 4, MSG_RESPONSE))
        handle_response(c, &m, now);
    else if (is_array(&m, 3, MSG_NOTIFY))
        note_notification(net, &m);
    else
        conn_lost(c, "a message that is not a response");
    msgpack_zone_clear(&net->zone);
}

/* Handles every whole message in c's input buffer. */
static void consume(bconn *c, uint64_t now)
{
    size_t pos = 0;
    while (c->open && pos < c->in_len) {
        size_t used = 0;
        enum mpscan_result r = mpscan_resume(&c->scan, c->in + pos, c->in_len - pos,
                                             MAX_ANSWER_BYTES, WIRE_MSGPACK_MAX_DEPTH, &used);
        if (r == MPSCAN_INCOMPLETE)
            break;
        mpscan_init(&c->scan);
        if (r != MPSCAN_OK) {
            conn_lost(c, "the server sent bytes that are not msgpack");
            return;
        }
        handle_message(c, c->in + pos, used, now);
        pos += used;
    }
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    bconn *c = h->data;
    if (c->in_cap - c->in_len < READ_CHUNK) {
        c->in_cap = c->in_len + 2 * READ_CHUNK;
        c->in = xrealloc(c->in, c->in_cap);
    }
    *buf = uv_buf_init(c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    bconn *c = s->data;
    if (nread < 0) {
        conn_lost(c, nread == UV_EOF ? "closed by the server" : uv_strerror((int)nread));
        return;
    }
    c->in_len += (size_t)nread;
    consume(c, uv_hrtime());
    if (c->open)
        conn_flush(c);
    maybe_done(c->net);
}

/* ---- phases ---- */

static void on_tick(uv_timer_t *t)
{
    bench_net *net = t->data;
    net->ph->tick(net->ph->tick_arg, net->res->done, uv_hrtime());
}

/* Checks the phase's connections and sizes their fifos; false if one is
 * lost. */
static bool prepare(bench_net *net, const bench_phase *ph)
{
    for (unsigned i = 0; i < ph->nconns; i++) {
        bconn *c = &net->conns[i];
        if (!c->open) {
            fail(net, "connection %u was lost", i);
            return false;
        }
        if (c->fifo_cap < ph->pipeline) { /* empty between phases */
            c->fifo = xrealloc(c->fifo, ph->pipeline * sizeof *c->fifo);
            c->fifo_cap = ph->pipeline;
            c->head = 0;
        }
        c->seq = 0;
    }
    return true;
}

int bench_net_run(bench_net *net, const bench_phase *ph, bench_result *res)
{
    *res = (bench_result){0};
    net->ph = ph;
    net->res = res;
    net->budget = ph->requests;
    if (ph->nconns <= net->nconns && ph->nrot > 0 && ph->pipeline > 0 && prepare(net, ph)) {
        res->start_ns = res->end_ns = uv_hrtime();
        for (unsigned i = 0; i < ph->nconns; i++) {
            bconn *c = &net->conns[i];
            for (unsigned k = 0; k < ph->pipeline && send_next(net, c); k++)
                ;
            conn_flush(c);
        }
        if (ph->tick) {
            ph->tick(ph->tick_arg, 0, res->start_ns);
            net->timer.data = net;
            uv_timer_start(&net->timer, on_tick, ph->tick_ms, ph->tick_ms);
        }
        net->running = true;
        while (net->inflight > 0)
            uv_run(&net->loop, UV_RUN_DEFAULT);
        net->running = false;
        uv_timer_stop(&net->timer);
    }
    net->ph = NULL;
    net->res = &net->idle;
    return res->failed ? -1 : 0;
}

/* ---- connections ---- */

static int conn_open(bench_net *net, bconn *c, const endpoint *ep, char *err, size_t errlen)
{
    c->net = net;
    c->next_msgid = 1;
    mpscan_init(&c->scan);
    int fd = rpc_open_socket(ep, err, errlen);
    if (fd < 0)
        return -1;
    bool tcp = ep->unix_path == NULL;
    int rc = tcp ? uv_tcp_init(&net->loop, &c->u.tcp) : uv_pipe_init(&net->loop, &c->u.pipe, 0);
    if (rc == 0) {
        c->inited = true;
        c->u.handle.data = c;
        rc = tcp ? uv_tcp_open(&c->u.tcp, fd) : uv_pipe_open(&c->u.pipe, fd);
    }
    if (rc == 0) {
        c->open = true;
        rc = uv_read_start(&c->u.stream, on_alloc, on_read);
    } else {
        close(fd); /* not the handle's when uv_*_open failed */
    }
    if (rc < 0) {
        snprintf(err, errlen, "could not set up a connection: %s", uv_strerror(rc));
        return -1;
    }
    return 0;
}

bench_net *bench_net_open(const endpoint *ep, unsigned nconns, char *err, size_t errlen)
{
    bench_net *net = xrealloc(NULL, sizeof *net);
    *net = (bench_net){.nconns = nconns};
    net->conns = xrealloc(NULL, nconns * sizeof *net->conns);
    memset(net->conns, 0, nconns * sizeof *net->conns);
    net->res = &net->idle;
    uv_loop_init(&net->loop);
    uv_timer_init(&net->loop, &net->timer);
    msgpack_zone_init(&net->zone, 65536);
    int rc = 0;
    for (unsigned i = 0; i < nconns && rc == 0; i++)
        rc = conn_open(net, &net->conns[i], ep, err, errlen);
    if (rc == 0)
        return net;
    bench_net_close(net);
    return NULL;
}

void bench_net_close(bench_net *net)
{
    if (!net)
        return;
    for (unsigned i = 0; i < net->nconns; i++) {
        bconn *c = &net->conns[i];
        if (c->inited && !c->closing)
            uv_close(&c->u.handle, NULL);
        c->open = false;
        c->closing = true;
    }
    uv_close((uv_handle_t *)&net->timer, NULL);
    uv_run(&net->loop, UV_RUN_DEFAULT); /* close callbacks; queued writes are cancelled */
    uv_loop_close(&net->loop);
    for (unsigned i = 0; i < net->nconns; i++) {
        free(net->conns[i].in);
        free(net->conns[i].out);
        free(net->conns[i].fifo);
    }
    msgpack_zone_destroy(&net->zone);
    free(net->conns);
    free(net);
}
