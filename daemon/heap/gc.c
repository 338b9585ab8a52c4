/* The incremental collector: see gc.h for the phases and invariants. */
#include "gc.h"
#include "cont.h"
#include "gc_list.h"
#include "heap_priv.h"
#include "util.h"
#include "effects.h" /* the effect log's hook */

#include <stdlib.h>
#include <string.h>

/* Work units between clock reads: small enough that a slice overshoots
 * its budget by only a few microseconds. */
#define GC_CLOCK_EVERY 256

const char *gc_phase_name(gc_phase p)
{
    return p == GC_MARK ? "mark" : p == GC_SWEEP ? "sweep" : "idle";
}

void gc_use_config(heap *h, gc_config *cfg)
{
    h->gc.cfg = cfg;
}
const gc_config *gc_get_config(const heap *h)
{
    return h->gc.cfg;
}

void gc_set_cycle_hook(heap *h, gc_cycle_hook fn, void *ctx)
{
    h->gc.hook = fn;
    h->gc.hook_ctx = ctx;
}

void gc_enable(heap *h)
{
    h->gc.cfg->enabled = true;
}
void gc_disable(heap *h)
{
    h->gc.cfg->enabled = false;
}
bool gc_isenabled(const heap *h)
{
    return h->gc.cfg->enabled;
}
void gc_set_threshold(heap *h, const uint64_t *t, int n)
{
    for (int i = 0; i < n && i < GC_GENERATIONS; i++)
        h->gc.cfg->threshold[i] = t[i];
}
gc_phase gc_get_phase(const heap *h)
{
    return h->gc.phase;
}

bool gc_running(const heap *h)
{
    return h->gc.phase != GC_IDLE || h->gc.young.gen >= 0;
}

/* The non-generational collector's count: objects allocated minus freed
 * since the last cycle. */
static int64_t alloc_count(const heap *h)
{
    const heap_stats *st = &h->hot.st;
    return (int64_t)(st->allocated - h->gc.alloc_mark) - (int64_t)(st->freed - h->gc.free_mark);
}

int64_t gc_count(const heap *h)
{
    return h->gc.cfg->generational ? (int64_t)h->gc.gen[0].count : alloc_count(h);
}

void gc_get_counts(const heap *h, uint64_t out[GC_GENERATIONS])
{
    for (int i = 0; i < GC_GENERATIONS; i++)
        out[i] = h->gc.gen[i].count;
    int64_t c0 = gc_count(h);
    out[0] = c0 > 0 ? (uint64_t)c0 : 0;
}

void gc_set_debug(heap *h, unsigned flags)
{
    h->gc.debug = flags;
}
unsigned gc_get_debug(const heap *h)
{
    return h->gc.debug;
}

hobj *gc_garbage(heap *h)
{
    if (!h->gc.garbage)
        h->gc.garbage = heap_list(h, 0); /* the heap's reference; a root */
    return h->gc.garbage;
}

void gc_drop_garbage(heap *h)
{
    hobj *l = h->gc.garbage;
    h->gc.garbage = NULL;
    if (l)
        heap_decref(h, l);
}

void gc_hook(heap *h, bool start, const gc_cycle_info *info)
{
    if (h->gc.hook)
        h->gc.hook(h->gc.hook_ctx, start, info);
}

void gc_release(heap *h)
{
    big_free(h->gc.gray, h->gc.gray_cap * sizeof *h->gc.gray);
    h->gc.gray = NULL;
    h->gc.gray_len = h->gc.gray_cap = 0;
    gc_young_release(h);
}

/* --- marking ------------------------------------------------------------ */

void gc_shade(heap *h, hobj *o)
{
    struct gc_state *g = &h->gc;
    if (g->gray_len == g->gray_cap) {
        size_t cap = g->gray_cap ? g->gray_cap * 2 : 4096;
        g->gray = big_grow(g->gray, g->gray_cap * sizeof *g->gray, cap * sizeof *g->gray);
        g->gray_cap = cap;
    }
    o->colour = HC_GRAY;
    g->gray[g->gray_len++] = o;
}

static void shade_if_white(hobj *o, void *arg)
{
    heap *h = arg;
    if (htype_is_container(o->type) && o->colour == h->hot.gc_white)
        gc_shade(h, o);
}

/* The allocations after which the next cycle starts (gc_due's rule). */
static double trigger_allocs(const heap *h)
{
    double by_heap = h->gc.cfg->heap_fraction * (double)heap_live_total(h);
    double t = (double)h->gc.cfg->threshold[0];
    return by_heap > t ? by_heap : t;
}

/* Pacing, after Lua's stepmul: a cycle's work is the references it traces
 * plus the container slots it sweeps. It is estimated from the last cycle
 * (scaled by how the container slabs grew since), and spread over 80% of
 * the allocations that would trigger the next cycle: so the collector's
 * work per allocation stays constant as the heap grows, and a cycle ends
 * before the next is due however fast clients allocate (objects made
 * during a cycle add one unit of sweep each, and the debt keeps growing
 * with allocation until the work is done). */
#define GC_PACE_MARGIN 1.25

static double container_slots(const heap *h)
{
    double n = 0;
    for (int t = T_TUPLE; t < T__COUNT; t++)
        n += (double)h->slabs[t].nslots;
    return n;
}

static void set_pace(heap *h)
{
    struct gc_state *g = &h->gc;
    double slots = container_slots(h);
    double work = g->last_work && g->last_slots
                      ? (double)g->last_work * (slots + 1) / (double)g->last_slots
                      : 3 * slots;
    g->stepmul = GC_PACE_MARGIN * (work + 1000) / trigger_allocs(h);
    if (g->stepmul < 2)
        g->stepmul = 2;
    g->debt = 0;
    g->alloc_seen = h->hot.st.allocated;
}

static void start_cycle(heap *h)
{
    struct gc_state *g = &h->gc;
    set_pace(h);
    g->phase = GC_MARK;
    g->cycle_start_ns = now_ns();
    memset(&g->cur, 0, sizeof g->cur);
    g->cur.generation = 2;
    g->cur_work = 0;
    for (int i = 0; i < GC_GENERATIONS; i++)
        g->gen[i].count = 0; /* as CPython, when a collection of 2 starts */
    h->hot.gc_marking = true;
    h->hot.alloc_colour = HC_BLACK; /* born during MARK: survives the cycle */
    h->hot.gc_partial = NULL;
    g->roots_done = false;
    g->perm_done = false;
    g->perm_cursor = g->permanent.gc_next;
    heap_roots_scan_begin(h); /* the roots are scanned in slices too */
    if (g->garbage)
        shade_if_white(g->garbage, h); /* gc.garbage is a root of the heap's */
    gc_hook(h, true, &g->cur);
}

/* Shades what the next roots reference: at most about max units. */
static uint64_t scan_roots(heap *h, uint64_t max)
{
    uint64_t work = 0;
    h->gc.roots_done = heap_roots_scan_step(h, shade_if_white, h, max, &work);
    return work + 1;
}

/* The permanent generation is roots too: shades up to max of its
 * containers (gc_untrack moves the cursor past one that leaves). */
static uint64_t scan_permanent(heap *h, uint64_t max)
{
    struct gc_state *g = &h->gc;
    uint64_t work = 0;
    for (; g->perm_cursor != &g->permanent && work < max; work++) {
        shade_if_white(&g->perm_cursor->h, h);
        g->perm_cursor = g->perm_cursor->gc_next;
    }
    g->perm_done = g->perm_cursor == &g->permanent;
    return work + 1;
}

/* The children of a container in [pos, pos + max): visits them and returns
 * how many positions it consumed; *done when the container is finished. */
static uint32_t scan_some(heap *h, hobj *o, uint32_t pos, uint32_t max, bool *done)
{
    uint32_t i = pos, end;
    if (htype_is_record(o->type)) { /* two references at most: one piece */
        heap_traverse(o, shade_if_white, h);
        *done = true;
        return 2;
    }
    if (o->type == T_DICT || o->type == T_SET) {
        hdict *d = AS_DICT(o);
        end = d->tb ? d->fill : 0;
        for (; i < end && i - pos < max; i++) {
            hentry *e = htab_entry(d, i);
            if (!e->key)
                continue;
            shade_if_white(e->key, h);
            if (e->val)
                shade_if_white(e->val, h);
        }
    } else {
        hlist *l = AS_LIST(o);
        end = l->len;
        for (; i < end && i - pos < max; i++)
            shade_if_white(l->items[i], h);
    }
    *done = i >= end;
    return i - pos;
}

/* Scans for at most `max` references: the partially scanned container
 * first, else the top of the gray stack. It is popped before its scan,
 * since the scan pushes its children; an unfinished one is remembered in
 * gc_partial (which the barriers treat as black). Returns the work done. */
static uint64_t propagate(heap *h, uint64_t max)
{
    struct gc_state *g = &h->gc;
    struct heap_hot *hot = &h->hot;
    hobj *o = hot->gc_partial;
    uint32_t pos = hot->gc_partial_pos;
    if (!o) {
        o = g->gray[--g->gray_len];
        if (o->dead || o->colour != HC_GRAY)
            return 1; /* freed by refcount since it was queued */
        pos = 0;
    }
    bool done;
    uint32_t n = scan_some(h, o, pos, max > UINT32_MAX ? UINT32_MAX : (uint32_t)max, &done);
    g->cur.traced += n;
    if (done) {
        o->colour = HC_BLACK;
        hot->gc_partial = NULL;
    } else {
        hot->gc_partial = o;
        hot->gc_partial_pos = pos + n;
    }
    return n + 1;
}

static bool mark_done(const heap *h)
{
    return h->gc.roots_done && h->gc.perm_done && h->gc.gray_len == 0 && !h->hot.gc_partial;
}

/* MARK -> SWEEP: every container still white is garbage. */
static void flip(heap *h)
{
    struct gc_state *g = &h->gc;
    struct heap_hot *hot = &h->hot;
    hot->gc_marking = false;
    g->garbage_colour = hot->gc_white;
    /* Under saveall the garbage goes to gc.garbage, where clients may see
     * it: it stays reachable by id, for the whole sweep. */
    g->saving = (g->debug & GC_DEBUG_SAVEALL) != 0;
    hot->doomed_colour = g->saving ? 0xFF : hot->gc_white;
    hot->gc_white ^= 1;
    weak_clear_colour(h, g->garbage_colour);
    hot->alloc_colour = hot->gc_white;
    g->phase = GC_SWEEP;
    g->sweep_step = 0;
    g->sweep_slot = 0;
}

/* --- sweeping ----------------------------------------------------------- */

/* Keeps garbage in gc.garbage (saveall): alive, old, and resolvable. */
static void save_garbage(heap *h, hobj *o)
{
    hobj *l = gc_garbage(h);
    cont_list_reserve(h, l, 1);
    cont_list_append(h, l, heap_incref(h, o));
    if (gc_generation_of(o) == GC_UNTRACKED) {
        gcl_append(&h->gc.gen[2].head, AS_CONT(o), 2);
        h->gc.gen[2].objects++;
    }
    if (h->gc.phase == GC_SWEEP && o->colour == h->gc.garbage_colour)
        o->colour = h->hot.gc_white; /* the sweep has it now */
}

void gc_finalize_garbage(heap *h, hobj *o)
{
    if (o->type == T_INSTANCE && heap_finalizable(o))
        heap_finalize(h, o, true);
}

/* Clears a garbage container (o untracked): its references go to the
 * deferred queue flagged "gc", and refcounting frees what they held. */
/* Whether garbage found now goes to gc.garbage. During a sweep, only if
 * saveall was on at its flip: otherwise garbage the sweep has not reached
 * yet no longer resolves, and what saved garbage points to must. */
static bool saving_now(const heap *h)
{
    if (h->gc.phase == GC_SWEEP)
        return h->gc.saving;
    return (h->gc.debug & GC_DEBUG_SAVEALL) != 0;
}

void gc_dispose_garbage(heap *h, hobj *o, uint64_t *collected)
{
    (*collected)++;
    if (saving_now(h)) {
        save_garbage(h, o);
        return;
    }
    HEFFECT(h, HEFF_CLEAR, .o = o); /* before it changes: doomed is part of it */
    heap_mark_doomed(h, o);
    enum free_cause saved = h->cause;
    h->cause = FREE_GC;
    heap_queue_contents(h, o);
    h->cause = saved;
}

void gc_note_collected(heap *h)
{
    if (h->gc.phase != GC_IDLE)
        h->gc.cur.collected++;
    else
        h->gc.collected++; /* the tail of a cycle that has ended */
}

/* The order the sweep takes the container slabs in: instances (and the
 * other records) first, so every finalizer runs while its instance's
 * attribute dict, and what it holds, are still whole (CPython runs all
 * finalizers before it clears anything). */
static const htype sweep_order[] = {T_TYPE, T_INSTANCE, T_WEAKREF, T_TUPLE, T_LIST, T_DICT, T_SET};
_Static_assert(ARRAY_LEN(sweep_order) == T__COUNT - T_TUPLE, "every container slab, once");

/* Sweeps up to max slots; returns the work done. */
static uint64_t sweep(heap *h, uint64_t max)
{
    struct gc_state *g = &h->gc;
    struct heap_hot *hot = &h->hot;
    uint64_t work = 0;
    while (work < max && g->sweep_step < ARRAY_LEN(sweep_order)) {
        const slab *s = &h->slabs[sweep_order[g->sweep_step]];
        work++; /* a slot, or the step to the next slab: never 0 */
        if (g->sweep_slot >= s->nslots) {
            g->sweep_step++;
            g->sweep_slot = 0;
            continue;
        }
        hobj *o = slab_at(s, g->sweep_slot++);
        if (o->dead || o->doomed)
            continue;
        if (o->colour == g->garbage_colour) {
            gc_untrack(h, o);
            weak_clear(
                h, o); /* (cleared at the flip already, unless it was not then weakly referenced) */
            gc_finalize_garbage(h, o);
            gc_dispose_garbage(h, o, &g->cur.collected);
        } else if (o->colour == HC_BLACK) {
            o->colour = hot->gc_white;
            gc_promote_old(h, o);
        }
    }
    return work;
}

static void finish_cycle(heap *h)
{
    struct gc_state *g = &h->gc;
    h->hot.doomed_colour = 0xFF;
    g->garbage_colour = 0xFF;
    g->saving = false;
    g->phase = GC_IDLE;
    g->cur.duration_us = (now_ns() - g->cycle_start_ns) / 1000;
    g->cycles++;
    g->collected += g->cur.collected;
    g->gen[2].collections++;
    g->gen[2].collected += g->cur.collected;
    g->long_lived_total = g->gen[2].objects;
    g->long_lived_pending = 0;
    g->last = g->cur;
    g->last_work = g->cur_work;
    g->last_slots = (uint64_t)container_slots(h);
    g->alloc_mark = h->hot.st.allocated;
    g->free_mark = h->hot.st.freed;
    g->last_end_ms = now_ns() / 1000000;
    gc_hook(h, false, &g->last);
}

/* --- slices ------------------------------------------------------------- */

/* One unit of progress, at most `max` work; returns the work done, which is
 * never 0 except when the cycle just ended. */
static uint64_t advance(heap *h, uint64_t max)
{
    struct gc_state *g = &h->gc;
    switch (g->phase) {
    case GC_IDLE:
        start_cycle(h);
        return 1;
    case GC_MARK:
        if (mark_done(h)) {
            flip(h);
            return 1;
        }
        if (h->gc.gray_len || h->hot.gc_partial)
            return propagate(h, max);
        return h->gc.roots_done ? scan_permanent(h, max) : scan_roots(h, max);
    case GC_SWEEP:
        if (g->sweep_step >= ARRAY_LEN(sweep_order)) {
            finish_cycle(h);
            return 0;
        }
        return sweep(h, max);
    }
    return 0;
}

static void record_pause(heap *h, uint64_t ns)
{
    struct gc_state *g = &h->gc;
    uint64_t us = ns / 1000;
    g->slices++;
    g->last_pause_ns = ns;
    g->total_pause_ns += ns;
    if (ns > g->max_pause_ns)
        g->max_pause_ns = ns;
    g->ring[g->ring_pos] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    g->ring_pos = (g->ring_pos + 1) % GC_PAUSE_RING;
    if (g->ring_len < GC_PAUSE_RING)
        g->ring_len++;
    gc_pause_hist_add(&g->pause_hist, ns);
}

/* A slice of the full collection: runs until the budget (time or work) is
 * spent or the collection ends. */
static void run_slice(heap *h, uint64_t budget_ns, uint64_t max_work)
{
    struct gc_state *g = &h->gc;
    uint64_t start = now_ns(), work = 0;
    bool cycle_over = false;
    while (work < max_work && !cycle_over) {
        uint64_t chunk = max_work - work < GC_CLOCK_EVERY ? max_work - work : GC_CLOCK_EVERY;
        uint64_t did = advance(h, chunk);
        g->cur_work += did; /* (reset when a cycle starts) */
        cycle_over = did == 0;
        work += did;
        if (budget_ns != GC_UNLIMITED && now_ns() - start >= budget_ns)
            break;
    }
    uint64_t ns = now_ns() - start;
    g->last_slice_work = work;
    if (!cycle_over) { /* (finish_cycle has copied cur already) */
        g->cur.slices++;
        g->cur.pause_us += ns / 1000;
    }
    if (budget_ns == GC_UNLIMITED && max_work == GC_UNLIMITED)
        return; /* gc_collect's: a request's work, not a slice's pause */
    g->gen[2].total_pause_ns += ns;
    if (ns > g->gen[2].max_pause_ns)
        g->gen[2].max_pause_ns = ns;
    record_pause(h, ns);
}

/* A young collection's slice, if one is under way or due (or, with
 * force, a collection of generation 0 by the interval rule): returns the
 * time it took, or 0 when none ran. */
static uint64_t young_part(heap *h, uint64_t budget_ns, bool force)
{
    uint64_t start = now_ns();
    if (!gc_young_slice(h, budget_ns, force))
        return 0;
    uint64_t ns = now_ns() - start;
    record_pause(h, ns);
    return ns ? ns : 1;
}

/* The full collection should start now. Generational: CPython's rule,
 * tried when generation 0 is due (generation 2's count over its
 * threshold, and enough promoted since the last one to be worth a whole
 * trace); else today's rule (allocations over the larger of threshold and
 * heap_fraction of the live objects). */
static bool full_due(const heap *h)
{
    const struct gc_state *g = &h->gc;
    const gc_config *c = g->cfg;
    if (g->phase != GC_IDLE)
        return false;
    if (!c->generational) {
        int64_t count = alloc_count(h);
        double by_heap = c->heap_fraction * (double)heap_live_total(h);
        return count > 0 && (double)count > by_heap && (uint64_t)count > c->threshold[0];
    }
    return c->threshold[0] && g->gen[0].count > c->threshold[0] &&
           g->gen[2].count > c->threshold[2] &&
           (double)g->long_lived_pending >= c->heap_fraction * (double)g->long_lived_total;
}

gc_phase gc_step(heap *h, uint64_t budget_us)
{
    uint64_t start = now_ns(), budget_ns = budget_us * 1000;
    uint64_t spent = h->gc.young.gen >= 0 ? young_part(h, budget_ns, false) : 0;
    if (spent < budget_ns && h->gc.young.gen < 0)
        run_slice(h, budget_ns - spent, GC_UNLIMITED);
    spent = now_ns() - start;
    if (spent < budget_ns)
        heap_drain(h, budget_ns - spent); /* idle time frees queued garbage */
    return h->gc.phase;
}

gc_phase gc_step_work(heap *h, uint64_t max_work)
{
    run_slice(h, GC_UNLIMITED, max_work);
    return h->gc.phase;
}

/* The least work a paced slice does, so slices are not wasted on a few units. */
#define GC_MIN_PACED_WORK 4096

/* A full slice that does the work allocation has made owing. */
static void paced_full(heap *h, uint64_t budget_ns)
{
    struct gc_state *g = &h->gc;
    if (g->phase == GC_IDLE)
        set_pace(h);
    g->debt += (double)(h->hot.st.allocated - g->alloc_seen) * g->stepmul;
    g->alloc_seen = h->hot.st.allocated;
    uint64_t owed = g->debt < GC_MIN_PACED_WORK ? GC_MIN_PACED_WORK : (uint64_t)g->debt;
    run_slice(h, budget_ns, owed);
    g->debt -= (double)g->last_slice_work;
    if (g->debt < 0 || g->phase == GC_IDLE)
        g->debt = 0;
}

/* An automatic slice (gc_due holds): the young collection under way or
 * due first, unless a full one is due to start (the oldest due generation
 * goes first, as in CPython); then the full collection, if one runs or is
 * due. When only the interval rule woke the collector, it collects
 * generation 0 (or, not generational, starts a full collection). */
static gc_phase auto_slice(heap *h, uint64_t budget_ns, bool paced)
{
    struct gc_state *g = &h->gc;
    bool start_full = full_due(h);
    bool by_interval = !start_full && !gc_running(h) && gc_young_due(h) < 0;
    uint64_t spent = 0;
    if (!start_full && g->cfg->generational)
        spent = young_part(h, budget_ns, by_interval);
    bool full = g->phase != GC_IDLE || start_full || (by_interval && !g->cfg->generational);
    if (!full || spent >= budget_ns || g->young.gen >= 0)
        return g->phase;
    if (paced)
        paced_full(h, budget_ns - spent);
    else
        run_slice(h, budget_ns - spent, GC_UNLIMITED);
    return g->phase;
}

gc_phase gc_step_paced(heap *h, uint64_t budget_us)
{
    return auto_slice(h, budget_us * 1000, true);
}

gc_phase gc_step_auto(heap *h, uint64_t budget_us)
{
    uint64_t start = now_ns(), budget_ns = budget_us * 1000;
    auto_slice(h, budget_ns, false);
    uint64_t spent = now_ns() - start;
    if (spent < budget_ns)
        heap_drain(h, budget_ns - spent); /* idle time frees queued garbage */
    return h->gc.phase;
}

uint64_t gc_collect(heap *h)
{
    return gc_collect_generation(h, 2);
}

static uint64_t full_collect(heap *h)
{
    uint64_t before = h->gc.collected + (h->gc.phase != GC_IDLE ? h->gc.cur.collected : 0);
    if (h->gc.phase != GC_IDLE)
        run_slice(h, GC_UNLIMITED, GC_UNLIMITED); /* finish the running cycle */
    run_slice(h, GC_UNLIMITED, GC_UNLIMITED);     /* and a full one */
    heap_drain_all(h);
    /* The garbage is gone only now: count from here, as CPython does. */
    h->gc.alloc_mark = h->hot.st.allocated;
    h->gc.free_mark = h->hot.st.freed;
    return h->gc.collected - before;
}

uint64_t gc_collect_generation(heap *h, int generation)
{
    assert(generation >= 0 && generation < GC_GENERATIONS);
    return generation == 2 ? full_collect(h) : gc_young_collect(h, generation);
}

bool gc_due(const heap *h, uint64_t now_ms)
{
    const struct gc_state *g = &h->gc;
    if (!g->cfg->enabled)
        return false;
    if (gc_running(h) || full_due(h) || gc_young_due(h) >= 0)
        return true;
    bool allocated = h->hot.st.allocated != g->alloc_mark;
    /* now_ms may predate the end of a cycle run since it was read */
    return allocated && now_ms >= g->last_end_ms && now_ms - g->last_end_ms >= g->cfg->interval_ms;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static uint64_t p99(const struct gc_state *g)
{
    if (!g->ring_len)
        return 0;
    uint32_t sorted[GC_PAUSE_RING];
    memcpy(sorted, g->ring, g->ring_len * sizeof *sorted);
    qsort(sorted, g->ring_len, sizeof *sorted, cmp_u32);
    return sorted[(g->ring_len * 99 + 99) / 100 - 1];
}

static void gen_stats(const struct gc_state *g, int i, gc_gen_stats *out)
{
    const struct gc_gen *gg = &g->gen[i];
    *out = (gc_gen_stats){
        .threshold = g->cfg->threshold[i],
        .count = gg->count,
        .objects = gg->objects,
        .collections = gg->collections,
        .collected = gg->collected,
        .max_pause_us = gg->max_pause_ns / 1000,
        .total_pause_us = gg->total_pause_ns / 1000,
    };
}

void gc_get_stats(const heap *h, gc_stats *out)
{
    const struct gc_state *g = &h->gc;
    *out = (gc_stats){
        .enabled = g->cfg->enabled,
        .generational = g->cfg->generational,
        .phase = g->phase,
        .young_running = g->young.gen,
        .threshold = g->cfg->threshold[0],
        .count = gc_count(h),
        .cycles = g->cycles,
        .collected = g->collected,
        .slices = g->slices,
        .last_pause_us = g->last_pause_ns / 1000,
        .max_pause_us = g->max_pause_ns / 1000,
        .total_pause_us = g->total_pause_ns / 1000,
        .p99_pause_us = p99(g),
        .last_cycle_us = g->last.duration_us,
        .last_cycle_pause_us = g->last.pause_us,
        .last_traced = g->last.traced,
        .frozen = g->frozen,
        .garbage = g->garbage ? AS_LIST(g->garbage)->len : 0,
    };
    for (int i = 0; i < GC_GENERATIONS; i++)
        gen_stats(g, i, &out->gen[i]);
}
