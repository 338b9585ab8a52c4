#include "events.h"
#include "conn.h"
#include "encode.h"
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
    queue_event(f->ev, (struct event){
                           .id = hobj_id(f->o), .type = f->o->type, .cause = f->cause, .c = owner});
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
                        (struct event){.gc = true, .gc_start = start, .c = c, .info = *info});
}

void events_attach(server *srv)
{
    heap_set_free_hook(srv->h, on_free, srv);
    gc_set_cycle_hook(srv->h, on_cycle, srv);
}

void events_free(events *ev)
{
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
    msgpack_pack_array(pk, 3);
    msgpack_pack_int(pk, MSG_NOTIFY);
    pack_cstr(pk, e->gc ? "gc" : "freed");
    if (e->gc) {
        msgpack_pack_array(pk, 1);
        pack_gc_info(pk, e->gc_start, &e->info);
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
        conn *c = ev->queue[i].c;
        if (c->closing || c->draining)
            continue;
        pack_event(&c->pk, &ev->queue[i]);
        srv->st.events_sent++;
        if (i + 1 == ev->nqueued || ev->queue[i + 1].c != c)
            conn_flush(c); /* a run of one connection's events: one write */
    }
    ev->nqueued = 0;
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
    for (size_t i = 0; i < ev->nqueued; i++)
        if (ev->queue[i].c != c)
            ev->queue[kept++] = ev->queue[i];
    ev->nqueued = kept;
}
