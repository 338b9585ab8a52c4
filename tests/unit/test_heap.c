/* The heap: exact reference counts, freeing and its cascade, ids, the
 * deferred-free queue, counters and limits (SPEC sections 1 and 8). */
#include "testlib.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static int unbind(tworld *w, const char *name)
{
    return ns_unbind(w->ns, w->s, name, strlen(name), false, NULL);
}

static hid id_of(tworld *w, const char *name)
{
    return hobj_id(tw_get(w, name));
}

static hobj *item(hobj *list, uint32_t i)
{
    assert_true(i < AS_LIST(list)->len);
    return AS_LIST(list)->items[i];
}

/* --- the seed examples ---------------------------------------------------- */

static void seed_examples_hold(intern_policy policy)
{
    tworld *w = tw_new(policy);
    tw_bind(w, "E", "26");
    tw_bind(w, "K", "26");
    assert_ptr_equal(tw_get(w, "E"), tw_get(w, "K"));
    assert_int_equal(tw_refcount(w, "E"), 2);
    tw_bind(w, "Z", "[26, 26]");
    assert_int_equal(tw_refcount(w, "K"), 4);
    assert_int_equal(unbind(w, "E"), 0);
    assert_int_equal(tw_refcount(w, "K"), 3);
    tw_check(w);
    tw_free(w);
}

static void seed_examples_hold_with_python_interning(void **state)
{
    (void)state;
    seed_examples_hold(INTERN_PYTHON);
}

static void seed_examples_hold_with_all_interning(void **state)
{
    (void)state;
    seed_examples_hold(INTERN_ALL);
}

/* --- rebinding ------------------------------------------------------------ */

static void rebinding_frees_a_mortal_old_object(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "X", "123456");
    hid old = id_of(w, "X");
    uint64_t ints = heap_live(w->h, T_INT);
    tw_bind(w, "X", "654321");
    assert_null(heap_lookup(w->h, old));
    assert_int_equal(heap_live(w->h, T_INT), ints);
    assert_int_equal(tw_refcount(w, "X"), 1);
    tw_check(w);
    tw_free(w);
}

static void rebinding_drops_one_reference_of_a_shared_object(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "E", "26");
    tw_bind(w, "K", "26");
    hobj *o = tw_get(w, "E");
    tw_bind(w, "K", "'other'");
    assert_int_equal(o->refcnt, 1);
    tw_bind(w, "E", "None");
    /* interned: exact count 0, but never freed */
    assert_int_equal(o->refcnt, 0);
    assert_ptr_equal(heap_lookup(w->h, hobj_id(o)), o);
    tw_check(w);
    tw_free(w);
}

static void rebinding_a_name_to_its_own_object_keeps_it(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "X", "[123456]");
    hid id = id_of(w, "X");
    tw_bind(w, "X", "$X");
    assert_ptr_equal(heap_lookup(w->h, id), tw_get(w, "X"));
    assert_int_equal(tw_refcount(w, "X"), 1);
    tw_check(w);
    tw_free(w);
}

/* --- cascades ------------------------------------------------------------- */

static void unbinding_frees_what_only_it_held(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "S", "'shared string'");
    tw_bind(w, "L", "[7000]");
    heap_decref(w->h, tw_build(w, "'k'")); /* interned, immortal: made before counting */
    uint64_t live[T__COUNT];
    for (int t = 0; t < T__COUNT; t++)
        live[t] = heap_live(w->h, (htype)t);

    char lit[400], xs[201];
    memset(xs, 'x', 200);
    xs[200] = '\0';
    snprintf(lit, sizeof lit, "[[1000, '%s'], {'k': $S, 5000: [1.5, $L]}, $S]", xs);
    tw_bind(w, "a", lit);
    hobj *a = tw_get(w, "a"), *inner = item(a, 0), *d = item(a, 1);
    hobj *ka = heap_str(w->h, "k", 1);
    uint64_t hash;
    assert_int_equal(cont_hash(ka, &hash, NULL), 0);
    hobj *five = heap_int(w->h, 5000);
    uint64_t hash5;
    assert_int_equal(cont_hash(five, &hash5, NULL), 0);
    hobj *sub = cont_dict_get(d, five, hash5);
    heap_decref(w->h, five);
    assert_non_null(sub);
    assert_ptr_equal(cont_dict_get(d, ka, hash), tw_get(w, "S"));
    heap_decref(w->h, ka);
    hid owned[] = {hobj_id(a), hobj_id(inner), hobj_id(item(inner, 0)), hobj_id(item(inner, 1)),
                   hobj_id(d), hobj_id(sub),   hobj_id(item(sub, 0))};
    assert_int_equal(tw_refcount(w, "S"), 3);
    assert_int_equal(tw_refcount(w, "L"), 2);
    tw_check(w);

    assert_int_equal(unbind(w, "a"), 0);
    tw_check(w);
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        assert_null(heap_lookup(w->h, owned[i]));
    assert_int_equal(tw_refcount(w, "S"), 1);
    assert_int_equal(tw_refcount(w, "L"), 1);
    assert_int_equal(AS_INT(item(tw_get(w, "L"), 0))->v, 7000);
    for (int t = 0; t < T__COUNT; t++)
        assert_int_equal(heap_live(w->h, (htype)t), live[t]);
    tw_free(w);
}

/* --- ids ------------------------------------------------------------------ */

static void a_freed_id_stays_stale_after_its_slot_is_reused(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *o = tw_build(w, "123456");
    hid old = hobj_id(o);
    heap_decref(w->h, o);
    assert_null(heap_lookup(w->h, old));
    hobj *n = tw_build(w, "654321");
    hid id = hobj_id(n);
    assert_int_equal(hid_slot(id), hid_slot(old)); /* the slot was reused */
    assert_int_not_equal(id, old);
    assert_null(heap_lookup(w->h, old));
    assert_ptr_equal(heap_lookup(w->h, id), n);
    heap_decref(w->h, n);
    tw_check(w);
    tw_free(w);
}

static void live_objects_have_distinct_ids(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "X", "[1000, 1001, 'a b', 2.5, (1000,), [], {}, set(), b'x', None]");
    hobj *x = tw_get(w, "X");
    hid ids[10];
    for (uint32_t i = 0; i < 10; i++) {
        ids[i] = hobj_id(item(x, i));
        assert_ptr_equal(heap_lookup(w->h, ids[i]), item(x, i));
        for (uint32_t j = 0; j < i; j++)
            assert_int_not_equal(ids[i], ids[j]);
    }
    tw_check(w);
    tw_free(w);
}

static void lookup_of_malformed_ids_finds_nothing(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "X", "123456");
    hobj *o = tw_get(w, "X");
    hid id = hobj_id(o);
    assert_ptr_equal(heap_lookup(w->h, id), o);
    for (hid t = T__COUNT; t <= 0xF; t++)
        assert_null(heap_lookup(w->h, (id & ~(hid)0xF) | t));
    for (int bit = 36; bit < 40; bit++)
        assert_null(heap_lookup(w->h, id | (hid)1 << bit));
    assert_null(heap_lookup(w->h, hid_make(hid_gen(id) + 1, hid_slot(id), T_INT)));
    assert_null(heap_lookup(w->h, hid_make(0, heap_slab(w->h, T_INT)->nslots, T_INT)));
    assert_null(heap_lookup(w->h, hid_make(0, 0xFFFFFFF0u, T_INT)));
    assert_null(heap_lookup(w->h, hid_make(0, UINT32_MAX, T_LIST)));
    assert_null(heap_lookup(w->h, UINT64_MAX));
    tw_check(w);
    tw_free(w);
}

/* --- deep chains and the deferred queue ------------------------------------ */

static void *unbind_and_drain(void *arg)
{
    tworld *w = arg;
    unbind(w, "chain");
    heap_drain_all(w->h);
    return NULL;
}

static void a_deep_chain_frees_on_a_64k_stack(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    uint64_t n = tw_scaled(10000000, 10000), lists = heap_live(w->h, T_LIST);
    hobj *chain = heap_list(w->h, 1);
    for (uint64_t i = 1; i < n; i++) {
        hobj *outer = heap_list(w->h, 1);
        cont_list_append(w->h, outer, chain);
        chain = outer;
    }
    ns_bind(w->ns, w->s, "chain", 5, chain, false);
    assert_int_equal(heap_live(w->h, T_LIST), lists + n);

    pthread_attr_t attr;
    pthread_t thread;
    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstacksize(&attr, 64 * 1024), 0);
    assert_int_equal(pthread_create(&thread, &attr, unbind_and_drain, w), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    pthread_attr_destroy(&attr);

    assert_int_equal(heap_live(w->h, T_LIST), lists);
    assert_int_equal(heap_get_stats(w->h)->pending, 0);
    assert_true(heap_get_stats(w->h)->longest_cascade >= n);
    tw_check(w);
    tw_free(w);
}

static void a_large_cascade_continues_in_later_slices(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    uint32_t n = (uint32_t)tw_scaled(1000000, 20000);
    uint64_t ints = heap_live(w->h, T_INT);
    hobj *big = heap_list(w->h, n);
    for (uint32_t i = 0; i < n; i++)
        cont_list_append(w->h, big, heap_int(w->h, 1000 + (int64_t)i));
    ns_bind(w->ns, w->s, "big", 3, big, false);
    hid id = hobj_id(big);

    assert_int_equal(unbind(w, "big"), 0);
    assert_null(heap_lookup(w->h, id));
    assert_false(heap_drain(w->h, 1));
    uint64_t pending = heap_get_stats(w->h)->pending;
    assert_true(pending > 0 && pending < n);
    assert_int_equal(heap_live(w->h, T_INT), ints + pending);
    assert_check_ok(w->h); /* the queue's references are counted */

    unsigned slices = 1;
    while (!heap_drain(w->h, 1))
        slices++;
    assert_true(slices > 1);
    assert_int_equal(heap_get_stats(w->h)->pending, 0);
    assert_int_equal(heap_live(w->h, T_INT), ints);
    assert_check_ok(w->h);
    tw_free(w);
}

/* --- counters ------------------------------------------------------------- */

static void counters_follow_a_build_and_its_free(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    heap *h = w->h;
    tw_bind(w, "E", "123456");
    heap_stats s0 = *heap_get_stats(h);
    uint64_t lists = heap_live(h, T_LIST), ints = heap_live(h, T_INT), strs = heap_live(h, T_STR);
    uint64_t cost = heap_cost(T_LIST, 3) + heap_cost(T_INT, 0) + heap_cost(T_STR, 11);

    hobj *l = tw_build(w, "[1000, 'hello world', $E]"); /* held by the test */
    const heap_stats *st = heap_get_stats(h);
    assert_int_equal(st->allocated, s0.allocated + 3);
    assert_int_equal(st->freed, s0.freed);
    assert_int_equal(st->bytes, s0.bytes + cost);
    assert_int_equal(st->peak_bytes,
                     s0.bytes + cost > s0.peak_bytes ? s0.bytes + cost : s0.peak_bytes);
    assert_int_equal(st->increfs, s0.increfs + 4); /* three births and $E */
    assert_int_equal(st->decrefs, s0.decrefs);
    assert_int_equal(heap_live(h, T_LIST), lists + 1);
    assert_int_equal(heap_live(h, T_INT), ints + 1);
    assert_int_equal(heap_live(h, T_STR), strs + 1);
    assert_int_equal(tw_refcount(w, "E"), 2);

    heap_decref(h, l);
    assert_int_equal(st->pending, 3);
    assert_int_equal(st->freed, s0.freed + 1);
    heap_drain_all(h);
    assert_int_equal(st->allocated, s0.allocated + 3);
    assert_int_equal(st->freed, s0.freed + 3);
    assert_int_equal(st->frees_refcount, s0.frees_refcount + 3);
    assert_int_equal(st->frees_gc, s0.frees_gc);
    assert_int_equal(st->decrefs, s0.decrefs + 4);
    assert_int_equal(st->longest_cascade, 3);
    assert_int_equal(st->pending, 0);
    assert_int_equal(st->bytes, s0.bytes);
    assert_int_equal(heap_live(h, T_LIST), lists);
    assert_int_equal(heap_live(h, T_INT), ints);
    assert_int_equal(heap_live(h, T_STR), strs);
    assert_int_equal(tw_refcount(w, "E"), 1);
    tw_check(w);
    tw_free(w);
}

/* --- limits --------------------------------------------------------------- */

static void building_past_the_object_limit_fails_and_changes_nothing(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    heap *h = w->h;
    tw_bind(w, "keep", "[1000]");
    heap_set_limits(h, heap_live_total(h) + 2, 0);
    herr err = {0};
    hobj *o = NULL;
    tsnap *snap = tsnap_take(h);
    assert_int_equal(tw_try_build(w, "[2000, 3000]", &o, &err), HE_MEMORY);
    assert_int_equal(err.code, HE_MEMORY);
    assert_non_null(strstr(err.msg, "max_objects"));
    assert_null(o);
    tsnap_assert_same(h, snap);
    tw_check(w);

    hobj *held = tw_build(w, "[2000]"); /* exactly at the limit */
    snap = tsnap_take(h);
    assert_int_equal(tw_try_build(w, "4000", &o, &err), HE_MEMORY);
    tsnap_assert_same(h, snap);
    hobj *small = tw_build(w, "7"); /* interned: costs no object */
    heap_decref(h, small);

    /* freeing works at the limit, and makes room */
    cont_clear(h, held);
    heap_drain_all(h);
    assert_int_equal(unbind(w, "keep"), 0);
    heap_drain_all(h);
    heap_decref(h, held);
    heap_decref(h, tw_build(w, "[2000, 3000]"));
    tw_check(w);
    tw_free(w);
}

static void building_past_the_memory_limit_fails_and_changes_nothing(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    heap *h = w->h;
    char lit[120];
    memset(lit + 1, 'y', 100);
    lit[0] = lit[101] = '\'';
    lit[102] = '\0';
    tw_bind(w, "keep", "[1000]");
    heap_set_limits(h, 0, heap_get_stats(h)->bytes + heap_cost(T_STR, 100));

    hobj *s = tw_build(w, lit); /* exactly at the limit */
    assert_int_equal(heap_get_stats(h)->bytes, heap_cfg(h)->max_bytes);
    herr err = {0};
    hobj *o = NULL;
    tsnap *snap = tsnap_take(h);
    assert_int_equal(tw_try_build(w, "2000", &o, &err), HE_MEMORY);
    assert_non_null(strstr(err.msg, "max_memory_bytes"));
    tsnap_assert_same(h, snap);

    /* freeing works at the limit */
    cont_clear(h, tw_get(w, "keep"));
    heap_drain_all(h);
    heap_decref(h, tw_build(w, "2000"));
    heap_decref(h, s);
    assert_int_equal(unbind(w, "keep"), 0);
    tw_check(w);
    tw_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seed_examples_hold_with_python_interning),
        cmocka_unit_test(seed_examples_hold_with_all_interning),
        cmocka_unit_test(rebinding_frees_a_mortal_old_object),
        cmocka_unit_test(rebinding_drops_one_reference_of_a_shared_object),
        cmocka_unit_test(rebinding_a_name_to_its_own_object_keeps_it),
        cmocka_unit_test(unbinding_frees_what_only_it_held),
        cmocka_unit_test(a_freed_id_stays_stale_after_its_slot_is_reused),
        cmocka_unit_test(live_objects_have_distinct_ids),
        cmocka_unit_test(lookup_of_malformed_ids_finds_nothing),
        cmocka_unit_test(a_deep_chain_frees_on_a_64k_stack),
        cmocka_unit_test(a_large_cascade_continues_in_later_slices),
        cmocka_unit_test(counters_follow_a_build_and_its_free),
        cmocka_unit_test(building_past_the_object_limit_fails_and_changes_nothing),
        cmocka_unit_test(building_past_the_memory_limit_fails_and_changes_nothing),
    };
    return cmocka_run_group_tests_name("heap", tests, NULL, NULL);
}
