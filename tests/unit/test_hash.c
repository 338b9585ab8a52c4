/* Key hashing and equality with Python's rules (hash.h). */
#include "testlib.h"

#include "hash.h"

#include <math.h>
#include <string.h>

static int setup(void **state)
{
    heap_config cfg = {.intern = INTERN_PYTHON};
    *state = heap_new(&cfg);
    return 0;
}

static int teardown(void **state)
{
    heap_free(*state);
    return 0;
}

static uint64_t hash_of(hobj *o)
{
    uint64_t hv = 0;
    assert_true(obj_hash(o, &hv));
    return hv;
}

/* a == b as keys, both ways, with equal hashes. */
static void assert_same_key(hobj *a, hobj *b)
{
    assert_true(key_eq(a, b));
    assert_true(key_eq(b, a));
    assert_int_equal(hash_of(a), hash_of(b));
}

static void assert_different_keys(hobj *a, hobj *b)
{
    assert_false(key_eq(a, b));
    assert_false(key_eq(b, a));
}

static hobj *str(heap *h, const char *s)
{
    return heap_str(h, s, strlen(s));
}

static hobj *tuple2(heap *h, hobj *a, hobj *b)
{
    hobj *items[2] = {a, b};
    return heap_tuple(h, items, 2);
}

static void one_float_one_and_true_are_one_key(void **state)
{
    heap *h = *state;
    hobj *i = heap_int(h, 1), *f = heap_float(h, 1.0), *t = heap_bool(h, true);
    assert_same_key(i, f);
    assert_same_key(i, t);
    assert_same_key(f, t);
}

static void zeros_and_false_are_one_key(void **state)
{
    heap *h = *state;
    hobj *keys[] = {heap_int(h, 0), heap_float(h, 0.0), heap_float(h, -0.0), heap_bool(h, false)};
    for (size_t a = 0; a < 4; a++)
        for (size_t b = 0; b < 4; b++)
            assert_same_key(keys[a], keys[b]);
}

static void int_and_float_differ_when_values_differ(void **state)
{
    heap *h = *state;
    assert_different_keys(heap_int(h, 1), heap_float(h, 1.5));
    assert_different_keys(heap_int(h, 2), heap_bool(h, true));
    assert_different_keys(heap_int(h, 0), heap_float(h, 1e-300));
}

static void int_above_2_53_is_not_the_rounded_float(void **state)
{
    heap *h = *state;
    int64_t big = (1ll << 53) + 1;
    hobj *i = heap_int(h, big), *f = heap_float(h, (double)(1ll << 53));
    assert_different_keys(i, f);
    /* while the exact power of two is equal */
    assert_same_key(heap_int(h, 1ll << 53), f);
}

static void huge_floats_equal_no_int(void **state)
{
    heap *h = *state;
    hobj *f = heap_float(h, 1e300);
    assert_different_keys(f, heap_int(h, INT64_MAX));
    assert_different_keys(f, heap_int(h, INT64_MIN));
    assert_different_keys(heap_float(h, -1e300), heap_int(h, INT64_MIN));
    assert_different_keys(heap_float(h, INFINITY), heap_int(h, INT64_MAX));
    /* 2.0**63 is one past INT64_MAX, not equal to it */
    assert_different_keys(heap_float(h, 9223372036854775808.0), heap_int(h, INT64_MAX));
    assert_true(obj_hash(f, &(uint64_t){0}));
}

static void int64_min_equals_its_float(void **state)
{
    heap *h = *state;
    assert_same_key(heap_int(h, INT64_MIN), heap_float(h, -9223372036854775808.0));
}

static void nan_object_equals_only_itself(void **state)
{
    heap *h = *state;
    hobj *a = heap_float(h, NAN), *b = heap_float(h, NAN);
    assert_true(key_eq(a, a));
    assert_false(key_eq(a, b));
    assert_false(key_eq(a, heap_int(h, 0)));
    assert_true(obj_hash(a, &(uint64_t){0}));
}

static void str_and_bytes_with_same_content_differ(void **state)
{
    heap *h = *state;
    hobj *s = str(h, "abc"), *b = heap_bytes(h, "abc", 3);
    assert_different_keys(s, b);
    assert_int_not_equal(hash_of(s), hash_of(b));
}

static void equal_strs_are_one_key(void **state)
{
    heap *h = *state;
    /* not identifier-like, so two separate objects */
    hobj *a = str(h, "a b"), *b = str(h, "a b");
    assert_ptr_not_equal(a, b);
    assert_same_key(a, b);
    assert_different_keys(a, str(h, "a c"));
    assert_different_keys(a, str(h, "a b "));
    assert_same_key(heap_bytes(h, "\0x", 2), heap_bytes(h, "\0x", 2));
    assert_different_keys(heap_bytes(h, "\0x", 2), heap_bytes(h, "\0y", 2));
}

static void str_hash_is_cached(void **state)
{
    heap *h = *state;
    hobj *s = str(h, "some text");
    assert_false(AS_STR(s)->hashed);
    uint64_t first = hash_of(s);
    assert_true(AS_STR(s)->hashed);
    assert_int_equal(hash_of(s), first);
}

static void none_is_a_key_unlike_false(void **state)
{
    heap *h = *state;
    hobj *n = heap_none(h);
    assert_true(key_eq(n, heap_none(h)));
    assert_different_keys(n, heap_bool(h, false));
    assert_different_keys(n, heap_int(h, 0));
    assert_true(obj_hash(n, &(uint64_t){0}));
}

static void tuples_compare_by_value(void **state)
{
    heap *h = *state;
    hobj *a = tuple2(h, heap_int(h, 1), str(h, "x y"));
    hobj *b = tuple2(h, heap_float(h, 1.0), str(h, "x y"));
    assert_same_key(a, b);
    assert_different_keys(a, tuple2(h, heap_int(h, 2), str(h, "x y")));
    assert_different_keys(a, heap_tuple(h, (hobj *[]){heap_int(h, 1)}, 1));
    assert_same_key(heap_tuple(h, NULL, 0), heap_tuple(h, NULL, 0));
}

static void nested_tuples_compare_by_value(void **state)
{
    heap *h = *state;
    hobj *a = tuple2(h, tuple2(h, heap_int(h, 1), heap_int(h, 2)), heap_int(h, 3));
    hobj *b = tuple2(h, tuple2(h, heap_bool(h, true), heap_float(h, 2.0)), heap_int(h, 3));
    hobj *c = tuple2(h, tuple2(h, heap_int(h, 1), heap_int(h, 4)), heap_int(h, 3));
    assert_same_key(a, b);
    assert_different_keys(a, c);
}

static void tuple_and_list_differ(void **state)
{
    heap *h = *state;
    hobj *t = heap_tuple(h, NULL, 0), *l = heap_list(h, 0);
    assert_different_keys(t, l);
}

static void tuple_holding_a_list_is_unhashable(void **state)
{
    heap *h = *state;
    hobj *t = tuple2(h, heap_int(h, 1), heap_list(h, 0));
    uint64_t hv;
    assert_false(obj_hash(t, &hv));
    hobj *outer = tuple2(h, heap_int(h, 1), t);
    assert_false(obj_hash(outer, &hv));
    assert_true(key_eq(t, t));
}

static void mutable_containers_are_unhashable(void **state)
{
    heap *h = *state;
    uint64_t hv;
    assert_false(obj_hash(heap_list(h, 0), &hv));
    assert_false(obj_hash(heap_dict(h), &hv));
    assert_false(obj_hash(heap_set(h), &hv));
}

static void containers_compare_by_identity(void **state)
{
    heap *h = *state;
    hobj *a = heap_list(h, 0), *b = heap_list(h, 0);
    assert_true(key_eq(a, a));
    assert_false(key_eq(a, b));
    hobj *d = heap_dict(h), *e = heap_dict(h);
    assert_false(key_eq(d, e));
}

static hobj *chain(heap *h, hobj *bottom, int depth)
{
    hobj *o = bottom;
    for (int i = 0; i < depth; i++)
        o = heap_tuple(h, &o, 1);
    return o;
}

#define DEEP 100000

static void deep_equal_tuple_chains_compare_without_recursion(void **state)
{
    heap *h = *state;
    hobj *a = chain(h, heap_int(h, 1000), DEEP), *b = chain(h, heap_int(h, 1000), DEEP);
    assert_ptr_not_equal(a, b);
    assert_same_key(a, b);
}

static void deep_chains_differing_at_the_bottom_are_unequal(void **state)
{
    heap *h = *state;
    /* Two NaN objects have equal hashes but are unequal: the walk must go
     * all the way down to tell. */
    hobj *a = chain(h, heap_float(h, NAN), DEEP), *b = chain(h, heap_float(h, NAN), DEEP);
    assert_int_equal(hash_of(a), hash_of(b));
    assert_false(key_eq(a, b));
    hobj *nan = heap_float(h, NAN);
    assert_true(key_eq(chain(h, heap_incref(h, nan), DEEP), chain(h, nan, DEEP)));
}

static void hash_float_of_integral_value_is_hash_int(void **state)
{
    (void)state;
    assert_int_equal(hash_float(42.0), hash_int(42));
    assert_int_equal(hash_float(-7.0), hash_int(-7));
    assert_int_not_equal(hash_float(0.5), hash_int(0));
}

static void value_same_tells_int_float_and_signed_zeros_apart(void **state)
{
    heap *h = *state;
    assert_false(value_same(heap_int(h, 300), heap_float(h, 300.0)));
    assert_false(value_same(heap_float(h, 0.0), heap_float(h, -0.0)));
    assert_true(value_same(heap_float(h, 2.5), heap_float(h, 2.5)));
    assert_false(value_same(heap_int(h, 1), heap_bool(h, true)));
    assert_false(value_same(str(h, "a b"), heap_bytes(h, "a b", 3)));
    assert_true(value_same(str(h, "a b"), str(h, "a b")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_float_one_and_true_are_one_key),
        cmocka_unit_test(zeros_and_false_are_one_key),
        cmocka_unit_test(int_and_float_differ_when_values_differ),
        cmocka_unit_test(int_above_2_53_is_not_the_rounded_float),
        cmocka_unit_test(huge_floats_equal_no_int),
        cmocka_unit_test(int64_min_equals_its_float),
        cmocka_unit_test(nan_object_equals_only_itself),
        cmocka_unit_test(str_and_bytes_with_same_content_differ),
        cmocka_unit_test(equal_strs_are_one_key),
        cmocka_unit_test(str_hash_is_cached),
        cmocka_unit_test(none_is_a_key_unlike_false),
        cmocka_unit_test(tuples_compare_by_value),
        cmocka_unit_test(nested_tuples_compare_by_value),
        cmocka_unit_test(tuple_and_list_differ),
        cmocka_unit_test(tuple_holding_a_list_is_unhashable),
        cmocka_unit_test(mutable_containers_are_unhashable),
        cmocka_unit_test(containers_compare_by_identity),
        cmocka_unit_test(deep_equal_tuple_chains_compare_without_recursion),
        cmocka_unit_test(deep_chains_differing_at_the_bottom_are_unequal),
        cmocka_unit_test(hash_float_of_integral_value_is_hash_int),
        cmocka_unit_test(value_same_tells_int_float_and_signed_zeros_apart),
    };
    return cmocka_run_group_tests_name("hash", tests, setup, teardown);
}
