/* Classes, instances, finalizers and weak references (object.c, weak.c):
 * counts, the collector (young and full), PEP 442's once, CPython's order
 * (weakrefs to garbage cleared before finalizers run), weak-valued dicts. */
#include "cont.h"
#include "gc.h"
#include "heap_priv.h"
#include "testlib.h"

#include <string.h>

static void bind_obj(tworld *w, const char *name, hobj *o)
{
    ns_bind(w->ns, w->s, name, strlen(name), o, false); /* steals */
}

static void unbind(tworld *w, const char *name)
{
    assert_int_equal(ns_unbind(w->ns, w->s, name, strlen(name), false, NULL), 0);
}

/* A class named name; attrs a literal dict ("{'__del__': True}"). */
static hobj *make_class(tworld *w, const char *name, const char *attrs)
{
    return heap_class(w->h, heap_str(w->h, name, strlen(name)), tw_build(w, attrs));
}

static hobj *make_instance(tworld *w, hobj *cls)
{
    return heap_instance(w->h, cls, heap_dict(w->h));
}

/* inst.attr = val (a new reference to val is taken). */
static void set_attr(tworld *w, hobj *inst, const char *attr, hobj *val)
{
    hobj *key = heap_str(w->h, attr, strlen(attr)), *d = heap_rec_dict(inst);
    uint64_t hash;
    assert_int_equal(cont_hash(key, &hash, NULL), 0);
    cont_table_reserve(w->h, d, 1);
    cont_dict_set(w->h, d, key, hash, heap_incref(w->h, val));
}

/* --- what the finalize and weakref hooks saw --------------------------------- */

struct seen {
    tworld *w;
    int finalized, by_collector, weak_events;
    hobj *watched;            /* a weakref whose state a finalizer records */
    bool watched_was_cleared; /* ... when the first finalizer ran */
    int min_attrs;            /* the fewest attributes a finalized instance had */
};

static void on_finalize(void *ctx, hobj *inst, bool by_collector)
{
    struct seen *s = ctx;
    assert_int_equal(inst->type, T_INSTANCE);
    assert_non_null(heap_rec_dict(inst)); /* attributes intact */
    int n = (int)AS_DICT(heap_rec_dict(inst))->used;
    if (!s->finalized || n < s->min_attrs)
        s->min_attrs = n;
    if (s->watched && !s->finalized)
        s->watched_was_cleared = heap_weakref_get(s->w->h, s->watched) == NULL;
    s->finalized++;
    s->by_collector += by_collector;
}

static void on_weak(void *ctx, hobj *w)
{
    struct seen *s = ctx;
    assert_null(AS_WEAK(w)->referent);
    s->weak_events++;
}

static struct seen *watch_hooks(tworld *w, struct seen *s)
{
    *s = (struct seen){.w = w};
    heap_set_finalize_hook(w->h, on_finalize, s);
    heap_set_weak_hook(w->h, on_weak, s);
    return s;
}

/* --- classes and instances ---------------------------------------------------- */

static void instances_count_their_class_and_dict(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *cls = make_class(w, "Employee", "{'company': 'ACME'}");
    hobj *e = make_instance(w, cls);
    assert_int_equal(cls->refcnt, 2); /* ours and the instance's */
    assert_string_equal(heap_type_name(e), "Employee");
    assert_string_equal(heap_class_name(cls), "Employee");
    bind_obj(w, "Employee", cls);
    bind_obj(w, "e", e);
    tw_check(w);
    unbind(w, "e");
    heap_drain_all(w->h);
    assert_int_equal(heap_live(w->h, T_INSTANCE), 0);
    assert_int_equal(cls->refcnt, 1);
    tw_check(w);
    tw_free(w);
}

/* self.me = self: collected by a young collection, and by a full one. */
static void a_self_referencing_instance_is_collected(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *cls = make_class(w, "Node", "{}");
    bind_obj(w, "Node", cls);
    for (int gen = 0; gen < 3; gen += 2) {
        hobj *n = make_instance(w, cls);
        set_attr(w, n, "me", n);
        heap_decref(w->h, n);
        tw_check(w);
        assert_int_equal(gc_collect_generation(w->h, gen), 2); /* the instance and its dict */
        assert_int_equal(heap_live(w->h, T_INSTANCE), 0);
        tw_check(w);
    }
    tw_free(w);
}

/* --- finalizers ----------------------------------------------------------------- */

static void finalizers_run_once_however_freed(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    struct seen s;
    watch_hooks(w, &s);
    hobj *cls = make_class(w, "Employee", "{'__del__': True}");
    bind_obj(w, "Employee", cls);
    hobj *plain = make_class(w, "Plain", "{}");
    bind_obj(w, "Plain", plain);
    /* by refcount */
    heap_decref(w->h, make_instance(w, cls));
    assert_int_equal(s.finalized, 1);
    /* by a cascade: a list holding one */
    hobj *l = tw_build(w, "[]");
    hobj *in = make_instance(w, cls);
    cont_list_reserve(w->h, l, 1);
    cont_list_append(w->h, l, in);
    heap_decref(w->h, l);
    heap_drain_all(w->h);
    assert_int_equal(s.finalized, 2);
    /* by the collector: two finalizable instances in a cycle, both run */
    hobj *a = make_instance(w, cls), *b = make_instance(w, cls);
    set_attr(w, a, "partner", b);
    set_attr(w, b, "partner", a);
    heap_decref(w->h, a);
    heap_decref(w->h, b);
    heap_decref(w->h, make_instance(w, plain)); /* no __del__: no call */
    heap_drain_all(w->h);
    assert_int_equal(gc_collect(w->h), 4);
    assert_int_equal(s.finalized, 4);
    assert_int_equal(s.by_collector, 2);
    assert_int_equal(heap_live(w->h, T_INSTANCE), 0); /* collected, not parked */
    tw_check(w);
    tw_free(w);
}

/* A finalizer that runs while the collector clears a cycle runs once, even
 * though the instance dies a second time by refcount later. */
static void a_collected_finalizer_does_not_run_again(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    struct seen s;
    watch_hooks(w, &s);
    hobj *cls = make_class(w, "C", "{'__del__': 1}");
    bind_obj(w, "C", cls);
    hobj *a = make_instance(w, cls);
    set_attr(w, a, "me", a);
    heap_decref(w->h, a);
    gc_collect_generation(w->h, 0);
    heap_drain_all(w->h);
    assert_int_equal(s.finalized, 1);
    assert_int_equal(heap_live(w->h, T_INSTANCE), 0);
    tw_free(w);
}

/* --- weak references ------------------------------------------------------------ */

static void weakrefs_cost_no_count_and_clear(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    struct seen s;
    watch_hooks(w, &s);
    hobj *x = tw_build(w, "[1, 2]");
    bind_obj(w, "x", x);
    hobj *w1 = heap_weakref(w->h, x, 7), *w2 = heap_weakref(w->h, x, 0);
    bind_obj(w, "w1", w1);
    bind_obj(w, "w2", w2);
    assert_int_equal(x->refcnt, 1);
    assert_int_equal(heap_weakref_count(w->h, x), 2);
    assert_ptr_equal(heap_weakref_get(w->h, w1), x);
    tw_check(w);
    unbind(w, "w2"); /* a weakref dying first leaves the other */
    assert_int_equal(heap_weakref_count(w->h, x), 1);
    tw_check(w);
    unbind(w, "x");
    assert_null(heap_weakref_get(w->h, w1));
    assert_int_equal(s.weak_events, 1); /* w1 asked for a callback */
    tw_check(w);
    unbind(w, "w1");
    tw_check(w);
    tw_free(w);
}

/* CPython's order for a garbage cycle: its weakrefs are cleared before any
 * finalizer runs; young and full collections alike. */
static void weakrefs_to_garbage_clear_before_finalizers(void **state)
{
    (void)state;
    for (int gen = 0; gen < 3; gen += 2) {
        tworld *w = tw_new(INTERN_PYTHON);
        struct seen s;
        watch_hooks(w, &s);
        hobj *cls = make_class(w, "C", "{'__del__': True}");
        bind_obj(w, "C", cls);
        hobj *a = make_instance(w, cls), *b = make_instance(w, cls);
        set_attr(w, a, "b", b);
        set_attr(w, b, "a", a);
        s.watched = heap_weakref(w->h, b, 0);
        bind_obj(w, "wb", s.watched);
        heap_decref(w->h, a);
        heap_decref(w->h, b);
        assert_int_equal(gc_collect_generation(w->h, gen), 4);
        assert_int_equal(s.finalized, 2);
        assert_int_equal(s.min_attrs, 1); /* each saw its attribute: nothing cleared yet */
        assert_true(s.watched_was_cleared);
        assert_null(heap_weakref_get(w->h, s.watched));
        tw_check(w);
        tw_free(w);
    }
}

/* A weak-valued dict's entry goes once its value does (at the purge). */
static void weak_valued_dict_entries_vanish(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    hobj *d = heap_dict(w->h), *v = tw_build(w, "[]"), *key = heap_str(w->h, "k", 1);
    d->flag = 1;
    uint64_t hash;
    cont_hash(key, &hash, NULL);
    cont_table_reserve(w->h, d, 1);
    cont_dict_set(w->h, d, key, hash, heap_weak_entry(w->h, v, d, key));
    bind_obj(w, "cache", d);
    bind_obj(w, "v", v);
    tw_check(w);
    assert_int_equal(AS_DICT(d)->used, 1);
    assert_int_equal(v->refcnt, 1); /* the dict does not keep it */
    unbind(w, "v");
    tw_check(w); /* cleared, waiting for the purge */
    heap_weak_purge(w->h);
    assert_int_equal(AS_DICT(d)->used, 0);
    tw_check(w);
    tw_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(instances_count_their_class_and_dict),
        cmocka_unit_test(a_self_referencing_instance_is_collected),
        cmocka_unit_test(finalizers_run_once_however_freed),
        cmocka_unit_test(a_collected_finalizer_does_not_run_again),
        cmocka_unit_test(weakrefs_cost_no_count_and_clear),
        cmocka_unit_test(weakrefs_to_garbage_clear_before_finalizers),
        cmocka_unit_test(weak_valued_dict_entries_vanish),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
