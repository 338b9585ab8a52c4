/* The intern table (intern.h) and the interning policies as the heap
 * applies them (SPEC section 1, "Reuse of immutables"). */
#include "testlib.h"

#include "hash.h"
#include "intern.h"

#include <string.h>

/* --- the table ---------------------------------------------------------- */

#define NOBJ 1000

static hint *ints_new(size_t n)
{
    hint *objs = test_calloc(n, sizeof *objs);
    for (size_t i = 0; i < n; i++)
        objs[i].h.type = T_INT;
    return objs;
}

static hobj *find_int(const itab *t, int64_t v)
{
    return itab_find_num(t, T_INT, &v);
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void shuffle(size_t *a, size_t n, uint64_t seed)
{
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = rng_next(&seed) % (i + 1), tmp = a[i];
        a[i] = a[j];
        a[j] = tmp;
    }
}

static void itab_add_find_remove(void **state)
{
    (void)state;
    itab t;
    itab_init(&t);
    hint *objs = ints_new(3);
    objs[0].v = 7, objs[1].v = 8, objs[2].v = 7;
    assert_null(itab_find(&t, &objs[0].h));
    itab_add(&t, &objs[0].h);
    itab_add(&t, &objs[1].h);
    assert_int_equal(t.count, 2);
    assert_ptr_equal(itab_find(&t, &objs[2].h), &objs[0].h); /* equal value, other object */
    assert_ptr_equal(find_int(&t, 8), &objs[1].h);
    assert_null(find_int(&t, 9));
    itab_remove(&t, &objs[0].h);
    assert_null(itab_find(&t, &objs[2].h));
    assert_ptr_equal(find_int(&t, 8), &objs[1].h);
    assert_int_equal(t.count, 1);
    assert_true(itab_bytes(&t) > 0);
    itab_destroy(&t);
    assert_int_equal(itab_bytes(&t), 0);
    test_free(objs);
}

static void itab_tells_types_and_float_bits_apart(void **state)
{
    (void)state;
    itab t;
    itab_init(&t);
    hint i = {.h = {.type = T_INT}, .v = 1}, b = {.h = {.type = T_BOOL}, .v = 1};
    hfloat z = {.h = {.type = T_FLOAT}, .v = 0.0};
    itab_add(&t, &i.h);
    itab_add(&t, &z.h);
    assert_null(itab_find(&t, &b.h));
    double one = 1.0, negzero = -0.0, zero = 0.0;
    assert_null(itab_find_num(&t, T_FLOAT, &one));
    assert_null(itab_find_num(&t, T_FLOAT, &negzero));
    assert_ptr_equal(itab_find_num(&t, T_FLOAT, &zero), &z.h);
    itab_destroy(&t);
}

static void itab_finds_strs_and_bytes_by_content(void **state)
{
    (void)state;
    itab t;
    itab_init(&t);
    hstr s = {.h = {.type = T_STR}, .len = 3, .data = "a\0b"};
    hstr b = {.h = {.type = T_BYTES}, .len = 2, .data = "xy"};
    itab_add(&t, &s.h);
    itab_add(&t, &b.h);
    assert_ptr_equal(itab_find_str(&t, T_STR, "a\0b", 3), &s.h);
    assert_null(itab_find_str(&t, T_STR, "a", 1));
    assert_null(itab_find_str(&t, T_BYTES, "a\0b", 3));
    assert_ptr_equal(itab_find_str(&t, T_BYTES, "xy", 2), &b.h);
    assert_null(itab_find_str(&t, T_STR, "xy", 2));
    itab_destroy(&t);
}

/* Values whose home slot, at every table size up to 2048, is one of the
 * last 8 slots: one long run that wraps around the end of the table. */
static void colliding_ints(hint *objs, size_t n)
{
    size_t found = 0;
    for (int64_t v = 0; found < n; v++) {
        hint probe = {.h = {.type = T_INT}, .v = v};
        if ((hash_mix(value_hash(&probe.h)) & 2047) >= 2040)
            objs[found++].v = v;
    }
}

static void backward_shift_keeps_colliding_runs_findable(void **state)
{
    (void)state;
    itab t;
    itab_init(&t);
    hint *objs = ints_new(NOBJ);
    colliding_ints(objs, NOBJ);
    for (size_t i = 0; i < NOBJ; i++)
        itab_add(&t, &objs[i].h);
    assert_int_equal(t.mask, 2047);
    for (size_t i = 0; i < NOBJ; i++)
        assert_ptr_equal(find_int(&t, objs[i].v), &objs[i].h);

    size_t order[NOBJ];
    bool gone[NOBJ] = {0};
    for (size_t i = 0; i < NOBJ; i++)
        order[i] = i;
    shuffle(order, NOBJ, 0x9E3779B97F4A7C15ull);
    for (size_t r = 0; r < NOBJ / 2; r++) {
        itab_remove(&t, &objs[order[r]].h);
        gone[order[r]] = true;
        if (r % 100 != 99)
            continue;
        for (size_t i = 0; i < NOBJ; i++)
            assert_ptr_equal(find_int(&t, objs[i].v), gone[i] ? NULL : &objs[i].h);
    }
    assert_int_equal(t.count, NOBJ / 2);
    itab_destroy(&t);
    test_free(objs);
}

static void removing_everything_empties_the_table(void **state)
{
    (void)state;
    itab t;
    itab_init(&t);
    hint *objs = ints_new(NOBJ);
    size_t order[NOBJ];
    for (size_t i = 0; i < NOBJ; i++) {
        objs[i].v = (int64_t)i * 7919;
        itab_add(&t, &objs[i].h);
        order[i] = i;
    }
    shuffle(order, NOBJ, 12345);
    for (size_t r = 0; r < NOBJ; r++)
        itab_remove(&t, &objs[order[r]].h);
    assert_int_equal(t.count, 0);
    for (size_t i = 0; i <= t.mask; i++)
        assert_null(t.slots[i]);
    itab_destroy(&t);
    test_free(objs);
}

/* --- policies ----------------------------------------------------------- */

/* Builds lit twice; returns whether both builds gave the same object. */
static bool built_twice_identical(tworld *w, const char *lit)
{
    hobj *a = tw_build(w, lit), *b = tw_build(w, lit);
    bool same = a == b;
    heap_decref(w->h, a);
    heap_decref(w->h, b);
    return same;
}

static const char name65[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ab";

static void python_interns_small_ints_only(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    assert_true(built_twice_identical(w, "-5"));
    assert_true(built_twice_identical(w, "0"));
    assert_true(built_twice_identical(w, "256"));
    assert_false(built_twice_identical(w, "257"));
    assert_false(built_twice_identical(w, "-6"));
    assert_false(built_twice_identical(w, "2.5"));
    tw_free(w);
}

static void python_interns_identifier_like_strs(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    char lit[80];
    assert_true(built_twice_identical(w, "'abc_1'"));
    assert_true(built_twice_identical(w, "''"));
    assert_false(built_twice_identical(w, "'a b'"));
    assert_false(built_twice_identical(w, "'caf\\u00e9'"));
    assert_false(built_twice_identical(w, "b'abc'"));
    assert_int_equal(strlen(name65), 65);
    snprintf(lit, sizeof lit, "'%.64s'", name65);
    assert_true(built_twice_identical(w, lit));
    snprintf(lit, sizeof lit, "'%s'", name65);
    assert_false(built_twice_identical(w, lit));
    tw_free(w);
}

static void singletons_are_shared_under_every_policy(void **state)
{
    (void)state;
    intern_policy policies[] = {INTERN_PYTHON, INTERN_NONE, INTERN_ALL};
    for (size_t i = 0; i < 3; i++) {
        tworld *w = tw_new(policies[i]);
        assert_true(built_twice_identical(w, "None"));
        assert_true(built_twice_identical(w, "True"));
        assert_true(built_twice_identical(w, "False"));
        tw_free(w);
    }
}

static void none_shares_no_int_or_str(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_NONE);
    assert_false(built_twice_identical(w, "26"));
    assert_false(built_twice_identical(w, "0"));
    assert_false(built_twice_identical(w, "'abc'"));
    tw_free(w);
}

static void none_frees_small_ints_at_zero(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_NONE);
    hobj *o = tw_build(w, "26");
    hid id = hobj_id(o);
    assert_false(o->immortal);
    heap_decref(w->h, o);
    assert_null(heap_lookup(w->h, id));
    tw_free(w);
}

static void all_shares_equal_scalars(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_ALL);
    assert_true(built_twice_identical(w, "257"));
    assert_true(built_twice_identical(w, "2.5"));
    assert_true(built_twice_identical(w, "'a b'"));
    assert_true(built_twice_identical(w, "b'xy'"));
    assert_true(built_twice_identical(w, "b''"));
    assert_true(built_twice_identical(w, "-9223372036854775808"));
    tw_free(w);
}

static void all_keeps_equal_but_different_values_apart(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_ALL);
    hobj *i = tw_build(w, "300"), *f = tw_build(w, "300.0");
    hobj *z = tw_build(w, "0.0"), *nz = tw_build(w, "-0.0");
    hobj *s = tw_build(w, "'x y'"), *b = tw_build(w, "b'x y'");
    assert_ptr_not_equal(i, f);
    assert_ptr_not_equal(z, nz);
    assert_ptr_not_equal(s, b);
    hobj *all[] = {i, f, z, nz, s, b};
    for (size_t k = 0; k < 6; k++)
        heap_decref(w->h, all[k]);
    tw_free(w);
}

static void all_gives_a_new_id_after_the_last_reference_goes(void **state)
{
    (void)state;
    const char *lits[] = {"257", "2.5", "'a b'", "b'xy'"};
    tworld *w = tw_new(INTERN_ALL);
    for (size_t k = 0; k < 4; k++) {
        hobj *a = tw_build(w, lits[k]), *b = tw_build(w, lits[k]);
        assert_ptr_equal(a, b);
        assert_int_equal(a->refcnt, 2);
        hid old = hobj_id(a);
        heap_decref(w->h, a);
        assert_ptr_equal(heap_lookup(w->h, old), b); /* still alive */
        heap_decref(w->h, b);
        heap_drain_all(w->h);
        assert_null(heap_lookup(w->h, old));
        hobj *c = tw_build(w, lits[k]);
        assert_int_not_equal(hobj_id(c), old);
        assert_int_equal(c->refcnt, 1);
        heap_decref(w->h, c);
        tw_check(w);
    }
    tw_free(w);
}

static void interned_int_survives_zero_with_exact_count(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "x", "26");
    hobj *o = tw_get(w, "x");
    hid id = hobj_id(o);
    assert_int_equal(o->refcnt, 1);
    assert_int_equal(ns_unbind(w->ns, w->s, "x", 1, false, NULL), 0);
    heap_drain_all(w->h);
    assert_int_equal(o->refcnt, 0);
    assert_ptr_equal(heap_lookup(w->h, id), o);
    hobj *again = tw_build(w, "26");
    assert_ptr_equal(again, o);
    assert_int_equal(hobj_id(again), id);
    assert_int_equal(again->refcnt, 1);
    heap_decref(w->h, again);
    tw_free(w);
}

static void interned_str_survives_zero_with_exact_count(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "l", "['abc_1', 'abc_1']");
    hobj *l = tw_get(w, "l"), *s = AS_LIST(l)->items[0];
    hid id = hobj_id(s);
    assert_ptr_equal(AS_LIST(l)->items[1], s);
    assert_int_equal(s->refcnt, 2);
    assert_true(s->immortal);
    assert_int_equal(ns_unbind(w->ns, w->s, "l", 1, false, NULL), 0);
    heap_drain_all(w->h);
    assert_int_equal(s->refcnt, 0);
    assert_ptr_equal(heap_lookup(w->h, id), s);
    hobj *again = tw_build(w, "'abc_1'");
    assert_ptr_equal(again, s);
    assert_int_equal(again->refcnt, 1);
    heap_decref(w->h, again);
    tw_free(w);
}

static void interned_objects_do_not_count_as_freed(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    uint64_t freed = heap_get_stats(w->h)->freed;
    uint64_t live = heap_live_total(w->h);
    hobj *o = tw_build(w, "['abc_1', 26, None]");
    heap_decref(w->h, o);
    heap_drain_all(w->h);
    assert_int_equal(heap_get_stats(w->h)->freed, freed + 1); /* the list only */
    assert_int_equal(heap_live_total(w->h), live + 1);        /* plus 'abc_1' */
    tw_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(itab_add_find_remove),
        cmocka_unit_test(itab_tells_types_and_float_bits_apart),
        cmocka_unit_test(itab_finds_strs_and_bytes_by_content),
        cmocka_unit_test(backward_shift_keeps_colliding_runs_findable),
        cmocka_unit_test(removing_everything_empties_the_table),
        cmocka_unit_test(python_interns_small_ints_only),
        cmocka_unit_test(python_interns_identifier_like_strs),
        cmocka_unit_test(singletons_are_shared_under_every_policy),
        cmocka_unit_test(none_shares_no_int_or_str),
        cmocka_unit_test(none_frees_small_ints_at_zero),
        cmocka_unit_test(all_shares_equal_scalars),
        cmocka_unit_test(all_keeps_equal_but_different_values_apart),
        cmocka_unit_test(all_gives_a_new_id_after_the_last_reference_goes),
        cmocka_unit_test(interned_int_survives_zero_with_exact_count),
        cmocka_unit_test(interned_str_survives_zero_with_exact_count),
        cmocka_unit_test(interned_objects_do_not_count_as_freed),
    };
    return cmocka_run_group_tests_name("intern", tests, NULL, NULL);
}
