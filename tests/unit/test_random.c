/* A randomized walk through the heap's operations: binding random
 * literals, unbinding, scopes, handles, sessions and container mutations
 * (with sharing between containers), with heap_check run throughout and
 * the deferred queue drained sometimes partly, sometimes fully.
 *
 * No reference cycle is ever made (the collector is not in yet, so a cycle
 * would outlive ns_free): a value is stored into a container only if the
 * container cannot be reached from it. So at the end, with every name,
 * frame and handle gone, only immortal objects may remain.
 *
 * The seed is fixed (HEAPD_TEST_SEED overrides it) and printed; the step
 * count shrinks with HEAPD_TEST_SCALE. */
#include "testlib.h"
#include "hash.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SEED 20240917u
#define NNAMES       20
#define MAX_FRAMES   4
#define CHECK_EVERY  25
#define LIT_MAX      4096

typedef struct hvec {
    hobj **v;
    size_t n, cap;
} hvec;

typedef struct sim {
    tworld *w;
    heap *h;
    uint64_t rng;
    hsession *sess[2];
    hvec handles[2]; /* each handle a session holds (repeats for repeats) */
    unsigned ops, mutations, shared, failures, cycles_avoided;
} sim;

/* --- randomness ----------------------------------------------------------- */

static uint64_t rnd(sim *m)
{
    /* xorshift64*: reproducible everywhere, unlike rand() */
    m->rng ^= m->rng >> 12;
    m->rng ^= m->rng << 25;
    m->rng ^= m->rng >> 27;
    return m->rng * 0x2545F4914F6CDD1Dull;
}

static uint32_t below(sim *m, uint32_t n)
{
    return (uint32_t)(rnd(m) % n);
}

static bool chance(sim *m, unsigned percent)
{
    return below(m, 100) < percent;
}

static uint64_t seed(void)
{
    const char *env = getenv("HEAPD_TEST_SEED");
    return env && *env ? strtoull(env, NULL, 0) : DEFAULT_SEED;
}

/* --- handle bookkeeping ----------------------------------------------------- */

static void hvec_push(hvec *v, hobj *o)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        v->v = realloc(v->v, v->cap * sizeof *v->v);
        assert_non_null(v->v);
    }
    v->v[v->n++] = o;
}

static hobj *hvec_take(hvec *v, size_t i)
{
    hobj *o = v->v[i];
    v->v[i] = v->v[--v->n];
    return o;
}

/* --- random literals ---------------------------------------------------------- */

typedef struct lbuf {
    char s[LIT_MAX];
    size_t len;
} lbuf;

static void put(lbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(lbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s + b->len, sizeof b->s - b->len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && b->len + (size_t)n < sizeof b->s);
    b->len += (size_t)n;
}

static hsession *cur(sim *m)
{
    return m->w->s;
}

static hobj *name_obj(sim *m, unsigned i)
{
    char name[16];
    int n = snprintf(name, sizeof name, "n%u", i);
    return ns_lookup(m->w->ns, cur(m), name, (size_t)n);
}

static void gen_value(sim *m, lbuf *b, unsigned depth, bool key);

static void gen_scalar(sim *m, lbuf *b)
{
    static const char *const floats[] = {"1.0", "2.5", "-0.0", "0.0", "inf", "-inf", "1e300"};
    switch (below(m, 9)) {
    case 0:
        put(b, "None");
        break;
    case 1:
        put(b, below(m, 2) ? "True" : "False");
        break;
    case 2:
        put(b, "%d", (int)below(m, 311) - 10); /* around the small-int cache */
        break;
    case 3: { /* any magnitude that fits an int64 */
        int64_t v = (int64_t)(rnd(m) >> (1 + below(m, 63)));
        put(b, "%" PRId64, below(m, 2) ? v : -v);
        break;
    }
    case 4:
        put(b, "%s", floats[below(m, sizeof floats / sizeof floats[0])]);
        break;
    case 5:
        put(b, "'n%u'", below(m, 30)); /* identifier-like: interned */
        break;
    case 6:
        put(b, "'a b %u'", below(m, 30));
        break;
    case 7:
        put(b, "'%070u'", below(m, 5)); /* too long to intern */
        break;
    default:
        put(b, "b'x%u'", below(m, 30));
        break;
    }
}

/* $name or @id of a bound object, if one is bound (hashable in key
 * position); false if there is none to use. */
static bool gen_ref(sim *m, lbuf *b, bool key)
{
    unsigned i = below(m, NNAMES);
    hobj *o = name_obj(m, i);
    uint64_t hash;
    if (!o || (key && !obj_hash(o, &hash)))
        return false;
    if (chance(m, 70))
        put(b, "$n%u", i);
    else
        put(b, "@%llu", (unsigned long long)hobj_id(o));
    return true;
}

static void gen_items(sim *m, lbuf *b, unsigned n, unsigned depth, bool key)
{
    for (unsigned i = 0; i < n; i++) {
        if (i)
            put(b, ", ");
        gen_value(m, b, depth + 1, key);
    }
}

static void gen_value(sim *m, lbuf *b, unsigned depth, bool key)
{
    unsigned pick = below(m, depth >= 3 ? 3 : 8);
    if (pick == 1 && gen_ref(m, b, key))
        return;
    if (pick < 3) {
        gen_scalar(m, b);
        return;
    }
    if (key)
        pick = 3; /* only tuples are hashable containers */
    unsigned n = below(m, 4);
    switch (pick) {
    case 3:
        put(b, "(");
        gen_items(m, b, n, depth, key);
        put(b, n == 1 ? ",)" : ")");
        break;
    case 4:
    case 5:
        put(b, "[");
        gen_items(m, b, n, depth, false);
        put(b, "]");
        break;
    case 6:
        put(b, "{");
        for (unsigned i = 0; i < n; i++) {
            put(b, i ? ", " : "");
            gen_value(m, b, depth + 1, true);
            put(b, ": ");
            gen_value(m, b, depth + 1, false);
        }
        put(b, "}");
        break;
    default:
        if (n) {
            put(b, "{");
            gen_items(m, b, n, depth, true);
            put(b, "}");
        } else {
            put(b, "set()");
        }
        break;
    }
}

/* A new object from a random literal (key: hashable) in the current
 * session; NULL never (a generated literal is always valid). */
static hobj *gen_object(sim *m, bool key)
{
    lbuf b = {.len = 0};
    gen_value(m, &b, 0, key);
    return tw_build(m->w, b.s);
}

/* --- walking the graph ------------------------------------------------------ */

/* A random object reachable from a name or a handle (borrowed), or NULL. */
static hobj *pick_object(sim *m)
{
    hobj *o;
    hvec *hv = &m->handles[below(m, 2)];
    if (hv->n && chance(m, 25))
        o = hv->v[below(m, (uint32_t)hv->n)];
    else
        o = name_obj(m, below(m, NNAMES));
    while (o && hobj_is_container(o) && chance(m, 50)) {
        if (o->type == T_TUPLE || o->type == T_LIST) {
            hlist *l = AS_LIST(o);
            if (!l->len)
                break;
            o = l->items[below(m, l->len)];
        } else {
            hdict *d = AS_DICT(o);
            if (!d->used)
                break;
            uint32_t i = below(m, d->fill);
            while (!htab_entry(d, i)->key)
                i = (i + 1) % d->fill;
            hentry *e = htab_entry(d, i);
            o = e->val && chance(m, 50) ? e->val : e->key;
        }
    }
    return o;
}

struct reach {
    heap *h;
    hobj *target;
    bool found;
    uint8_t *seen[T__COUNT];
    hvec stack;
};

static void reach_visit(hobj *o, void *arg)
{
    struct reach *r = arg;
    if (o == r->target)
        r->found = true;
    if (r->found || !hobj_is_container(o))
        return;
    uint8_t *seen = r->seen[o->type];
    uint32_t slot = slab_slot_of(o);
    if (seen[slot])
        return;
    seen[slot] = 1;
    hvec_push(&r->stack, o);
}

/* True if target can be reached from o (o itself included): storing o in
 * target would then close a cycle. */
static bool reaches(heap *h, hobj *o, hobj *target)
{
    struct reach r = {.h = h, .target = target};
    for (int t = T_TUPLE; t < T__COUNT; t++)
        r.seen[t] = test_calloc(heap_slab(h, (htype)t)->nslots + 1, 1);
    reach_visit(o, &r);
    while (!r.found && r.stack.n)
        heap_traverse(r.stack.v[--r.stack.n], reach_visit, &r);
    for (int t = T_TUPLE; t < T__COUNT; t++)
        test_free(r.seen[t]);
    free(r.stack.v);
    return r.found;
}

/* A value to store into c: a fresh literal or an existing object (sharing),
 * as a new reference; NULL if storing it would close a cycle. */
static hobj *value_for(sim *m, hobj *c, bool key)
{
    hobj *v = NULL;
    uint64_t hash;
    if (chance(m, 40))
        v = pick_object(m);
    if (v && key && !obj_hash(v, &hash))
        v = NULL;
    if (v)
        m->shared++;
    v = v ? heap_incref(m->h, v) : gen_object(m, key);
    if (reaches(m->h, v, c)) {
        m->cycles_avoided++;
        heap_decref(m->h, v);
        return NULL;
    }
    return v;
}

/* --- operations ----------------------------------------------------------------- */

static void use_session(sim *m)
{
    m->w->s = m->sess[below(m, 2)];
}

static void op_bind(sim *m)
{
    char name[16];
    int n = snprintf(name, sizeof name, "n%u", below(m, NNAMES));
    bool global = chance(m, 30);
    hobj *o = gen_object(m, false);
    ns_bind(m->w->ns, cur(m), name, (size_t)n, o, global);
    if (global || !ns_depth(cur(m)))
        assert_ptr_equal(ns_lookup(m->w->ns, NULL, name, (size_t)n), o);
    else
        assert_ptr_equal(ns_lookup(m->w->ns, cur(m), name, (size_t)n), o);
}

static void op_unbind(sim *m)
{
    char name[16];
    int n = snprintf(name, sizeof name, "n%u", below(m, NNAMES));
    bool global = chance(m, 30);
    bool local = !global && ns_depth(cur(m));
    size_t before = ns_count_names(m->w->ns, cur(m), local);
    herr err = {0};
    int rc = ns_unbind(m->w->ns, cur(m), name, (size_t)n, global, &err);
    assert_true(rc == 0 || rc == HE_NAME);
    assert_int_equal(ns_count_names(m->w->ns, cur(m), local), rc ? before : before - 1);
}

static void op_scope(sim *m)
{
    herr err = {0};
    uint32_t depth = ns_depth(cur(m));
    if (chance(m, 50)) {
        int rc = ns_push_scope(m->w->ns, cur(m), &err);
        assert_int_equal(rc, depth < MAX_FRAMES ? (int)depth + 1 : HE_RECURSION);
    } else {
        size_t names = ns_count_names(m->w->ns, cur(m), true);
        int rc = ns_pop_scope(m->w->ns, cur(m), &err);
        assert_int_equal(rc, depth ? (int)names : HE_RUNTIME);
    }
}

static void op_handle(sim *m)
{
    unsigned si = m->w->s == m->sess[0] ? 0 : 1;
    hvec *hv = &m->handles[si];
    herr err = {0};
    if (chance(m, 55)) {
        hobj *o = chance(m, 30) ? pick_object(m) : NULL;
        o = o ? heap_incref(m->h, o) : gen_object(m, false);
        uint32_t before = ns_handle_count(cur(m), o);
        ns_handle_add(m->w->ns, cur(m), o);
        assert_int_equal(ns_handle_count(cur(m), o), before + 1);
        hvec_push(hv, o);
    } else if (hv->n && chance(m, 90)) {
        hobj *o = hvec_take(hv, below(m, (uint32_t)hv->n));
        uint32_t before = ns_handle_count(cur(m), o);
        assert_int_equal(ns_handle_release(m->w->ns, cur(m), o, &err), 0);
        if (before > 1)
            assert_int_equal(ns_handle_count(cur(m), o), before - 1);
    } else {
        hobj *o = pick_object(m);
        if (o && !ns_handle_count(cur(m), o))
            assert_int_equal(ns_handle_release(m->w->ns, cur(m), o, &err), HE_VALUE);
    }
}

static void op_list(sim *m, hobj *l)
{
    hlist *ls = AS_LIST(l);
    unsigned what = below(m, 10);
    if (what == 0) {
        cont_clear(m->h, l);
        assert_int_equal(ls->len, 0);
        return;
    }
    uint32_t len = ls->len;
    if (what <= 2 && len) {
        heap_decref(m->h, cont_list_take(m->h, l, below(m, len)));
        assert_int_equal(ls->len, len - 1);
        return;
    }
    hobj *v = value_for(m, l, false);
    if (!v)
        return;
    if (what <= 4 && len) {
        uint32_t i = below(m, len);
        cont_list_set(m->h, l, i, v);
        assert_ptr_equal(ls->items[i], v);
        return;
    }
    cont_list_reserve(m->h, l, 1);
    if (what <= 6)
        cont_list_insert(m->h, l, (int64_t)below(m, len + 5) - (int64_t)len - 2, v);
    else
        cont_list_append(m->h, l, v);
    assert_int_equal(ls->len, len + 1);
}

static void op_table(sim *m, hobj *d)
{
    unsigned what = below(m, 10);
    if (what == 0) {
        cont_clear(m->h, d);
        assert_int_equal(AS_DICT(d)->used, 0);
        return;
    }
    hobj *k = value_for(m, d, true);
    if (!k)
        return;
    uint64_t hash;
    assert_true(obj_hash(k, &hash));
    bool had = cont_table_contains(d, k, hash);
    uint32_t used = AS_DICT(d)->used;
    if (what <= 3) { /* delete (usually a key that is there) */
        if (AS_DICT(d)->used && chance(m, 70)) {
            hdict *t = AS_DICT(d);
            uint32_t i = below(m, t->fill);
            while (!htab_entry(t, i)->key)
                i = (i + 1) % t->fill;
            heap_decref(m->h, k);
            k = heap_incref(m->h, htab_entry(t, i)->key);
            hash = htab_entry(t, i)->hash;
            had = true;
        }
        herr err = {0};
        if (d->type == T_DICT)
            assert_int_equal(cont_dict_pop(m->h, d, k, hash, NULL, &err), had ? 0 : HE_KEY);
        else
            assert_int_equal(cont_set_discard(m->h, d, k, hash), had);
        heap_decref(m->h, k);
        assert_int_equal(AS_DICT(d)->used, had ? used - 1 : used);
        return;
    }
    cont_table_reserve(m->h, d, 1);
    if (d->type == T_SET) {
        assert_int_equal(cont_set_add(m->h, d, k, hash), !had);
    } else {
        hobj *v = value_for(m, d, false);
        if (!v) {
            heap_decref(m->h, k);
            return;
        }
        heap_incref(m->h, k); /* to look it up after the store steals it */
        cont_dict_set(m->h, d, k, hash, v);
        assert_ptr_equal(cont_dict_get(d, k, hash), v);
        heap_decref(m->h, k);
    }
    assert_int_equal(AS_DICT(d)->used, had ? used : used + 1);
}

static void op_mutate(sim *m)
{
    hobj *c = NULL;
    for (int tries = 0; tries < 8 && !(c && htype_is_mutable(c->type)); tries++)
        c = pick_object(m);
    if (!c || !htype_is_mutable(c->type))
        return;
    /* c is borrowed: what it was found through keeps it alive, as the
     * operation changes only c and no container holds itself. */
    m->mutations++;
    if (c->type == T_LIST)
        op_list(m, c);
    else
        op_table(m, c);
}

/* A literal with a bad element deep inside fails and changes nothing. */
static void op_bad_literal(sim *m)
{
    static const char *const bad[] = {"{[]: 1}", "$unbound", "18446744073709551615", "{1, {2}}",
                                      "@1099511627775"};
    lbuf b = {.len = 0};
    put(&b, "[");
    gen_value(m, &b, 1, false);
    put(&b, ", [%s]]", bad[below(m, sizeof bad / sizeof bad[0])]);
    tsnap *snap = tsnap_take(m->h);
    hobj *o = NULL;
    herr err = {0};
    assert_int_not_equal(tw_try_build(m->w, b.s, &o, &err), 0);
    tsnap_assert_same(m->h, snap);
    m->failures++;
}

static void op_session(sim *m)
{
    unsigned i = below(m, 2);
    bool was_current = m->w->s == m->sess[i];
    ns_session_end(m->w->ns, m->sess[i]);
    m->handles[i].n = 0;
    m->sess[i] = ns_session_new(m->w->ns);
    if (was_current)
        m->w->s = m->sess[i];
}

static void step(sim *m)
{
    use_session(m);
    unsigned r = below(m, 100);
    if (r < 25)
        op_bind(m);
    else if (r < 35)
        op_unbind(m);
    else if (r < 45)
        op_scope(m);
    else if (r < 60)
        op_handle(m);
    else if (r < 96)
        op_mutate(m);
    else if (r < 99)
        op_bad_literal(m);
    else
        op_session(m);
    m->ops++;

    unsigned drain = below(m, 3);
    bool empty = false;
    if (drain == 0)
        empty = heap_drain(m->h, 1 + below(m, 20000));
    if (drain == 1) {
        heap_drain_all(m->h);
        empty = true;
    }
    if (empty)
        assert_int_equal(heap_get_stats(m->h)->pending, 0);
}

/* --- the test ----------------------------------------------------------------- */

static void sum_str_bytes(hobj *o, void *arg)
{
    if (o->type == T_STR)
        *(uint64_t *)arg += heap_sizeof(o);
}

static void assert_immortal_and_unreferenced(hobj *o, void *arg)
{
    (void)arg;
    if (!o->immortal || o->refcnt)
        fail_msg("%s @%llu survived everything (immortal %u, refcount %u)", htype_name(o->type),
                 (unsigned long long)hobj_id(o), o->immortal, o->refcnt);
}

static void random_walk(intern_policy policy)
{
    sim m = {.rng = seed() ^ (uint64_t)policy * 0x9E3779B97F4A7C15ull};
    if (!m.rng)
        m.rng = 1;
    print_message("seed %llu (HEAPD_TEST_SEED), intern %s\n", (unsigned long long)seed(),
                  intern_policy_name(policy));
    m.w = tw_new(policy);
    m.h = m.w->h;
    ns_set_max_frames(m.w->ns, MAX_FRAMES);
    uint64_t live0 = heap_live_total(m.h), bytes0 = heap_get_stats(m.h)->bytes;
    m.sess[0] = m.w->s;
    m.sess[1] = ns_session_new(m.w->ns);

    uint64_t steps = tw_scaled(10000, 500);
    for (uint64_t i = 1; i <= steps; i++) {
        step(&m);
        if (i % CHECK_EVERY == 0)
            assert_check_ok(m.h);
    }
    assert_check_ok(m.h);
    tw_check(m.w);
    print_message("%u ops: %u mutations, %u stores of a shared object, %u cycles avoided, "
                  "%u failing literals; %llu objects at the end\n",
                  m.ops, m.mutations, m.shared, m.cycles_avoided, m.failures,
                  (unsigned long long)heap_live_total(m.h));

    ns_free(m.w->ns);
    m.w->ns = NULL;
    heap_drain_all(m.h);
    assert_check_ok(m.h);
    heap_foreach(m.h, T__COUNT, assert_immortal_and_unreferenced, NULL);
    assert_int_equal(heap_live_total(m.h) - heap_live(m.h, T_STR), live0);
    uint64_t str_bytes = 0;
    heap_foreach(m.h, T_STR, sum_str_bytes, &str_bytes);
    assert_int_equal(heap_get_stats(m.h)->bytes, bytes0 + str_bytes);
    if (policy == INTERN_NONE)
        assert_int_equal(heap_live_total(m.h), live0);
    for (int i = 0; i < 2; i++)
        free(m.handles[i].v);
    tw_free(m.w);
}

static void random_operations_keep_the_heap_whole_with_python_interning(void **state)
{
    (void)state;
    random_walk(INTERN_PYTHON);
}

static void random_operations_keep_the_heap_whole_without_interning(void **state)
{
    (void)state;
    random_walk(INTERN_NONE);
}

static void random_operations_keep_the_heap_whole_with_all_interning(void **state)
{
    (void)state;
    random_walk(INTERN_ALL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_operations_keep_the_heap_whole_with_python_interning),
        cmocka_unit_test(random_operations_keep_the_heap_whole_without_interning),
        cmocka_unit_test(random_operations_keep_the_heap_whole_with_all_interning),
    };
    return cmocka_run_group_tests_name("random", tests, NULL, NULL);
}
