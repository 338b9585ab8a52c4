/* The seed examples of SPEC section 1, as the heap sees them. */
#include "testlib.h"

static void seed_examples(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "E", "26");
    tw_bind(w, "K", "26");
    assert_ptr_equal(tw_get(w, "E"), tw_get(w, "K"));
    assert_int_equal(tw_refcount(w, "E"), 2);
    tw_bind(w, "Z", "[26, 26]");
    assert_int_equal(tw_refcount(w, "K"), 4);
    assert_int_equal(ns_unbind(w->ns, w->s, "E", 1, false, NULL), 0);
    assert_int_equal(tw_refcount(w, "K"), 3);
    tw_check(w);
    tw_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seed_examples),
    };
    return cmocka_run_group_tests_name("seed", tests, NULL, NULL);
}
