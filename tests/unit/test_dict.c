/* dict and set tables through the container API (cont.h, htab.h). */
#include "testlib.h"

#include "hash.h"

static uint64_t hash_of(hobj *o)
{
    uint64_t hv = 0;
    assert_true(obj_hash(o, &hv));
    return hv;
}

/* d[key] = val, stealing both. */
static void dset(heap *h, hobj *d, hobj *key, hobj *val)
{
    cont_table_reserve(h, d, 1);
    cont_dict_set(h, d, key, hash_of(key), val);
}

static bool sadd(heap *h, hobj *s, hobj *key)
{
    cont_table_reserve(h, s, 1);
    return cont_set_add(h, s, key, hash_of(key));
}

/* The value of int key k (borrowed), or NULL. */
static hobj *dget_int(heap *h, hobj *d, int64_t k)
{
    hobj *key = heap_int(h, k);
    hobj *v = cont_dict_get(d, key, hash_of(key));
    heap_decref(h, key);
    return v;
}

static int dpop_int(heap *h, hobj *d, int64_t k)
{
    hobj *key = heap_int(h, k);
    herr err = {0};
    int rc = cont_dict_pop(h, d, key, hash_of(key), NULL, &err);
    heap_decref(h, key);
    return rc;
}

/* The int keys of d in entry order, into out; returns how many. */
static uint32_t int_keys(hobj *d, int64_t *out, uint32_t cap)
{
    hdict *t = AS_DICT(d);
    uint32_t n = 0;
    for (uint32_t i = 0; t->tb && i < t->fill; i++) {
        hentry *e = htab_entry(t, i);
        if (!e->key)
            continue;
        assert_true(n < cap);
        out[n++] = AS_INT(e->key)->v;
    }
    assert_int_equal(n, t->used);
    return n;
}

static void empty_dict_finds_nothing(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "d", "{}");
    hobj *d = tw_get(w, "d");
    assert_null(dget_int(w->h, d, 1));
    assert_int_equal(dpop_int(w->h, d, 1), HE_KEY);
    tw_free(w);
}

static void set_then_get_returns_the_value(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "d", "{}");
    heap *h = w->h;
    hobj *d = tw_get(w, "d");
    hobj *v = tw_build(w, "'value one'");
    dset(h, d, heap_int(h, 1000), v);
    assert_ptr_equal(dget_int(h, d, 1000), v);
    assert_int_equal(v->refcnt, 1);
    assert_int_equal(AS_DICT(d)->used, 1);
    tw_check(w);
    tw_free(w);
}

static void insertion_order_survives_deletes_and_growth(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "d", "{}");
    heap *h = w->h;
    hobj *d = tw_get(w, "d");
    int64_t want[400], got[400];
    uint32_t n = 0;
    for (int64_t k = 0; k < 50; k++)
        dset(h, d, heap_int(h, 1000 + k), heap_none(h));
    for (int64_t k = 0; k < 50; k += 3)
        assert_int_equal(dpop_int(h, d, 1000 + k), 0);
    /* a deleted key inserted again goes to the end, as in Python */
    dset(h, d, heap_int(h, 1000 + 3), heap_none(h));
    uint32_t log2_before = AS_DICT(d)->tb->log2;
    for (int64_t k = 50; k < 300; k++)
        dset(h, d, heap_int(h, 1000 + k), heap_none(h));
    assert_true(AS_DICT(d)->tb->log2 > log2_before);

    for (int64_t k = 0; k < 50; k++)
        if (k % 3 != 0)
            want[n++] = 1000 + k;
    want[n++] = 1003;
    for (int64_t k = 50; k < 300; k++)
        want[n++] = 1000 + k;
    assert_int_equal(int_keys(d, got, 400), n);
    assert_memory_equal(got, want, n * sizeof *want);
    tw_check(w);
    tw_free(w);
}

static void overwriting_keeps_position(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "d", "{300: 1, 301: 2, 302: 3}");
    heap *h = w->h;
    hobj *d = tw_get(w, "d");
    dset(h, d, heap_int(h, 300), heap_int(h, 9));
    int64_t got[3];
    assert_int_equal(int_keys(d, got, 3), 3);
    assert_int_equal(got[0], 300);
    assert_int_equal(got[2], 302);
    assert_int_equal(AS_INT(dget_int(h, d, 300))->v, 9);
    tw_check(w);
    tw_free(w);
}

static void one_float_one_and_true_collapse_keeping_first_key(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "d", "{}");
    heap *h = w->h;
    hobj *d = tw_get(w, "d");
    hobj *k1 = heap_int(h, 1), *v1 = heap_list(h, 0);
    uint32_t one_refs = k1->refcnt;
    heap_incref(h, v1); /* ours, to watch the count */
    dset(h, d, k1, v1);
    assert_int_equal(v1->refcnt, 2);

    hobj *k2 = heap_float(h, 1.0), *v2 = heap_list(h, 0);
    heap_incref(h, k2);
    heap_incref(h, v2);
    dset(h, d, k2, v2);
    assert_int_equal(AS_DICT(d)->used, 1);
    assert_ptr_equal(htab_entry(AS_DICT(d), 0)->key, k1);
    assert_ptr_equal(htab_entry(AS_DICT(d), 0)->val, v2);
    assert_int_equal(k2->refcnt, 1); /* the rejected key was dropped */
    assert_int_equal(v1->refcnt, 1); /* the replaced value was dropped */
    assert_int_equal(v2->refcnt, 2);
    assert_int_equal(k1->refcnt, one_refs);

    dset(h, d, heap_bool(h, true), heap_int(h, 7));
    assert_int_equal(AS_DICT(d)->used, 1);
    assert_ptr_equal(htab_entry(AS_DICT(d), 0)->key, k1);
    assert_int_equal(v2->refcnt, 1);
    assert_int_equal(AS_INT(cont_dict_get(d, k2, hash_of(k2)))->v, 7);

    heap_decref(h, k2);
    heap_decref(h, v1);
    heap_decref(h, v2);
    tw_check(w);
    tw_free(w);
}

static void pop_hands_over_the_value_and_drops_the_key(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "d", "{'k k': [1]}");
    heap *h = w->h;
    hobj *d = tw_get(w, "d");
    hobj *key = htab_entry(AS_DICT(d), 0)->key;
    heap_incref(h, key);
    hobj *probe = tw_build(w, "'k k'"), *val = NULL;
    assert_ptr_not_equal(probe, key);
    assert_int_equal(cont_dict_pop(h, d, probe, hash_of(probe), &val, NULL), 0);
    assert_int_equal(val->type, T_LIST);
    assert_int_equal(val->refcnt, 1); /* now ours */
    assert_int_equal(key->refcnt, 1);
    assert_int_equal(AS_DICT(d)->used, 0);
    herr err = {0};
    assert_int_equal(cont_dict_pop(h, d, probe, hash_of(probe), NULL, &err), HE_KEY);
    assert_int_equal(err.code, HE_KEY);
    heap_decref(h, probe);
    heap_decref(h, key);
    heap_decref(h, val);
    tw_check(w);
    tw_free(w);
}

#define MANY 10000

static void lookups_stay_right_after_mass_delete_and_reinsert(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "d", "{}");
    heap *h = w->h;
    hobj *d = tw_get(w, "d");
    for (int64_t k = 0; k < MANY; k++)
        dset(h, d, heap_int(h, 1000 + k), heap_int(h, -1000 - k));
    for (int64_t k = 0; k < MANY; k += 2)
        assert_int_equal(dpop_int(h, d, 1000 + k), 0);
    assert_int_equal(AS_DICT(d)->used, MANY / 2);
    for (int64_t k = 0; k < MANY; k++) {
        hobj *v = dget_int(h, d, 1000 + k);
        if (k % 2 == 0)
            assert_null(v);
        else
            assert_int_equal(AS_INT(v)->v, -1000 - k);
    }
    tw_check(w);
    for (int64_t k = 0; k < MANY; k += 2)
        dset(h, d, heap_int(h, 1000 + k), heap_int(h, 5000000 + k));
    assert_int_equal(AS_DICT(d)->used, MANY);
    for (int64_t k = 0; k < MANY; k++) {
        hobj *v = dget_int(h, d, 1000 + k);
        assert_non_null(v);
        assert_int_equal(AS_INT(v)->v, k % 2 ? -1000 - k : 5000000 + k);
    }
    assert_null(dget_int(h, d, 1000 + MANY));
    tw_check(w);
    tw_free(w);
}

static void reserve_reports_the_bytes_it_adds(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "d", "{}");
    heap *h = w->h;
    hobj *d = tw_get(w, "d");
    size_t grow = cont_table_grow_bytes(d, 100);
    uint64_t before = heap_get_stats(h)->bytes;
    cont_table_reserve(h, d, 100);
    assert_true(grow > 0);
    assert_int_equal(heap_get_stats(h)->bytes - before, grow);
    assert_int_equal(cont_table_grow_bytes(d, 100), 0);
    tw_check(w);
    tw_free(w);
}

static void clear_empties_and_frees_what_only_it_held(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "d", "{'a': [1], 'b': [2], 'c': {3: [4]}}");
    tw_bind(w, "keep", "[0]");
    heap *h = w->h;
    hobj *d = tw_get(w, "d"), *keep = tw_get(w, "keep");
    dset(h, d, tw_build(w, "'d'"), heap_incref(h, keep));
    assert_int_equal(keep->refcnt, 2);
    assert_int_equal(heap_live(h, T_LIST), 4);
    cont_clear(h, d);
    assert_int_equal(AS_DICT(d)->used, 0);
    assert_null(dget_int(h, d, 3));
    heap_drain_all(h);
    assert_int_equal(heap_live(h, T_LIST), 1);
    assert_int_equal(heap_live(h, T_DICT), 1);
    assert_int_equal(keep->refcnt, 1);
    /* the dict is usable again */
    dset(h, d, heap_int(h, 1000), heap_none(h));
    assert_non_null(dget_int(h, d, 1000));
    tw_check(w);
    tw_free(w);
}

static void freeing_a_dict_releases_keys_and_values(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "d", "{'x y': [1, 2], 2.5: (3, 4)}");
    heap *h = w->h;
    assert_int_equal(heap_live(h, T_LIST), 1);
    assert_int_equal(ns_unbind(w->ns, w->s, "d", 1, false, NULL), 0);
    heap_drain_all(h);
    assert_int_equal(heap_live(h, T_DICT), 0);
    assert_int_equal(heap_live(h, T_LIST), 0);
    assert_int_equal(heap_live(h, T_TUPLE), 0);
    assert_int_equal(heap_live(h, T_FLOAT), 0);
    assert_int_equal(heap_live(h, T_STR), 0);
    tw_check(w);
    tw_free(w);
}

static void set_add_rejects_equal_keys_and_drops_them(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "s", "set()");
    heap *h = w->h;
    hobj *s = tw_get(w, "s");
    hobj *one = heap_int(h, 1);
    assert_true(sadd(h, s, one));
    hobj *f = heap_float(h, 1.0);
    heap_incref(h, f);
    assert_false(sadd(h, s, f));
    assert_int_equal(f->refcnt, 1);
    assert_false(sadd(h, s, heap_bool(h, true)));
    assert_int_equal(AS_DICT(s)->used, 1);
    assert_ptr_equal(htab_entry(AS_DICT(s), 0)->key, one);
    assert_null(htab_entry(AS_DICT(s), 0)->val);
    assert_true(cont_table_contains(s, f, hash_of(f)));
    heap_decref(h, f);
    tw_check(w);
    tw_free(w);
}

static void set_discard_removes_only_members(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "s", "{'p q', 2.5, (1, 2)}");
    heap *h = w->h;
    hobj *s = tw_get(w, "s");
    hobj *t = tw_build(w, "(1.0, 2)"), *absent = tw_build(w, "(1, 3)");
    assert_true(cont_table_contains(s, t, hash_of(t)));
    assert_false(cont_set_discard(h, s, absent, hash_of(absent)));
    assert_int_equal(AS_DICT(s)->used, 3);
    assert_true(cont_set_discard(h, s, t, hash_of(t)));
    assert_false(cont_table_contains(s, t, hash_of(t)));
    assert_int_equal(AS_DICT(s)->used, 2);
    assert_int_equal(heap_live(h, T_TUPLE), 2); /* ours; the member was freed */
    heap_decref(h, t);
    heap_decref(h, absent);
    tw_check(w);
    tw_free(w);
}

static void set_keeps_insertion_order_across_discards(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "s", "set()");
    heap *h = w->h;
    hobj *s = tw_get(w, "s");
    for (int64_t k = 0; k < 100; k++)
        assert_true(sadd(h, s, heap_int(h, 500 + k)));
    for (int64_t k = 0; k < 100; k += 2) {
        hobj *key = heap_int(h, 500 + k);
        assert_true(cont_set_discard(h, s, key, hash_of(key)));
        heap_decref(h, key);
    }
    for (int64_t k = 100; k < 200; k++)
        assert_true(sadd(h, s, heap_int(h, 500 + k)));
    int64_t got[200];
    uint32_t n = int_keys(s, got, 200), i = 0;
    assert_int_equal(n, 150);
    for (int64_t k = 1; k < 100; k += 2)
        assert_int_equal(got[i++], 500 + k);
    for (int64_t k = 100; k < 200; k++)
        assert_int_equal(got[i++], 500 + k);
    tw_check(w);
    tw_free(w);
}

static void cont_hash_names_the_unhashable_type(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *l = tw_build(w, "[1]"), *t = tw_build(w, "(1, [2])"), *d = tw_build(w, "{}");
    herr err = {0};
    uint64_t hv;
    assert_int_equal(cont_hash(l, &hv, &err), HE_TYPE);
    assert_string_equal(err.msg, "unhashable type: 'list'");
    assert_int_equal(cont_hash(d, &hv, &err), HE_TYPE);
    assert_string_equal(err.msg, "unhashable type: 'dict'");
    assert_int_equal(cont_hash(t, &hv, &err), HE_TYPE);
    hobj *five = heap_int(w->h, 5);
    assert_int_equal(cont_hash(five, &hv, NULL), 0);
    heap_decref(w->h, five);
    heap_decref(w->h, l);
    heap_decref(w->h, t);
    heap_decref(w->h, d);
    tw_check(w);
    tw_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_dict_finds_nothing),
        cmocka_unit_test(set_then_get_returns_the_value),
        cmocka_unit_test(insertion_order_survives_deletes_and_growth),
        cmocka_unit_test(overwriting_keeps_position),
        cmocka_unit_test(one_float_one_and_true_collapse_keeping_first_key),
        cmocka_unit_test(pop_hands_over_the_value_and_drops_the_key),
        cmocka_unit_test(lookups_stay_right_after_mass_delete_and_reinsert),
        cmocka_unit_test(reserve_reports_the_bytes_it_adds),
        cmocka_unit_test(clear_empties_and_frees_what_only_it_held),
        cmocka_unit_test(freeing_a_dict_releases_keys_and_values),
        cmocka_unit_test(set_add_rejects_equal_keys_and_drops_them),
        cmocka_unit_test(set_discard_removes_only_members),
        cmocka_unit_test(set_keeps_insertion_order_across_discards),
        cmocka_unit_test(cont_hash_names_the_unhashable_type),
    };
    return cmocka_run_group_tests_name("dict", tests, NULL, NULL);
}
