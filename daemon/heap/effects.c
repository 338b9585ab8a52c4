/* The effect hook and the replay's helpers (effects.h). */
#include "effects.h"
#include "heap_priv.h"

void heap_set_effect_hook(heap *h, heffect_fn fn, void *ctx)
{
    h->effect = fn;
    h->effect_ctx = ctx;
}

bool heap_effects_on(const heap *h)
{
    return h->effect != NULL || h->snap_on;
}

void heap_set_snap_observer(heap *h, const hsnap_observer *obs)
{
    h->snap_on = obs != NULL;
    h->snap = obs ? *obs : (hsnap_observer){0};
}

void heap_snap_touch(heap *h, hobj *o)
{
    if (h->snap_on)
        h->snap.touch(h->snap.ctx, o);
}

/* Effects are reported before they happen, so the observer sees what it
 * has to copy; a NEW is a birth, which new_obj reports. */
static void snap_observe(heap *h, const heffect *e)
{
    if (e->kind == HEFF_BIND || e->kind == HEFF_UNBIND)
        h->snap.touch_name(h->snap.ctx, e->name, e->len);
    else if (e->kind != HEFF_NEW && e->o)
        h->snap.touch(h->snap.ctx, e->o);
}

void heap_effect(heap *h, const heffect *e)
{
    if (h->snap_on)
        snap_observe(h, e);
    if (h->effect)
        h->effect(h->effect_ctx, e);
}

void heap_set_defer_frees(heap *h, bool on)
{
    h->defer_frees = on;
}

void heap_free_zombie(heap *h, hobj *o)
{
    assert(!o->dead && o->refcnt == 0);
    if (o->immortal) {
        if (h->cfg.intern != INTERN_ALL) /* heap_dispose removes it under "all" */
            itab_remove(&h->interned, o);
        o->immortal = 0;
    }
    bool was = h->defer_frees;
    h->defer_frees = false;
    heap_dispose(h, o);
    h->defer_frees = was;
    heap_drain_all(h); /* what it held reaches count 0: zombies in turn */
}

void heap_effect_clear(heap *h, hobj *o)
{
    assert(htype_is_container(o->type));
    if (htype_is_record(o->type)) { /* garbage, as gc_dispose_garbage left it */
        gc_untrack(h, o);
        heap_mark_doomed(h, o);
    }
    heap_queue_contents(h, o);
    heap_drain_all(h);
}

void heap_effect_weak_clear(heap *h, hobj *o)
{
    assert(o->weakly);
    weak_clear_freed(h, o); /* no effect reported: a replay's hook is off */
}

uint64_t heap_doomed_alive(const heap *h)
{
    return h->doomed_alive;
}

hobj *heap_lookup_zombie(heap *h, hid id)
{
    htype t = hid_type(id);
    if (t >= T__COUNT || (id >> 36 & 0xF) != 0)
        return NULL;
    hobj *o = slab_at(&h->slabs[t], hid_slot(id));
    return o && !o->dead && o->gen == hid_gen(id) ? o : NULL;
}

uint64_t heap_sweep_zombies(heap *h)
{
    h->defer_frees = false;
    uint64_t n = 0;
    /* Slot order, type by type: any replica sweeping the same heap frees
     * the same objects. Disposing frees only the slot at hand (what it
     * held goes to the deferred queue), so the walk stays valid. */
    for (int t = 0; t < T__COUNT; t++) {
        const slab *s = &h->slabs[t];
        for (uint32_t i = 0; i < s->nslots; i++) {
            hobj *o = slab_at(s, i);
            if (!o->dead && o->refcnt == 0 && !o->immortal) {
                heap_dispose(h, o);
                n++;
            }
        }
    }
    heap_drain_all(h);
    heap_finish_sweep(h);
    return n;
}

void heap_finish_sweep(heap *h)
{
    /* A crash (or a save) in the middle of the collector's sweep can leave
     * garbage it had emptied (doomed) held by garbage it had not reached
     * yet: finish that collection now, as the sweep would have. The heap
     * is the same in every replica here, and so is what this frees. */
    if (h->doomed_alive && !h->defer_frees) {
        gc_collect(h);
        heap_drain_all(h);
    }
}

/* A writer's slab grows one slot at a time, each new slot's object
 * logged (NEW): a replay never needs to skip ahead, and a hostile log
 * cannot make it allocate slots it does not fill. */
#define REPLAY_MAX_GROWTH 0

bool heap_replay_place(heap *h, hid id)
{
    htype t = hid_type(id);
    if (t >= T__COUNT || (id >> 36 & 0xF) != 0)
        return false;
    slab *s = &h->slabs[t];
    uint32_t slot = hid_slot(id);
    if (slot == SLAB_NO_SLOT)
        return false;
    if (slot >= s->nslots && slot - s->nslots > REPLAY_MAX_GROWTH)
        return false;
    if (slot >= s->nslots)
        slab_grow_to(s, slot + 1);
    hobj *o = slab_at(s, slot);
    if (!o->dead || o->gen > hid_gen(id) || hid_gen(id) >= HGEN_MAX)
        return false;
    slab_place(s, slot, hid_gen(id));
    return true;
}
