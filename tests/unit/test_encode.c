/* Encoding objects as wire values (encode.h): every type, references,
 * the depth and cycle rules, msgpack-c's nesting limit, getitem's rule,
 * and round trips through the literal builder (SPEC section 2). */
#include "testlib.h"
#include "encbuf.h"
#include "encode.h"
#include "util.h"
#include "wire.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const intern_policy policies[] = {INTERN_PYTHON, INTERN_NONE, INTERN_ALL};
#define NPOLICIES (sizeof policies / sizeof policies[0])

/* An encoding and its decoded form (v points into sb and zone). */
typedef struct encoded {
    msgpack_sbuffer sb;
    msgpack_zone *zone;
    msgpack_object v;
} encoded;

static void enc_begin(encoded *e, msgpack_packer *pk)
{
    msgpack_sbuffer_init(&e->sb);
    msgpack_packer_init(pk, &e->sb, msgpack_sbuffer_write);
    e->zone = msgpack_zone_new(1024);
}

/* Decodes e->sb, which must be exactly one msgpack value. */
static void enc_unpack(encoded *e)
{
    size_t off = 0;
    assert_int_equal(msgpack_unpack(e->sb.data, e->sb.size, &off, e->zone, &e->v),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, e->sb.size);
}

static void encode(encoded *e, heap *h, hobj *o, uint32_t depth)
{
    msgpack_packer pk;
    enc_begin(e, &pk);
    enc_value(&pk, h, o, depth);
    enc_unpack(e);
}

static void encode_item(encoded *e, heap *h, hobj *o)
{
    msgpack_packer pk;
    enc_begin(e, &pk);
    enc_item(&pk, h, o);
    enc_unpack(e);
}

static void enc_end(encoded *e)
{
    msgpack_sbuffer_destroy(&e->sb);
    msgpack_zone_free(e->zone);
}

/* The array inside an ext of the given type; the payload must be exactly
 * one msgpack array. */
static msgpack_object payload(const msgpack_object *v, int type, msgpack_zone *zone)
{
    msgpack_object a;
    size_t off = 0;
    assert_int_equal(v->type, MSGPACK_OBJECT_EXT);
    assert_int_equal(v->via.ext.type, type);
    assert_int_equal(msgpack_unpack(v->via.ext.ptr, v->via.ext.size, &off, zone, &a),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, v->via.ext.size);
    assert_int_equal(a.type, MSGPACK_OBJECT_ARRAY);
    return a;
}

static void assert_ref(const msgpack_object *v, hobj *o)
{
    assert_int_equal(v->type, MSGPACK_OBJECT_EXT);
    assert_int_equal(v->via.ext.type, EXT_REF);
    assert_int_equal(v->via.ext.size, 8);
    const unsigned char *b = (const unsigned char *)v->via.ext.ptr;
    uint64_t id = 0;
    for (int i = 0; i < 8; i++)
        id = id << 8 | b[i];
    assert_int_equal(id, hobj_id(o));
}

static void assert_int_val(const msgpack_object *v, int64_t want)
{
    if (want >= 0) {
        assert_int_equal(v->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
        assert_int_equal(v->via.u64, (uint64_t)want);
    } else {
        assert_int_equal(v->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
        assert_true(v->via.i64 == want);
    }
}

/* A str (MSGPACK_OBJECT_STR) or bytes (MSGPACK_OBJECT_BIN) value. */
static void assert_raw_val(const msgpack_object *v, int type, const char *data, uint32_t len)
{
    assert_int_equal(v->type, type);
    assert_int_equal(v->via.str.size, len);
    assert_memory_equal(v->via.str.ptr, data, len);
}

static const msgpack_object *elem(const msgpack_object *arr, uint32_t i)
{
    assert_int_equal(arr->type, MSGPACK_OBJECT_ARRAY);
    assert_true(i < arr->via.array.size);
    return &arr->via.array.ptr[i];
}

/* --- every type ------------------------------------------------------------ */

static void scalars_are_msgpack_scalars(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    encoded e;
    hobj *o = tw_build(w, "None");
    encode(&e, w->h, o, 16);
    assert_int_equal(e.v.type, MSGPACK_OBJECT_NIL);
    enc_end(&e);
    heap_decref(w->h, o);

    const char *bools[] = {"False", "True"};
    for (int b = 0; b < 2; b++) {
        o = tw_build(w, bools[b]);
        encode(&e, w->h, o, 16);
        assert_int_equal(e.v.type, MSGPACK_OBJECT_BOOLEAN);
        assert_int_equal(e.v.via.boolean, b);
        enc_end(&e);
        heap_decref(w->h, o);
    }

    const int64_t ints[] = {0, 7, -1, 300, -70000, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < ARRAY_LEN(ints); i++) {
        o = heap_int(w->h, ints[i]);
        encode(&e, w->h, o, 16);
        assert_int_val(&e.v, ints[i]);
        enc_end(&e);
        heap_decref(w->h, o);
    }

    o = tw_build(w, "'h\\xe9'");
    encode(&e, w->h, o, 16);
    assert_raw_val(&e.v, MSGPACK_OBJECT_STR, "h\xc3\xa9", 3);
    enc_end(&e);
    heap_decref(w->h, o);

    o = tw_build(w, "b'\\x00a'");
    encode(&e, w->h, o, 16);
    assert_raw_val(&e.v, MSGPACK_OBJECT_BIN, "\0a", 2);
    enc_end(&e);
    heap_decref(w->h, o);

    o = tw_build(w, "''");
    encode(&e, w->h, o, 16);
    assert_raw_val(&e.v, MSGPACK_OBJECT_STR, "", 0);
    enc_end(&e);
    heap_decref(w->h, o);
    tw_free(w);
}

static uint64_t bits_of(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static double double_of(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

/* Always float64 (0xcb and 8 big-endian bytes), even for values float32
 * could hold, and bit-exact for -0.0, infinities and NaN payloads. */
static void floats_are_float64_bit_exact(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    const double cases[] = {1.5,
                            -2.25,
                            0.0,
                            -0.0,
                            INFINITY,
                            -INFINITY,
                            double_of(0x7ff8000000000123ull),
                            double_of(0xfff0000000000001ull),
                            double_of(1) /* the smallest subnormal */};
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        hobj *o = heap_float(w->h, cases[i]);
        encoded e;
        encode(&e, w->h, o, 16);
        assert_int_equal(e.v.type, MSGPACK_OBJECT_FLOAT64);
        assert_int_equal(bits_of(e.v.via.f64), bits_of(cases[i]));
        assert_int_equal(e.sb.size, 9);
        const unsigned char *b = (const unsigned char *)e.sb.data;
        assert_int_equal(b[0], 0xcb);
        uint64_t raw = 0;
        for (int k = 1; k < 9; k++)
            raw = raw << 8 | b[k];
        assert_int_equal(raw, bits_of(cases[i]));
        enc_end(&e);
        heap_decref(w->h, o);
    }
    tw_free(w);
}

static void a_list_is_an_array(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *l = tw_build(w, "[1, 'a', [2], []]");
    encoded e;
    encode(&e, w->h, l, 16);
    assert_int_equal(e.v.type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(e.v.via.array.size, 4);
    assert_int_val(elem(&e.v, 0), 1);
    assert_raw_val(elem(&e.v, 1), MSGPACK_OBJECT_STR, "a", 1);
    assert_int_equal(elem(&e.v, 2)->via.array.size, 1);
    assert_int_val(elem(elem(&e.v, 2), 0), 2);
    assert_int_equal(elem(&e.v, 3)->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(elem(&e.v, 3)->via.array.size, 0);
    enc_end(&e);
    heap_decref(w->h, l);
    tw_free(w);
}

/* Keys and values in insertion order; deleted entries leave no trace. */
static void a_dict_is_a_map_without_its_holes(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *d = tw_build(w, "{'k': 1, 2: [3], 'gone': None, (4, 5): b'v'}");
    hobj *key = tw_build(w, "'gone'");
    uint64_t hash;
    assert_int_equal(cont_hash(key, &hash, NULL), 0);
    assert_int_equal(cont_dict_pop(w->h, d, key, hash, NULL, NULL), 0);
    heap_decref(w->h, key);

    encoded e;
    encode(&e, w->h, d, 16);
    assert_int_equal(e.v.type, MSGPACK_OBJECT_MAP);
    assert_int_equal(e.v.via.map.size, 3);
    msgpack_object_kv *kv = e.v.via.map.ptr;
    assert_raw_val(&kv[0].key, MSGPACK_OBJECT_STR, "k", 1);
    assert_int_val(&kv[0].val, 1);
    assert_int_val(&kv[1].key, 2);
    assert_int_val(elem(&kv[1].val, 0), 3);
    msgpack_object t = payload(&kv[2].key, EXT_TUPLE, e.zone);
    assert_int_equal(t.via.array.size, 2);
    assert_int_val(elem(&t, 0), 4);
    assert_int_val(elem(&t, 1), 5);
    assert_raw_val(&kv[2].val, MSGPACK_OBJECT_BIN, "v", 1);
    enc_end(&e);
    heap_decref(w->h, d);

    d = heap_dict(w->h);
    assert_null(AS_DICT(d)->tb);
    encode(&e, w->h, d, 16);
    assert_int_equal(e.v.type, MSGPACK_OBJECT_MAP);
    assert_int_equal(e.v.via.map.size, 0);
    enc_end(&e);
    heap_decref(w->h, d);
    tw_free(w);
}

static void a_tuple_is_ext_2_with_one_array(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *t = tw_build(w, "(1, 'a', [2], (3,))");
    encoded e;
    encode(&e, w->h, t, 16);
    msgpack_object a = payload(&e.v, EXT_TUPLE, e.zone);
    assert_int_equal(a.via.array.size, 4);
    assert_int_val(elem(&a, 0), 1);
    assert_raw_val(elem(&a, 1), MSGPACK_OBJECT_STR, "a", 1);
    assert_int_val(elem(elem(&a, 2), 0), 2);
    msgpack_object inner = payload(elem(&a, 3), EXT_TUPLE, e.zone);
    assert_int_equal(inner.via.array.size, 1);
    assert_int_val(elem(&inner, 0), 3);
    enc_end(&e);
    heap_decref(w->h, t);

    t = tw_build(w, "()");
    encode(&e, w->h, t, 16);
    a = payload(&e.v, EXT_TUPLE, e.zone);
    assert_int_equal(a.via.array.size, 0);
    assert_int_equal(e.v.via.ext.size, 1); /* just the empty array, 0x90 */
    enc_end(&e);
    heap_decref(w->h, t);
    tw_free(w);
}

static void a_set_is_ext_3_without_its_holes(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *s = tw_build(w, "{5, 'gone', (6,), 7}");
    hobj *key = tw_build(w, "'gone'");
    uint64_t hash;
    assert_int_equal(cont_hash(key, &hash, NULL), 0);
    assert_true(cont_set_discard(w->h, s, key, hash));
    heap_decref(w->h, key);

    encoded e;
    encode(&e, w->h, s, 16);
    msgpack_object a = payload(&e.v, EXT_SET, e.zone);
    assert_int_equal(a.via.array.size, 3);
    assert_int_val(elem(&a, 0), 5);
    msgpack_object t = payload(elem(&a, 1), EXT_TUPLE, e.zone);
    assert_int_val(elem(&t, 0), 6);
    assert_int_val(elem(&a, 2), 7);
    enc_end(&e);
    heap_decref(w->h, s);

    s = tw_build(w, "set()");
    encode(&e, w->h, s, 16);
    a = payload(&e.v, EXT_SET, e.zone);
    assert_int_equal(a.via.array.size, 0);
    enc_end(&e);
    heap_decref(w->h, s);
    tw_free(w);
}

/* The id, big-endian, for objects of every container type. */
static void a_reference_is_ext_1_with_the_big_endian_id(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    const char *lits[] = {"[1]", "(1,)", "{1: 2}", "{1}", "1000", "'s'"};
    for (size_t i = 0; i < ARRAY_LEN(lits); i++) {
        hobj *o = tw_build(w, lits[i]);
        encoded e;
        msgpack_packer pk;
        enc_begin(&e, &pk);
        enc_ref(&pk, o);
        enc_unpack(&e);
        assert_ref(&e.v, o);
        /* fixext 8 (0xd7), type 1, then the id's bytes, most significant first */
        assert_int_equal(e.sb.size, 10);
        assert_int_equal((unsigned char)e.sb.data[0], 0xd7);
        assert_int_equal(e.sb.data[1], EXT_REF);
        assert_int_equal((unsigned char)e.sb.data[9], hobj_id(o) & 0xff);
        enc_end(&e);
        heap_decref(w->h, o);
    }
    tw_free(w);
}

/* --- depth and cycles ------------------------------------------------------ */

static void depth_0_is_a_reference_for_containers_only(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    const char *containers[] = {"[]", "[1]", "()", "(1,)", "{}", "{1: 2}", "set()", "{1}"};
    for (size_t i = 0; i < ARRAY_LEN(containers); i++) {
        hobj *o = tw_build(w, containers[i]);
        encoded e;
        encode(&e, w->h, o, 0);
        assert_ref(&e.v, o);
        enc_end(&e);
        heap_decref(w->h, o);
    }
    hobj *o = tw_build(w, "123456");
    encoded e;
    encode(&e, w->h, o, 0);
    assert_int_val(&e.v, 123456);
    enc_end(&e);
    heap_decref(w->h, o);
    tw_free(w);
}

static void containers_below_depth_are_references(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *l = tw_build(w, "[[1]]");
    hobj *inner = AS_LIST(l)->items[0];
    encoded e;
    encode(&e, w->h, l, 1);
    assert_int_equal(e.v.via.array.size, 1);
    assert_ref(elem(&e.v, 0), inner);
    enc_end(&e);
    encode(&e, w->h, l, 2);
    assert_int_val(elem(elem(&e.v, 0), 0), 1);
    enc_end(&e);
    heap_decref(w->h, l);

    /* ext payloads count as levels like arrays and maps */
    hobj *t = tw_build(w, "({'k': [1, (2,)]},)");
    hobj *d = AS_TUPLE(t)->items[0];
    encode(&e, w->h, t, 1);
    msgpack_object a = payload(&e.v, EXT_TUPLE, e.zone);
    assert_ref(elem(&a, 0), d);
    enc_end(&e);
    encode(&e, w->h, t, 3);
    a = payload(&e.v, EXT_TUPLE, e.zone);
    msgpack_object_kv *kv = elem(&a, 0)->via.map.ptr;
    hobj *list = htab_entry(AS_DICT(d), 0)->val;
    assert_int_val(elem(&kv[0].val, 0), 1);
    assert_ref(elem(&kv[0].val, 1), AS_LIST(list)->items[1]);
    enc_end(&e);
    heap_decref(w->h, t);
    tw_free(w);
}

static void a_list_holding_itself_ends_in_a_reference(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *l = tw_build(w, "[1]");
    cont_list_reserve(w->h, l, 1);
    cont_list_append(w->h, l, heap_incref(w->h, l));
    encoded e;
    encode(&e, w->h, l, 16);
    assert_int_equal(e.v.via.array.size, 2);
    assert_int_val(elem(&e.v, 0), 1);
    assert_ref(elem(&e.v, 1), l);
    enc_end(&e);
    heap_decref(w->h, cont_list_take(w->h, l, 1));
    heap_decref(w->h, l);
    tw_free(w);
}

/* d = {}; l = [d]; d['l'] = l, and l = []; t = (l,); l.append(t): the
 * cycle is cut at the first container met again, whichever is on top. */
static void cycles_through_dicts_and_tuples_end_in_references(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *d = heap_dict(w->h), *l = heap_list(w->h, 1);
    cont_list_append(w->h, l, heap_incref(w->h, d));
    hobj *key = heap_str(w->h, "l", 1);
    uint64_t hash;
    assert_int_equal(cont_hash(key, &hash, NULL), 0);
    cont_table_reserve(w->h, d, 1);
    cont_dict_set(w->h, d, key, hash, heap_incref(w->h, l));
    encoded e;
    encode(&e, w->h, d, 16);
    assert_int_equal(e.v.via.map.size, 1);
    assert_ref(elem(&e.v.via.map.ptr[0].val, 0), d);
    enc_end(&e);
    encode(&e, w->h, l, 16);
    assert_ref(&elem(&e.v, 0)->via.map.ptr[0].val, l);
    enc_end(&e);
    cont_clear(w->h, d);
    heap_decref(w->h, d);
    heap_decref(w->h, l);

    l = heap_list(w->h, 1);
    hobj *item = heap_incref(w->h, l);
    hobj *t = heap_tuple(w->h, &item, 1);
    cont_list_append(w->h, l, heap_incref(w->h, t));
    encode(&e, w->h, t, 16);
    msgpack_object a = payload(&e.v, EXT_TUPLE, e.zone);
    assert_ref(elem(elem(&a, 0), 0), t);
    enc_end(&e);
    encode(&e, w->h, l, 16);
    a = payload(elem(&e.v, 0), EXT_TUPLE, e.zone);
    assert_ref(elem(&a, 0), l);
    enc_end(&e);
    cont_clear(w->h, l);
    heap_decref(w->h, t);
    heap_decref(w->h, l);
    tw_free(w);
}

/* Only the path counts: a container met twice side by side is no cycle. */
static void a_shared_container_off_the_path_is_expanded_each_time(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "x", "[1000]");
    hobj *l = tw_build(w, "[$x, $x, ($x,), {'k': $x}]");
    encoded e;
    encode(&e, w->h, l, 16);
    assert_int_val(elem(elem(&e.v, 0), 0), 1000);
    assert_int_val(elem(elem(&e.v, 1), 0), 1000);
    msgpack_object a = payload(elem(&e.v, 2), EXT_TUPLE, e.zone);
    assert_int_val(elem(elem(&a, 0), 0), 1000);
    assert_int_val(elem(&elem(&e.v, 3)->via.map.ptr[0].val, 0), 1000);
    enc_end(&e);
    heap_decref(w->h, l);
    tw_free(w);
}

/* --- the caps: C stack and msgpack-c's nesting limit ----------------------- */

/* A container of kind 'l' (list), 't' (tuple) or 'd' ({0: inner}) holding
 * inner (stolen), or empty when inner is NULL. */
static hobj *wrap(heap *h, char kind, hobj *inner)
{
    if (kind == 't')
        return heap_tuple(h, &inner, inner ? 1 : 0);
    hobj *c = kind == 'l' ? heap_list(h, 1) : heap_dict(h);
    if (inner && kind == 'l')
        cont_list_append(h, c, inner);
    if (inner && kind == 'd') {
        hobj *key = heap_int(h, 0);
        uint64_t hash;
        assert_int_equal(cont_hash(key, &hash, NULL), 0);
        cont_table_reserve(h, c, 1);
        cont_dict_set(h, c, key, hash, inner);
    }
    return c;
}

/* n containers each holding the next, level i+1 of kind kinds[i % len];
 * levels[i] is level i+1 (borrowed). Returns the outermost. */
static hobj *chain(heap *h, const char *kinds, uint32_t n, hobj **levels)
{
    size_t k = strlen(kinds);
    hobj *o = NULL;
    for (uint32_t i = n; i-- > 0;)
        o = levels[i] = wrap(h, kinds[i % k], o);
    return o;
}

/* Follows a chain's first items down from v; returns how many containers
 * were expanded and leaves in *end what ended the walk. */
static uint32_t descend(const msgpack_object *v, msgpack_zone *zone, msgpack_object *end)
{
    uint32_t n = 0;
    msgpack_object cur = *v;
    for (;; n++) {
        if (cur.type == MSGPACK_OBJECT_EXT && cur.via.ext.type == EXT_TUPLE)
            cur = payload(&cur, EXT_TUPLE, zone);
        if (cur.type == MSGPACK_OBJECT_ARRAY && cur.via.array.size)
            cur = cur.via.array.ptr[0];
        else if (cur.type == MSGPACK_OBJECT_MAP && cur.via.map.size)
            cur = cur.via.map.ptr[0].val;
        else
            break;
    }
    *end = cur;
    return n;
}

/* Encodes a chain of n containers at `depth` and checks that exactly
 * `expanded` levels come back, then a reference to the next level. */
static void check_chain(const char *kinds, uint32_t n, uint32_t depth, uint32_t expanded)
{
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *levels[200];
    assert_true(n <= ARRAY_LEN(levels) && expanded < n);
    hobj *top = chain(w->h, kinds, n, levels);
    encoded e;
    encode(&e, w->h, top, depth);
    msgpack_object end;
    uint32_t got = descend(&e.v, e.zone, &end);
    if (got != expanded)
        fail_msg("chain '%s' x%u at depth %u: %u levels expanded, want %u", kinds, n, depth, got,
                 expanded);
    assert_ref(&end, levels[expanded]);
    enc_end(&e);
    heap_decref(w->h, top);
    tw_free(w);
}

static void chains_expand_exactly_depth_levels(void **state)
{
    (void)state;
    check_chain("l", 100, 5, 5);
    check_chain("t", 100, 5, 5);
    check_chain("d", 100, 5, 5);
    check_chain("ltd", 100, 1, 1);
    check_chain("ltd", 100, 17, 17);
}

/* Lists and dicts stop at ENC_MAX_NEST levels of one buffer: msgpack-c
 * would refuse the message otherwise. */
static void lists_and_dicts_stop_at_msgpack_nesting_limit(void **state)
{
    (void)state;
    check_chain("l", 100, 100, ENC_MAX_NEST);
    check_chain("d", 100, 100, ENC_MAX_NEST);
    check_chain("ld", 100, 1000, ENC_MAX_NEST);
}

/* Tuple payloads are separate buffers, so their nesting starts again; what
 * stops them is the depth cap. */
static void ext_payloads_restart_nesting_and_depth_is_capped(void **state)
{
    (void)state;
    check_chain("t", 100, 100, ENC_MAX_DEPTH);
    check_chain("lt", 100, 100, ENC_MAX_DEPTH);
    check_chain("llt", 100, UINT32_MAX, ENC_MAX_DEPTH);
}

/* The deepest list chain encoded inside a response envelope and one more
 * array ([1, msgid, nil, [value]]) still unpacks; one more enclosing level
 * would not, so the cap is as loose as it can be. */
static void the_deepest_value_fits_in_a_response(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *levels[100];
    hobj *top = chain(w->h, "l", 100, levels);
    for (int extra = 0; extra <= 1; extra++) {
        encoded e;
        msgpack_packer pk;
        enc_begin(&e, &pk);
        for (int i = 0; i < extra; i++)
            msgpack_pack_array(&pk, 1);
        msgpack_pack_array(&pk, 4);
        msgpack_pack_int(&pk, MSG_RESPONSE);
        msgpack_pack_int(&pk, 7);
        msgpack_pack_nil(&pk);
        msgpack_pack_array(&pk, 1);
        enc_value(&pk, w->h, top, 100);
        size_t off = 0;
        int rc = msgpack_unpack(e.sb.data, e.sb.size, &off, e.zone, &e.v);
        if (extra == 0)
            assert_int_equal(rc, MSGPACK_UNPACK_SUCCESS);
        else
            assert_int_not_equal(rc, MSGPACK_UNPACK_SUCCESS);
        enc_end(&e);
    }
    heap_decref(w->h, top);
    tw_free(w);
}

/* --- getitem's rule -------------------------------------------------------- */

static void items_are_values_for_scalars_and_references_for_containers(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    const char *scalars[] = {"None", "True", "-7", "2.5", "'s'", "b'b'"};
    for (size_t i = 0; i < ARRAY_LEN(scalars); i++) {
        hobj *o = tw_build(w, scalars[i]);
        encoded item, value;
        encode_item(&item, w->h, o);
        encode(&value, w->h, o, 16);
        assert_int_not_equal(item.v.type, MSGPACK_OBJECT_EXT);
        assert_int_equal(item.sb.size, value.sb.size);
        assert_memory_equal(item.sb.data, value.sb.data, value.sb.size);
        enc_end(&item);
        enc_end(&value);
        heap_decref(w->h, o);
    }
    const char *containers[] = {"()", "(1, 2)", "[]", "[1]", "{}", "{1: 2}", "{1}"};
    for (size_t i = 0; i < ARRAY_LEN(containers); i++) {
        hobj *o = tw_build(w, containers[i]);
        encoded e;
        encode_item(&e, w->h, o);
        assert_ref(&e.v, o);
        enc_end(&e);
        heap_decref(w->h, o);
    }
    tw_free(w);
}

/* --- round trips and side effects ------------------------------------------ */

/* Encoding lit at depth, building the result back and encoding that gives
 * the same bytes: every value survives, and references (to the original's
 * inner containers) stay references. */
static void round_trip(tworld *w, const char *lit, uint32_t depth)
{
    hobj *o = tw_build(w, lit), *back = NULL;
    encoded first, second;
    encode(&first, w->h, o, depth);
    herr err = {0};
    if (tw_try_build_obj(w, &first.v, &back, &err))
        fail_msg("%s: building the encoding back: %s: %s", lit, herr_name(err.code), err.msg);
    if (hobj_is_container(o) && depth > 0)
        assert_ptr_not_equal(back, o); /* at depth 0, o's reference builds o */
    encode(&second, w->h, back, depth);
    if (second.sb.size != first.sb.size ||
        memcmp(second.sb.data, first.sb.data, first.sb.size) != 0)
        fail_msg("%s at depth %u: the rebuilt object encodes differently", lit, depth);
    enc_end(&first);
    enc_end(&second);
    heap_decref(w->h, back);
    heap_decref(w->h, o);
}

static void values_round_trip_through_the_literal_builder(void **state)
{
    (void)state;
    static const struct {
        const char *lit;
        uint32_t depth;
    } cases[] = {
        {"[1, 'a', b'x', (2, [3]), {4: {5, 6}}, None, True, 1.5, -0.0]", 16},
        {"{(1, (2, 'x')): [b'', {}], 'k': (None, False), 3.25: {1, 2, (3,)}}", 16},
        {"[inf, -inf, nan, 0.0, -0.0, 1e300, -9223372036854775808, 9223372036854775807]", 16},
        {"[1, [2], (3,), {4: 5}, {6}, set(), ()]", 1},
        {"{(1,): [2], 'k': {'j': []}}", 1},
        {"[[[[1]]], ([[2]],), {0: [[3]]}]", 2},
        {"((((),),),)", 16},
        {"((((),),),)", 2},
        {"'just a str'", 0},
        {"None", 16},
        {"[]", 0},
    };
    for (size_t p = 0; p < NPOLICIES; p++) {
        tworld *w = tw_new(policies[p]);
        for (size_t i = 0; i < ARRAY_LEN(cases); i++)
            round_trip(w, cases[i].lit, cases[i].depth);
        tw_check(w);
        tw_free(w);
    }
}

/* Encoding reads the heap only: no count, id or counter moves. */
static void encoding_changes_nothing(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "x", "[1000, 'str', (2.5, b'b'), {'k': {1, 2}}]");
    hobj *x = tw_get(w, "x");
    cont_list_reserve(w->h, x, 1);
    cont_list_append(w->h, x, heap_incref(w->h, x));
    tsnap *snap = tsnap_take(w->h);
    for (uint32_t depth = 0; depth < 4; depth++) {
        encoded e;
        encode(&e, w->h, x, depth);
        enc_end(&e);
    }
    encoded e;
    encode_item(&e, w->h, x);
    enc_end(&e);
    tsnap_assert_same(w->h, snap);
    heap_decref(w->h, cont_list_take(w->h, x, 4));
    tw_free(w);
}

/* --- the budget (encbuf.h) --------------------------------------------------- */

/* Binds L0 = [1]*100 and Lk = [L(k-1)]*100 up to L<levels-1>: Lk's value
 * is 100^(k+1) ints, but the heap holds only `levels` lists. */
static void bind_shared_lists(tworld *w, int levels)
{
    char lit[1024];
    size_t n = 0;
    lit[n++] = '[';
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(lit + n, sizeof lit - n, "%s1", i ? "," : "");
    snprintf(lit + n, sizeof lit - n, "]");
    tw_bind(w, "L0", lit);
    for (int k = 1; k < levels; k++) {
        n = 0;
        lit[n++] = '[';
        for (int i = 0; i < 100; i++)
            n += (size_t)snprintf(lit + n, sizeof lit - n, "%s$L%d", i ? "," : "", k - 1);
        snprintf(lit + n, sizeof lit - n, "]");
        char name[16];
        snprintf(name, sizeof name, "L%d", k);
        tw_bind(w, name, lit);
    }
}

/* The plain encoding of o, for comparison. */
static size_t plain_size(heap *h, hobj *o, uint32_t depth)
{
    encoded e;
    encode(&e, h, o, depth);
    size_t n = e.sb.size;
    enc_end(&e);
    return n;
}

/* L4 would be 10^10 ints: the walk stops at once when the budget is spent,
 * having written no more than the budget. */
static void a_budget_stops_the_walk_at_the_limit(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    bind_shared_lists(w, 5);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    encbuf eb;
    encbuf_init(&eb, &sb, 65536, NULL);
    enc_value(&eb.pk, w->h, tw_get(w, "L4"), 16);
    assert_true(eb.over);
    assert_true(eb.used <= 65536 && sb.size <= 65536);
    assert_true(eb.refused <= 8); /* one refused write per level unwound, not 10^10 */
    assert_true(encbuf_failed(&eb.pk));
    encbuf_destroy(&eb);
    /* L1 fits in a budget of exactly its size, and not in one byte less */
    size_t need = plain_size(w->h, tw_get(w, "L1"), 16);
    for (size_t limit = need - 1; limit <= need; limit++) {
        sb.size = 0;
        encbuf_init(&eb, &sb, limit, NULL);
        enc_value(&eb.pk, w->h, tw_get(w, "L1"), 16);
        assert_int_equal(eb.over, limit < need);
        assert_int_equal(eb.used, limit < need ? eb.used : need);
        encbuf_destroy(&eb);
    }
    msgpack_sbuffer_destroy(&sb);
    tw_free(w);
}

/* Encodes o under a budget of `limit`; returns whether it was refused, and
 * checks that a refused answer wrote nothing (the size pass refuses it
 * before packing) and an accepted one wrote exactly `want` bytes. */
static bool refused_at(heap *h, hobj *o, uint32_t depth, size_t limit, size_t want)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    encbuf eb;
    encbuf_init(&eb, &sb, limit, NULL);
    enc_value(&eb.pk, h, o, depth);
    bool over = eb.over;
    if (over)
        assert_int_equal(sb.size, 0);
    else
        assert_int_equal(sb.size, want);
    encbuf_destroy(&eb);
    msgpack_sbuffer_destroy(&sb);
    return over;
}

static void append_to(tworld *w, const char *list, const char *item)
{
    hobj *l = tw_get(w, list);
    cont_list_reserve(w->h, l, 1);
    cont_list_append(w->h, l, heap_incref(w->h, tw_get(w, item)));
}

/* The size pass that refuses an answer before encoding it agrees with the
 * encoder to the byte, for every shape the encoder has rules for: shared
 * containers, cycles back to the path, tuples and sets, depth, nesting. */
static void the_size_pass_agrees_with_the_encoder(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    bind_shared_lists(w, 3);
    tw_bind(w, "c", "[[1, 'two'], {'k': (3.5, None)}]");
    append_to(w, "c", "c");                  /* c holds itself */
    tw_bind(w, "s", "[$c, $c, ($c, [$c])]"); /* c shared, and cycling below */
    tw_bind(w, "t", "({1, 2, (3, b'')}, {(1, 'a'), 2.5})");
    hobj *deep = tw_build(w, "[1]"); /* past the 30 levels a buffer may nest */
    for (int i = 0; i < 36; i++) {
        hobj *up = tw_build(w, i % 2 ? "[]" : "[0]");
        cont_list_reserve(w->h, up, 1);
        cont_list_append(w->h, up, deep);
        deep = up;
    }
    ns_bind(w->ns, w->s, "deep", 4, deep, true);
    static char big[80000];
    int n = snprintf(big, sizeof big, "['%0300d', b'", 0);
    memset(big + n, 'y', 70000);
    snprintf(big + n + 70000, sizeof big - (size_t)n - 70000,
             "', 1099511627776, -7, 1.5, {'a': [1, 1, 1]}]");
    tw_bind(w, "big", big);
    static const char *const names[] = {"L0", "L1", "L2", "c", "s", "t", "deep", "big"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        hobj *o = tw_get(w, names[i]);
        for (uint32_t depth = 0; depth <= 40; depth += depth < 4 ? 1 : 9) {
            size_t need = plain_size(w->h, o, depth);
            assert_false(refused_at(w->h, o, depth, need, need));
            assert_false(refused_at(w->h, o, depth, need + 1, need));
            if (hobj_is_container(o) && depth)
                assert_true(refused_at(w->h, o, depth, need - 1, need));
        }
    }
    tw_free(w);
}

/* A tuple's payload is packed in a buffer of its own: its bytes count while
 * it is open and once moved, never twice, so nested tuples that fit are
 * not refused; and a result nobody reads (sb NULL) is counted the same. */
static void tuple_payloads_count_once(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    char lit[4096];
    size_t n = 0;
    for (int i = 0; i < 20; i++)
        lit[n++] = '(';
    n += (size_t)snprintf(lit + n, sizeof lit - n, "'%0500d'", 7);
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(lit + n, sizeof lit - n, ",)");
    hobj *t = tw_build(w, lit);
    size_t need = plain_size(w->h, t, 64);
    for (int counting = 0; counting < 2; counting++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        encbuf eb;
        encbuf_init(&eb, counting ? NULL : &sb, need, NULL);
        enc_value(&eb.pk, w->h, t, 64);
        assert_false(eb.over);
        assert_int_equal(eb.used, need);
        assert_int_equal(sb.size, counting ? 0 : need);
        encbuf_destroy(&eb);
        encbuf_init(&eb, &sb, need - 1, NULL);
        enc_value(&eb.pk, w->h, t, 64);
        assert_true(eb.over);
        encbuf_destroy(&eb);
        msgpack_sbuffer_destroy(&sb);
    }
    heap_decref(w->h, t);
    tw_free(w);
}

/* enc_value_fits dry-runs against what is left and packs nothing. */
static void fits_checks_what_is_left(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    bind_shared_lists(w, 3);
    hobj *l1 = tw_get(w, "L1"), *l2 = tw_get(w, "L2");
    size_t need = plain_size(w->h, l1, 16);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    encbuf eb;
    encbuf_init(&eb, &sb, need + 10, NULL);
    msgpack_pack_array(&eb.pk, 1); /* 1 byte used */
    herr err;
    assert_int_equal(enc_value_fits(&eb.pk, w->h, l1, 16, &err), 0);
    assert_int_equal(enc_value_fits(&eb.pk, w->h, l2, 16, &err), HE_MEMORY);
    assert_string_equal(err.msg, ENCBUF_OVER_MESSAGE);
    assert_int_equal(sb.size, 1);
    assert_false(eb.over);
    encbuf_destroy(&eb);
    msgpack_packer plain; /* no budget: everything fits */
    msgpack_packer_init(&plain, &sb, msgpack_sbuffer_write);
    assert_int_equal(enc_value_fits(&plain, w->h, l2, 16, &err), 0);
    msgpack_sbuffer_destroy(&sb);
    tw_free(w);
}

/* In ref-handle mode every ref the encoder packs is noted, with a count
 * taken, inside tuples too; encbuf_destroy gives back what was not taken. */
static void references_are_noted_with_a_count(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "a", "[1]");
    tw_bind(w, "b", "{2: 3}");
    tw_bind(w, "x", "[[$a, $a], ($b, 'k'), 5]");
    hobj *a = tw_get(w, "a"), *b = tw_get(w, "b");
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    encbuf eb;
    encbuf_init(&eb, &sb, 0, w->h);
    enc_value(&eb.pk, w->h, tw_get(w, "x"), 2);
    assert_int_equal(eb.nrefs, 3);
    assert_ptr_equal(eb.refs[0], a);
    assert_ptr_equal(eb.refs[1], a);
    assert_ptr_equal(eb.refs[2], b);
    assert_int_equal(tw_refcount(w, "a"), 3 + 2); /* the name, x's two slots, two notes */
    assert_int_equal(tw_refcount(w, "b"), 2 + 1);
    encbuf_destroy(&eb); /* not taken: given back */
    assert_int_equal(tw_refcount(w, "a"), 3);
    assert_int_equal(tw_refcount(w, "b"), 2);
    encbuf_init(&eb, &sb, 0, w->h);
    enc_ref(&eb.pk, a);
    enc_ref_id(&eb.pk, hobj_id(b)); /* an id only: not noted */
    size_t n;
    hobj **refs = encbuf_take_refs(&eb, &n);
    assert_int_equal(n, 1);
    heap_decref(w->h, refs[0]); /* the taker owns the count */
    encbuf_destroy(&eb);
    assert_int_equal(tw_refcount(w, "a"), 3);
    /* a plain packer notes nothing */
    msgpack_packer plain;
    msgpack_packer_init(&plain, &sb, msgpack_sbuffer_write);
    enc_value(&plain, w->h, tw_get(w, "x"), 2);
    assert_int_equal(tw_refcount(w, "a"), 3);
    msgpack_sbuffer_destroy(&sb);
    tw_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_size_pass_agrees_with_the_encoder),
        cmocka_unit_test(scalars_are_msgpack_scalars),
        cmocka_unit_test(floats_are_float64_bit_exact),
        cmocka_unit_test(a_list_is_an_array),
        cmocka_unit_test(a_dict_is_a_map_without_its_holes),
        cmocka_unit_test(a_tuple_is_ext_2_with_one_array),
        cmocka_unit_test(a_set_is_ext_3_without_its_holes),
        cmocka_unit_test(a_reference_is_ext_1_with_the_big_endian_id),
        cmocka_unit_test(depth_0_is_a_reference_for_containers_only),
        cmocka_unit_test(containers_below_depth_are_references),
        cmocka_unit_test(a_list_holding_itself_ends_in_a_reference),
        cmocka_unit_test(cycles_through_dicts_and_tuples_end_in_references),
        cmocka_unit_test(a_shared_container_off_the_path_is_expanded_each_time),
        cmocka_unit_test(chains_expand_exactly_depth_levels),
        cmocka_unit_test(lists_and_dicts_stop_at_msgpack_nesting_limit),
        cmocka_unit_test(ext_payloads_restart_nesting_and_depth_is_capped),
        cmocka_unit_test(the_deepest_value_fits_in_a_response),
        cmocka_unit_test(items_are_values_for_scalars_and_references_for_containers),
        cmocka_unit_test(values_round_trip_through_the_literal_builder),
        cmocka_unit_test(encoding_changes_nothing),
        cmocka_unit_test(a_budget_stops_the_walk_at_the_limit),
        cmocka_unit_test(tuple_payloads_count_once),
        cmocka_unit_test(fits_checks_what_is_left),
        cmocka_unit_test(references_are_noted_with_a_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
