/* Generations (gc.h): young collections, promotion, counts as CPython's
 * gc module reports them, bounded chunks, freezing, saveall. The heap of
 * these tests has no automatic collection: every collection is asked for. */
#include "gc.h"
#include "heap_priv.h"
#include "util.h"
#include "testlib.h"

#include <string.h>

static void append(tworld *w, hobj *list, hobj *obj)
{
    cont_list_reserve(w->h, list, 1);
    cont_list_append(w->h, list, heap_incref(w->h, obj));
}

/* A list that holds itself, with no other reference: garbage. */
static hid make_self_cycle(tworld *w)
{
    hobj *l = tw_build(w, "[]");
    append(w, l, l);
    hid id = hobj_id(l);
    heap_decref(w->h, l);
    return id;
}

static void assert_counts(tworld *w, uint64_t c0, uint64_t c1, uint64_t c2)
{
    uint64_t c[GC_GENERATIONS];
    gc_get_counts(w->h, c);
    if (c[0] != c0 || c[1] != c1 || c[2] != c2)
        fail_msg("counts (%llu, %llu, %llu), want (%llu, %llu, %llu)", (unsigned long long)c[0],
                 (unsigned long long)c[1], (unsigned long long)c[2], (unsigned long long)c0,
                 (unsigned long long)c1, (unsigned long long)c2);
}

static int gen_of(tworld *w, const char *name)
{
    return gc_generation_of(tw_get(w, name));
}

/* --- Python's behaviour ---------------------------------------------------- */

static void self_referencing_list_dies_in_generation_0(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hid id = make_self_cycle(w);
    assert_non_null(heap_lookup(w->h, id));
    assert_int_equal(gc_collect_generation(w->h, 0), 1);
    assert_null(heap_lookup(w->h, id));
    assert_int_equal(heap_live(w->h, T_LIST), 0);
    tw_check(w);
    tw_free(w);
}

/* The counts of this sequence as Debian's python3 (3.11.2) reports them,
 * all on one line so that the interpreter makes nothing in between:
 *   gc.disable(); gc.collect(); a = [[], [], []]; c1 = gc.get_count();
 *   gc.collect(0); c2 = gc.get_count(); b = []; gc.collect(0);
 *   c3 = gc.get_count(); gc.collect(1); c4 = gc.get_count();
 *   gc.collect(); c5 = gc.get_count()
 *   -> (4, 0, 0) (0, 1, 0) (0, 2, 0) (0, 0, 1) (0, 0, 0)
 * (Between collections CPython's own tuples and free lists move count0 by
 * one or two; heapd counts only the containers clients make.) */
static void counts_follow_cpython(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    gc_collect(w->h);
    assert_counts(w, 0, 0, 0);
    tw_bind(w, "a", "[[], [], []]");
    assert_counts(w, 4, 0, 0);
    gc_collect_generation(w->h, 0);
    assert_counts(w, 0, 1, 0);
    tw_bind(w, "b", "[]");
    gc_collect_generation(w->h, 0);
    assert_counts(w, 0, 2, 0);
    gc_collect_generation(w->h, 1);
    assert_counts(w, 0, 0, 1);
    gc_collect(w->h);
    assert_counts(w, 0, 0, 0);
    /* deallocations count down, never below 0 (CPython's gc_dealloc) */
    tw_bind(w, "c", "[]");
    assert_counts(w, 1, 0, 0);
    assert_int_equal(ns_unbind(w->ns, w->s, "b", 1, false, NULL), 0);
    assert_int_equal(ns_unbind(w->ns, w->s, "a", 1, false, NULL), 0);
    assert_counts(w, 0, 0, 0);
    tw_free(w);
}

static void survivors_move_to_1_then_2(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "x", "[[1], {}]");
    assert_int_equal(gen_of(w, "x"), 0);
    gc_collect_generation(w->h, 0);
    assert_int_equal(gen_of(w, "x"), 1);
    assert_int_equal(gc_generation_of(AS_LIST(tw_get(w, "x"))->items[0]), 1);
    gc_collect_generation(w->h, 0); /* generation 0 does not touch 1 */
    assert_int_equal(gen_of(w, "x"), 1);
    gc_collect_generation(w->h, 1);
    assert_int_equal(gen_of(w, "x"), 2);
    gc_collect(w->h);
    assert_int_equal(gen_of(w, "x"), 2);
    gc_stats st;
    gc_get_stats(w->h, &st);
    assert_int_equal(st.gen[2].objects, 3);
    assert_int_equal(st.gen[0].objects + st.gen[1].objects, 0);
    tw_check(w);
    tw_free(w);
}

/* Garbage that is already old is not found by a younger collection. */
static void collect_0_leaves_old_garbage(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "c", "[[]]");
    hobj *c = tw_get(w, "c");
    append(w, AS_LIST(c)->items[0], c); /* c -> [c]: a cycle of two */
    gc_collect_generation(w->h, 0);     /* both survive into generation 1 */
    assert_int_equal(ns_unbind(w->ns, w->s, "c", 1, false, NULL), 0);
    assert_int_equal(gc_collect_generation(w->h, 0), 0);
    assert_int_equal(heap_live(w->h, T_LIST), 2);
    assert_int_equal(gc_collect_generation(w->h, 1), 2);
    assert_int_equal(heap_live(w->h, T_LIST), 0);
    tw_check(w);
    tw_free(w);
}

/* An old container's reference keeps a young one alive (it counts in the
 * young one's refcount); a cycle through an old container waits for an
 * older collection. */
static void references_from_old_are_counted(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "old", "[]");
    gc_collect(w->h);
    assert_int_equal(gen_of(w, "old"), 2);
    hobj *old = tw_get(w, "old"), *young = tw_build(w, "[]");
    append(w, old, young);
    heap_decref(w->h, young);
    assert_int_equal(gc_collect_generation(w->h, 0), 0);
    assert_int_equal(gc_generation_of(young), 1);
    /* now old <-> young, and nothing else: only a full collection sees it */
    append(w, young, old);
    assert_int_equal(ns_unbind(w->ns, w->s, "old", 3, false, NULL), 0);
    assert_int_equal(gc_collect_generation(w->h, 1), 0);
    assert_int_equal(gc_collect(w->h), 2);
    assert_int_equal(heap_live(w->h, T_LIST), 0);
    tw_check(w);
    tw_free(w);
}

/* --- bounded chunks ---------------------------------------------------------- */

/* A young generation of many small cycles is examined a chunk at a time:
 * every chunk is at most about the work asked, the checker holds between
 * chunks while mutation goes on, and the cycles are all found. */
static void chunks_are_bounded_and_find_cycles(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    int n = (int)tw_scaled(2000, 200);
    for (int i = 0; i < n; i++)
        make_self_cycle(w);
    uint64_t chunks = 0;
    while (!gc_young_step_work(w->h, 0, 64)) {
        tw_bind(w, "during", "[[]]"); /* mutators run between chunks */
        tw_check(w);
        chunks++;
    }
    assert_true(chunks >= (uint64_t)n * 2 / 64 - 1); /* 2 units a cycle: 32 a chunk */
    heap_drain_all(w->h);
    assert_int_equal(heap_live(w->h, T_LIST), 2); /* "during" and its item */
    tw_check(w);
    tw_free(w);
}

/* A cycle split between chunks survives (its other half counts as an
 * outside reference) and an older collection finds it; a container bigger
 * than a chunk can examine goes to generation 2 unexamined. */
static void split_cycles_and_huge_containers_wait(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *a = tw_build(w, "[]"), *b = tw_build(w, "[]");
    append(w, a, b);
    append(w, b, a);
    heap_decref(w->h, a);
    heap_decref(w->h, b);
    hobj *big = tw_build(w, "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]");
    append(w, big, big);
    heap_decref(w->h, big);
    while (!gc_young_step_work(w->h, 0, 2)) /* a chunk holds a or b, not both */
        tw_check(w);
    assert_int_equal(gc_generation_of(a), 1);
    assert_int_equal(gc_generation_of(big), 2);
    assert_int_equal(gc_collect_generation(w->h, 1), 2);
    assert_false(big->dead);
    assert_int_equal(gc_collect(w->h), 1);
    assert_int_equal(heap_live(w->h, T_LIST), 0);
    tw_check(w);
    tw_free(w);
}

/* --- freezing ---------------------------------------------------------------- */

static void frozen_garbage_is_ignored(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "keep", "[]");
    hid id = make_self_cycle(w);
    gc_freeze(w->h);
    assert_int_equal(gc_get_freeze_count(w->h), 2);
    assert_int_equal(gc_collect(w->h), 0);
    assert_int_equal(gc_collect_generation(w->h, 0), 0);
    assert_non_null(heap_lookup(w->h, id));
    assert_int_equal(gen_of(w, "keep"), GC_PERMANENT);
    tw_check(w);
    gc_unfreeze(w->h);
    assert_int_equal(gc_get_freeze_count(w->h), 0);
    assert_int_equal(gen_of(w, "keep"), 2);
    assert_int_equal(gc_collect(w->h), 1);
    assert_null(heap_lookup(w->h, id));
    tw_check(w);
    tw_free(w);
}

/* What only a frozen container reaches survives full collections, also
 * when the freeze comes in the middle of one's marking. */
static void frozen_containers_are_roots(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *holder = tw_build(w, "[]"), *other = tw_build(w, "[]");
    append(w, holder, other);
    append(w, other, holder);
    gc_step_work(w->h, 1); /* a full collection starts marking */
    assert_int_equal(gc_get_phase(w->h), GC_MARK);
    gc_freeze(w->h);
    hobj *child = tw_build(w, "[[]]"); /* young, held by a frozen list only */
    append(w, holder, child);
    heap_decref(w->h, child);
    heap_decref(w->h, holder);
    heap_decref(w->h, other); /* frozen garbage now */
    int guard = 0;
    while (gc_step_work(w->h, 1) != GC_IDLE) {
        tw_check(w);
        assert_true(++guard < 100000);
    }
    assert_false(child->dead);
    assert_int_equal(gc_collect(w->h), 0);
    assert_int_equal(gc_collect_generation(w->h, 0), 0);
    assert_false(child->dead);
    tw_check(w);
    gc_unfreeze(w->h);
    assert_int_equal(gc_collect(w->h), 4); /* holder, other, child and its list */
    assert_int_equal(heap_live(w->h, T_LIST), 0);
    tw_check(w);
    tw_free(w);
}

/* --- saveall ------------------------------------------------------------------ */

static void saveall_keeps_garbage_in_gc_garbage(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    gc_set_debug(w->h, GC_DEBUG_SAVEALL);
    hid young = make_self_cycle(w);
    assert_int_equal(gc_collect_generation(w->h, 0), 1);
    hobj *garbage = gc_garbage(w->h);
    assert_int_equal(AS_LIST(garbage)->len, 1);
    assert_non_null(heap_lookup(w->h, young));
    tw_check(w);
    /* a full collection, a slice at a time, with the checker between */
    hid old = make_self_cycle(w);
    int guard = 0;
    do {
        gc_step_work(w->h, 1);
        tw_check(w);
        assert_non_null(heap_lookup(w->h, old)); /* never unreachable by id */
        assert_true(++guard < 100000);
    } while (gc_get_phase(w->h) != GC_IDLE);
    assert_int_equal(AS_LIST(garbage)->len, 2);
    /* without saveall, emptying gc.garbage makes them garbage again */
    gc_set_debug(w->h, 0);
    cont_clear(w->h, garbage);
    heap_drain_all(w->h);
    assert_int_equal(gc_collect(w->h), 2);
    assert_null(heap_lookup(w->h, young));
    assert_null(heap_lookup(w->h, old));
    assert_int_equal(heap_live(w->h, T_LIST), 1); /* gc.garbage itself */
    gc_drop_garbage(w->h);
    assert_int_equal(heap_live(w->h, T_LIST), 0);
    tw_check(w);
    tw_free(w);
}

/* --- automatic collections ------------------------------------------------------ */

/* With thresholds (10, 2, 2), each allocation burst over threshold0 makes
 * one automatic collection, and its generation follows CPython's rule:
 * the oldest whose count exceeds its threshold. */
static void automatic_collections_pick_generations(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    gc_config cfg = GC_DEFAULT_CONFIG;
    cfg.threshold[0] = 10, cfg.threshold[1] = 2, cfg.threshold[2] = 2;
    cfg.heap_fraction = 0;
    gc_use_config(w->h, &cfg);
    gc_collect(w->h);
    int order[9];
    for (int i = 0; i < 9; i++) {
        for (int k = 0; k < 11; k++)
            make_self_cycle(w);
        assert_true(gc_due(w->h, 0));
        gc_stats before, after;
        gc_get_stats(w->h, &before);
        do
            gc_step_paced(w->h, 1000000);
        while (gc_running(w->h));
        gc_get_stats(w->h, &after);
        order[i] = -1;
        for (int g = 0; g < GC_GENERATIONS; g++)
            if (after.gen[g].collections != before.gen[g].collections)
                order[i] = g;
        heap_drain_all(w->h);
        assert_false(gc_due(w->h, 0));
        tw_check(w);
    }
    /* 0 0 0 1 0 0 0 1 0 ...: count1 must exceed 2; a full one needs count2 > 2 */
    int want[9] = {0, 0, 0, 1, 0, 0, 0, 1, 0};
    for (int i = 0; i < 9; i++)
        assert_int_equal(order[i], want[i]);
    assert_int_equal(heap_live(w->h, T_LIST), 0);
    tw_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(self_referencing_list_dies_in_generation_0),
        cmocka_unit_test(counts_follow_cpython),
        cmocka_unit_test(survivors_move_to_1_then_2),
        cmocka_unit_test(collect_0_leaves_old_garbage),
        cmocka_unit_test(references_from_old_are_counted),
        cmocka_unit_test(chunks_are_bounded_and_find_cycles),
        cmocka_unit_test(split_cycles_and_huge_containers_wait),
        cmocka_unit_test(frozen_garbage_is_ignored),
        cmocka_unit_test(frozen_containers_are_roots),
        cmocka_unit_test(saveall_keeps_garbage_in_gc_garbage),
        cmocka_unit_test(automatic_collections_pick_generations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
