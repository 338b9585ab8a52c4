/* heap_check finds corruption: each test breaks one invariant on purpose,
 * expects RuntimeError naming it, repairs it and expects a pass. */
#include "testlib.h"

static hobj *item(hobj *seq, uint32_t i)
{
    assert_true(i < AS_LIST(seq)->len);
    return AS_LIST(seq)->items[i];
}

static void a_healthy_heap_passes_and_reports_its_object_count(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "X", "[1000, 'a b', (2000,), {3000: {4000}}]");
    uint64_t objects = 0;
    herr err = {0};
    assert_int_equal(heap_check(w->h, &objects, &err), 0);
    assert_int_equal(objects, heap_live_total(w->h));
    tw_free(w);
}

static void a_refcount_off_by_one_is_found(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "X", "[123456]");
    hobj *o = item(tw_get(w, "X"), 0);
    o->refcnt++;
    assert_check_fails(w->h, "refcount 2 but 1 references");
    o->refcnt -= 2;
    assert_check_fails(w->h, "no references");
    o->refcnt++;
    assert_check_ok(w->h);
    tw_free(w);
}

static void a_dict_entry_with_a_wrong_hash_is_found(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "D", "{'k': 1, 1000: 2}");
    hentry *e = htab_entry(AS_DICT(tw_get(w, "D")), 1);
    e->hash ^= 1;
    assert_check_fails(w->h, "wrong hash");
    e->hash ^= 1;
    assert_check_ok(w->h);
    tw_free(w);
}

static void a_wrong_dict_used_count_is_found(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "S", "{1000, 2000}");
    AS_DICT(tw_get(w, "S"))->used++;
    assert_check_fails(w->h, "used count");
    AS_DICT(tw_get(w, "S"))->used--;
    assert_check_ok(w->h);
    tw_free(w);
}

static void a_list_longer_than_its_capacity_is_found(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "X", "[1, 2]");
    hlist *l = AS_LIST(tw_get(w, "X"));
    assert_int_equal(l->cap, 2);
    l->cap = 1; /* len 2 > cap 1, without reading past the array */
    assert_check_fails(w->h, "length beyond capacity");
    l->cap = 2;
    assert_check_ok(w->h);
    tw_free(w);
}

static void a_str_without_its_nul_is_found(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "S", "'a b c'");
    hstr *s = AS_STR(tw_get(w, "S"));
    s->data[s->len] = 'x';
    assert_check_fails(w->h, "NUL-terminated");
    s->data[s->len] = '\0';
    assert_check_ok(w->h);
    tw_free(w);
}

static void a_str_with_invalid_utf8_is_found(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "S", "'a b c'");
    hstr *s = AS_STR(tw_get(w, "S"));
    s->data[1] = '\xff';
    assert_check_fails(w->h, "UTF-8");
    s->data[1] = ' ';
    assert_check_ok(w->h);
    tw_free(w);
}

static void a_stale_cached_hash_is_found(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "D", "{'a b': 1}"); /* a key: its hash is cached */
    hstr *s = AS_STR(htab_entry(AS_DICT(tw_get(w, "D")), 0)->key);
    assert_true(s->hashed);
    uint64_t good = s->hash;
    s->hash ^= 1;
    assert_check_fails(w->h, "stale cached hash");
    s->hash = good;
    assert_check_ok(w->h);

    tw_bind(w, "T", "(1000, 'x')");
    htuple *t = AS_TUPLE(tw_get(w, "T"));
    t->hash ^= 1;
    assert_check_fails(w->h, "wrong cached hash");
    t->hash ^= 1;
    assert_check_ok(w->h);
    tw_free(w);
}

static void a_mortal_singleton_is_found(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "N", "None");
    hobj *none = tw_get(w, "N");
    none->immortal = 0;
    assert_check_fails(w->h, "should be immortal");
    none->immortal = 1;
    assert_check_ok(w->h);
    tw_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_healthy_heap_passes_and_reports_its_object_count),
        cmocka_unit_test(a_refcount_off_by_one_is_found),
        cmocka_unit_test(a_dict_entry_with_a_wrong_hash_is_found),
        cmocka_unit_test(a_wrong_dict_used_count_is_found),
        cmocka_unit_test(a_list_longer_than_its_capacity_is_found),
        cmocka_unit_test(a_str_without_its_nul_is_found),
        cmocka_unit_test(a_str_with_invalid_utf8_is_found),
        cmocka_unit_test(a_stale_cached_hash_is_found),
        cmocka_unit_test(a_mortal_singleton_is_found),
    };
    return cmocka_run_group_tests_name("check", tests, NULL, NULL);
}
