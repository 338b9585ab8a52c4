/* One message from a client: envelope checks, method lookup, auth, arity
 * (checked once here, as redis's commandCheckArity), the handler, and the
 * response, with the handler's partial output rolled back on error. */
#include "dispatch.h"
#include "conn.h"
#include "encbuf.h"
#include "handlers.h"
#include "log.h"
#include "reply.h"
#include "util.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

static const method_fn handlers[METHOD__COUNT] = {
#define METHOD(name, min, max, flags, params, help) m_##name,
#include "methods.def"
#undef METHOD
};

static int check_arity(const method_info *m, uint32_t n, herr *err)
{
    if (n >= m->min_args && n <= m->max_args)
        return 0;
    if (m->min_args == m->max_args)
        return herr_set(err, HE_TYPE, "%s() takes %u argument%s (%u given)", m->name, m->min_args,
                        m->min_args == 1 ? "" : "s", n);
    return herr_set(err, HE_TYPE, "%s() takes from %u to %u arguments (%u given)", m->name,
                    m->min_args, m->max_args, n);
}

/* How a message that cannot run is answered (SPEC §2). A response that
 * answers no request is never sent: a peer that answers whatever it
 * receives could otherwise start an exchange that never ends. */
enum bad_answer {
    BAD_NOTIFY,   /* no readable msgid, or a message a client may not send:
                     an "error" notification */
    BAD_RESPONSE, /* a request with a readable msgid: a ProtocolError response */
    BAD_SILENT,   /* a client notification: no response, not even on error */
};

/* The envelope: [0, msgid, method, params] or [2, method, params]. */
struct envelope {
    bool notify;
    enum bad_answer bad; /* how a failure is answered, once known */
    uint32_t msgid;
    const msgpack_object *method, *params;
};

/* The kind and the msgid, which decide how any later failure is answered. */
static int read_kind(const msgpack_object *msg, struct envelope *e, herr *err)
{
    memset(e, 0, sizeof *e);
    e->bad = BAD_NOTIFY;
    if (msg->type != MSGPACK_OBJECT_ARRAY || msg->via.array.size < 3)
        return herr_set(err, HE_PROTOCOL, "a message must be an array [type, ...]");
    const msgpack_object *a = msg->via.array.ptr;
    if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a[0].via.u64 > 2 || a[0].via.u64 == 1)
        return herr_set(err, HE_PROTOCOL, "message type must be 0 (request) or 2 (notification)");
    e->notify = a[0].via.u64 == 2;
    if (e->notify) {
        e->bad = BAD_SILENT;
        return 0;
    }
    if (a[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a[1].via.u64 > UINT32_MAX)
        return herr_set(err, HE_PROTOCOL, "msgid must be a uint32");
    e->msgid = (uint32_t)a[1].via.u64;
    e->bad = BAD_RESPONSE;
    return 0;
}

static int read_envelope(const msgpack_object *msg, struct envelope *e, herr *err)
{
    int rc = read_kind(msg, e, err);
    if (rc)
        return rc;
    size_t want = e->notify ? 3 : 4;
    if (msg->via.array.size != want)
        return herr_set(err, HE_PROTOCOL, "a %s has %zu elements",
                        e->notify ? "notification" : "request", want);
    e->method = &msg->via.array.ptr[want - 2];
    e->params = &msg->via.array.ptr[want - 1];
    if (e->method->type != MSGPACK_OBJECT_STR)
        return herr_set(err, HE_PROTOCOL, "method must be a str");
    if (e->params->type != MSGPACK_OBJECT_ARRAY)
        return herr_set(err, HE_PROTOCOL, "params must be an array");
    return 0;
}

/* Finds the method and checks auth and arity: its id, or an error. */
static int admit(server *srv, conn *c, const struct envelope *e, herr *err)
{
    int id = method_find(e->method->via.str.ptr, e->method->via.str.size);
    if (id < 0)
        return herr_set(err, HE_PROTOCOL, "unknown method '%.*s'",
                        (int)(e->method->via.str.size > 60 ? 60 : e->method->via.str.size),
                        e->method->via.str.ptr);
    const method_info *m = &method_table[id];
    if (srv->lis.token && !conn_authed(c) && !(m->flags & MF_NOAUTH))
        return herr_set(err, HE_AUTH, "authentication required");
    int rc = check_arity(m, e->params->via.array.size, err);
    return rc ? rc : id;
}

static int run_handler(server *srv, conn *c, int id, const struct envelope *e, msgpack_packer *pk,
                       herr *err)
{
    const msgpack_object *params = e->params;
    req r = {.srv = srv,
             .conn = c,
             .method = id,
             .h = srv->h,
             .ns = srv->ns,
             .s = conn_session(c),
             .args = params->via.array.ptr,
             .nargs = params->via.array.size,
             .out = pk,
             .notify = e->notify,
             .err = err};
    int rc = handlers[id](&r);
    req_release_temps(&r);
    return rc;
}

/* A limit hit is worth an operator's attention, but a client hammering the
 * limit must not flood the journal: at most one line a second. */
static void log_limit_hit(server *srv, const herr *err)
{
    static uint64_t last_ns, suppressed;
    uint64_t now = now_ns();
    (void)srv;
    if (last_ns && now - last_ns < 1000000000u) {
        suppressed++;
        return;
    }
    log_notice("MemoryError: %s (%llu more since the last report)", err->msg,
               (unsigned long long)suppressed);
    last_ns = now;
    suppressed = 0;
}

/* A message that cannot run at all, answered as e->bad says. */
static void refuse(server *srv, conn *c, const struct envelope *e, const herr *err)
{
    srv->st.protocol_errors++;
    if (e->bad == BAD_NOTIFY)
        reply_error_notify(&c->pk, err->code, err->msg);
    else if (e->bad == BAD_RESPONSE)
        reply_error(&c->pk, e->msgid, err->code, err->msg);
}

/* Ref-handle mode: every reference in a successful answer becomes one
 * handle of the session. Their counts were taken as they were packed, so
 * each object is still alive whatever the handler did after (pop); a
 * failed request adds none (encbuf_destroy gives the counts back).
 * Handles cost memory (charged to limits.max_memory_bytes) but are not
 * refused at that limit, as new(ref) is not: an answer is bounded by
 * limits.max_output_bytes, and requests that only free must work. */
static void hand_over_refs(conn *c, encbuf *eb)
{
    size_t n;
    hobj **refs = encbuf_take_refs(eb, &n);
    for (size_t i = 0; i < n; i++)
        conn_handle_add(c, refs[i]);
}

/* Runs an admitted request, its answer written through eb. An answer over
 * its budget fails like any other error: the dispatcher drops it. */
static int run_request(server *srv, conn *c, const struct envelope *e, int id, encbuf *eb,
                       herr *err)
{
    uint64_t t0 = now_ns();
    reply_ok_begin(&eb->pk, e->msgid);
    int rc = run_handler(srv, c, id, e, &eb->pk, err);
    if (rc == 0 && eb->over)
        rc = herr_set(err, HE_MEMORY, ENCBUF_OVER_MESSAGE);
    if (rc == 0 && eb->refs_full)
        rc = herr_set(err, HE_MEMORY, "reference count limit reached");
    if (rc == 0)
        hand_over_refs(c, eb);
    srv->mst[id].calls++;
    srv->mst[id].nsec += now_ns() - t0; /* ns: most calls take under 1 us */
    srv->mst[id].errors += rc < 0;
    return rc;
}

/* The events this request caused for its own session (a finalizer's, a
 * watched object's) go before its answer, in the order Python would print
 * them: the answer's bytes move after them. */
static void events_before_answer(server *srv, conn *c, size_t events_mark, size_t mark)
{
    size_t len = c->out.size - mark;
    char *answer = xmalloc(len);
    memcpy(answer, c->out.data + mark, len);
    c->out.size = mark;
    events_pack_since(srv, c, events_mark);
    msgpack_sbuffer_write(&c->out, answer, len);
    free(answer);
}

void dispatch_message(server *srv, conn *c, const msgpack_object *msg)
{
    herr err = {0};
    struct envelope e;
    if (read_envelope(msg, &e, &err)) {
        refuse(srv, c, &e, &err);
        return;
    }
    int rc = admit(srv, c, &e, &err), id = rc;
    size_t mark = c->out.size, events_mark = srv->ev.nqueued;
    heap_weak_purge(srv->h); /* entries of weak-valued dicts whose values died */
    /* A notification's result is counted against the budget, then dropped,
     * and adds no handles. A session that has not authenticated (when a
     * token is configured) holds nothing, so it gets no handles either. */
    bool may_hold = c->ref_handles && !e.notify && (conn_authed(c) || !srv->lis.token);
    encbuf eb;
    encbuf_init(&eb, e.notify ? NULL : &c->out, srv->cfg.max_output_bytes,
                may_hold ? srv->h : NULL);
    heap_intern_begin(srv->h); /* a failed request leaves no interned str behind */
    if (rc >= 0)
        rc = run_request(srv, c, &e, id, &eb, &err);
    if (rc == REQ_DEFERRED && !e.notify) {
        c->out.size = mark; /* the answer follows when the work is done */
        conn_defer(c, e.msgid);
    }
    if (rc == HE_MEMORY)
        log_limit_hit(srv, &err);
    if (rc < 0 && !e.notify) {
        c->out.size = mark; /* drop the handler's partial output */
        reply_error(&c->pk, e.msgid, rc, err.msg);
    }
    srv->st.protocol_errors += rc == HE_PROTOCOL;
    encbuf_destroy(&eb); /* (gives back what a failed answer's refs held) */
    heap_intern_end(srv->h, rc < 0);
    /* nothing to check when deferred, or when the handler already flushed
     * (shutdown): conn_flush checks what it sends */
    REPLY_CHECK(e.notify || c->out.size <= mark ||
                reply_is_one_object(c->out.data + mark, c->out.size - mark));
    if (srv->ev.nqueued > events_mark && c->out.size > mark)
        events_before_answer(srv, c, events_mark, mark);
}
