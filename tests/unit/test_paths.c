/* Paths through the graph (paths.h, ns_why.h): why_alive's breadth-first
 * search and memory_usage's bounded walk. Both must change nothing. */
#include "testlib.h"

#include "ns_why.h"
#include "paths.h"

#include <stdio.h>

static int find(tworld *w, hobj *target, heap_path *p)
{
    herr err = {0};
    tsnap *snap = tsnap_take(w->h);
    int rc = heap_path_find(w->h, target, p, &err);
    tsnap_assert_same(w->h, snap); /* a search changes nothing */
    return rc;
}

static hobj *item(hobj *seq, uint32_t i)
{
    return AS_LIST(seq)->items[i];
}

static void chain_through_list_and_dict(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "x", "[0, 1, {'k': [5000]}]");
    hobj *x = tw_get(w, "x"), *d = item(x, 2);
    hentry *e = htab_entry(AS_DICT(d), 0);
    hobj *target = e->val;
    heap_path p;
    assert_int_equal(find(w, target, &p), 1);
    assert_int_equal(p.n, 2);
    assert_ptr_equal(p.first, x);
    assert_ptr_equal(p.steps[0], x);
    assert_ptr_equal(p.steps[1], d);
    path_step st;
    assert_true(heap_path_step(x, d, &st));
    assert_int_equal(st.kind, PATH_INDEX);
    assert_int_equal(st.index, 2);
    assert_true(heap_path_step(d, target, &st));
    assert_int_equal(st.kind, PATH_VALUE);
    assert_ptr_equal(st.key, e->key);
    assert_true(heap_path_step(d, e->key, &st));
    assert_int_equal(st.kind, PATH_MEMBER);
    assert_false(heap_path_step(x, target, &st));
    ns_root root;
    assert_true(ns_root_of(w->ns, p.first, &root));
    assert_int_equal(root.kind, NS_ROOT_GLOBAL);
    assert_int_equal(root.len, 1);
    assert_memory_equal(root.name, "x", 1);
    heap_path_free(&p);
    tw_free(w);
}

static void the_shortest_chain_wins(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "far", "[[[[['t']]]]]");
    hobj *t = item(item(item(item(tw_get(w, "far"), 0), 0), 0), 0);
    heap_path p;
    assert_int_equal(find(w, t, &p), 1);
    assert_int_equal(p.n, 4);
    heap_path_free(&p);
    ns_bind(w->ns, w->s, "near", 4, tw_build(w, "[$far]"), false);
    hobj *near = tw_get(w, "near");
    cont_list_reserve(w->h, near, 1);
    cont_list_append(w->h, near, heap_incref(w->h, t));
    assert_int_equal(find(w, t, &p), 1);
    assert_int_equal(p.n, 1);
    assert_ptr_equal(p.steps[0], near);
    heap_path_free(&p);
    /* a root holding the target itself: no step */
    assert_int_equal(find(w, near, &p), 1);
    assert_int_equal(p.n, 0);
    assert_ptr_equal(p.first, near);
    heap_path_free(&p);
    tw_free(w);
}

static void frames_and_handles_are_roots(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    herr err = {0};
    assert_int_equal(ns_push_scope(w->ns, w->s, &err), 1);
    assert_int_equal(ns_push_scope(w->ns, w->s, &err), 2);
    tw_bind(w, "loc", "[[7001]]");
    hobj *loc = tw_get(w, "loc");
    heap_path p;
    assert_int_equal(find(w, item(loc, 0), &p), 1);
    ns_root root;
    assert_true(ns_root_of(w->ns, p.first, &root));
    assert_int_equal(root.kind, NS_ROOT_LOCAL);
    assert_int_equal(root.depth, 2);
    assert_int_equal(root.session, ns_session_id(w->s));
    heap_path_free(&p);
    hsession *other = ns_session_new(w->ns);
    hobj *held = tw_build(w, "[[7002]]");
    ns_handle_add(w->ns, other, held);
    assert_int_equal(find(w, item(held, 0), &p), 1);
    assert_true(ns_root_of(w->ns, p.first, &root));
    assert_int_equal(root.kind, NS_ROOT_HANDLE);
    assert_int_equal(root.session, ns_session_id(other));
    heap_path_free(&p);
    ns_session_end(w->ns, other);
    tw_check(w);
    tw_free(w);
}

static void an_unreachable_cycle_has_no_chain(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "c", "[[8001]]");
    hobj *c = tw_get(w, "c");
    cont_list_reserve(w->h, c, 1);
    cont_list_append(w->h, c, heap_incref(w->h, c));
    hobj *inner = item(c, 0);
    herr err = {0};
    assert_int_equal(ns_unbind(w->ns, w->s, "c", 1, false, &err), 0);
    heap_path p;
    assert_int_equal(find(w, c, &p), 0);
    assert_int_equal(find(w, inner, &p), 0);
    ns_root root;
    assert_false(ns_root_of(w->ns, c, &root));
    /* an object held by nothing at all (a request's temporary) */
    hobj *tmp = tw_build(w, "[1]");
    assert_int_equal(find(w, tmp, &p), 0);
    heap_decref(w->h, tmp);
    tw_free(w);
}

static void the_search_respects_the_memory_limit(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "x", "[[1], [2], [3]]");
    heap_set_limits(w->h, 0, heap_get_stats(w->h)->bytes);
    heap_path p;
    herr err = {0};
    tsnap *snap = tsnap_take(w->h);
    assert_int_equal(heap_path_find(w->h, item(tw_get(w, "x"), 2), &p, &err), HE_MEMORY);
    assert_non_null(strstr(err.msg, "limits.max_memory_bytes"));
    deep_size ds;
    assert_int_equal(heap_deep_size(w->h, tw_get(w, "x"), 5, 100, &ds, &err), HE_MEMORY);
    tsnap_assert_same(w->h, snap);
    heap_set_limits(w->h, 0, 0);
    tw_free(w);
}

static void deep_size_counts_each_object_once(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "s", "'a str with spaces, not interned'");
    tw_bind(w, "x", "[$s, $s, 1, None, (2.5, $s)]");
    hobj *x = tw_get(w, "x"), *s = tw_get(w, "s"), *t = item(x, 4);
    deep_size ds;
    herr err = {0};
    tsnap *snap = tsnap_take(w->h);
    assert_int_equal(heap_deep_size(w->h, x, 5, 100, &ds, &err), 0);
    tsnap_assert_same(w->h, snap);
    assert_true(ds.exact);
    /* x, s, the tuple and the float; 1 and None are immortal */
    assert_int_equal(ds.objects, 4);
    assert_int_equal(ds.bytes,
                     heap_sizeof(x) + heap_sizeof(s) + heap_sizeof(t) + heap_sizeof(item(t, 0)));
    tw_free(w);
}

static void deep_size_samples_past_its_budget(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    char lit[64];
    hobj *big = heap_list(w->h, 0);
    for (int i = 0; i < 1000; i++) {
        snprintf(lit, sizeof lit, "'item %04d'", i);
        cont_list_reserve(w->h, big, 1);
        cont_list_append(w->h, big, tw_build(w, lit));
    }
    ns_bind(w->ns, w->s, "big", 3, big, false);
    deep_size exact, est, low;
    herr err = {0};
    assert_int_equal(heap_deep_size(w->h, big, 5, 2000, &exact, &err), 0);
    assert_true(exact.exact);
    assert_int_equal(exact.objects, 1001);
    assert_int_equal(heap_deep_size(w->h, big, 10, 50, &est, &err), 0);
    assert_false(est.exact);
    assert_true(est.walked <= 50);
    assert_int_equal(est.objects, 1001); /* uniform: the scaled sample is exact */
    assert_int_equal(est.bytes, exact.bytes);
    assert_int_equal(heap_deep_size(w->h, big, 0, 50, &low, &err), 0);
    assert_false(low.exact);
    assert_true(low.bytes < exact.bytes);
    tw_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chain_through_list_and_dict),
        cmocka_unit_test(the_shortest_chain_wins),
        cmocka_unit_test(frames_and_handles_are_roots),
        cmocka_unit_test(an_unreachable_cycle_has_no_chain),
        cmocka_unit_test(the_search_respects_the_memory_limit),
        cmocka_unit_test(deep_size_counts_each_object_once),
        cmocka_unit_test(deep_size_samples_past_its_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
