/* Snapshots: a heap written and loaded into a new heap comes back with the
 * same ids, types, values, contents, sharing, cycles and refcounts; stale
 * ids stay stale; a damaged file is refused cleanly, whatever byte is hit. */
#include "testlib.h"
#include "cont.h"
#include "crc32c.h"
#include "effects.h"
#include "gc.h"
#include "hash.h"
#include "snap_fmt.h"
#include "snap_live.h"
#include "snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static char path[128];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/heapd-snap-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/heap.snap", dir);
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(path);
    unlink(tmp);
    rmdir(dir);
    return 0;
}

static void save(tworld *w)
{
    herr err = {0};
    heap_drain_all(w->h);
    if (snapshot_write(w->h, w->ns, path, NULL, &err))
        fail_msg("snapshot_write: %s", err.msg);
}

static tworld *load(intern_policy policy)
{
    tworld *w = tw_new(policy);
    herr err = {0};
    int rc = snapshot_load(w->h, w->ns, path, NULL, &err);
    if (rc)
        fail_msg("snapshot_load: %d %s", rc, err.msg);
    tw_check(w);
    return w;
}

static char *read_file(size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    char *p = malloc(*len);
    assert_int_equal(fread(p, 1, *len, f), *len);
    fclose(f);
    return p;
}

/* --- comparing two heaps ---------------------------------------------------- */

struct cmp {
    heap *orig;
    uint64_t n;
};

static uint64_t id_or_0(const hobj *o)
{
    return o ? hobj_id(o) : 0;
}

static void same_children(hobj *a, hobj *b)
{
    assert_int_equal(a->flag, b->flag);
    if (a->type == T_WEAKREF) {
        assert_int_equal(id_or_0(AS_WEAK(a)->key), id_or_0(AS_WEAK(b)->key));
        assert_int_equal(id_or_0(AS_WEAK(a)->referent), id_or_0(AS_WEAK(b)->referent));
        assert_int_equal(AS_WEAK(a)->owner, AS_WEAK(b)->owner);
        return;
    }
    if (htype_is_record(a->type)) {
        for (int i = 0; i < 2; i++)
            assert_int_equal(id_or_0(AS_REC(a)->ref[i]), id_or_0(AS_REC(b)->ref[i]));
        return;
    }
    if (a->type == T_TUPLE || a->type == T_LIST) {
        assert_int_equal(AS_LIST(a)->len, AS_LIST(b)->len);
        for (uint32_t i = 0; i < AS_LIST(a)->len; i++)
            assert_int_equal(hobj_id(AS_LIST(a)->items[i]), hobj_id(AS_LIST(b)->items[i]));
        return;
    }
    hdict *da = AS_DICT(a), *db = AS_DICT(b);
    assert_int_equal(da->used, db->used);
    uint32_t j = 0;
    for (uint32_t i = 0; i < da->fill; i++) { /* same entries in the same order */
        hentry *ea = htab_entry(da, i);
        if (!ea->key)
            continue;
        hentry *eb = htab_entry(db, j++);
        assert_int_equal(hobj_id(ea->key), hobj_id(eb->key));
        assert_int_equal(ea->val ? hobj_id(ea->val) : 0, eb->val ? hobj_id(eb->val) : 0);
    }
}

/* Every object of the loaded heap is the original's object with that id:
 * same type, value, count and children. */
static void same_as_orig(hobj *b, void *arg)
{
    struct cmp *c = arg;
    hobj *a = heap_lookup(c->orig, hobj_id(b));
    if (!a)
        fail_msg("loaded %s @%llu is not in the original heap", htype_name(b->type),
                 (unsigned long long)hobj_id(b));
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->refcnt, b->refcnt);
    assert_int_equal(a->immortal, b->immortal);
    if (b->type == T_LIST) /* loaded lists are sized exactly */
        assert_int_equal(AS_LIST(b)->cap, AS_LIST(b)->len);
    if (hobj_is_container(a))
        same_children(a, b);
    else if (a->type != T_NONE)
        assert_true(value_same(a, b));
    c->n++;
}

static void count_saved(hobj *o, void *arg)
{
    /* interned strs held by nothing are not saved (nothing can name them) */
    if (!(o->immortal && o->refcnt == 0 && o->type == T_STR))
        (*(uint64_t *)arg)++;
}

/* orig's global names and everything they reach are in w, the same. */
static void assert_same(tworld *orig, tworld *w)
{
    struct cmp c = {orig->h, 0};
    heap_drain_all(orig->h);
    heap_foreach(w->h, T__COUNT, same_as_orig, &c);
    uint64_t want = 0;
    heap_foreach(orig->h, T__COUNT, count_saved, &want);
    assert_int_equal(c.n, want);
    assert_int_equal(ns_count_names(w->ns, NULL, false), ns_count_names(orig->ns, NULL, false));
}

static void round_trip(intern_policy policy, void (*build)(tworld *))
{
    tworld *orig = tw_new(policy);
    build(orig);
    tw_check(orig);
    save(orig);
    tworld *w = load(policy);
    assert_same(orig, w);
    tw_free(w);
    tw_free(orig);
}

/* --- round trips --------------------------------------------------------------- */

static void every_type(tworld *w)
{
    tw_bind(w, "N", "None");
    tw_bind(w, "T", "True");
    tw_bind(w, "F", "False");
    tw_bind(w, "small", "26");
    tw_bind(w, "ints", "[1000, -1000, 9223372036854775807, -9223372036854775808, 0, -5, 256]");
    tw_bind(w, "floats", "[0.0, -0.0, 1.5, -2.25e300, 1e-320]");
    tw_bind(w, "strs", "['', 'abc', 'two words', 'caf\\u00e9 \\u2603']");
    tw_bind(w, "bytes", "[b'', b'\\x00\\xff', b'abc']");
    tw_bind(w, "tuples", "[(), (1,), (1000, 'a', (2000, (3000,))), ([],)]");
    tw_bind(w, "dict", "{1: 'one', 'k': [1, 2], (1, 'x'): {2.5: None}, b'b': True}");
    tw_bind(w, "set", "{1, 'a', (2, 3), 4.5, b'z', None}");
    tw_bind(w, "empty", "[[], {}, set()]");
    /* NaN and infinities cannot be written as literals: made directly */
    hobj *l = tw_get(w, "floats");
    double specials[] = {1.0 / 0.0, -1.0 / 0.0, __builtin_nan("0x5")};
    cont_list_reserve(w->h, l, 3);
    for (int i = 0; i < 3; i++)
        cont_list_append(w->h, l, heap_float(w->h, specials[i]));
}

/* A finalizable class and an instance that holds itself; a weakref to it
 * and one to what nobody saves (cleared in the file); a weak-valued dict. */
static void classes_and_weakrefs(tworld *w)
{
    heap *h = w->h;
    hobj *cls = heap_class(h, heap_str(h, "Employee", 8), tw_build(w, "{'__del__': True}"));
    hobj *e = heap_instance(h, cls, tw_build(w, "{'name': 'Ann'}"));
    hobj *key = heap_str(h, "me", 2), *d = heap_rec_dict(e);
    uint64_t hash;
    cont_hash(key, &hash, NULL);
    cont_table_reserve(h, d, 1);
    cont_dict_set(h, d, key, hash, heap_incref(h, e));
    hobj *unsaved = tw_build(w, "[]");
    hobj *weak_dict = heap_dict(h), *k = heap_str(h, "ann", 3);
    weak_dict->flag = 1;
    cont_hash(k, &hash, NULL);
    cont_table_reserve(h, weak_dict, 1);
    cont_dict_set(h, weak_dict, k, hash, heap_weak_entry(h, e, weak_dict, k));
    ns_bind(w->ns, w->s, "Employee", 8, cls, true);
    ns_bind(w->ns, w->s, "w_e", 3, heap_weakref(h, e, 0), true);
    ns_bind(w->ns, w->s, "w_gone", 6, heap_weakref(h, unsaved, 0), true);
    ns_bind(w->ns, w->s, "by_name", 7, weak_dict, true);
    ns_bind(w->ns, w->s, "e", 1, e, true);
    ns_handle_add(w->ns, w->s, unsaved); /* a session's: not in the file */
}

static void classes_instances_and_weakrefs_round_trip(void **state)
{
    (void)state;
    tworld *orig = tw_new(INTERN_PYTHON);
    classes_and_weakrefs(orig);
    tw_check(orig);
    save(orig);
    ns_session_end(orig->ns, orig->s); /* the handle goes: w_gone is cleared, as in the file */
    orig->s = ns_session_new(orig->ns);
    heap_drain_all(orig->h);
    tworld *w = load(INTERN_PYTHON);
    assert_same(orig, w);
    tw_check(w);
    hobj *e = ns_lookup(w->ns, w->s, "e", 1);
    assert_int_equal(e->type, T_INSTANCE);
    assert_string_equal(heap_type_name(e), "Employee");
    assert_true(heap_class_of(e)->flag); /* still finalizable */
    assert_int_equal(heap_weakref_count(w->h, e), 2);
    assert_null(heap_weakref_get(w->h, ns_lookup(w->ns, w->s, "w_gone", 6)));
    tw_free(w);
    tw_free(orig);
}

static void every_type_round_trips(void **state)
{
    (void)state;
    round_trip(INTERN_PYTHON, every_type);
    round_trip(INTERN_NONE, every_type);
    round_trip(INTERN_ALL, every_type);
}

static void shared(tworld *w)
{
    tw_bind(w, "A", "[1000, 'not an identifier']");
    tw_bind(w, "B", "$A");
    tw_bind(w, "C", "($A, $A, [$A])");
    tw_bind(w, "D", "{'k': $A, 'j': $C}");
}

static void shared_objects_stay_shared(void **state)
{
    (void)state;
    round_trip(INTERN_PYTHON, shared);
    tworld *w = load(INTERN_PYTHON);
    assert_ptr_equal(tw_get(w, "A"), tw_get(w, "B"));
    assert_int_equal(tw_refcount(w, "A"), 6); /* A, B, C twice, the list in C, D */
    tw_free(w);
}

static void append_ref(tworld *w, hobj *list, hobj *item)
{
    cont_list_reserve(w->h, list, 1);
    cont_list_append(w->h, list, heap_incref(w->h, item));
}

static void cycles(tworld *w)
{
    tw_bind(w, "L", "[1000]");
    append_ref(w, tw_get(w, "L"), tw_get(w, "L")); /* L.append(L) */
    tw_bind(w, "M", "[[]]");
    tw_bind(w, "D", "{'m': $M}");
    append_ref(w, AS_LIST(tw_get(w, "M"))->items[0], tw_get(w, "D")); /* M[0].append(D) */
    tw_bind(w, "T", "([], 5000)");
    append_ref(w, AS_LIST(tw_get(w, "T"))->items[0], tw_get(w, "T")); /* T[0].append(T) */
}

static void cycles_keep_their_counts(void **state)
{
    (void)state;
    round_trip(INTERN_PYTHON, cycles);
    tworld *w = load(INTERN_PYTHON);
    hobj *l = tw_get(w, "L");
    assert_ptr_equal(AS_LIST(l)->items[1], l);
    assert_int_equal(l->refcnt, 2);
    tw_free(w);
}

/* A chain of n one-element lists (and one of n nested tuples): loading and
 * writing must not recurse per level. */
static void deep(tworld *w)
{
    uint32_t n = (uint32_t)tw_scaled(1000000, 20000);
    hobj *chain = heap_list(w->h, 0), *tup = heap_int(w->h, 123456);
    for (uint32_t i = 0; i < n; i++) {
        hobj *outer = heap_list(w->h, 1);
        cont_list_append(w->h, outer, chain);
        chain = outer;
        tup = heap_tuple(w->h, &tup, 1);
    }
    ns_bind(w->ns, w->s, "chain", 5, chain, false);
    ns_bind(w->ns, w->s, "tuples", 6, tup, false);
}

static void deep_nesting_loads_without_recursion(void **state)
{
    (void)state;
    round_trip(INTERN_PYTHON, deep);
}

static void big(tworld *w)
{
    uint32_t n = (uint32_t)tw_scaled(1000000, 20000);
    hobj *l = heap_list(w->h, n), *d = heap_dict(w->h);
    cont_table_reserve(w->h, d, n / 4);
    for (uint32_t i = 0; i < n; i++)
        cont_list_append(w->h, l, heap_int(w->h, 1000 + (int64_t)i));
    for (uint32_t i = 0; i < n / 4; i++) {
        char k[32];
        int len = snprintf(k, sizeof k, "key %u", i);
        hobj *key = heap_str(w->h, k, (size_t)len);
        uint64_t hash;
        assert_true(obj_hash(key, &hash));
        cont_dict_set(w->h, d, key, hash, heap_incref(w->h, AS_LIST(l)->items[i]));
    }
    ns_bind(w->ns, w->s, "big", 3, l, false);
    ns_bind(w->ns, w->s, "index", 5, d, false);
}

static void a_big_heap_round_trips(void **state)
{
    (void)state;
    round_trip(INTERN_PYTHON, big);
}

/* --- a save written while the heap changes ---------------------------------------- */

#define LIVE_NAMES 24    /* bound to containers */
#define LIVE_MORE  10000 /* bound to ints: the names take several steps */

static void live_name(char *buf, size_t n, unsigned i)
{
    snprintf(buf, n, "G%u", i);
}

/* Lists (some longer than a piece of the walk), dicts, sets, tuples,
 * cycles and shared objects, under LIVE_NAMES global names, and many
 * more names. */
static void live_heap(tworld *w)
{
    char name[16], lit[64];
    for (unsigned i = LIVE_NAMES; i < LIVE_MORE; i++) {
        live_name(name, sizeof name, i);
        snprintf(lit, sizeof lit, "%u", i * 7);
        tw_bind(w, name, lit);
    }
    for (unsigned i = 0; i < LIVE_NAMES; i++) {
        live_name(name, sizeof name, i);
        switch (i % 6) {
        case 0:
            snprintf(lit, sizeof lit, "[%u, 'x%u']", i, i);
            tw_bind(w, name, lit);
            for (unsigned k = 0; k < 1500 * (i % 3); k++) {
                hobj *l = tw_get(w, name);
                cont_list_reserve(w->h, l, 1);
                cont_list_append(w->h, l, heap_int(w->h, (int64_t)k * 1000 + i));
            }
            break;
        case 1:
            tw_bind(w, name, "{'a': 1, 'b': [1, 2], 'c': (3, (4, 'five'))}");
            break;
        case 2:
            tw_bind(w, name, "{1, 2, 3, 'four', (5, 6)}");
            break;
        case 3:
            tw_bind(w, name, "((1, 2), (3, (4, 5)), 'six', [7])");
            break;
        case 4:
            tw_bind(w, name, "[[], {}]");
            append_ref(w, tw_get(w, name), tw_get(w, name)); /* a cycle */
            break;
        default:
            live_name(lit, sizeof lit, i - 5);
            tw_bind(w, name, "[]");
            append_ref(w, tw_get(w, name), tw_get(w, lit)); /* shared */
        }
    }
}

static unsigned live_index(unsigned r)
{
    return r & 1 ? (r >> 1) % LIVE_MORE : (r >> 1) % LIVE_NAMES;
}

/* An instance of a new class, in a cycle through its dict (garbage once
 * unbound: for the collector, mid-sweep at a save's start or during it),
 * bound to name, and a weakref to it bound to name + "w". */
static void live_instance(tworld *w, const char *name)
{
    heap *h = w->h;
    hobj *cls = heap_class(h, heap_str(h, "C", 1), heap_dict(h));
    hobj *inst = heap_instance(h, cls, heap_dict(h));
    heap_decref(h, cls);
    hobj *d = AS_REC(inst)->ref[1], *k = heap_str(h, "me", 2);
    uint64_t hash;
    assert_int_equal(cont_hash(k, &hash, NULL), 0);
    cont_table_reserve(h, d, 1);
    cont_dict_set(h, d, k, hash, heap_incref(h, inst));
    char wname[24];
    snprintf(wname, sizeof wname, "%sw", name);
    ns_bind(w->ns, NULL, wname, strlen(wname), heap_weakref(h, inst, 0), true);
    ns_bind(w->ns, NULL, name, strlen(name), inst, true);
}

static hobj *live_pick(tworld *w, unsigned r)
{
    char name[16];
    live_name(name, sizeof name, live_index(r));
    return ns_lookup(w->ns, NULL, name, strlen(name));
}

static void count_doomed(hobj *o, void *arg)
{
    *(uint64_t *)arg += o->doomed;
}

static uint64_t live_doomed(tworld *w)
{
    uint64_t n = 0;
    heap_foreach(w->h, T__COUNT, count_doomed, &n);
    return n;
}

static void live_table_change(tworld *w, hobj *o, unsigned r)
{
    hobj *k = heap_int(w->h, r % 7);
    uint64_t hash;
    assert_int_equal(cont_hash(k, &hash, NULL), 0);
    if (o->type == T_SET) {
        if (r & 8) {
            cont_set_discard(w->h, o, k, hash);
        } else {
            cont_table_reserve(w->h, o, 1);
            cont_set_add(w->h, o, heap_incref(w->h, k), hash);
        }
    } else if (r & 8) {
        cont_dict_pop(w->h, o, k, hash, NULL, NULL);
    } else {
        cont_table_reserve(w->h, o, 1);
        cont_dict_set(w->h, o, heap_incref(w->h, k), hash, heap_str(w->h, "v", 1));
    }
    heap_decref(w->h, k);
}

/* One random change, of any kind the heap reports. */
static void live_change(tworld *w, unsigned r)
{
    char name[16];
    hobj *o = live_pick(w, r >> 4);
    live_name(name, sizeof name, live_index(r >> 4));
    switch (r % 8) {
    case 0:
        if (o && o->type == T_LIST) {
            cont_list_reserve(w->h, o, 1);
            cont_list_append(w->h, o, r & 16 ? heap_int(w->h, r) : heap_list(w->h, 0));
        }
        break;
    case 1:
        if (o && o->type == T_LIST && AS_LIST(o)->len)
            heap_decref(w->h, cont_list_take(w->h, o, (r >> 8) % AS_LIST(o)->len));
        break;
    case 2:
        if (o && (o->type == T_DICT || o->type == T_SET))
            live_table_change(w, o, r >> 8);
        break;
    case 3:
        if (o)
            ns_unbind(w->ns, NULL, name, strlen(name), true, NULL);
        break;
    case 4:
        tw_bind(w, name, r & 16 ? "(1, ('new', 2))" : "['new', {3: 4}]");
        break;
    case 5:
        if (o && htype_is_mutable(o->type))
            cont_clear(w->h, o);
        break;
    case 6:
        if (r & 16)
            gc_collect(w->h);
        else
            gc_step(w->h, 1 + r % 50);
        break;
    case 7:
        if (r & 16)
            heap_drain_all(w->h);
        else
            live_instance(w, name);
    }
}

static void assert_same_heaps(tworld *a, tworld *b)
{
    struct cmp c = {a->h, 0};
    heap_foreach(b->h, T__COUNT, same_as_orig, &c);
    assert_int_equal(c.n, heap_live_total(a->h));
    assert_int_equal(ns_count_names(a->ns, NULL, false), ns_count_names(b->ns, NULL, false));
    for (unsigned i = 0; i < LIVE_MORE; i++) {
        char name[16];
        live_name(name, sizeof name, i);
        hobj *x = ns_lookup(a->ns, NULL, name, strlen(name));
        hobj *y = ns_lookup(b->ns, NULL, name, strlen(name));
        assert_int_equal(id_or_0(x), id_or_0(y));
    }
}

/* The image of a save written in steps, with changes of every kind between
 * the steps (frees by count and by the collector, stores, removals,
 * clears, names bound and unbound, containers longer than a piece), is
 * the heap as it was when the save started: the same file loads into the
 * same heap as a save written at that instant with nothing changing. */
static void a_live_save_holds_the_heap_at_its_start(void **state)
{
    (void)state;
    char ref[160];
    snprintf(ref, sizeof ref, "%s.ref", path);
    for (unsigned seed = 1; seed <= tw_scaled(12, 3); seed++) {
        srand(seed);
        tworld *w = tw_new(INTERN_PYTHON);
        live_heap(w);
        for (unsigned i = 0; i < 40; i++) { /* garbage, the collector part way */
            live_instance(w, "garbage");
            ns_unbind(w->ns, NULL, "garbage", 7, true, NULL);
        }
        /* the instant in the middle of a full collection's sweep: some
         * garbage emptied, held by garbage not yet emptied (not drained) */
        gc_step(w->h, 1);
        for (int k = 0; k < 2000 && gc_step(w->h, 1) != GC_SWEEP; k++)
            ;
        for (int k = 0; k < 2000 && !live_doomed(w) && gc_step(w->h, 1) == GC_SWEEP; k++)
            ;
        assert_true(live_doomed(w) > 0);
        herr err = {0};
        if (snapshot_write(w->h, w->ns, path, NULL, &err))
            fail_msg("snapshot_write: %s", err.msg);
        assert_int_equal(rename(path, ref), 0);
        snap_live *s = snap_live_start(w->h, w->ns, path, 0, false, NULL, NULL, &err);
        assert_non_null(s);
        unsigned steps = 0;
        while (!snap_live_step(s, 0)) {
            for (int k = rand() % 4; k > 0; k--)
                live_change(w, (unsigned)rand());
            steps++;
        }
        assert_int_equal(snap_live_result(s, NULL, &err), 0);
        snap_live_close(s);
        assert_true(steps > 20); /* the changes did come between the steps */
        tw_check(w);
        tworld *now = load(INTERN_PYTHON);
        assert_int_equal(rename(ref, path), 0);
        tworld *then = load(INTERN_PYTHON);
        assert_same_heaps(then, now);
        tw_free(then);
        tw_free(now);
        tw_free(w);
    }
}

/* --- ids after a restart ---------------------------------------------------------- */

struct ids {
    hid *v;
    size_t n;
};

static void collect_id(hobj *o, void *arg)
{
    struct ids *ids = arg;
    ids->v[ids->n++] = hobj_id(o);
}

static bool has_id(const struct ids *ids, hid id)
{
    for (size_t i = 0; i < ids->n; i++)
        if (ids->v[i] == id)
            return true;
    return false;
}

static void stale_ids_stay_stale_and_new_ids_are_new(void **state)
{
    (void)state;
    tworld *orig = tw_new(INTERN_PYTHON);
    tw_bind(orig, "X", "[1000, [2000]]");
    hid freed = hobj_id(tw_build(orig, "[3000, 'gone']")); /* made and dropped at once */
    heap_decref(orig->h, heap_lookup(orig->h, freed));
    hobj *held = tw_build(orig, "{4000: 5000}");
    ns_handle_add(orig->ns, orig->s, held); /* a session handle: not saved */
    hid unsaved = hobj_id(held);
    tw_bind(orig, "Y", "[6000]");
    hid unbound = hobj_id(tw_get(orig, "Y"));
    ns_unbind(orig->ns, orig->s, "Y", 1, false, NULL);
    heap_drain_all(orig->h);
    save(orig);

    tworld *w = load(INTERN_PYTHON);
    assert_null(heap_lookup(w->h, freed));
    assert_null(heap_lookup(w->h, unsaved));
    assert_null(heap_lookup(w->h, unbound));
    struct ids loaded = {malloc(heap_live_total(w->h) * sizeof(hid)), 0};
    heap_foreach(w->h, T__COUNT, collect_id, &loaded);
    for (int i = 0; i < 2000; i++) { /* new objects reuse free slots: never an old id */
        hobj *o = tw_build(w, i % 2 ? "[7000]" : "(8000, 9000.5, 'new str')");
        hid id = hobj_id(o);
        assert_false(has_id(&loaded, id));
        assert_true(id != freed && id != unsaved && id != unbound);
        heap_decref(w->h, o);
        heap_drain_all(w->h);
    }
    free(loaded.v);
    tw_free(w);
    ns_free(orig->ns);
    orig->ns = ns_new(orig->h, 10);
    orig->s = ns_session_new(orig->ns);
    tw_free(orig);
}

/* A restart, frees, a second restart: stale ids of both rounds stay stale. */
static void generations_survive_two_restarts(void **state)
{
    (void)state;
    tworld *orig = tw_new(INTERN_PYTHON);
    tw_bind(orig, "A", "[1000]");
    tw_bind(orig, "B", "[2000]");
    save(orig);
    tworld *w = load(INTERN_PYTHON);
    hid b1 = hobj_id(tw_get(w, "B"));
    ns_unbind(w->ns, w->s, "B", 1, false, NULL);
    heap_drain_all(w->h);
    tw_bind(w, "C", "[3000]"); /* likely reuses B's slot, with the next generation */
    hid c = hobj_id(tw_get(w, "C"));
    assert_true(c != b1);
    save(w);
    tworld *w2 = load(INTERN_PYTHON);
    assert_null(heap_lookup(w2->h, b1));
    assert_non_null(heap_lookup(w2->h, c));
    tw_bind(w2, "D", "[4000]");
    assert_true(hobj_id(tw_get(w2, "D")) != b1);
    tw_free(w2);
    tw_free(w);
    tw_free(orig);
}

/* --- refusals ------------------------------------------------------------------------ */

static void small_heap(tworld *w)
{
    tw_bind(w, "A", "[1000, 'x y', (2.5, b'z'), {'k': {1, 2}}]");
    tw_bind(w, "B", "$A");
}

/* The bytes of a snapshot of a heap build() makes. */
static char *saved_file(void (*build)(tworld *), size_t *len)
{
    tworld *orig = tw_new(INTERN_PYTHON);
    build(orig);
    save(orig);
    tw_free(orig);
    return read_file(len);
}

static void count_mortal(hobj *o, void *arg)
{
    *(uint64_t *)arg += !o->immortal;
}

/* After a refused load nothing the load made is alive, but interned strs,
 * which never die. */
static void assert_nothing_loaded(tworld *w)
{
    uint64_t mortal = 0;
    heap_drain_all(w->h);
    heap_foreach(w->h, T__COUNT, count_mortal, &mortal);
    assert_int_equal(mortal, 0);
    assert_int_equal(ns_count_names(w->ns, NULL, false), 0);
}

/* Loading must fail with err naming word, and leave a heap as new. */
static void assert_refused(const char *data, size_t len, const char *word)
{
    tworld *w = tw_new(INTERN_PYTHON);
    uint64_t live = heap_live_total(w->h);
    herr err = {0};
    int rc = snapshot_load_mem(w->h, w->ns, data, len, NULL, &err);
    if (rc != HE_RUNTIME)
        fail_msg("load returned %d, not RuntimeError", rc);
    if (word && !strstr(err.msg, word))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, word);
    assert_nothing_loaded(w);
    assert_int_equal(heap_live_total(w->h), live);
    tw_free(w);
}

/* The bytes of a snapshot whose class C was emptied by the collector
 * (RECS flag 2) while the global name C still reaches it, directly or
 * through a list: what only a hostile file says. The writer's heap is
 * made so on purpose (heap_effect_clear: emptied and doomed, as the
 * collector leaves garbage), then made sound again before it is freed.
 * No str in it is interned (a refused load leaves those alive). */
static char *saved_with_named_cleared_class(bool through_list, size_t *len)
{
    tworld *w = tw_new(INTERN_PYTHON);
    tw_bind(w, "keep", "[1000, 'not interned']");
    hobj *cls = heap_class(w->h, heap_str(w->h, "a class", 7), heap_dict(w->h));
    hobj *held = cls;
    if (through_list) {
        held = heap_list(w->h, 0);
        cont_list_reserve(w->h, held, 1);
        cont_list_append(w->h, held, cls);
    }
    ns_bind(w->ns, NULL, "C", 1, held, true);
    heap_effect_clear(w->h, cls);
    save(w);
    ns_unbind(w->ns, NULL, "C", 1, true, NULL);
    tw_free(w);
    return read_file(len);
}

static void a_cleared_class_a_name_reaches_is_refused(void **state)
{
    (void)state;
    for (int through_list = 0; through_list < 2; through_list++) {
        size_t len;
        char *data = saved_with_named_cleared_class(through_list, &len);
        assert_refused(data, len, "global name reaches it");
        free(data);
    }
}

static void every_flipped_byte_fails_the_checksum(void **state)
{
    (void)state;
    size_t len;
    char *data = saved_file(small_heap, &len);
    for (size_t i = 0; i < len; i++) {
        data[i] ^= 0x20;
        assert_refused(data, len, "checksum");
        data[i] ^= 0x20;
    }
    for (size_t cut = 0; cut < len; cut++)
        assert_refused(data, cut, cut < 16 ? "too short" : "checksum");
    free(data);
}

static void reseal(char *data, size_t len)
{
    be32_put((unsigned char *)data + len - 4, crc32c(0, data, len - 4));
}

/* With the checksum recomputed, every damaged byte must still be refused
 * or load into a sound heap: the loader validates, it does not trust. */
static void small_heap_with_cycles(tworld *w)
{
    small_heap(w);
    cycles(w);
}

static void damage_behind_a_good_checksum_never_breaks_the_heap(void **state)
{
    (void)state;
    size_t len;
    char *data = saved_file(small_heap_with_cycles, &len);
    static const unsigned char masks[] = {0x01, 0x80, 0xFF};
    for (size_t i = 12; i < len - 4; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            data[i] ^= masks[m];
            reseal(data, len);
            tworld *w = tw_new(INTERN_PYTHON);
            herr err = {0};
            if (snapshot_load_mem(w->h, w->ns, data, len, NULL, &err))
                assert_nothing_loaded(w);
            tw_free(w); /* heap_check passes either way */
            data[i] ^= masks[m];
        }
    }
    free(data);
}

/* A version 1 file (before classes: 10 types, no RECS) still loads:
 * tests/unit/data/snapshot-v1-small is the records of one, written by that
 * heapd (the fuzzer's seed before version 2). */
static void version_1_still_loads(void **state)
{
    (void)state;
    FILE *f = fopen("tests/unit/data/snapshot-v1-small", "rb");
    assert_non_null(f);
    unsigned char body[4096];
    size_t n = fread(body, 1, sizeof body, f);
    fclose(f);
    size_t len = SNAP_HEAD_LEN + n + SNAP_CRC_LEN;
    unsigned char *file = malloc(len);
    memcpy(file, SNAP_MAGIC, SNAP_MAGIC_LEN);
    be32_put(file + SNAP_MAGIC_LEN, 1);
    memcpy(file + SNAP_HEAD_LEN, body, n);
    be32_put(file + len - SNAP_CRC_LEN, crc32c(0, file, len - SNAP_CRC_LEN));
    tworld *w = tw_new(INTERN_PYTHON);
    herr err = {0};
    snap_info info;
    if (snapshot_load_mem(w->h, w->ns, file, len, &info, &err))
        fail_msg("a version 1 file: %s", err.msg);
    assert_true(info.objects > 0 && info.names > 0);
    tw_check(w);
    free(file);
    tw_free(w);
}

/* The snapshot's checksum is combined from its sections' (snap_out.c). */
static void crc32c_combines_as_if_computed_whole(void **state)
{
    (void)state;
    assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
    unsigned char buf[3000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    size_t cuts[] = {0, 1, 7, 8, 9, 1000, 2999, 3000};
    for (size_t k = 0; k < ARRAY_LEN(cuts); k++) {
        size_t a = cuts[k];
        uint32_t whole = crc32c(0, buf, sizeof buf);
        uint32_t c1 = crc32c(0, buf, a), c2 = crc32c(0, buf + a, sizeof buf - a);
        assert_int_equal(crc32c_combine(c1, c2, sizeof buf - a), whole);
    }
}

static void an_unknown_version_is_refused(void **state)
{
    (void)state;
    size_t len;
    char *data = saved_file(small_heap, &len);
    be32_put((unsigned char *)data + 8, SNAP_VERSION + 1);
    reseal(data, len);
    assert_refused(data, len, "unknown snapshot version 4");
    memcpy(data, "NOTASNAP", 8);
    reseal(data, len);
    assert_refused(data, len, "not a heapd snapshot");
    free(data);
}

static void another_intern_policy_is_refused(void **state)
{
    (void)state;
    tworld *orig = tw_new(INTERN_PYTHON);
    small_heap(orig);
    save(orig);
    tw_free(orig);
    tworld *w = tw_new(INTERN_NONE);
    herr err = {0};
    assert_int_equal(snapshot_load(w->h, w->ns, path, NULL, &err), HE_RUNTIME);
    assert_non_null(strstr(err.msg, "intern"));
    tw_free(w);
}

static void a_missing_file_is_reported_as_missing(void **state)
{
    (void)state;
    unlink(path);
    tworld *w = tw_new(INTERN_PYTHON);
    herr err = {0};
    assert_int_equal(snapshot_load(w->h, w->ns, path, NULL, &err), SNAP_MISSING);
    tw_free(w);
}

/* --- writing ----------------------------------------------------------------------- */

static void a_failed_write_leaves_the_old_snapshot(void **state)
{
    (void)state;
    tworld *orig = tw_new(INTERN_PYTHON);
    small_heap(orig);
    save(orig);
    size_t len;
    char *before = read_file(&len);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(mkdir(tmp, 0700), 0); /* the temporary cannot be created */
    tw_bind(orig, "C", "[1, 2, 3]");
    herr err = {0};
    assert_int_equal(snapshot_write(orig->h, orig->ns, path, NULL, &err), HE_RUNTIME);
    assert_non_null(strstr(err.msg, ".tmp"));
    rmdir(tmp);
    size_t len2;
    char *after = read_file(&len2);
    assert_int_equal(len, len2);
    assert_memory_equal(before, after, len);
    free(before);
    free(after);
    char bad[200];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.snap", dir);
    assert_int_equal(snapshot_write(orig->h, orig->ns, bad, NULL, &err), HE_RUNTIME);
    assert_non_null(strstr(err.msg, "cannot create"));
    tw_free(orig);
}

static void info_counts_what_was_written(void **state)
{
    (void)state;
    tworld *orig = tw_new(INTERN_PYTHON);
    tw_bind(orig, "A", "[1000, 2000]");
    tw_bind(orig, "B", "$A");
    snap_info wi = {0}, li = {0};
    herr err = {0};
    assert_int_equal(snapshot_write(orig->h, orig->ns, path, &wi, &err), 0);
    /* the list, two ints, and the immortals written every time */
    uint64_t immortals = 1 + 2 + (256 + 5 + 1);
    assert_int_equal(wi.objects, 3 + immortals);
    assert_int_equal(wi.names, 2);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(wi.bytes, (uint64_t)st.st_size);
    tworld *w = tw_new(INTERN_PYTHON);
    assert_int_equal(snapshot_load(w->h, w->ns, path, &li, &err), 0);
    assert_int_equal(li.objects, wi.objects);
    assert_int_equal(li.names, 2);
    assert_int_equal(li.bytes, wi.bytes);
    assert_int_equal(li.saved_at, wi.saved_at);
    tw_free(w);
    tw_free(orig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_type_round_trips),
        cmocka_unit_test(classes_instances_and_weakrefs_round_trip),
        cmocka_unit_test(shared_objects_stay_shared),
        cmocka_unit_test(cycles_keep_their_counts),
        cmocka_unit_test(deep_nesting_loads_without_recursion),
        cmocka_unit_test(a_big_heap_round_trips),
        cmocka_unit_test(stale_ids_stay_stale_and_new_ids_are_new),
        cmocka_unit_test(generations_survive_two_restarts),
        cmocka_unit_test(every_flipped_byte_fails_the_checksum),
        cmocka_unit_test(damage_behind_a_good_checksum_never_breaks_the_heap),
        cmocka_unit_test(an_unknown_version_is_refused),
        cmocka_unit_test(crc32c_combines_as_if_computed_whole),
        cmocka_unit_test(a_cleared_class_a_name_reaches_is_refused),
        cmocka_unit_test(a_live_save_holds_the_heap_at_its_start),
        cmocka_unit_test(version_1_still_loads),
        cmocka_unit_test(another_intern_policy_is_refused),
        cmocka_unit_test(a_missing_file_is_reported_as_missing),
        cmocka_unit_test(a_failed_write_leaves_the_old_snapshot),
        cmocka_unit_test(info_counts_what_was_written),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
