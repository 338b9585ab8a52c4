/* Namespaces (ns.h): the global namespace, each session's stack of frames
 * and its handles, as SPEC section 1 describes them. */
#include "testlib.h"

#include <stdio.h>
#include <string.h>

/* name = lit in session s (the literal's $names resolve in w->s). */
static void bind_in(tworld *w, hsession *s, const char *name, const char *lit, bool global)
{
    ns_bind(w->ns, s, name, strlen(name), tw_build(w, lit), global);
}

static int unbind_in(tworld *w, hsession *s, const char *name, bool global, herr *err)
{
    return ns_unbind(w->ns, s, name, strlen(name), global, err);
}

static hobj *lookup_in(tworld *w, hsession *s, const char *name)
{
    return ns_lookup(w->ns, s, name, strlen(name));
}

static int64_t int_of(hobj *o)
{
    assert_non_null(o);
    assert_int_equal(o->type, T_INT);
    return AS_INT(o)->v;
}

static int push(tworld *w, hsession *s)
{
    herr err = {0};
    int rc = ns_push_scope(w->ns, s, &err);
    if (rc < 0)
        fail_msg("push_scope: %s", err.msg);
    return rc;
}

static int pop(tworld *w, hsession *s)
{
    herr err = {0};
    int rc = ns_pop_scope(w->ns, s, &err);
    if (rc < 0)
        fail_msg("pop_scope: %s", err.msg);
    return rc;
}

/* --- lookup and binding ---------------------------------------------------- */

static void lookup_searches_frames_inside_out_then_global(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    bind_in(w, w->s, "X", "1001", false);
    bind_in(w, w->s, "G", "1002", false);
    push(w, w->s);
    bind_in(w, w->s, "X", "2001", false);
    bind_in(w, w->s, "F", "2002", false);
    push(w, w->s);
    bind_in(w, w->s, "Y", "3001", false);
    assert_int_equal(int_of(lookup_in(w, w->s, "Y")), 3001);
    assert_int_equal(int_of(lookup_in(w, w->s, "X")), 2001); /* outer frame shadows global */
    assert_int_equal(int_of(lookup_in(w, w->s, "F")), 2002);
    assert_int_equal(int_of(lookup_in(w, w->s, "G")), 1002);
    assert_null(lookup_in(w, w->s, "nope"));
    assert_int_equal(int_of(lookup_in(w, NULL, "X")), 1001); /* no session: global only */
    assert_null(lookup_in(w, NULL, "Y"));
    hobj *o = NULL;
    herr err = {0};
    assert_int_equal(ns_resolve(w->ns, w->s, "nope", 4, &o, &err), HE_NAME);
    assert_string_equal(err.msg, "name 'nope' is not defined");
    tw_check(w);
    tw_free(w);
}

static void bind_targets_the_innermost_frame_or_global(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    bind_in(w, w->s, "A", "1", false); /* no frame: global */
    assert_int_equal(ns_count_names(w->ns, w->s, false), 1);
    push(w, w->s);
    push(w, w->s);
    bind_in(w, w->s, "B", "2", false);
    assert_int_equal(ns_count_names(w->ns, w->s, true), 1);
    assert_int_equal(ns_count_names(w->ns, w->s, false), 1);
    bind_in(w, w->s, "C", "3", true); /* asked for global */
    assert_int_equal(ns_count_names(w->ns, w->s, true), 1);
    assert_int_equal(ns_count_names(w->ns, w->s, false), 2);
    bind_in(w, NULL, "D", "4", false); /* no session: global */
    assert_int_equal(ns_count_names(w->ns, w->s, false), 3);
    assert_int_equal(pop(w, w->s), 1); /* only B was in the innermost frame */
    assert_int_equal(pop(w, w->s), 0);
    assert_null(lookup_in(w, w->s, "B"));
    assert_int_equal(int_of(lookup_in(w, w->s, "C")), 3);
    tw_check(w);
    tw_free(w);
}

static void rebinding_in_a_frame_shadows_global_without_touching_it(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    bind_in(w, w->s, "X", "123456", false);
    hobj *g = tw_get(w, "X");
    push(w, w->s);
    bind_in(w, w->s, "X", "654321", false);
    assert_int_equal(int_of(tw_get(w, "X")), 654321);
    assert_int_equal(g->refcnt, 1);
    assert_int_equal(int_of(lookup_in(w, NULL, "X")), 123456);
    tw_check(w);
    assert_int_equal(pop(w, w->s), 1);
    assert_ptr_equal(tw_get(w, "X"), g);
    assert_int_equal(g->refcnt, 1);
    tw_check(w);
    tw_free(w);
}

static void unbind_acts_on_the_innermost_scope_only(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    bind_in(w, w->s, "X", "123456", false);
    push(w, w->s);
    herr err = {0};
    assert_int_equal(unbind_in(w, w->s, "X", false, &err), HE_NAME);
    assert_int_equal(err.code, HE_NAME);
    assert_string_equal(err.msg, "name 'X' is not defined");
    assert_int_equal(int_of(tw_get(w, "X")), 123456);
    assert_int_equal(unbind_in(w, w->s, "X", true, &err), 0);
    assert_null(lookup_in(w, w->s, "X"));
    assert_int_equal(unbind_in(w, w->s, "X", true, &err), HE_NAME);
    tw_check(w);
    tw_free(w);
}

/* --- frames ---------------------------------------------------------------- */

static void push_scope_returns_the_depth_up_to_max_frames(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    ns_set_max_frames(w->ns, 3);
    assert_int_equal(push(w, w->s), 1);
    assert_int_equal(push(w, w->s), 2);
    assert_int_equal(push(w, w->s), 3);
    herr err = {0};
    assert_int_equal(ns_push_scope(w->ns, w->s, &err), HE_RECURSION);
    assert_non_null(strstr(err.msg, "max_frames"));
    assert_int_equal(ns_depth(w->s), 3);
    assert_int_equal(pop(w, w->s), 0);
    assert_int_equal(push(w, w->s), 3);
    tw_check(w);
    tw_free(w);
}

static void pop_scope_counts_its_names_and_drops_their_references(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    bind_in(w, w->s, "G", "123456", false);
    push(w, w->s);
    bind_in(w, w->s, "A", "[1000, $G]", false);
    bind_in(w, w->s, "B", "654321", false);
    bind_in(w, w->s, "C", "$G", false);
    hid a = hobj_id(tw_get(w, "A")), b = hobj_id(tw_get(w, "B"));
    assert_int_equal(tw_refcount(w, "G"), 3);
    assert_int_equal(pop(w, w->s), 3);
    tw_check(w);
    assert_null(heap_lookup(w->h, a));
    assert_null(heap_lookup(w->h, b));
    assert_int_equal(tw_refcount(w, "G"), 1);
    assert_int_equal(ns_depth(w->s), 0);
    tw_free(w);
}

static void pop_scope_without_a_frame_is_a_runtime_error(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    bind_in(w, w->s, "G", "1", false);
    herr err = {0};
    assert_int_equal(ns_pop_scope(w->ns, w->s, &err), HE_RUNTIME);
    assert_int_equal(err.code, HE_RUNTIME);
    assert_int_equal(ns_count_names(w->ns, w->s, false), 1); /* global untouched */
    tw_check(w);
    tw_free(w);
}

/* --- handles --------------------------------------------------------------- */

static void each_handle_is_one_reference(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *o = tw_build(w, "[123456]");
    hid id = hobj_id(o);
    ns_handle_add(w->ns, w->s, o);
    ns_handle_add(w->ns, w->s, heap_incref(w->h, o));
    assert_int_equal(o->refcnt, 2);
    assert_int_equal(ns_handle_count(w->s, o), 2);
    tw_check(w);
    assert_int_equal(ns_handle_release(w->ns, w->s, o, NULL), 0);
    assert_int_equal(o->refcnt, 1);
    assert_int_equal(ns_handle_count(w->s, o), 1);
    tw_check(w);
    assert_int_equal(ns_handle_release(w->ns, w->s, o, NULL), 0);
    tw_check(w);
    assert_null(heap_lookup(w->h, id));
    tw_free(w);
}

static void releasing_a_handle_not_held_is_a_value_error(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hsession *other = ns_session_new(w->ns);
    tw_bind(w, "X", "123456");
    hobj *o = tw_get(w, "X");
    herr err = {0};
    assert_int_equal(ns_handle_release(w->ns, w->s, o, &err), HE_VALUE); /* no handles yet */
    assert_int_equal(err.code, HE_VALUE);
    ns_handle_add(w->ns, other, heap_incref(w->h, o)); /* another session's handle */
    ns_handle_add(w->ns, w->s, tw_build(w, "1000"));
    assert_int_equal(ns_handle_release(w->ns, w->s, o, &err), HE_VALUE);
    assert_int_equal(o->refcnt, 2);
    assert_int_equal(ns_handle_count(w->s, o), 0);
    assert_int_equal(ns_handle_count(other, o), 1);
    tw_check(w);
    tw_free(w);
}

static void many_handles_survive_their_table_growing(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    enum { N = 100 };
    hobj *objs[N];
    for (int i = 0; i < N; i++) {
        objs[i] = tw_build(w, "[1000]");
        for (int k = 0; k <= i % 3; k++)
            ns_handle_add(w->ns, w->s, heap_incref(w->h, objs[i]));
        heap_decref(w->h, objs[i]);
    }
    tw_check(w);
    for (int i = 0; i < N; i += 2) /* release half, so deletion shifts entries */
        for (int k = 0; k <= i % 3; k++)
            assert_int_equal(ns_handle_release(w->ns, w->s, objs[i], NULL), 0);
    for (int i = 1; i < N; i += 2)
        assert_int_equal(ns_handle_count(w->s, objs[i]), (uint32_t)(i % 3 + 1));
    tw_check(w);
    assert_int_equal(heap_live(w->h, T_LIST), N / 2);
    tw_free(w);
}

/* --- sessions -------------------------------------------------------------- */

static void ending_a_session_drops_its_frames_and_handles(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hsession *s = ns_session_new(w->ns);
    assert_int_equal(ns_session_count(w->ns), 2);
    assert_int_not_equal(ns_session_id(s), ns_session_id(w->s));
    bind_in(w, s, "G", "[123456]", false); /* no frame yet: global */
    hobj *g = tw_get(w, "G");
    push(w, s);
    bind_in(w, s, "F", "[$G, 654321]", false);
    push(w, s);
    bind_in(w, s, "F2", "'a frame string'", false);
    hobj *h1 = tw_build(w, "[777777]"), *h2 = tw_build(w, "$G");
    hid ids[] = {hobj_id(tw_get(w, "G")), hobj_id(lookup_in(w, s, "F")),
                 hobj_id(lookup_in(w, s, "F2")), hobj_id(h1)};
    ns_handle_add(w->ns, s, h1);
    ns_handle_add(w->ns, s, h2);
    ns_handle_add(w->ns, s, heap_incref(w->h, h2));
    assert_int_equal(g->refcnt, 4);
    tw_check(w);

    ns_session_end(w->ns, s);
    tw_check(w);
    assert_int_equal(ns_session_count(w->ns), 1);
    assert_ptr_equal(heap_lookup(w->h, ids[0]), g);
    assert_int_equal(g->refcnt, 1);
    for (size_t i = 1; i < sizeof ids / sizeof ids[0]; i++)
        assert_null(heap_lookup(w->h, ids[i]));
    tw_free(w);
}

static void sessions_share_global_but_not_frames(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hsession *a = w->s, *b = ns_session_new(w->ns);
    push(w, a);
    bind_in(w, a, "L", "1001", false);
    bind_in(w, a, "G", "1002", true);
    assert_null(lookup_in(w, b, "L"));
    assert_int_equal(int_of(lookup_in(w, b, "G")), 1002);
    push(w, b);
    bind_in(w, b, "L", "2001", false);
    assert_int_equal(int_of(lookup_in(w, a, "L")), 1001);
    assert_int_equal(int_of(lookup_in(w, b, "L")), 2001);
    herr err = {0};
    assert_int_equal(unbind_in(w, b, "G", false, &err), HE_NAME);
    assert_int_equal(unbind_in(w, b, "G", true, &err), 0);
    assert_null(lookup_in(w, a, "G"));
    ns_session_end(w->ns, b);
    assert_int_equal(int_of(lookup_in(w, a, "L")), 1001);
    tw_check(w);
    tw_free(w);
}

static void names_must_be_nonempty_valid_utf8(void **state)
{
    (void)state;
    herr err = {0};
    assert_int_equal(ns_check_name("", 0, &err), HE_VALUE);
    assert_int_equal(err.code, HE_VALUE);
    assert_int_equal(ns_check_name("\xff", 1, &err), HE_VALUE);
    assert_int_equal(ns_check_name("a\xc0\x80", 3, &err), HE_VALUE);    /* overlong NUL */
    assert_int_equal(ns_check_name("\xed\xa0\x80", 3, &err), HE_VALUE); /* surrogate */
    assert_int_equal(ns_check_name("x", 1, &err), 0);
    assert_int_equal(ns_check_name("caf\xc3\xa9", 5, &err), 0);
    assert_int_equal(ns_check_name("a b:1", 5, &err), 0);
    /* binding needs the name to fit a table entry; looking up needs nothing */
    static char long_name[65537];
    memset(long_name, 'n', sizeof long_name - 1);
    assert_int_equal(ns_check_name(long_name, 65536, &err), 0);
    assert_int_equal(ns_check_bindable(65536, &err), HE_VALUE);
    assert_int_equal(ns_check_bindable(65535, &err), 0);
}

static void ns_free_releases_everything(void **state)
{
    (void)state;
    heap_config cfg = {.intern = INTERN_NONE, .max_depth = HEAP_DEFAULT_MAX_DEPTH};
    heap *h = heap_new(&cfg);
    uint64_t live0 = heap_live_total(h), bytes0 = heap_get_stats(h)->bytes;
    tworld w = {.h = h, .ns = ns_new(h, 100)};
    w.s = ns_session_new(w.ns);
    hsession *other = ns_session_new(w.ns);
    for (int i = 0; i < 50; i++) {
        char name[16];
        snprintf(name, sizeof name, "g%d", i);
        bind_in(&w, w.s, name, "[1000, 'a', (2.5, b'b'), {1: {2}}]", false);
    }
    push(&w, w.s);
    bind_in(&w, w.s, "f", "[$g1, $g2]", false);
    push(&w, other);
    bind_in(&w, other, "f", "{'k': $g3}", false);
    ns_handle_add(w.ns, other, tw_build(&w, "[$g4, 3000]"));
    ns_handle_add(w.ns, w.s, tw_build(&w, "$g5"));
    assert_check_ok(h);
    assert_true(heap_live_total(h) > live0);

    ns_free(w.ns);
    heap_drain_all(h);
    assert_check_ok(h);
    assert_int_equal(heap_live_total(h), live0);
    assert_int_equal(heap_get_stats(h)->bytes, bytes0);
    heap_free(h);
}

/* --- closing big scopes and sessions in slices --------------------------- */

/* Drains in small slices, checking every count in between. Returns the
 * number of slices it took. */
static unsigned drain_in_slices(tworld *w)
{
    unsigned slices = 0;
    while (!heap_drain(w->h, 1)) {
        slices++;
        assert_check_ok(w->h);
    }
    assert_check_ok(w->h);
    return slices;
}

/* pop_scope of a frame of many names: the names are gone at once, their
 * references are released over many slices, and every count is exact (as
 * the checker computes them: a closing frame still holds its references)
 * in between. */
static void a_big_frame_closes_in_slices(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "shared", "[]");
    hobj *shared = tw_get(w, "shared");
    assert_int_equal(ns_push_scope(w->ns, w->s, NULL), 1);
    unsigned n = (unsigned)tw_scaled(20000, 2000);
    for (unsigned i = 0; i < n; i++) {
        char name[16];
        int len = snprintf(name, sizeof name, "l%u", i);
        hobj *v = i % 2 ? heap_incref(w->h, shared) : tw_build(w, "[[1]]");
        ns_bind(w->ns, w->s, name, (size_t)len, v, false);
    }
    assert_int_equal(shared->refcnt, 1 + n / 2);
    uint64_t live = heap_live_total(w->h);
    assert_int_equal(ns_pop_scope(w->ns, w->s, NULL), (int)n);
    assert_null(ns_lookup(w->ns, w->s, "l1", 2)); /* out of scope at once */
    assert_int_equal(ns_depth(w->s), 0);
    assert_true(heap_get_stats(w->h)->pending >= n / 2);
    assert_int_equal(heap_live_total(w->h), live); /* nothing released yet */
    assert_true(drain_in_slices(w) > 2);
    assert_int_equal(shared->refcnt, 1);
    assert_int_equal(heap_live_total(w->h), live - 2 * (n - n / 2));
    tw_check(w);
    tw_free(w);
}

/* A session that ends holding many handles and frames: the same. */
static void a_big_session_ends_in_slices(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hsession *s = ns_session_new(w->ns);
    tw_bind(w, "keep", "[]");
    hobj *keep = tw_get(w, "keep");
    unsigned n = (unsigned)tw_scaled(20000, 2000);
    for (unsigned i = 0; i < n; i++)
        ns_handle_add(w->ns, s, i % 2 ? heap_incref(w->h, keep) : tw_build(w, "(1, [])"));
    ns_push_scope(w->ns, s, NULL);
    for (unsigned i = 0; i < n; i++) {
        char name[16];
        int len = snprintf(name, sizeof name, "x%u", i);
        ns_bind(w->ns, s, name, (size_t)len, heap_incref(w->h, keep), false);
    }
    assert_int_equal(keep->refcnt, 1 + n / 2 + n);
    ns_session_end(w->ns, s);
    assert_int_equal(ns_session_count(w->ns), 1);
    assert_true(heap_get_stats(w->h)->pending >= n);
    assert_true(drain_in_slices(w) > 2);
    assert_int_equal(keep->refcnt, 1);
    tw_check(w);
    tw_free(w);
}

/* Small frames still release at once: counts are exact right away. */
static void a_small_frame_releases_at_once(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "g", "[]");
    hobj *g = tw_get(w, "g");
    ns_push_scope(w->ns, w->s, NULL);
    ns_bind(w->ns, w->s, "a", 1, heap_incref(w->h, g), false);
    assert_int_equal(g->refcnt, 2);
    assert_int_equal(ns_pop_scope(w->ns, w->s, NULL), 1);
    assert_int_equal(g->refcnt, 1);
    assert_int_equal(heap_get_stats(w->h)->pending, 0);
    tw_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lookup_searches_frames_inside_out_then_global),
        cmocka_unit_test(bind_targets_the_innermost_frame_or_global),
        cmocka_unit_test(rebinding_in_a_frame_shadows_global_without_touching_it),
        cmocka_unit_test(unbind_acts_on_the_innermost_scope_only),
        cmocka_unit_test(push_scope_returns_the_depth_up_to_max_frames),
        cmocka_unit_test(pop_scope_counts_its_names_and_drops_their_references),
        cmocka_unit_test(pop_scope_without_a_frame_is_a_runtime_error),
        cmocka_unit_test(each_handle_is_one_reference),
        cmocka_unit_test(releasing_a_handle_not_held_is_a_value_error),
        cmocka_unit_test(many_handles_survive_their_table_growing),
        cmocka_unit_test(ending_a_session_drops_its_frames_and_handles),
        cmocka_unit_test(sessions_share_global_but_not_frames),
        cmocka_unit_test(names_must_be_nonempty_valid_utf8),
        cmocka_unit_test(ns_free_releases_everything),
        cmocka_unit_test(a_big_frame_closes_in_slices),
        cmocka_unit_test(a_big_session_ends_in_slices),
        cmocka_unit_test(a_small_frame_releases_at_once),
    };
    return cmocka_run_group_tests_name("ns", tests, NULL, NULL);
}
