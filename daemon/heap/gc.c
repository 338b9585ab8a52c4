/* The incremental collector: see gc.h for the phases and invariants. */
#include "gc.h"
#include "heap_priv.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Work units between clock reads: small enough that a slice overshoots
 * its budget by only a few microseconds. */
#define GC_CLOCK_EVERY 256
#define GC_UNLIMITED   UINT64_MAX

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
void gc_set_threshold(heap *h, uint64_t threshold)
{
    h->gc.cfg->threshold = threshold;
}
gc_phase gc_get_phase(const heap *h)
{
    return h->gc.phase;
}

int64_t gc_count(const heap *h)
{
    const heap_stats *st = &h->hot.st;
    return (int64_t)(st->allocated - h->gc.alloc_mark) - (int64_t)(st->freed - h->gc.free_mark);
}

void gc_release(heap *h)
{
    big_free(h->gc.gray, h->gc.gray_cap * sizeof *h->gc.gray);
    h->gc.gray = NULL;
    h->gc.gray_len = h->gc.gray_cap = 0;
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
    double t = (double)h->gc.cfg->threshold;
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
    g->cur_work = 0;
    h->hot.gc_marking = true;
    h->hot.alloc_colour = HC_BLACK; /* born during MARK: survives the cycle */
    h->hot.gc_partial = NULL;
    g->roots_done = false;
    heap_roots_scan_begin(h); /* the roots are scanned in slices too */
}

/* Shades what the next roots reference: at most about max units. */
static uint64_t scan_roots(heap *h, uint64_t max)
{
    uint64_t work = 0;
    h->gc.roots_done = heap_roots_scan_step(h, shade_if_white, h, max, &work);
    return work + 1;
}

/* The children of a container in [pos, pos + max): visits them and returns
 * how many positions it consumed; *done when the container is finished. */
static uint32_t scan_some(heap *h, hobj *o, uint32_t pos, uint32_t max, bool *done)
{
    uint32_t i = pos, end;
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
    return h->gc.roots_done && h->gc.gray_len == 0 && !h->hot.gc_partial;
}

/* MARK -> SWEEP: every container still white is garbage. */
static void flip(heap *h)
{
    struct gc_state *g = &h->gc;
    struct heap_hot *hot = &h->hot;
    hot->gc_marking = false;
    hot->doomed_colour = hot->gc_white;
    hot->gc_white ^= 1;
    hot->alloc_colour = hot->gc_white;
    g->phase = GC_SWEEP;
    g->sweep_type = T_TUPLE;
    g->sweep_slot = 0;
}

/* --- sweeping ----------------------------------------------------------- */

/* Clears a garbage container: its references go to the deferred queue
 * flagged "gc", and refcounting frees what they held. */
static void doom(heap *h, hobj *o)
{
    o->doomed = 1;
    h->gc.cur.collected++;
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

/* Sweeps up to max slots; returns the work done. */
static uint64_t sweep(heap *h, uint64_t max)
{
    struct gc_state *g = &h->gc;
    struct heap_hot *hot = &h->hot;
    uint64_t work = 0;
    while (work < max && g->sweep_type < T__COUNT) {
        const slab *s = &h->slabs[g->sweep_type];
        work++; /* a slot, or the step to the next slab: never 0 */
        if (g->sweep_slot >= s->nslots) {
            g->sweep_type++;
            g->sweep_slot = 0;
            continue;
        }
        hobj *o = slab_at(s, g->sweep_slot++);
        if (o->dead || o->doomed)
            continue;
        if (o->colour == hot->doomed_colour)
            doom(h, o);
        else if (o->colour == HC_BLACK)
            o->colour = hot->gc_white;
    }
    return work;
}

static void finish_cycle(heap *h)
{
    struct gc_state *g = &h->gc;
    h->hot.doomed_colour = 0xFF;
    g->phase = GC_IDLE;
    g->cur.duration_us = (now_ns() - g->cycle_start_ns) / 1000;
    g->cycles++;
    g->collected += g->cur.collected;
    g->last = g->cur;
    g->last_work = g->cur_work;
    g->last_slots = (uint64_t)container_slots(h);
    g->alloc_mark = h->hot.st.allocated;
    g->free_mark = h->hot.st.freed;
    g->last_end_ms = now_ns() / 1000000;
    if (g->hook)
        g->hook(g->hook_ctx, &g->last);
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
        if (h->gc.gray_len == 0 && !h->hot.gc_partial)
            return scan_roots(h, max);
        return propagate(h, max);
    case GC_SWEEP:
        if (g->sweep_type >= T__COUNT) {
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
    g->cur.slices++;
    g->cur.pause_us += us;
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

/* Runs until the budget (time or work) is spent or the cycle ends. */
static gc_phase run_slice(heap *h, uint64_t budget_ns, uint64_t max_work)
{
    uint64_t start = now_ns(), work = 0;
    bool cycle_over = false;
    while (work < max_work && !cycle_over) {
        uint64_t chunk = max_work - work < GC_CLOCK_EVERY ? max_work - work : GC_CLOCK_EVERY;
        uint64_t did = advance(h, chunk);
        h->gc.cur_work += did; /* (reset when a cycle starts) */
        cycle_over = did == 0;
        work += did;
        if (budget_ns != GC_UNLIMITED && now_ns() - start >= budget_ns)
            break;
    }
    h->gc.last_slice_work = work;
    record_pause(h, now_ns() - start);
    return h->gc.phase;
}

gc_phase gc_step(heap *h, uint64_t budget_us)
{
    uint64_t start = now_ns(), budget_ns = budget_us * 1000;
    gc_phase p = run_slice(h, budget_ns, GC_UNLIMITED);
    uint64_t spent = now_ns() - start;
    if (spent < budget_ns)
        heap_drain(h, budget_ns - spent); /* idle time frees queued garbage */
    return p;
}

gc_phase gc_step_work(heap *h, uint64_t max_work)
{
    return run_slice(h, GC_UNLIMITED, max_work);
}

/* The least work a paced slice does, so slices are not wasted on a few units. */
#define GC_MIN_PACED_WORK 4096

gc_phase gc_step_paced(heap *h, uint64_t budget_us)
{
    struct gc_state *g = &h->gc;
    if (g->phase == GC_IDLE)
        set_pace(h);
    g->debt += (double)(h->hot.st.allocated - g->alloc_seen) * g->stepmul;
    g->alloc_seen = h->hot.st.allocated;
    uint64_t owed = g->debt < GC_MIN_PACED_WORK ? GC_MIN_PACED_WORK : (uint64_t)g->debt;
    gc_phase p = run_slice(h, budget_us * 1000, owed);
    g->debt -= (double)g->last_slice_work;
    if (g->debt < 0 || p == GC_IDLE)
        g->debt = 0;
    return p;
}

uint64_t gc_collect(heap *h)
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

bool gc_due(const heap *h, uint64_t now_ms)
{
    const struct gc_state *g = &h->gc;
    if (!g->cfg->enabled)
        return false;
    if (g->phase != GC_IDLE)
        return true;
    int64_t count = gc_count(h);
    double by_heap = g->cfg->heap_fraction * (double)heap_live_total(h);
    if (count > 0 && (double)count > by_heap && (uint64_t)count > g->cfg->threshold)
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

void gc_get_stats(const heap *h, gc_stats *out)
{
    const struct gc_state *g = &h->gc;
    *out = (gc_stats){
        .enabled = g->cfg->enabled,
        .phase = g->phase,
        .threshold = g->cfg->threshold,
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
    };
}
