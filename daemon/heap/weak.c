/* Weak references (heap.h): a weakref does not count as a reference; the
 * objects weakrefs point to are found by address in a table, and have
 * `weakly` set, so that an object's death costs one bit test unless it is
 * weakly referenced.
 *
 * Invariants (heap_check verifies them):
 *  - o->weakly iff the table has o, with a non-empty doubly linked list of
 *    exactly the weakrefs whose referent is o;
 *  - a weakref's referent is a live container, or NULL (cleared);
 *  - a cleared weakref that belongs to a weak-valued dict entry has its id
 *    in weak.dead until heap_weak_purge removes the entry. */
#include "cont.h"
#include "effects.h"
#include "heap_priv.h"
#include "util.h"

#include <stdlib.h>

#define WEAK_TOMB ((hobj *)1)

static size_t slot_of(const struct weak_state *w, const hobj *o)
{
    uint64_t x = (uint64_t)(uintptr_t)o >> 3;
    x *= 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 20) & (w->cap - 1);
}

static struct weak_slot *find(struct weak_state *w, const hobj *o)
{
    if (!w->cap)
        return NULL;
    for (size_t i = slot_of(w, o);; i = (i + 1) & (w->cap - 1)) {
        if (w->slots[i].obj == o)
            return &w->slots[i];
        if (!w->slots[i].obj)
            return NULL;
    }
}

static void put(struct weak_state *w, hobj *o, hweakref *head);

static void grow(struct weak_state *w)
{
    struct weak_slot *old = w->slots;
    size_t old_cap = w->cap;
    w->cap = old_cap ? old_cap * 2 : 64;
    if (w->used * 4 < old_cap) /* mostly tombstones: same size, rebuilt */
        w->cap = old_cap;
    w->slots = xcalloc(w->cap, sizeof *w->slots);
    w->used = w->tombs = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].obj && old[i].obj != WEAK_TOMB)
            put(w, old[i].obj, old[i].head);
    free(old);
}

static void put(struct weak_state *w, hobj *o, hweakref *head)
{
    if ((w->used + w->tombs + 1) * 2 > w->cap)
        grow(w);
    size_t i = slot_of(w, o);
    while (w->slots[i].obj && w->slots[i].obj != WEAK_TOMB)
        i = (i + 1) & (w->cap - 1);
    if (w->slots[i].obj == WEAK_TOMB)
        w->tombs--;
    w->slots[i] = (struct weak_slot){o, head};
    w->used++;
}

static void drop(struct weak_state *w, struct weak_slot *s)
{
    s->obj = WEAK_TOMB;
    s->head = NULL;
    w->used--;
    w->tombs++;
}

/* Puts weakref wr at the head of o's list. */
static void link_referent(heap *h, hweakref *wr, hobj *o)
{
    wr->referent = o;
    struct weak_slot *s = o->weakly ? find(&h->weak, o) : NULL;
    if (s) {
        wr->wnext = s->head;
        s->head->wprev = wr;
        s->head = wr;
    } else {
        put(&h->weak, o, wr);
        o->weakly = 1;
    }
}

static hobj *new_weakref(heap *h, hobj *o, uint32_t session)
{
    assert(htype_is_weakrefable(o->type) && !o->dead);
    hobj *wo = heap_new_weakref_(h);
    link_referent(h, AS_WEAK(wo), o);
    AS_WEAK(wo)->session = session;
    return wo;
}

hobj *heap_weakref(heap *h, hobj *o, uint32_t session)
{
    hobj *wo = new_weakref(h, o, session);
    HEFFECT(h, HEFF_NEW, .o = wo);
    return wo;
}

void heap_restore_weakref(heap *h, hobj *wo, hobj *key, hobj *referent, hid owner)
{
    hweakref *w = AS_WEAK(wo);
    assert(!w->key && !w->referent);
    if (key) {
        w->key = heap_incref(h, key);
        heap_store_barrier(h, wo, key);
    }
    if (referent)
        link_referent(h, w, referent);
    w->owner = owner;
}

hobj *heap_weak_entry(heap *h, hobj *o, hobj *d, hobj *key)
{
    hobj *w = new_weakref(h, o, 0);
    AS_WEAK(w)->key = heap_incref(h, key);
    AS_WEAK(w)->owner = hobj_id(d);
    heap_store_barrier(h, w, key);
    HEFFECT(h, HEFF_NEW, .o = w); /* key and owner are part of its value */
    return w;
}

void heap_dict_make_weak(heap *h, hobj *d)
{
    assert(d->type == T_DICT && !d->flag);
    HEFFECT(h, HEFF_FLAG, .o = d, .i = 1);
    d->flag = 1;
}

hobj *heap_weakref_get(heap *h, hobj *w)
{
    hobj *o = AS_WEAK(w)->referent;
    if (!o || o->doomed || o->colour == h->hot.doomed_colour)
        return NULL;
    return o;
}

uint32_t heap_weakref_count(heap *h, const hobj *o)
{
    struct weak_slot *s = o->weakly ? find(&h->weak, o) : NULL;
    uint32_t n = 0;
    for (hweakref *w = s ? s->head : NULL; w; w = w->wnext)
        n++;
    return n;
}

static void note_dead_entry(heap *h, hweakref *w)
{
    struct weak_state *ws = &h->weak;
    if (ws->dead_len == ws->dead_cap)
        ws->dead = xrealloc(ws->dead, (ws->dead_cap = ws->dead_cap * 2 + 16) * sizeof *ws->dead);
    ws->dead[ws->dead_len++] = hobj_id(&w->c.h);
}

void weak_clear_freed(heap *h, hobj *o)
{
    if (!o->weakly)
        return;
    struct weak_slot *s = find(&h->weak, o);
    assert(s);
    hweakref *w = s->head;
    drop(&h->weak, s);
    o->weakly = 0;
    while (w) {
        hweakref *next = w->wnext;
        heap_snap_touch(h, &w->c.h);
        w->referent = NULL;
        w->wprev = w->wnext = NULL;
        if (w->owner)
            note_dead_entry(h, w);
        if (w->session && h->weak_hook)
            h->weak_hook(h->weak_hook_ctx, &w->c.h);
        w = next;
    }
}

void weak_clear(heap *h, hobj *o)
{
    if (!o->weakly)
        return;
    /* The collector clears these while o lives on (as garbage): a replay
     * must do it here, not when o is freed. */
    HEFFECT(h, HEFF_WEAK_CLEAR, .o = o);
    weak_clear_freed(h, o);
}

void weak_clear_colour(heap *h, unsigned colour)
{
    struct weak_state *ws = &h->weak;
    for (size_t i = 0; i < ws->cap; i++) { /* clearing only leaves tombstones */
        hobj *o = ws->slots[i].obj;
        if (o && o != WEAK_TOMB && hobj_is_container(o) && o->colour == colour && !o->doomed)
            weak_clear(h, o);
    }
}

void weak_unlink(heap *h, hobj *wo)
{
    hweakref *w = AS_WEAK(wo);
    hobj *o = w->referent;
    if (!o)
        return;
    if (w->wprev) {
        w->wprev->wnext = w->wnext;
    } else {
        struct weak_slot *s = find(&h->weak, o);
        assert(s && s->head == w);
        s->head = w->wnext;
        if (!s->head) {
            drop(&h->weak, s);
            o->weakly = 0;
        }
    }
    if (w->wnext)
        w->wnext->wprev = w->wprev;
    heap_snap_touch(h, wo);
    w->referent = NULL;
    w->wprev = w->wnext = NULL;
}

/* The entry of weak-valued dict d under w's key, if w is still its value. */
static void purge_one(heap *h, hobj *wo)
{
    hweakref *w = AS_WEAK(wo);
    hobj *d = heap_lookup(h, w->owner);
    uint64_t hash;
    if (!d || d->type != T_DICT || !d->flag || !w->key || cont_hash(w->key, &hash, NULL))
        return;
    if (cont_dict_get(d, w->key, hash) == wo)
        cont_dict_pop(h, d, w->key, hash, NULL, NULL); /* drops the key and w */
}

void heap_weak_purge(heap *h)
{
    struct weak_state *ws = &h->weak;
    while (ws->dead_len) {
        hobj *w = heap_lookup(h, ws->dead[--ws->dead_len]);
        if (w && w->type == T_WEAKREF && !AS_WEAK(w)->referent)
            purge_one(h, w);
    }
}

void weak_release(heap *h)
{
    free(h->weak.slots);
    free(h->weak.dead);
    h->weak = (struct weak_state){0};
}

void heap_visit_weakly(heap *h, void (*fn)(hobj *o, hweakref *head, void *arg), void *arg)
{
    for (size_t i = 0; i < h->weak.cap; i++) {
        struct weak_slot *s = &h->weak.slots[i];
        if (s->obj && s->obj != WEAK_TOMB)
            fn(s->obj, s->head, arg);
    }
}
