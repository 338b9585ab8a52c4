/* The name table behind namespaces and frames (nametab.h). It does no
 * reference counting, so plain static objects stand in for values. */
#include "testlib.h"

#include "nametab.h"

#include <stdio.h>
#include <string.h>

static hobj va, vb, vc;

#define MANY 100000

struct tally {
    size_t calls, name_bytes;
    bool saw_nul_name;
    hobj *last;
};

static void tally_fn(const char *name, size_t len, hobj *val, void *arg)
{
    struct tally *ty = arg;
    ty->calls++;
    ty->name_bytes += len;
    if (len == 3 && memcmp(name, "a\0b", 3) == 0)
        ty->saw_nul_name = true;
    ty->last = val;
}

static size_t name_of(char *buf, size_t cap, unsigned i)
{
    return (size_t)snprintf(buf, cap, "name_%u", i);
}

static void empty_table_has_nothing(void **state)
{
    (void)state;
    nametab t;
    nametab_init(&t);
    assert_null(nametab_get(&t, "x", 1));
    assert_null(nametab_del(&t, "x", 1));
    assert_int_equal(nametab_count(&t), 0);
    assert_int_equal(nametab_bytes(&t), 0);
    nametab_destroy(&t);
}

static void put_then_get(void **state)
{
    (void)state;
    nametab t;
    nametab_init(&t);
    assert_null(nametab_put(&t, "x", 1, &va));
    assert_null(nametab_put(&t, "y", 1, &vb));
    assert_ptr_equal(nametab_get(&t, "x", 1), &va);
    assert_ptr_equal(nametab_get(&t, "y", 1), &vb);
    assert_null(nametab_get(&t, "z", 1));
    assert_null(nametab_get(&t, "xy", 2));
    assert_int_equal(nametab_count(&t), 2);
    assert_ptr_equal(nametab_del(&t, "x", 1), &va);
    assert_ptr_equal(nametab_del(&t, "y", 1), &vb);
    nametab_destroy(&t);
}

static void rebinding_returns_the_old_value(void **state)
{
    (void)state;
    nametab t;
    nametab_init(&t);
    assert_null(nametab_put(&t, "E", 1, &va));
    assert_ptr_equal(nametab_put(&t, "E", 1, &vb), &va);
    assert_ptr_equal(nametab_put(&t, "E", 1, &vb), &vb);
    assert_int_equal(nametab_count(&t), 1);
    assert_ptr_equal(nametab_get(&t, "E", 1), &vb);
    assert_ptr_equal(nametab_del(&t, "E", 1), &vb);
    nametab_destroy(&t);
}

static void delete_returns_the_value_once(void **state)
{
    (void)state;
    nametab t;
    nametab_init(&t);
    nametab_put(&t, "k", 1, &vc);
    assert_ptr_equal(nametab_del(&t, "k", 1), &vc);
    assert_null(nametab_del(&t, "k", 1));
    assert_null(nametab_get(&t, "k", 1));
    assert_int_equal(nametab_count(&t), 0);
    nametab_destroy(&t);
}

static void names_are_byte_strings_with_nul_and_utf8(void **state)
{
    (void)state;
    nametab t;
    nametab_init(&t);
    nametab_put(&t, "a\0b", 3, &va);
    nametab_put(&t, "a\0c", 3, &vb);
    nametab_put(&t, "a", 1, &vc);
    assert_int_equal(nametab_count(&t), 3);
    assert_ptr_equal(nametab_get(&t, "a\0b", 3), &va);
    assert_ptr_equal(nametab_get(&t, "a\0c", 3), &vb);
    assert_ptr_equal(nametab_get(&t, "a", 1), &vc);
    assert_null(nametab_get(&t, "a\0", 2));

    const char *cafe = "caf\xc3\xa9", *nihon = "\xe6\x97\xa5\xe6\x9c\xac";
    nametab_put(&t, cafe, strlen(cafe), &va);
    nametab_put(&t, nihon, strlen(nihon), &vb);
    assert_ptr_equal(nametab_get(&t, "caf\xc3\xa9", 5), &va);
    assert_ptr_equal(nametab_get(&t, nihon, 6), &vb);
    assert_null(nametab_get(&t, "cafe", 4));
    struct tally ty = {0};
    nametab_drain(&t, tally_fn, &ty);
    assert_int_equal(ty.calls, 5);
    nametab_destroy(&t);
}

static void many_names_survive_deleting_half(void **state)
{
    (void)state;
    nametab t;
    nametab_init(&t);
    char buf[32];
    static hobj vals[2];
    for (unsigned i = 0; i < MANY; i++) {
        size_t n = name_of(buf, sizeof buf, i);
        assert_null(nametab_put(&t, buf, n, &vals[i % 2]));
    }
    assert_int_equal(nametab_count(&t), MANY);
    for (unsigned i = 0; i < MANY; i += 2) {
        size_t n = name_of(buf, sizeof buf, i);
        assert_ptr_equal(nametab_del(&t, buf, n), &vals[0]);
    }
    assert_int_equal(nametab_count(&t), MANY / 2);
    for (unsigned i = 0; i < MANY; i++) {
        size_t n = name_of(buf, sizeof buf, i);
        assert_ptr_equal(nametab_get(&t, buf, n), i % 2 ? &vals[1] : NULL);
    }
    for (unsigned i = 1; i < MANY; i += 2) {
        size_t n = name_of(buf, sizeof buf, i);
        assert_ptr_equal(nametab_del(&t, buf, n), &vals[1]);
    }
    assert_int_equal(nametab_count(&t), 0);
    nametab_destroy(&t);
}

static void foreach_visits_every_entry_once(void **state)
{
    (void)state;
    nametab t;
    nametab_init(&t);
    nametab_put(&t, "a\0b", 3, &va);
    nametab_put(&t, "long_name", 9, &va);
    nametab_put(&t, "z", 1, &va);
    struct tally ty = {0};
    nametab_foreach(&t, tally_fn, &ty);
    assert_int_equal(ty.calls, 3);
    assert_int_equal(ty.name_bytes, 13);
    assert_true(ty.saw_nul_name);
    assert_ptr_equal(ty.last, &va);
    assert_int_equal(nametab_count(&t), 3); /* foreach leaves entries */
    nametab_drain(&t, tally_fn, &ty);
    nametab_destroy(&t);
}

static void drain_hands_over_every_value_and_empties(void **state)
{
    (void)state;
    nametab t;
    nametab_init(&t);
    char buf[32];
    for (unsigned i = 0; i < 100; i++)
        nametab_put(&t, buf, name_of(buf, sizeof buf, i), &vb);
    struct tally ty = {0};
    nametab_drain(&t, tally_fn, &ty);
    assert_int_equal(ty.calls, 100);
    assert_ptr_equal(ty.last, &vb);
    assert_int_equal(nametab_count(&t), 0);
    assert_null(nametab_get(&t, "name_5", 6));
    /* still usable after a drain */
    assert_null(nametab_put(&t, "name_5", 6, &vc));
    assert_ptr_equal(nametab_get(&t, "name_5", 6), &vc);
    nametab_drain(&t, tally_fn, &ty);
    nametab_destroy(&t);
}

static void bytes_grow_with_entries_and_name_length(void **state)
{
    (void)state;
    nametab t;
    nametab_init(&t);
    nametab_put(&t, "a", 1, &va);
    size_t one = nametab_bytes(&t);
    assert_true(one > 0);
    nametab_put(&t, "b", 1, &va);
    size_t two = nametab_bytes(&t);
    assert_true(two > one);
    char longname[200];
    memset(longname, 'q', sizeof longname);
    nametab_put(&t, longname, sizeof longname, &va);
    assert_true(nametab_bytes(&t) >= two + sizeof longname);
    char buf[32];
    for (unsigned i = 0; i < 1000; i++)
        nametab_put(&t, buf, name_of(buf, sizeof buf, i), &va);
    assert_true(nametab_bytes(&t) > 1000 * sizeof(void *));
    size_t full = nametab_bytes(&t);
    nametab_del(&t, longname, sizeof longname);
    assert_true(nametab_bytes(&t) <= full - sizeof longname);
    struct tally ty = {0};
    nametab_drain(&t, tally_fn, &ty);
    nametab_destroy(&t);
}

static void put_cost_bounds_what_a_new_name_adds(void **state)
{
    (void)state;
    nametab t;
    nametab_init(&t);
    char buf[32];
    for (unsigned i = 0; i < 2000; i++) {
        size_t n = name_of(buf, sizeof buf, i), cost = nametab_put_cost(&t, n);
        size_t before = nametab_bytes(&t);
        nametab_put(&t, buf, n, &va);
        assert_true(nametab_bytes(&t) - before <= cost);
        assert_true(nametab_bytes(&t) - before >= n);
    }
    /* rebinding adds nothing */
    size_t before = nametab_bytes(&t);
    nametab_put(&t, "name_7", 6, &vb);
    assert_int_equal(nametab_bytes(&t), before);
    struct tally ty = {0};
    nametab_drain(&t, tally_fn, &ty);
    assert_int_equal(nametab_bytes(&t), (t.mask + 1) * sizeof(void *));
    nametab_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_table_has_nothing),
        cmocka_unit_test(put_then_get),
        cmocka_unit_test(rebinding_returns_the_old_value),
        cmocka_unit_test(delete_returns_the_value_once),
        cmocka_unit_test(names_are_byte_strings_with_nul_and_utf8),
        cmocka_unit_test(many_names_survive_deleting_half),
        cmocka_unit_test(foreach_visits_every_entry_once),
        cmocka_unit_test(drain_hands_over_every_value_and_empties),
        cmocka_unit_test(bytes_grow_with_entries_and_name_length),
        cmocka_unit_test(put_cost_bounds_what_a_new_name_adds),
    };
    return cmocka_run_group_tests_name("nametab", tests, NULL, NULL);
}
