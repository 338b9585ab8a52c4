#include "events.h"
#include "conn.h"
#include "encode.h"
#include "htab.h"
#include "ns.h"
#include "pack.h"
#include "server.h"
#include "util.h"
#include "wire.h"

static void queue_event(events *ev, struct event e)
{
    if (ev->nqueued == ev->queue_cap)
        ev->queue = xrealloc(ev->queue,
                             (ev->queue_cap = ev->queue_cap ? ev->queue_cap * 2 : 16) * sizeof e);
    ev->queue[ev->nqueued++] = e;
}

struct fired {
    events *ev;
    hobj *o;
    enum free_cause cause;
};

static void queue_freed(void *owner, void *arg)
{
    struct fired *f = arg;
    queue_event(f->ev, (struct event){.kind = EV_FREED,
                                      .id = hobj_id(f->o),
                                      .type = f->o->type,
                                      .cause = f->cause,
                                      .c = owner});
}

/* The free hook, called for every object the heap frees: one probe of the
 * watch index when the object is unwatched, whatever the number of watches.
 * A watched object's "freed" goes to each watcher, once. */
static void on_free(void *ctx, hobj *o, enum free_cause cause)
{
    events *ev = &((server *)ctx)->ev;
    struct fired f = {ev, o, cause};
    watches_fire(&ev->watches, hobj_id(o), queue_freed, &f);
}

/* Python's gc.callbacks: a "start" and a "stop" for every collection. */
static void on_cycle(void *ctx, bool start, const gc_cycle_info *info)
{
    server *srv = ctx;
    for (conn *c = srv->conns; c; c = c->next)
        if (c->gc_subscribed)
            queue_event(&srv->ev,
                        (struct event){.kind = EV_GC, .gc_start = start, .c = c, .info = *info});
}

/* --- finalizers and weakref callbacks ---------------------------------------- */

struct params_buf {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    hobj **held;
    uint32_t nheld, cap;
};

static void hold(struct params_buf *b, hobj *o)
{
    if (b->nheld == b->cap)
        b->held = xrealloc(b->held, (b->cap = b->cap * 2 + 4) * sizeof *b->held);
    b->held[b->nheld++] = o;
}

/* [ref, class_name, {attr: value}]: scalars as values, containers as refs
 * (held until the event is sent, so they still resolve then). */
static void pack_finalize_params(struct params_buf *b, hobj *inst)
{
    hdict *d = AS_DICT(heap_rec_dict(inst));
    msgpack_pack_array(&b->pk, 3);
    enc_ref_id(&b->pk, hobj_id(inst));
    pack_cstr(&b->pk, heap_class_name(heap_class_of(inst)));
    msgpack_pack_map(&b->pk, d->used);
    for (uint32_t i = 0; d->tb && i < d->fill; i++) {
        hentry *e = htab_entry(d, i);
        if (!e->key)
            continue;
        for (int k = 0; k < 2; k++) {
            hobj *o = k ? e->val : e->key;
            if (!hobj_is_container(o)) {
                enc_scalar(&b->pk, o);
                continue;
            }
            enc_ref_id(&b->pk, hobj_id(o));
            hold(b, o);
        }
    }
}

static void queue_finalize(server *srv, conn *c, hobj *inst)
{
    struct params_buf b = {0};
    msgpack_sbuffer_init(&b.sb);
    msgpack_packer_init(&b.pk, &b.sb, msgpack_sbuffer_write);
    pack_finalize_params(&b, inst);
    for (uint32_t i = 0; i < b.nheld; i++)
        conn_handle_add(c, heap_incref(srv->h, b.held[i]));
    size_t len = b.sb.size;
    queue_event(&srv->ev, (struct event){.kind = EV_FINALIZE,
                                         .c = c,
                                         .params = msgpack_sbuffer_release(&b.sb),
                                         .params_len = len,
                                         .held = b.held,
                                         .nheld = b.nheld});
}

/* PEP 442's finalizer, for the sessions subscribed to "finalize". */
static void on_finalize(void *ctx, hobj *inst, bool by_collector)
{
    (void)by_collector;
    server *srv = ctx;
    for (conn *c = srv->conns; c; c = c->next)
        if (c->finalize_subscribed && !c->closing)
            queue_finalize(srv, c, inst);
}

/* A weakref with a callback was cleared: its session hears of it. */
static void on_weakref(void *ctx, hobj *w)
{
    server *srv = ctx;
    for (conn *c = srv->conns; c; c = c->next)
        if (ns_session_id(c->s) == AS_WEAK(w)->session && !c->closing)
            queue_event(&srv->ev, (struct event){.kind = EV_WEAKREF, .id = hobj_id(w), .c = c});
}

void events_attach(server *srv)
{
    heap_set_free_hook(srv->h, on_free, srv);
    heap_set_finalize_hook(srv->h, on_finalize, srv);
    heap_set_weak_hook(srv->h, on_weakref, srv);
    gc_set_cycle_hook(srv->h, on_cycle, srv);
}

/* What a sent or dropped event held goes: its params and its handles (a
 * closing session drops its handles itself; in ref-handle mode they are
 * the client's from now on, as every ref it is sent is). */
static void event_done(struct event *e, bool sent)
{
    for (uint32_t i = 0; sent && !e->c->ref_handles && i < e->nheld; i++)
        conn_handle_release(e->c, e->held[i], 1, NULL);
    free(e->held);
    free(e->params);
    e->held = NULL;
    e->params = NULL;
}

void events_free(events *ev)
{
    for (size_t i = 0; i < ev->nqueued; i++) {
        free(ev->queue[i].held);
        free(ev->queue[i].params);
    }
    free(ev->queue);
    watches_free(&ev->watches);
    *ev = (events){0};
}

static void pack_gc_info(msgpack_packer *pk, bool start, const gc_cycle_info *info)
{
    msgpack_pack_map(pk, start ? 2 : 8);
    pack_kv_s(pk, "phase", start ? "start" : "stop");
    pack_kv_u(pk, "generation", (uint64_t)info->generation);
    if (start)
        return;
    pack_kv_u(pk, "collected", info->collected);
    pack_kv_u(pk, "uncollectable", 0); /* no legacy finalizers: all garbage is collectable */
    pack_kv_u(pk, "pause_us", info->pause_us);
    pack_kv_u(pk, "duration_us", info->duration_us);
    pack_kv_u(pk, "traced", info->traced);
    pack_kv_u(pk, "slices", info->slices);
}

static void pack_event(msgpack_packer *pk, const struct event *e)
{
    static const char *const names[] = {"freed", "gc", "finalize", "weakref"};
    msgpack_pack_array(pk, 3);
    msgpack_pack_int(pk, MSG_NOTIFY);
    pack_cstr(pk, names[e->kind]);
    switch (e->kind) {
    case EV_GC:
        msgpack_pack_array(pk, 1);
        pack_gc_info(pk, e->gc_start, &e->info);
        return;
    case EV_FINALIZE:
        pk->callback(pk->data, e->params, e->params_len); /* packed already */
        return;
    case EV_WEAKREF:
        msgpack_pack_array(pk, 1);
        enc_ref_id(pk, e->id);
        return;
    }
    msgpack_pack_array(pk, 3);
    enc_ref_id(pk, e->id);
    pack_cstr(pk, htype_name(e->type));
    pack_cstr(pk, e->cause == FREE_GC ? "gc" : "refcount");
}

bool events_pending(const events *ev)
{
    return ev->nqueued != 0;
}

void events_send(server *srv)
{
    events *ev = &srv->ev;
    for (size_t i = 0; i < ev->nqueued; i++) {
        struct event *e = &ev->queue[i];
        conn *c = e->c;
        bool send = !c->closing && !c->draining;
        if (send) {
            pack_event(&c->pk, e);
            srv->st.events_sent++;
        }
        event_done(e, send);
        if (send && (i + 1 == ev->nqueued || ev->queue[i + 1].c != c))
            conn_flush(c); /* a run of one connection's events: one write */
    }
    ev->nqueued = 0;
}

void events_pack_since(server *srv, conn *c, size_t from)
{
    events *ev = &srv->ev;
    size_t kept = from;
    for (size_t i = from; i < ev->nqueued; i++) {
        struct event *e = &ev->queue[i];
        if (e->c != c) {
            ev->queue[kept++] = *e;
            continue;
        }
        pack_event(&c->pk, e);
        srv->st.events_sent++;
        event_done(e, true);
    }
    ev->nqueued = kept;
}

int events_watch(events *ev, conn *c, hobj *o)
{
    watches_add(&ev->watches, hobj_id(o), c, &c->watch_head);
    return 0;
}

int events_unwatch(events *ev, conn *c, hobj *o)
{
    return watches_remove(&ev->watches, hobj_id(o), c) ? 0 : -1;
}

void events_drop_conn(events *ev, conn *c)
{
    watches_drop_owner(&ev->watches, &c->watch_head);
    size_t kept = 0; /* c is about to be freed: its queued events go too */
    for (size_t i = 0; i < ev->nqueued; i++) {
        if (ev->queue[i].c != c)
            ev->queue[kept++] = ev->queue[i];
        else
            event_done(&ev->queue[i], false);
    }
    ev->nqueued = kept;
}
