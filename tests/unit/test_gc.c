/* The incremental collector: barriers, mid-cycle frees, the seed's cycle,
 * triggering, hooks, and a randomized run checked after every slice. */
#include "gc.h"
#include "heap_priv.h"
#include "util.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- helpers ------------------------------------------------------------ */

static hobj *item(hobj *list, uint32_t i)
{
    return AS_LIST(list)->items[i];
}

/* list.append(obj), taking a new reference to obj. */
static void append(tworld *w, hobj *list, hobj *obj)
{
    cont_list_reserve(w->h, list, 1);
    cont_list_append(w->h, list, heap_incref(w->h, obj));
}

/* Removes and drops list[i]. */
static void del_item(tworld *w, hobj *list, uint32_t i)
{
    heap_decref(w->h, cont_list_take(w->h, list, i));
}

/* One unit of collector work at a time until cond holds (or the cycle
 * ends: then the test's premise failed). */
#define STEP_UNTIL(w, cond)                                                                        \
    do {                                                                                           \
        int guard_ = 0;                                                                            \
        while (!(cond)) {                                                                          \
            gc_step_work((w)->h, 1);                                                               \
            assert_true(++guard_ < 100000);                                                        \
        }                                                                                          \
    } while (0)

static void finish_cycle(tworld *w)
{
    int guard = 0;
    do {
        gc_step_work(w->h, 1);
        assert_check_ok(w->h);
        assert_true(++guard < 100000);
    } while (gc_get_phase(w->h) != GC_IDLE);
}

static bool h_sweep_past_half(tworld *w)
{
    const struct gc_state *g = &w->h->gc;
    unsigned list_step = 4; /* gc.c's sweep_order: the records, tuple, then list */
    return g->phase != GC_SWEEP || g->sweep_step > list_step ||
           (g->sweep_step == list_step && g->sweep_slot > heap_slab(w->h, T_LIST)->nslots / 2);
}

static bool alive(tworld *w, hid id)
{
    return heap_lookup(w->h, id) != NULL;
}

static void unbind(tworld *w, const char *name)
{
    assert_int_equal(ns_unbind(w->ns, w->s, name, strlen(name), false, NULL), 0);
}

/* --- the seed's cycle ----------------------------------------------------- */

/* x -> y -> z -> x, A -> y; rebinding A leaves three lists with refcount 1
 * each, and one collection frees exactly those three. */
static void seed_cycle_collected(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "x", "[]");
    tw_bind(w, "y", "[]");
    tw_bind(w, "z", "[]");
    hobj *x = tw_get(w, "x"), *y = tw_get(w, "y"), *z = tw_get(w, "z");
    append(w, x, y);
    append(w, y, z);
    append(w, z, x);
    tw_bind(w, "A", "$y");
    unbind(w, "x");
    unbind(w, "y");
    unbind(w, "z");
    tw_bind(w, "A", "None");
    assert_int_equal(x->refcnt, 1);
    assert_int_equal(y->refcnt, 1);
    assert_int_equal(z->refcnt, 1);
    hid ids[3] = {hobj_id(x), hobj_id(y), hobj_id(z)};
    uint64_t lists = heap_live(w->h, T_LIST);
    assert_int_equal(gc_collect(w->h), 3);
    assert_int_equal(heap_live(w->h, T_LIST), lists - 3);
    for (int i = 0; i < 3; i++)
        assert_false(alive(w, ids[i]));
    assert_int_equal(gc_collect(w->h), 0);
    tw_free(w);
}

/* Reachable cycles and everything reachable survive a collection. */
static void reachable_cycle_survives(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "a", "[{'k': (1, 'two')}, {3, 4}]");
    hobj *a = tw_get(w, "a");
    append(w, a, a);
    assert_int_equal(gc_collect(w->h), 0);
    assert_int_equal(a->refcnt, 2);
    assert_int_equal(AS_LIST(a)->len, 3);
    tw_check(w);
    /* Once unbound, the self-cycle and what only it held are garbage. */
    uint64_t before = heap_live_total(w->h);
    unbind(w, "a");
    assert_int_equal(gc_collect(w->h), 4); /* the list, the dict, the set, the tuple */
    /* 'k', 'two' and the small ints are interned: only the containers go */
    assert_int_equal(heap_live_total(w->h), before - 4);
    tw_free(w);
}

/* --- barriers ------------------------------------------------------------- */

/* R = [A, L] with A = [I]. Scanning R pushes A then L, so L is scanned first:
 * L black, A gray, I white. */
static void setup_black_l_white_i(tworld *w, hobj **L, hobj **A, hobj **I)
{
    tw_bind(w, "R", "[[[]], []]");
    hobj *R = tw_get(w, "R");
    *A = item(R, 0);
    *L = item(R, 1);
    *I = item(*A, 0);
    STEP_UNTIL(w, (*L)->colour == HC_BLACK);
    assert_int_equal(gc_get_phase(w->h), GC_MARK);
    assert_int_equal((*A)->colour, HC_GRAY);
    assert_int_not_equal((*I)->colour, HC_GRAY);
    assert_int_not_equal((*I)->colour, HC_BLACK);
}

/* An object moved from an unmarked container into a marked one, and removed
 * from the first, is shaded by the store barrier and survives. */
static void barrier_moved_into_black(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *L, *A, *I;
    setup_black_l_white_i(w, &L, &A, &I);
    hid iid = hobj_id(I);
    append(w, L, I);
    assert_int_equal(I->colour, HC_GRAY);
    del_item(w, A, 0);
    assert_check_ok(w->h);
    finish_cycle(w);
    assert_true(alive(w, iid));
    assert_ptr_equal(item(L, 0), I);
    tw_free(w);
}

/* A new child stored into a black container during mark is born black and
 * survives, with whatever it holds. */
static void barrier_new_child_into_black(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *L, *A, *I;
    setup_black_l_white_i(w, &L, &A, &I);
    hobj *n = tw_build(w, "[[1], {2: [3]}]");
    assert_int_equal(n->colour, HC_BLACK);
    assert_int_equal(item(n, 0)->colour, HC_BLACK);
    cont_list_reserve(w->h, L, 1);
    cont_list_append(w->h, L, n);
    finish_cycle(w);
    assert_true(alive(w, hobj_id(n)));
    assert_true(alive(w, hobj_id(item(n, 0))));
    assert_int_equal(gc_collect(w->h), 0);
    tw_free(w);
}

/* A white object bound to a name (root barrier) and dropped from its only
 * container survives. */
static void barrier_name_rebound_during_mark(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *L, *A, *I;
    setup_black_l_white_i(w, &L, &A, &I);
    ns_bind(w->ns, w->s, "n", 1, heap_incref(w->h, I), true);
    assert_int_equal(I->colour, HC_GRAY);
    del_item(w, A, 0);
    tw_bind(w, "R", "None"); /* rebind the root itself too */
    assert_check_ok(w->h);
    finish_cycle(w);
    assert_true(alive(w, hobj_id(I)));
    assert_ptr_equal(tw_get(w, "n"), I);
    tw_free(w);
}

/* A handle taken on a white object is a root too. */
static void barrier_handle_during_mark(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *L, *A, *I;
    setup_black_l_white_i(w, &L, &A, &I);
    ns_handle_add(w->ns, w->s, heap_incref(w->h, I));
    del_item(w, A, 0);
    finish_cycle(w);
    assert_true(alive(w, hobj_id(I)));
    assert_int_equal(ns_handle_release(w->ns, w->s, I, NULL), 0);
    tw_free(w);
}

/* Stores into a list under a piecewise scan, and removals before the scan
 * position, keep the scan right. big = [2000 lists..., holder], holder =
 * [o0, o1]: while big is scanned up to about 1000, o0 and o1 are white. */
static void barrier_partial_scan(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "big", "[]");
    hobj *big = tw_get(w, "big");
    for (int i = 0; i < 2000; i++)
        cont_list_reserve(w->h, big, 1), cont_list_append(w->h, big, tw_build(w, "[]"));
    hobj *holder = tw_build(w, "[[], []]");
    cont_list_reserve(w->h, big, 1), cont_list_append(w->h, big, holder);
    hobj *o0 = item(holder, 0), *o1 = item(holder, 1);
    STEP_UNTIL(w, heap_hot_(w->h)->gc_partial == big && heap_hot_(w->h)->gc_partial_pos > 1000);
    assert_int_equal(o0->colour, heap_hot_(w->h)->gc_white);
    uint32_t pos = heap_hot_(w->h)->gc_partial_pos;
    cont_list_reserve(w->h, big, 2);
    cont_list_insert(w->h, big, 0, heap_incref(w->h, o0)); /* before the position */
    assert_int_equal(heap_hot_(w->h)->gc_partial_pos, pos + 1);
    cont_list_set(w->h, big, 5, heap_incref(w->h, o1)); /* an already scanned slot */
    del_item(w, big, 1);                                /* shifts the rest left */
    assert_int_equal(heap_hot_(w->h)->gc_partial_pos, pos);
    cont_clear(w->h, holder);
    heap_drain_all(w->h);
    assert_check_ok(w->h);
    finish_cycle(w);
    assert_true(alive(w, hobj_id(o0)));
    assert_true(alive(w, hobj_id(o1)));
    assert_int_equal(gc_collect(w->h), 0);
    tw_free(w);
}

/* --- allocation and frees during a cycle ----------------------------------- */

static void allocated_during_mark_and_sweep_survive(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "g", "[[1]]");
    hobj *g = tw_get(w, "g");
    append(w, item(g, 0), item(g, 0)); /* garbage to sweep once g lets go */
    tw_bind(w, "g", "None");
    gc_step_work(w->h, 1);
    assert_int_equal(gc_get_phase(w->h), GC_MARK);
    tw_bind(w, "m", "[[], {}]");
    hobj *m = tw_get(w, "m");
    assert_int_equal(m->colour, HC_BLACK);
    STEP_UNTIL(w, gc_get_phase(w->h) == GC_SWEEP);
    tw_bind(w, "s", "[()]");
    hobj *s = tw_get(w, "s");
    assert_int_equal(s->colour, heap_hot_(w->h)->gc_white);
    /* an unreachable cycle made during the cycle is left for the next */
    hobj *c = tw_build(w, "[]");
    append(w, c, c);
    heap_decref(w->h, c);
    finish_cycle(w);
    assert_true(alive(w, hobj_id(m)) && alive(w, hobj_id(s)));
    assert_true(alive(w, hobj_id(c)));
    assert_int_equal(gc_collect(w->h), 1);
    assert_false(alive(w, hobj_id(c)));
    assert_true(alive(w, hobj_id(m)) && alive(w, hobj_id(s)));
    tw_free(w);
}

/* Gray, black and white objects freed by refcount during mark, and a slot
 * reused by a new object while its old occupant is still on the stack. */
static void refcount_frees_during_mark(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "R", "[[[]], []]");
    hobj *R = tw_get(w, "R"), *A = item(R, 0), *L = item(R, 1), *I = item(A, 0);
    STEP_UNTIL(w, L->colour == HC_BLACK);
    assert_int_equal(A->colour, HC_GRAY);
    /* free the gray A (and so the white I) and the black L */
    cont_list_set(w->h, R, 0, heap_none(w->h));
    cont_list_set(w->h, R, 1, heap_none(w->h));
    heap_drain_all(w->h);
    assert_true(A->dead && L->dead && I->dead);
    /* new containers may take those slots; they are born black */
    hobj *n = tw_build(w, "[[], []]");
    ns_bind(w->ns, w->s, "n", 1, n, true);
    assert_check_ok(w->h);
    finish_cycle(w);
    assert_true(alive(w, hobj_id(n)));
    assert_int_equal(gc_collect(w->h), 0);
    tw_free(w);
}

/* A container freed while it is being scanned piecewise. */
static void refcount_free_of_partial(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "big", "[]");
    hobj *big = tw_get(w, "big");
    for (int i = 0; i < 3000; i++)
        cont_list_reserve(w->h, big, 1), cont_list_append(w->h, big, tw_build(w, "[0]"));
    STEP_UNTIL(w, heap_hot_(w->h)->gc_partial == big);
    unbind(w, "big");
    assert_null(heap_hot_(w->h)->gc_partial);
    heap_drain(w->h, 1); /* part of the cascade only */
    assert_check_ok(w->h);
    finish_cycle(w);
    tw_free(w);
}

/* Frees ahead of and behind the sweep cursor, and of garbage itself. */
static void refcount_frees_during_sweep(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    for (int i = 0; i < 50; i++) {
        char name[16];
        snprintf(name, sizeof name, "v%d", i);
        tw_bind(w, name, "[[]]");
    }
    hobj *cyc = tw_build(w, "[]");
    append(w, cyc, cyc);
    heap_decref(w->h, cyc);
    STEP_UNTIL(w, gc_get_phase(w->h) == GC_SWEEP);
    assert_false(alive(w, hobj_id(cyc))); /* garbage stops resolving at the flip */
    STEP_UNTIL(w, h_sweep_past_half(w));
    for (int i = 0; i < 50; i += 3) {
        char name[16];
        snprintf(name, sizeof name, "v%d", i);
        unbind(w, name);
    }
    heap_drain_all(w->h);
    assert_check_ok(w->h);
    finish_cycle(w);
    heap_drain_all(w->h);
    assert_true(cyc->dead);
    tw_free(w);
}

/* --- hooks and triggering -------------------------------------------------- */

struct hook_log {
    int gc_frees, refcount_frees, cycles;
    gc_cycle_info last;
};

static void on_free(void *ctx, hobj *o, enum free_cause cause)
{
    (void)o;
    struct hook_log *log = ctx;
    if (cause == FREE_GC)
        log->gc_frees++;
    else
        log->refcount_frees++;
}

static void on_cycle(void *ctx, bool start, const gc_cycle_info *info)
{
    struct hook_log *log = ctx;
    if (start)
        return;
    log->cycles++;
    log->last = *info;
}

static void hooks_report_cause_and_cycle(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    struct hook_log log = {0};
    tw_bind(w, "live", "[[], []]"); /* something to trace */
    heap_set_free_hook(w->h, on_free, &log);
    gc_set_cycle_hook(w->h, on_cycle, &log);
    hobj *c = tw_build(w, "[[], 'not interned!']");
    append(w, item(c, 0), c);
    heap_decref(w->h, c);
    tw_bind(w, "t", "[1000]");
    tw_bind(w, "t", "None");
    heap_drain_all(w->h);
    assert_int_equal(log.refcount_frees, 2); /* the list and the int 1000 */
    assert_int_equal(gc_collect(w->h), 2);
    assert_int_equal(log.gc_frees, 3); /* both lists and the str they held */
    assert_int_equal(log.cycles, 1);
    assert_int_equal(log.last.collected, 2);
    assert_true(log.last.traced >= 2);
    gc_stats st;
    gc_get_stats(w->h, &st);
    assert_int_equal(st.cycles, 1);
    assert_int_equal(st.collected, 2);
    assert_int_equal(st.slices, 0); /* gc_collect's work is a request's, not a slice's pause */
    assert_int_equal(heap_get_stats(w->h)->frees_gc, 3);
    tw_free(w);
}

static void trigger_threshold_fraction_interval(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    gc_config cfg = {.enabled = true,
                     .generational = false, /* today's rule: all objects counted */
                     .threshold = {100, 10, 10},
                     .heap_fraction = 0.25,
                     .interval_ms = 1000000,
                     .slice_us = 1000};
    gc_use_config(w->h, &cfg); /* cfg outlives w: freed below */
    gc_collect(w->h);          /* count starts from here */
    uint64_t now = now_ns() / 1000000;
    assert_false(gc_due(w->h, now));
    tw_bind(w, "l", "[]");
    hobj *l = tw_get(w, "l");
    for (int i = 0; i < 100; i++)
        cont_list_reserve(w->h, l, 1), cont_list_append(w->h, l, heap_int(w->h, 1000 + i));
    assert_int_equal(gc_count(w->h), 101);
    assert_true(gc_due(w->h, now)); /* 101 > max(100, 0.25 * ~366) */
    gc_collect(w->h);
    /* the heap-fraction rule: with a large live heap, 100 more is not enough */
    for (int i = 0; i < 2000; i++)
        cont_list_reserve(w->h, l, 1), cont_list_append(w->h, l, heap_int(w->h, 5000 + i));
    gc_collect(w->h);
    for (int i = 0; i < 200; i++)
        cont_list_reserve(w->h, l, 1), cont_list_append(w->h, l, heap_int(w->h, 9000 + i));
    assert_int_equal(gc_count(w->h), 200);
    assert_false(gc_due(w->h, now)); /* 200 <= 0.25 * ~2570 */
    /* the interval rule: allocations and enough time */
    assert_true(gc_due(w->h, now + 2000000));
    gc_disable(w->h);
    assert_false(gc_due(w->h, now + 2000000));
    assert_false(gc_isenabled(w->h));
    assert_int_equal(gc_collect(w->h), 0); /* still works by hand */
    assert_false(gc_due(w->h, now + 2000000));
    gc_enable(w->h);
    gc_step_work(w->h, 1);
    assert_true(gc_due(w->h, now)); /* a cycle under way is always due */
    tw_free(w);
}

/* gc_step honours its time budget (loosely: the machine is shared) and a
 * slice-by-slice cycle completes while the mutator keeps allocating. */
static void slices_finish_while_allocating(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "keep", "[]");
    hobj *keep = tw_get(w, "keep");
    for (int i = 0; i < 20000; i++)
        cont_list_reserve(w->h, keep, 1), cont_list_append(w->h, keep, tw_build(w, "[[]]"));
    gc_stats before;
    gc_get_stats(w->h, &before);
    int steps = 0;
    while (1) {
        for (int i = 0; i < 200; i++) { /* the mutator: garbage cycles and live data */
            hobj *c = tw_build(w, "[]");
            append(w, c, c);
            heap_decref(w->h, c);
            cont_list_reserve(w->h, keep, 1), cont_list_append(w->h, keep, tw_build(w, "{}"));
        }
        gc_step_work(w->h, 20000);
        steps++;
        gc_stats st;
        gc_get_stats(w->h, &st);
        if (st.cycles >= before.cycles + 3)
            break;
        assert_true(steps < 200);
    }
    assert_check_ok(w->h);
    tw_free(w);
}

/* --- randomized ------------------------------------------------------------ */

#define NNAMES 12

struct reach {
    uint8_t *seen[T__COUNT];
    hobj **stack;
    size_t len, cap;
    uint64_t count;
};

static void reach_push(hobj *o, void *arg)
{
    struct reach *r = arg;
    uint8_t *s = &r->seen[o->type][slab_slot_of(o)];
    if (*s)
        return;
    *s = 1;
    r->count += !o->immortal;
    if (r->len == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->stack = realloc(r->stack, r->cap * sizeof *r->stack);
    }
    r->stack[r->len++] = o;
}

/* Objects reachable from the roots, each checked to be alive. */
static uint64_t count_reachable(tworld *w)
{
    struct reach r = {0};
    for (int t = 0; t < T__COUNT; t++)
        r.seen[t] = calloc(heap_slab(w->h, t)->nslots + 1, 1);
    heap_visit_roots(w->h, reach_push, &r);
    while (r.len) {
        hobj *o = r.stack[--r.len];
        assert_false(o->dead);
        if (htype_is_container(o->type))
            assert_non_null(heap_lookup(w->h, hobj_id(o)));
        heap_traverse(o, reach_push, &r);
    }
    for (int t = 0; t < T__COUNT; t++)
        free(r.seen[t]);
    free(r.stack);
    return r.count;
}

static void count_mortal(hobj *o, void *arg)
{
    *(uint64_t *)arg += !o->immortal;
}

static uint64_t live_mortal(tworld *w)
{
    uint64_t n = 0;
    heap_foreach(w->h, T__COUNT, count_mortal, &n);
    return n;
}

static hobj *random_container(tworld *w, unsigned *seed)
{
    char name[16];
    snprintf(name, sizeof name, "n%u", (unsigned)(rand_r(seed) % NNAMES));
    hobj *o = ns_lookup(w->ns, w->s, name, strlen(name));
    if (o && o->type == T_INSTANCE && rand_r(seed) % 2)
        return heap_rec_dict(o); /* an instance's attributes */
    if (!o || !htype_is_mutable(o->type))
        return NULL;
    if (o->type == T_LIST && AS_LIST(o)->len && rand_r(seed) % 2) {
        hobj *in = item(o, (uint32_t)rand_r(seed) % AS_LIST(o)->len);
        if (htype_is_mutable(in->type))
            return in;
    }
    return o;
}

/* An instance of a new class, with attr = b (if any). */
static hobj *random_instance(tworld *w, hobj *b)
{
    hobj *cls = heap_class(w->h, heap_str(w->h, "C", 1), heap_dict(w->h));
    hobj *inst = heap_instance(w->h, cls, heap_dict(w->h));
    heap_decref(w->h, cls);
    if (b) {
        hobj *key = heap_str(w->h, "attr", 4), *d = heap_rec_dict(inst);
        uint64_t hash;
        assert_int_equal(cont_hash(key, &hash, NULL), 0);
        cont_table_reserve(w->h, d, 1);
        cont_dict_set(w->h, d, key, hash, heap_incref(w->h, b));
    }
    return inst;
}

static void random_mutation(tworld *w, unsigned *seed)
{
    static const char *const lits[] = {"[]",
                                       "[[]]",
                                       "{}",
                                       "{1: []}",
                                       "set()",
                                       "([],)",
                                       "[1, 'x', ([],)]",
                                       "1000",
                                       "'s'",
                                       "{'a': {'b': []}}"};
    char name[16];
    snprintf(name, sizeof name, "n%u", (unsigned)(rand_r(seed) % NNAMES));
    hobj *a = random_container(w, seed), *b = random_container(w, seed);
    switch (rand_r(seed) % 10) {
    case 8: /* an instance whose attribute is a container: cycles through it */
        ns_bind(w->ns, w->s, name, strlen(name), random_instance(w, b), false);
        break;
    case 9: /* a weakref, which the collector must clear with its referent */
        if (a)
            ns_bind(w->ns, w->s, name, strlen(name), heap_weakref(w->h, a, 0), false);
        break;
    case 0:
    case 1:
        tw_bind(w, name, lits[rand_r(seed) % (sizeof lits / sizeof *lits)]);
        break;
    case 2:
        ns_unbind(w->ns, w->s, name, strlen(name), false, NULL);
        break;
    case 3: /* link two containers: this makes cycles */
        if (a && b && a->type == T_LIST)
            append(w, a, b);
        else if (a && b && a->type == T_DICT) {
            hobj *key = heap_int(w->h, rand_r(seed) % 4);
            uint64_t hash;
            assert_int_equal(cont_hash(key, &hash, NULL), 0);
            cont_table_reserve(w->h, a, 1);
            cont_dict_set(w->h, a, key, hash, heap_incref(w->h, b));
        }
        break;
    case 4: /* drop a link */
        if (a && a->type == T_LIST && AS_LIST(a)->len)
            del_item(w, a, (uint32_t)rand_r(seed) % AS_LIST(a)->len);
        else if (a && (a->type == T_DICT || a->type == T_SET))
            cont_clear(w->h, a);
        break;
    case 5:
        if (ns_depth(w->s) < 3 && rand_r(seed) % 2)
            ns_push_scope(w->ns, w->s, NULL);
        else if (ns_depth(w->s))
            ns_pop_scope(w->ns, w->s, NULL);
        break;
    case 7: /* move an item from one list to another: the barrier's case */
        if (a && b && a != b && a->type == T_LIST && b->type == T_LIST && AS_LIST(a)->len) {
            hobj *moved = cont_list_take(w->h, a, (uint32_t)rand_r(seed) % AS_LIST(a)->len);
            cont_list_reserve(w->h, b, 1);
            cont_list_append(w->h, b, moved);
        }
        break;
    case 6:
        if (a && rand_r(seed) % 2)
            ns_handle_add(w->ns, w->s, heap_incref(w->h, a));
        else if (a && ns_handle_count(w->s, a))
            ns_handle_release(w->ns, w->s, a, NULL);
        break;
    }
}

static void randomized_mutation_between_slices(void **state)
{
    (void)state;
    unsigned seed = 20261121;
    const char *env = getenv("HEAPD_TEST_SCALE"); /* set under valgrind */
    int steps = env && atoi(env) > 1 ? 1500 : 3000;
    printf("randomized gc: seed %u, %d steps\n", seed, steps);
    tworld *w = tw_new(INTERN_PYTHON);
    for (int i = 0; i < steps; i++) {
        random_mutation(w, &seed);
        if (rand_r(&seed) % 3 == 0)
            heap_drain(w->h, 1);
        gc_step_work(w->h, 1 + (uint64_t)(rand_r(&seed) % 4));
        assert_check_ok(w->h);
        count_reachable(w);
    }
    gc_stats st;
    gc_get_stats(w->h, &st);
    printf("randomized gc: %llu cycles, %llu collected\n", (unsigned long long)st.cycles,
           (unsigned long long)st.collected);
    assert_true(st.cycles >= 5 && st.collected > 0); /* the run exercised the collector */
    /* Two complete cycles with no mutation leave nothing unreachable. */
    finish_cycle(w);
    gc_step_work(w->h, 1);
    finish_cycle(w);
    heap_drain_all(w->h);
    assert_int_equal(count_reachable(w), live_mortal(w));
    assert_check_ok(w->h);
    /* and with every root gone, everything goes */
    ns_free(w->ns);
    w->ns = ns_new(w->h, 1000);
    w->s = ns_session_new(w->ns);
    gc_collect(w->h);
    assert_int_equal(live_mortal(w), 0);
    tw_free(w);
}

/* Generations in the same randomized run: young collections of either
 * generation a chunk at a time, full slices, freezing and saveall, all
 * interleaved with mutation, and every invariant (colours and generation
 * lists) checked after each step. */
static void random_collector_step(tworld *w, unsigned *seed)
{
    switch (rand_r(seed) % 16) {
    case 0:
        gc_young_step_work(w->h, (int)(rand_r(seed) % 2), 1 + (uint64_t)(rand_r(seed) % 8));
        break;
    case 1:
        if (rand_r(seed) % 8 == 0)
            gc_collect_generation(w->h, (int)(rand_r(seed) % 2));
        break;
    case 2:
        if (rand_r(seed) % 16 == 0)
            gc_freeze(w->h);
        else if (rand_r(seed) % 8 == 0)
            gc_unfreeze(w->h);
        break;
    case 3:
        if (rand_r(seed) % 16 == 0)
            gc_set_debug(w->h, gc_get_debug(w->h) ^ GC_DEBUG_SAVEALL);
        else if (rand_r(seed) % 8 == 0 && w->h->gc.garbage)
            cont_clear(w->h, w->h->gc.garbage);
        break;
    default:
        gc_step_work(w->h, 1 + (uint64_t)(rand_r(seed) % 4));
    }
}

static void randomized_generations_between_slices(void **state)
{
    (void)state;
    unsigned seed = 20261129;
    int steps = (int)tw_scaled(4000, 1500);
    tworld *w = tw_new(INTERN_PYTHON);
    for (int i = 0; i < steps; i++) {
        random_mutation(w, &seed);
        if (rand_r(&seed) % 3 == 0)
            heap_drain(w->h, 1);
        random_collector_step(w, &seed);
        assert_check_ok(w->h);
        count_reachable(w);
    }
    gc_stats st;
    gc_get_stats(w->h, &st);
    printf("randomized generations: seed %u, %d steps: %llu/%llu young, %llu full collections\n",
           20261129u, steps, (unsigned long long)st.gen[0].collections,
           (unsigned long long)st.gen[1].collections, (unsigned long long)st.cycles);
    assert_true(st.gen[0].collections > 5 && st.gen[1].collections > 5 && st.cycles >= 3);
    assert_true(st.gen[0].collected + st.gen[1].collected > 0);
    /* unfrozen, saveall off and gc.garbage emptied, nothing unreachable stays */
    while (gc_young_step_work(w->h, 0, 1) == false)
        ;
    gc_unfreeze(w->h);
    gc_set_debug(w->h, 0);
    if (w->h->gc.garbage)
        cont_clear(w->h, w->h->gc.garbage);
    finish_cycle(w);
    gc_collect(w->h);
    assert_int_equal(count_reachable(w), live_mortal(w));
    assert_check_ok(w->h);
    gc_drop_garbage(w->h);
    ns_free(w->ns);
    w->ns = ns_new(w->h, 1000);
    w->s = ns_session_new(w->ns);
    gc_collect(w->h);
    assert_int_equal(live_mortal(w), 0);
    tw_free(w);
}

/* --- the incremental root scan ---------------------------------------------- */

static void bind_list(tworld *w, hsession *s, unsigned i, bool global)
{
    char name[24];
    int n = snprintf(name, sizeof name, "r%u", i);
    ns_bind(w->ns, s, name, (size_t)n, tw_build(w, "[[]]"), global);
}

/* With many roots a cycle's first steps scan only some of them: the root
 * scan is spread over slices, as everything else is. */
static void root_scan_is_incremental(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    unsigned n = (unsigned)tw_scaled(20000, 2000);
    for (unsigned i = 0; i < n; i++)
        bind_list(w, w->s, i, true);
    gc_collect(w->h);
    gc_step_work(w->h, 1); /* starts the cycle */
    for (int i = 0; i < 10; i++)
        gc_step_work(w->h, 100);
    assert_int_equal(gc_get_phase(w->h), GC_MARK);
    unsigned white = 0;
    for (unsigned i = 0; i < n; i++) {
        char name[24];
        int len = snprintf(name, sizeof name, "r%u", i);
        white += ns_lookup(w->ns, NULL, name, (size_t)len)->colour == heap_hot_(w->h)->gc_white;
    }
    assert_true(white > n / 2); /* most roots not reached yet ... */
    assert_check_ok(w->h);      /* ... and the checker knows which were */
    while (gc_get_phase(w->h) != GC_IDLE)
        gc_step_work(w->h, 1000);
    assert_int_equal(gc_collect(w->h), 0);
    tw_free(w);
}

/* Roots bound, unbound (backward shifts), grown past their table's size,
 * frames opened and closed and sessions ended while the root scan is under
 * way: after every step the checker holds and nothing reachable is freed. */
static void root_scan_survives_root_changes(void **state)
{
    (void)state;
    unsigned seed = 20261129;
    tworld *w = tw_new(INTERN_PYTHON);
    hsession *other = ns_session_new(w->ns);
    unsigned names = 3000, steps = (unsigned)tw_scaled(3000, 300);
    for (unsigned i = 0; i < names; i += 2)
        bind_list(w, i % 4 ? w->s : other, i, true);
    for (unsigned i = 0; i < steps; i++) {
        unsigned r = (unsigned)rand_r(&seed) % 100, k = (unsigned)rand_r(&seed) % names;
        hsession *s = rand_r(&seed) % 2 ? w->s : other;
        char name[24];
        int len = snprintf(name, sizeof name, "r%u", k);
        if (r < 40) {
            bind_list(w, s, k, r < 25);
        } else if (r < 70) {
            ns_unbind(w->ns, s, name, (size_t)len, r < 60, NULL);
        } else if (r < 80) {
            if (ns_depth(s) < 4)
                ns_push_scope(w->ns, s, NULL);
        } else if (r < 88) {
            if (ns_depth(s))
                ns_pop_scope(w->ns, s, NULL);
        } else if (r < 97) {
            hobj *o = ns_lookup(w->ns, s, name, (size_t)len);
            if (o)
                ns_handle_add(w->ns, s, heap_incref(w->h, o));
        } else {
            bool cur = s == w->s;
            ns_session_end(w->ns, s);
            hsession *fresh = ns_session_new(w->ns);
            if (cur)
                w->s = fresh;
            else
                other = fresh;
        }
        if (rand_r(&seed) % 3 == 0)
            heap_drain(w->h, 1);
        gc_step_work(w->h, 1 + (uint64_t)(rand_r(&seed) % 64));
        assert_check_ok(w->h);
        count_reachable(w);
    }
    finish_cycle(w);
    gc_step_work(w->h, 1);
    finish_cycle(w);
    heap_drain_all(w->h);
    assert_int_equal(count_reachable(w), live_mortal(w));
    assert_check_ok(w->h);
    tw_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seed_cycle_collected),
        cmocka_unit_test(reachable_cycle_survives),
        cmocka_unit_test(barrier_moved_into_black),
        cmocka_unit_test(barrier_new_child_into_black),
        cmocka_unit_test(barrier_name_rebound_during_mark),
        cmocka_unit_test(barrier_handle_during_mark),
        cmocka_unit_test(barrier_partial_scan),
        cmocka_unit_test(allocated_during_mark_and_sweep_survive),
        cmocka_unit_test(refcount_frees_during_mark),
        cmocka_unit_test(refcount_free_of_partial),
        cmocka_unit_test(refcount_frees_during_sweep),
        cmocka_unit_test(hooks_report_cause_and_cycle),
        cmocka_unit_test(trigger_threshold_fraction_interval),
        cmocka_unit_test(slices_finish_while_allocating),
        cmocka_unit_test(randomized_mutation_between_slices),
        cmocka_unit_test(randomized_generations_between_slices),
        cmocka_unit_test(root_scan_is_incremental),
        cmocka_unit_test(root_scan_survives_root_changes),
    };
    return cmocka_run_group_tests_name("gc", tests, NULL, NULL);
}
