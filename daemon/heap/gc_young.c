/* The generation lists and the young collections (gc.h tells the method
 * and its invariants; CPython's Python/gc.c is the model: update_refs,
 * subtract_refs, move_unreachable). */
#include "gc.h"
#include "gc_list.h"
#include "heap_priv.h"
#include "util.h"

#include <stdlib.h>

/* The fewest work units a chunk may have (so a slice is never spent on a
 * handful of containers), and the cost assumed for a unit before any has
 * been measured. */
#define CHUNK_MIN_WORK   256
#define NS_PER_UNIT_INIT 20.0

void gc_young_init(heap *h)
{
    struct gc_state *g = &h->gc;
    for (int i = 0; i < GC_GENERATIONS; i++)
        gcl_init(&g->gen[i].head);
    gcl_init(&g->permanent);
    gcl_init(&g->young.pending);
    g->young.gen = -1;
    g->young.ns_per_unit = NS_PER_UNIT_INIT;
    g->perm_cursor = &g->permanent;
}

void gc_young_release(heap *h)
{
    struct gc_young *y = &h->gc.young;
    big_free(y->chunk, y->chunk_cap * sizeof *y->chunk);
    big_free(y->stack, y->stack_cap * sizeof *y->stack);
    y->chunk = y->stack = NULL;
    y->chunk_cap = y->stack_cap = 0;
}

/* --- membership ----------------------------------------------------------- */

void gc_track(heap *h, hobj *o)
{
    struct gc_gen *g0 = &h->gc.gen[0];
    gcl_append(&g0->head, AS_CONT(o), 0);
    g0->objects++;
    g0->count++;
}

/* Counts c out of the generation its tag names. */
static void tag_leave(struct gc_state *g, unsigned tag)
{
    if (tag == GCT_PERMANENT)
        g->frozen--;
    else
        g->gen[tag].objects--;
}

static void tag_enter(struct gc_state *g, hcont *c, unsigned tag)
{
    gcl_set_tag(c, tag);
    if (tag == GCT_PERMANENT)
        g->frozen++;
    else
        g->gen[tag].objects++;
}

void gc_untrack(heap *h, hobj *o)
{
    struct gc_state *g = &h->gc;
    hcont *c = AS_CONT(o);
    unsigned tag = gcl_tag(c);
    if (tag == GCT_UNTRACKED)
        return;
    assert(tag <= GCT_PERMANENT); /* chunks free nothing while examined */
    if (g->perm_cursor == c)
        g->perm_cursor = c->gc_next; /* the full collection's walk goes on */
    gcl_remove(c);
    tag_leave(g, tag);
    gcl_set_tag(c, GCT_UNTRACKED);
}

/* Moves c (in some list, tagged) to the tail of generation `to`. */
static void move_to(struct gc_state *g, hcont *c, unsigned to)
{
    tag_leave(g, gcl_tag(c));
    if (g->perm_cursor == c)
        g->perm_cursor = c->gc_next;
    gcl_remove(c);
    gcl_append(to == GCT_PERMANENT ? &g->permanent : &g->gen[to].head, c, to);
    tag_enter(g, c, to);
}

int gc_generation_of(const hobj *o)
{
    if (!hobj_is_container(o))
        return GC_UNTRACKED;
    unsigned tag = gcl_tag((const hcont *)o);
    return tag <= GCT_PERMANENT ? (int)tag : GC_UNTRACKED;
}

void gc_promote_old(heap *h, hobj *o)
{
    unsigned tag = gcl_tag(AS_CONT(o));
    if (tag < 2)
        move_to(&h->gc, AS_CONT(o), 2);
}

/* Retags every member of list `from` and splices it onto `to`: O(n). */
static void retag_all(struct gc_state *g, hcont *from, hcont *to, unsigned tag)
{
    for (hcont *c = from->gc_next; c != from; c = c->gc_next) {
        tag_leave(g, gcl_tag(c));
        tag_enter(g, c, tag);
    }
    gcl_splice(to, from);
}

static void young_finish(heap *h);

void gc_freeze(heap *h)
{
    struct gc_state *g = &h->gc;
    if (g->young.gen >= 0)
        young_finish(h);
    for (int i = 0; i < GC_GENERATIONS; i++)
        retag_all(g, &g->gen[i].head, &g->permanent, GCT_PERMANENT);
    if (g->phase == GC_MARK) { /* the new roots are walked again */
        g->perm_cursor = g->permanent.gc_next;
        g->perm_done = false;
    }
}

void gc_unfreeze(heap *h)
{
    struct gc_state *g = &h->gc;
    retag_all(g, &g->permanent, &g->gen[2].head, 2);
    g->perm_cursor = &g->permanent;
}

uint64_t gc_get_freeze_count(const heap *h)
{
    return h->gc.frozen;
}

void gc_age_all(heap *h)
{
    struct gc_state *g = &h->gc;
    for (int i = 0; i < 2; i++) {
        retag_all(g, &g->gen[i].head, &g->gen[2].head, 2);
        g->gen[i].count = 0;
    }
    g->gen[2].count = 0;
    g->long_lived_total = g->gen[2].objects;
    g->long_lived_pending = 0;
}

/* --- which collection --------------------------------------------------- */

int gc_young_due(const heap *h)
{
    const struct gc_state *g = &h->gc;
    const uint64_t *t = g->cfg->threshold;
    if (!g->cfg->generational || !t[0] || g->gen[0].count <= t[0])
        return -1;
    return g->gen[1].count > t[1] ? 1 : 0;
}

/* --- one young collection ------------------------------------------------- */

static void young_begin(heap *h, int gen)
{
    struct gc_state *g = &h->gc;
    struct gc_young *y = &g->young;
    for (int i = 0; i <= gen; i++) {
        gcl_splice(&y->pending, &g->gen[i].head);
        g->gen[i].count = 0;
    }
    g->gen[gen + 1].count++; /* gen < 2: full collections are gc.c's */
    y->gen = gen;
    y->cur = (gc_cycle_info){.generation = gen};
    y->start_ns = now_ns();
    gc_hook(h, true, &y->cur);
}

static void young_end(heap *h)
{
    struct gc_state *g = &h->gc;
    struct gc_young *y = &g->young;
    struct gc_gen *gg = &g->gen[y->gen];
    y->cur.duration_us = (now_ns() - y->start_ns) / 1000;
    gg->collections++;
    gg->collected += y->cur.collected;
    g->collected += y->cur.collected;
    g->last_end_ms = now_ns() / 1000000;
    g->alloc_mark = h->hot.st.allocated;
    g->free_mark = h->hot.st.freed;
    y->gen = -1;
    gc_hook(h, false, &y->cur);
}

static uint64_t refs_of(const hcont *c)
{
    return c->gc_prev >> 3;
}
static void set_refs(hcont *c, uint64_t refs, unsigned tag)
{
    c->gc_prev = (uintptr_t)(refs << 3) | tag;
}

static uint64_t work_of(hobj *o)
{
    if (htype_is_record(o->type))
        return 3;
    if (o->type == T_DICT || o->type == T_SET)
        return 1 + (AS_DICT(o)->tb ? AS_DICT(o)->fill : 0);
    return 1 + AS_LIST(o)->len;
}

static bool in_chunk(const hobj *o)
{
    return hobj_is_container(o) && gcl_tag((const hcont *)o) == GCT_CHUNK;
}

/* subtract_refs: a reference from inside the chunk explains one count. */
static void subtract_internal(hobj *o, void *arg)
{
    (void)arg;
    if (in_chunk(o)) {
        hcont *c = AS_CONT(o);
        assert(refs_of(c) > 0);
        set_refs(c, refs_of(c) - 1, GCT_CHUNK);
    }
}

/* subtract_internal over o's references; a list's or tuple's items are
 * walked here, without a call per item (the common case). */
static void subtract_children(hobj *o)
{
    if (o->type != T_LIST && o->type != T_TUPLE) {
        heap_traverse(o, subtract_internal, NULL);
        return;
    }
    hobj **items = AS_LIST(o)->items;
    for (uint32_t i = 0, n = AS_LIST(o)->len; i < n; i++)
        if (in_chunk(items[i]))
            subtract_internal(items[i], NULL);
}

struct walk {
    struct gc_young *y;
    size_t len;
};

static void push_reached(struct walk *w, hobj *o)
{
    struct gc_young *y = w->y;
    set_refs(AS_CONT(o), 0, GCT_REACHED);
    if (w->len == y->stack_cap) {
        size_t cap = y->stack_cap ? y->stack_cap * 2 : 4096;
        y->stack = big_grow(y->stack, y->stack_cap * sizeof *y->stack, cap * sizeof *y->stack);
        y->stack_cap = cap;
    }
    y->stack[w->len++] = o;
}

static void reach(hobj *o, void *arg)
{
    if (in_chunk(o))
        push_reached(arg, o);
}

/* move_unreachable: from the containers referenced from outside, every
 * container of the chunk they reach is alive. */
static void mark_reachable(struct gc_young *y, size_t n)
{
    struct walk w = {y, 0};
    for (size_t i = 0; i < n; i++)
        if (gcl_tag(AS_CONT(y->chunk[i])) == GCT_CHUNK && refs_of(AS_CONT(y->chunk[i])) > 0)
            push_reached(&w, y->chunk[i]);
    while (w.len)
        heap_traverse(y->stack[--w.len], reach, &w);
}

/* Takes containers from the pending list into the chunk while their work
 * fits max_work (the first always, unless it exceeds huge: such a one goes
 * to generation 2 unexamined). Returns the chunk's length; *work its work. */
static size_t take_chunk(heap *h, uint64_t max_work, uint64_t huge, uint64_t *work)
{
    struct gc_state *g = &h->gc;
    struct gc_young *y = &g->young;
    size_t n = 0;
    *work = 0;
    while (!gcl_empty(&y->pending)) {
        hcont *c = y->pending.gc_next;
        uint64_t w = work_of(&c->h);
        if (w > huge) {
            move_to(g, c, 2);
            g->long_lived_pending++;
            continue;
        }
        if (n && *work + w > max_work)
            break;
        if (n == y->chunk_cap) {
            size_t cap = y->chunk_cap ? y->chunk_cap * 2 : 4096;
            y->chunk = big_grow(y->chunk, y->chunk_cap * sizeof *y->chunk, cap * sizeof *y->chunk);
            y->chunk_cap = cap;
        }
        tag_leave(g, gcl_tag(c));
        gcl_remove(c);
        set_refs(c, c->h.refcnt, GCT_CHUNK);
        y->chunk[n++] = &c->h;
        *work += w;
    }
    return n;
}

/* Examines one chunk: survivors move on a generation, the rest is garbage. */
static void examine_chunk(heap *h, size_t n)
{
    struct gc_state *g = &h->gc;
    struct gc_young *y = &g->young;
    unsigned to = (unsigned)y->gen + 1;
    for (size_t i = 0; i < n; i++)
        subtract_children(y->chunk[i]);
    mark_reachable(y, n);
    size_t garbage = 0, special = 0; /* garbage moves to the chunk's front */
    for (size_t i = 0; i < n; i++) {
        hobj *o = y->chunk[i];
        bool alive = gcl_tag(AS_CONT(o)) == GCT_REACHED;
        AS_CONT(o)->gc_prev = GCT_UNTRACKED;
        if (alive) {
            gcl_append(&g->gen[to].head, AS_CONT(o), to);
            tag_enter(g, AS_CONT(o), to);
            g->long_lived_pending += to == 2;
        } else {
            y->chunk[garbage++] = o;
            special += o->weakly || o->type == T_INSTANCE;
        }
    }
    /* CPython's order: every weakref to the garbage is cleared before any
     * finalizer runs, and those run before anything is cleared */
    for (size_t i = 0; special && i < garbage; i++)
        weak_clear(h, y->chunk[i]);
    for (size_t i = 0; special && i < garbage; i++)
        gc_finalize_garbage(h, y->chunk[i]);
    for (size_t i = 0; i < garbage; i++)
        gc_dispose_garbage(h, y->chunk[i], &y->cur.collected);
}

/* One chunk of at most about max_work units; returns the work done. */
static uint64_t young_chunk(heap *h, uint64_t max_work, uint64_t huge)
{
    struct gc_young *y = &h->gc.young;
    uint64_t start = now_ns(), work;
    size_t n = take_chunk(h, max_work, huge, &work);
    examine_chunk(h, n);
    y->cur.traced += work;
    uint64_t ns = now_ns() - start;
    if (work >= CHUNK_MIN_WORK) /* a moving average of the cost of a unit */
        y->ns_per_unit = 0.8 * y->ns_per_unit + 0.2 * ((double)ns / (double)work);
    return work;
}

static uint64_t units_in(const struct gc_young *y, uint64_t ns)
{
    double u = (double)ns / (y->ns_per_unit > 0.1 ? y->ns_per_unit : 0.1);
    return u < CHUNK_MIN_WORK ? CHUNK_MIN_WORK : (uint64_t)u;
}

bool gc_young_slice(heap *h, uint64_t budget_ns, bool force)
{
    struct gc_state *g = &h->gc;
    struct gc_young *y = &g->young;
    if (y->gen < 0) {
        int due = gc_young_due(h);
        if (due < 0 && !force)
            return false;
        young_begin(h, due >= 0 ? due : g->gen[1].count > g->cfg->threshold[1]);
    }
    bool unlimited = budget_ns == GC_UNLIMITED;
    uint64_t start = now_ns(), spent = 0;
    uint64_t huge = unlimited ? UINT64_MAX : units_in(y, g->cfg->slice_us * 1000);
    do {
        uint64_t left = budget_ns - spent;
        young_chunk(h, unlimited ? UINT64_MAX : units_in(y, left), huge);
        spent = now_ns() - start;
    } while (!gcl_empty(&y->pending) && spent < budget_ns);
    y->cur.slices++;
    y->cur.pause_us += spent / 1000;
    struct gc_gen *gg = &g->gen[y->gen];
    gg->total_pause_ns += unlimited ? 0 : spent; /* gc_collect's is no pause */
    if (!unlimited && spent > gg->max_pause_ns)
        gg->max_pause_ns = spent;
    if (gcl_empty(&y->pending))
        young_end(h);
    return true;
}

/* Ends the young collection under way in one piece. */
static void young_finish(heap *h)
{
    while (h->gc.young.gen >= 0)
        gc_young_slice(h, GC_UNLIMITED, false);
}

bool gc_young_step_work(heap *h, int gen, uint64_t max_work)
{
    struct gc_young *y = &h->gc.young;
    if (y->gen < 0)
        young_begin(h, gen);
    young_chunk(h, max_work, max_work);
    y->cur.slices++;
    if (gcl_empty(&y->pending))
        young_end(h);
    return y->gen < 0;
}

uint64_t gc_young_collect(heap *h, int gen)
{
    young_finish(h);
    uint64_t before = h->gc.collected;
    young_begin(h, gen);
    young_finish(h);
    heap_drain_all(h);
    return h->gc.collected - before;
}
