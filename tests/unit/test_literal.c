/* Building objects from literals (literal.h): every type, Python's key
 * rules, and atomicity: a literal that fails anywhere leaves the heap
 * exactly as before (SPEC sections 1 and 2). */
#include "testlib.h"
#include "hash.h"
#include "wire.h"

#include <stdio.h>
#include <string.h>

static const intern_policy policies[] = {INTERN_PYTHON, INTERN_NONE, INTERN_ALL};
#define NPOLICIES (sizeof policies / sizeof policies[0])

/* Builds the msgpack bytes buf[0..len) in w's session. */
static int build_raw(tworld *w, const char *buf, size_t len, hobj **out, herr *err)
{
    msgpack_zone *zone = msgpack_zone_new(1024);
    msgpack_object obj;
    size_t off = 0;
    assert_int_equal(msgpack_unpack(buf, len, &off, zone, &obj), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, len);
    int rc = tw_try_build_obj(w, &obj, out, err);
    msgpack_zone_free(zone);
    return rc;
}

/* The build's result code, checked to be `code` with `msg` in the message
 * and the heap exactly as before. buf NULL: lit is a Python literal. */
static void expect_failure(tworld *w, const char *lit, const char *buf, size_t len, int code,
                           const char *msg)
{
    hobj *out = NULL;
    herr err = {0};
    tsnap *snap = tsnap_take(w->h);
    int rc = buf ? build_raw(w, buf, len, &out, &err) : tw_try_build(w, lit, &out, &err);
    if (rc != code)
        fail_msg("%s: got %d (%s: %s), want %s", lit, rc, herr_name(rc) ? herr_name(rc) : "ok",
                 err.msg, herr_name(code));
    assert_int_equal(err.code, code);
    if (!strstr(err.msg, msg))
        fail_msg("%s: message \"%s\" lacks \"%s\"", lit, err.msg, msg);
    assert_null(out);
    tsnap_assert_same(w->h, snap);
    assert_check_ok(w->h);
}

static void expect_lit_failure(tworld *w, const char *lit, int code, const char *msg)
{
    expect_failure(w, lit, NULL, 0, code, msg);
}

/* A world with E bound to a mortal int, so failing literals can refer to
 * an object whose count must not move. */
static tworld *world_with_e(intern_policy policy)
{
    tworld *w = tw_new(policy);
    tw_bind(w, "E", "123456");
    tw_bind(w, "L", "[1]");
    return w;
}

static void end_world_with_e(tworld *w)
{
    heap_drain_all(w->h);
    assert_int_equal(tw_refcount(w, "E"), 1);
    tw_check(w);
    tw_free(w);
}

static hobj *item(hobj *seq, uint32_t i)
{
    assert_true(i < AS_LIST(seq)->len);
    return AS_LIST(seq)->items[i];
}

/* d[key] for a key given as a literal (borrowed), or NULL. */
static hobj *dict_get(tworld *w, hobj *d, const char *key_lit)
{
    hobj *k = tw_build(w, key_lit);
    uint64_t hash;
    assert_int_equal(cont_hash(k, &hash, NULL), 0);
    hobj *v = cont_dict_get(d, k, hash);
    heap_decref(w->h, k);
    return v;
}

/* --- every type ------------------------------------------------------------ */

static void scalars_build_objects_of_their_type(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    struct {
        const char *lit;
        htype type;
    } cases[] = {
        {"None", T_NONE},  {"True", T_BOOL},    {"False", T_BOOL},      {"42", T_INT},
        {"-2.5", T_FLOAT}, {"'h\\xe9'", T_STR}, {"b'\\x00a'", T_BYTES},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hobj *o = tw_build(w, cases[i].lit);
        assert_int_equal(o->type, cases[i].type);
        heap_decref(w->h, o);
    }
    hobj *o = tw_build(w, "True");
    assert_int_equal(AS_INT(o)->v, 1);
    heap_decref(w->h, o);
    o = tw_build(w, "-9223372036854775808");
    assert_true(AS_INT(o)->v == INT64_MIN);
    heap_decref(w->h, o);
    o = tw_build(w, "9223372036854775807");
    assert_true(AS_INT(o)->v == INT64_MAX);
    heap_decref(w->h, o);
    o = tw_build(w, "-2.5");
    assert_true(AS_FLOAT(o)->v == -2.5);
    heap_decref(w->h, o);
    o = tw_build(w, "'h\\xe9'");
    assert_int_equal(AS_STR(o)->len, 3);
    assert_memory_equal(AS_STR(o)->data, "h\xc3\xa9", 4);
    heap_decref(w->h, o);
    o = tw_build(w, "b'\\x00a'");
    assert_int_equal(AS_STR(o)->len, 2);
    assert_memory_equal(AS_STR(o)->data, "\0a", 3);
    heap_decref(w->h, o);
    tw_check(w);
    tw_free(w);
}

static void containers_build_with_their_items(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *t = tw_build(w, "(1000, 'a b')");
    assert_int_equal(t->type, T_TUPLE);
    assert_int_equal(AS_TUPLE(t)->len, 2);
    assert_int_equal(AS_INT(item(t, 0))->v, 1000);
    assert_string_equal(AS_STR(item(t, 1))->data, "a b");
    heap_decref(w->h, t);

    hobj *l = tw_build(w, "[None, [], 3]");
    assert_int_equal(l->type, T_LIST);
    assert_int_equal(AS_LIST(l)->len, 3);
    assert_int_equal(item(l, 0)->type, T_NONE);
    assert_int_equal(item(l, 1)->type, T_LIST);
    assert_int_equal(AS_INT(item(l, 2))->v, 3);
    heap_decref(w->h, l);

    hobj *d = tw_build(w, "{'a': 1, (1, 2): [3]}");
    assert_int_equal(d->type, T_DICT);
    assert_int_equal(AS_DICT(d)->used, 2);
    assert_int_equal(AS_INT(dict_get(w, d, "'a'"))->v, 1);
    assert_int_equal(dict_get(w, d, "(1, 2)")->type, T_LIST);
    assert_null(dict_get(w, d, "'b'"));
    heap_decref(w->h, d);

    hobj *s = tw_build(w, "{1, 'x', (2,)}");
    assert_int_equal(s->type, T_SET);
    assert_int_equal(AS_DICT(s)->used, 3);
    heap_decref(w->h, s);
    s = tw_build(w, "set()");
    assert_int_equal(s->type, T_SET);
    assert_int_equal(AS_DICT(s)->used, 0);
    heap_decref(w->h, s);
    tw_check(w);
    tw_free(w);
}

static void a_name_ref_is_the_bound_object_with_one_more_reference(void **state)
{
    (void)state;
    tworld *w = world_with_e(INTERN_PYTHON);
    hobj *l = tw_build(w, "[$E, $E]");
    assert_ptr_equal(item(l, 0), tw_get(w, "E"));
    assert_ptr_equal(item(l, 1), tw_get(w, "E"));
    assert_int_equal(tw_refcount(w, "E"), 3);
    heap_decref(w->h, l);
    heap_drain_all(w->h);
    end_world_with_e(w);
}

static void an_id_ref_is_that_object_with_one_more_reference(void **state)
{
    (void)state;
    tworld *w = world_with_e(INTERN_PYTHON);
    char lit[64];
    snprintf(lit, sizeof lit, "@%llu", (unsigned long long)hobj_id(tw_get(w, "L")));
    hobj *o = tw_build(w, lit);
    assert_ptr_equal(o, tw_get(w, "L"));
    assert_int_equal(tw_refcount(w, "L"), 2);
    heap_decref(w->h, o);
    end_world_with_e(w);
}

static int resolve_in(void *ctx, const char *name, size_t len, hobj **out, herr *err)
{
    tworld *w = ctx;
    return ns_resolve(w->ns, w->s, name, len, out, err);
}

static void collect_ref(void *arg, hobj *o)
{
    hobj **seen = arg;
    while (*seen)
        seen++;
    *seen = o;
}

/* lit_check_refs (ping's echo in ref-handle mode) reports each ext 1, in
 * ext payloads and keys too, and no ext 4: a name is not a ref on the wire.
 * On error it reports none. */
static void check_refs_reports_each_ext_1(void **state)
{
    (void)state;
    tworld *w = world_with_e(INTERN_PYTHON);
    hobj *l = tw_get(w, "L");
    unsigned long long id = (unsigned long long)hobj_id(l);
    char lit[160];
    snprintf(lit, sizeof lit, "[@%llu, $L, (@%llu, $E), {(1, @%llu): 2}]", id, id,
             (unsigned long long)hobj_id(tw_get(w, "E")));
    msgpack_zone *zone = msgpack_zone_new(1024);
    msgpack_object v = tw_msgpack(lit, zone);
    hobj *seen[8] = {0};
    herr err;
    assert_int_equal(lit_check_refs(w->h, &v, resolve_in, w, collect_ref, seen, &err), 0);
    assert_ptr_equal(seen[0], l);
    assert_ptr_equal(seen[1], l);
    assert_ptr_equal(seen[2], tw_get(w, "E"));
    assert_null(seen[3]);
    assert_int_equal(tw_refcount(w, "L"), 1); /* reported, not referenced */
    memset(seen, 0, sizeof seen);
    snprintf(lit, sizeof lit, "[@%llu, $nosuch]", id);
    v = tw_msgpack(lit, zone);
    assert_int_equal(lit_check_refs(w->h, &v, resolve_in, w, collect_ref, seen, &err), HE_NAME);
    assert_null(seen[0]);
    msgpack_zone_free(zone);
    end_world_with_e(w);
}

/* --- atomic failure -------------------------------------------------------- */

static void an_unhashable_key_deep_inside_fails_atomically(void **state)
{
    (void)state;
    for (size_t p = 0; p < NPOLICIES; p++) {
        tworld *w = world_with_e(policies[p]);
        expect_lit_failure(w, "[$E, 1000, 'a b', [2, [3.5, {[]: 1}]]]", HE_TYPE,
                           "unhashable type: 'list'");
        expect_lit_failure(w, "[$E, {1: 2, $L: 3}]", HE_TYPE, "unhashable type: 'list'");
        end_world_with_e(w);
    }
}

static void an_unbound_name_deep_inside_fails_atomically(void **state)
{
    (void)state;
    for (size_t p = 0; p < NPOLICIES; p++) {
        tworld *w = world_with_e(policies[p]);
        expect_lit_failure(w, "[$E, 1000, [2000, [$nope]]]", HE_NAME, "name 'nope' is not defined");
        end_world_with_e(w);
    }
}

static void a_stale_id_deep_inside_fails_atomically(void **state)
{
    (void)state;
    for (size_t p = 0; p < NPOLICIES; p++) {
        tworld *w = world_with_e(policies[p]);
        hobj *o = tw_build(w, "[654321]");
        hid stale = hobj_id(o);
        heap_decref(w->h, o);
        heap_drain_all(w->h);
        char lit[80];
        snprintf(lit, sizeof lit, "[$E, 1000, [@%llu]]", (unsigned long long)stale);
        expect_lit_failure(w, lit, HE_REFERENCE, "no object with id");
        end_world_with_e(w);
    }
}

static void an_int_beyond_int64_fails_atomically(void **state)
{
    (void)state;
    for (size_t p = 0; p < NPOLICIES; p++) {
        tworld *w = world_with_e(policies[p]);
        expect_lit_failure(w, "[$E, 1000, [18446744073709551615]]", HE_OVERFLOW, "int64");
        expect_lit_failure(w, "{$E: 9223372036854775808}", HE_OVERFLOW, "int64");
        end_world_with_e(w);
    }
}

static void invalid_utf8_in_a_str_fails_atomically(void **state)
{
    (void)state;
    for (size_t p = 0; p < NPOLICIES; p++) {
        tworld *w = world_with_e(policies[p]);
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 3);
        msgpack_pack_ext(&pk, 1, EXT_NAME);
        msgpack_pack_ext_body(&pk, "E", 1);
        msgpack_pack_int(&pk, 1000);
        msgpack_pack_str(&pk, 2);
        msgpack_pack_str_body(&pk, "\xff\xfe", 2);
        expect_failure(w, "[$E, 1000, '\\xff\\xfe']", sb.data, sb.size, HE_VALUE, "UTF-8");
        msgpack_sbuffer_destroy(&sb);
        end_world_with_e(w);
    }
}

static void an_invalid_utf8_name_ref_fails(void **state)
{
    (void)state;
    tworld *w = world_with_e(INTERN_PYTHON);
    const char buf[] = "\x92\xd4\x04\x45\xd4\x04\xff"; /* [$E, $<0xff>] */
    expect_failure(w, "[$E, $\\xff]", buf, sizeof buf - 1, HE_VALUE, "UTF-8");
    end_world_with_e(w);
}

static void nesting_up_to_max_depth_builds_and_deeper_fails(void **state)
{
    (void)state;
    for (size_t p = 0; p < NPOLICIES; p++) {
        tworld *w = world_with_e(policies[p]);
        heap_set_max_depth(w->h, 5);
        tw_bind(w, "D", "[[[[[$E]]]]]");
        expect_lit_failure(w, "[[[[[[$E]]]]]]", HE_RECURSION, "max_depth = 5");
        /* ext payloads count too: list, tuple, list, dict, tuple, set */
        tw_bind(w, "X", "[([{1: ($E,)}],)]");
        expect_lit_failure(w, "[([{1: ({$E},)}],)]", HE_RECURSION, "max_depth");
        /* a reference is not nesting: D is 5 deep, [$D] is 1 */
        tw_bind(w, "X", "[$D]");
        assert_int_equal(ns_unbind(w->ns, w->s, "X", 1, false, NULL), 0);
        assert_int_equal(ns_unbind(w->ns, w->s, "D", 1, false, NULL), 0);
        heap_drain_all(w->h);
        end_world_with_e(w);
    }
}

static void the_object_limit_fails_a_literal_atomically(void **state)
{
    (void)state;
    for (size_t p = 0; p < NPOLICIES; p++) {
        tworld *w = world_with_e(policies[p]);
        heap_set_limits(w->h, heap_live_total(w->h) + 3, 0);
        expect_lit_failure(w, "[$E, [1000, 2000, 3000]]", HE_MEMORY, "max_objects");
        heap_decref(w->h, tw_build(w, "[$E, [1000]]"));
        end_world_with_e(w);
    }
}

static void the_memory_limit_fails_a_literal_atomically(void **state)
{
    (void)state;
    for (size_t p = 0; p < NPOLICIES; p++) {
        tworld *w = world_with_e(policies[p]);
        heap_set_limits(w->h, 0, heap_get_stats(w->h)->bytes + 200);
        expect_lit_failure(w,
                           "[$E, 'a string of more than two hundred bytes, which is the memory "
                           "that this heap has left; it goes on and on and on, longer than is "
                           "reasonable for a test, until finally it ends.']",
                           HE_MEMORY, "max_memory_bytes");
        heap_decref(w->h, tw_build(w, "[$E, 'short']"));
        end_world_with_e(w);
    }
}

/* --- Python's key rules ------------------------------------------------------ */

static void equal_numeric_keys_are_one_key_keeping_the_first(void **state)
{
    (void)state;
    for (size_t p = 0; p < NPOLICIES; p++) {
        tworld *w = tw_new(policies[p]);
        tw_bind(w, "D", "{1: 'a', 1.0: 'b', True: 'c'}");
        hobj *d = tw_get(w, "D");
        assert_int_equal(AS_DICT(d)->used, 1);
        hentry *e = htab_entry(AS_DICT(d), 0);
        assert_int_equal(e->key->type, T_INT);
        assert_int_equal(AS_INT(e->key)->v, 1);
        assert_int_equal(e->val->type, T_STR);
        assert_string_equal(AS_STR(e->val)->data, "c");
        assert_ptr_equal(dict_get(w, d, "True"), e->val);
        assert_ptr_equal(dict_get(w, d, "1.0"), e->val);

        tw_bind(w, "D", "{True: 1, 1: 2}");
        e = htab_entry(AS_DICT(tw_get(w, "D")), 0);
        assert_int_equal(e->key->type, T_BOOL);
        assert_int_equal(AS_INT(e->val)->v, 2);
        tw_check(w);
        tw_free(w);
    }
}

static void a_tuple_holding_a_list_is_an_unhashable_key(void **state)
{
    (void)state;
    tworld *w = world_with_e(INTERN_PYTHON);
    expect_lit_failure(w, "{(1, [2]): 3}", HE_TYPE, "unhashable type: 'list'");
    expect_lit_failure(w, "{($E, ($L,)): 3}", HE_TYPE, "unhashable type: 'list'");
    /* as a value it is fine */
    heap_decref(w->h, tw_build(w, "{1: (1, [2])}"));
    end_world_with_e(w);
}

static void an_unhashable_tuple_key_names_the_container_inside_it(void **state)
{
    (void)state;
    tworld *w = world_with_e(INTERN_PYTHON);
    tw_bind(w, "T", "(1, {2: 3})");
    tw_bind(w, "U", "($E, (4, {5}))");
    expect_lit_failure(w, "{$T: 1}", HE_TYPE, "unhashable type: 'dict'");
    expect_lit_failure(w, "{$E, $U}", HE_TYPE, "unhashable type: 'set'");
    expect_lit_failure(w, "{($L,): 1}", HE_TYPE, "unhashable type: 'list'");
    assert_int_equal(ns_unbind(w->ns, w->s, "U", 1, false, NULL), 0);
    end_world_with_e(w);
}

static void duplicate_set_members_collapse(void **state)
{
    (void)state;
    for (size_t p = 0; p < NPOLICIES; p++) {
        tworld *w = tw_new(policies[p]);
        tw_bind(w, "S", "{1, 1.0, True, 2, 2, 'a b', 'a b', (1, 'x'), (1.0, 'x')}");
        assert_int_equal(AS_DICT(tw_get(w, "S"))->used, 4);
        tw_bind(w, "S", "{1.0, 1}");
        assert_int_equal(AS_DICT(tw_get(w, "S"))->used, 1);
        assert_int_equal(htab_entry(AS_DICT(tw_get(w, "S")), 0)->key->type, T_FLOAT);
        tw_check(w);
        tw_free(w);
    }
}

static void an_unhashable_set_member_fails(void **state)
{
    (void)state;
    tworld *w = world_with_e(INTERN_PYTHON);
    expect_lit_failure(w, "{1, $E, [2]}", HE_TYPE, "unhashable type: 'list'");
    expect_lit_failure(w, "{1, $E, {}}", HE_TYPE, "unhashable type: 'dict'");
    expect_lit_failure(w, "{1, $E, {2}}", HE_TYPE, "unhashable type: 'set'");
    expect_lit_failure(w, "{1, $E, $L}", HE_TYPE, "unhashable type: 'list'");
    end_world_with_e(w);
}

/* --- malformed ext payloads -------------------------------------------------- */

static void malformed_ext_payloads_are_protocol_errors(void **state)
{
    (void)state;
    tworld *w = world_with_e(INTERN_PYTHON);
    struct {
        const char *what, *buf;
        size_t len;
        const char *msg;
    } cases[] = {
        /* fixext1 type 2, payload the int 5 */
        {"tuple of an int", "\x92\xd4\x04\x45\xd4\x02\x05", 7, "must be an array"},
        /* ext8 of 7 bytes, type 1 */
        {"7-byte ref", "\x92\xd4\x04\x45\xc7\x07\x01\x00\x00\x00\x00\x00\x00\x01", 14, "8 bytes"},
        /* fixext1 type 9 */
        {"ext 9", "\x92\xd4\x04\x45\xd4\x09\x00", 7, "unknown ext type 9"},
        /* fixext2 type 3 (set), payload two values: [] [] */
        {"set of two arrays", "\x92\xd4\x04\x45\xd5\x03\x90\x90", 8, "not one msgpack value"},
        /* fixext1 type 2, payload a reserved byte */
        {"tuple of 0xc1", "\x92\xd4\x04\x45\xd4\x02\xc1", 7, "not one msgpack value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_failure(w, cases[i].what, cases[i].buf, cases[i].len, HE_PROTOCOL, cases[i].msg);
    end_world_with_e(w);
}

static void a_huge_declared_array_in_an_ext_is_refused_before_decoding(void **state)
{
    (void)state;
    tworld *w = world_with_e(INTERN_PYTHON);
    /* ext8 of 5 bytes, type 2: array32 of 4,294,967,295 items. Decoding it
     * would ask msgpack-c for ~100 GB; the scan must refuse it first. */
    const char buf[] = "\x92\xd4\x04\x45\xc7\x05\x02\xdd\xff\xff\xff\xff";
    expect_failure(w, "(4G items)", buf, sizeof buf - 1, HE_PROTOCOL, "not one msgpack value");
    const char map[] = "\x92\xd4\x04\x45\xc7\x05\x03\xdf\xff\xff\xff\xff";
    expect_failure(w, "{4G pairs}", map, sizeof map - 1, HE_PROTOCOL, "not one msgpack value");
    end_world_with_e(w);
}

/* At the object limit, a literal that only reuses interned objects still
 * builds: the limit counts what a request would create, not what it names. */
static void reused_interned_scalars_cost_nothing_at_the_limit(void **state)
{
    (void)state;
    static const struct {
        intern_policy policy;
        const char *first, *again, *fresh;
    } cases[] = {
        {INTERN_PYTHON, "'abc'", "['abc', 7, None]", "'abd'"},
        {INTERN_ALL, "(2.5, 'a b', b'xy', 1000)", "(2.5, 'a b', b'xy', 1000)", "1001"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tworld *w = tw_new(cases[i].policy);
        tw_bind(w, "keep", cases[i].first);
        hobj *o = NULL;
        herr err = {0};
        /* room for exactly the list or tuple of "again", nothing more */
        heap_set_limits(w->h, heap_live_total(w->h) + 1, 0);
        assert_int_equal(tw_try_build(w, cases[i].again, &o, &err), 0);
        heap_decref(w->h, o);
        heap_drain_all(w->h);
        heap_set_limits(w->h, heap_live_total(w->h), 0);
        assert_int_equal(tw_try_build(w, cases[i].fresh, &o, &err), HE_MEMORY);
        heap_set_limits(w->h, 0, 0);
        tw_free(w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scalars_build_objects_of_their_type),
        cmocka_unit_test(containers_build_with_their_items),
        cmocka_unit_test(a_name_ref_is_the_bound_object_with_one_more_reference),
        cmocka_unit_test(check_refs_reports_each_ext_1),
        cmocka_unit_test(an_id_ref_is_that_object_with_one_more_reference),
        cmocka_unit_test(an_unhashable_key_deep_inside_fails_atomically),
        cmocka_unit_test(an_unbound_name_deep_inside_fails_atomically),
        cmocka_unit_test(a_stale_id_deep_inside_fails_atomically),
        cmocka_unit_test(an_int_beyond_int64_fails_atomically),
        cmocka_unit_test(invalid_utf8_in_a_str_fails_atomically),
        cmocka_unit_test(an_invalid_utf8_name_ref_fails),
        cmocka_unit_test(nesting_up_to_max_depth_builds_and_deeper_fails),
        cmocka_unit_test(the_object_limit_fails_a_literal_atomically),
        cmocka_unit_test(the_memory_limit_fails_a_literal_atomically),
        cmocka_unit_test(equal_numeric_keys_are_one_key_keeping_the_first),
        cmocka_unit_test(a_tuple_holding_a_list_is_an_unhashable_key),
        cmocka_unit_test(an_unhashable_tuple_key_names_the_container_inside_it),
        cmocka_unit_test(duplicate_set_members_collapse),
        cmocka_unit_test(an_unhashable_set_member_fails),
        cmocka_unit_test(malformed_ext_payloads_are_protocol_errors),
        cmocka_unit_test(a_huge_declared_array_in_an_ext_is_refused_before_decoding),
        cmocka_unit_test(reused_interned_scalars_cost_nothing_at_the_limit),
    };
    return cmocka_run_group_tests_name("literal", tests, NULL, NULL);
}
