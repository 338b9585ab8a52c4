#include "heap.h"
#include "wire.h"
#include "heap_priv.h"
#include "hash.h"
#include "htab.h"
#include "intern.h"
#include "util.h"
#include "effects.h" /* the effect log's hook: HEFFECT(...) lines */

#include <stdlib.h>
#include <string.h>

static const size_t objsizes[T__COUNT] = {
    [T_NONE] = sizeof(hobj),        [T_BOOL] = sizeof(hint),  [T_INT] = sizeof(hint),
    [T_FLOAT] = sizeof(hfloat),     [T_STR] = sizeof(hstr),   [T_BYTES] = sizeof(hstr),
    [T_TUPLE] = sizeof(htuple),     [T_LIST] = sizeof(hlist), [T_DICT] = sizeof(hdict),
    [T_SET] = sizeof(hdict),        [T_TYPE] = sizeof(hrec),  [T_INSTANCE] = sizeof(hrec),
    [T_WEAKREF] = sizeof(hweakref),
};

/* The type codes are the wire's (an id's low bits), so the names are too. */
_Static_assert(T__COUNT == WIRE_TYPE_COUNT, "htype and wire_type_names disagree");

const char *htype_name(htype t)
{
    return t < T__COUNT ? wire_type_names[t] : "?";
}

int intern_policy_parse(const char *s)
{
    static const char *const names[] = {"python", "none", "all"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

const char *intern_policy_name(intern_policy p)
{
    return p == INTERN_NONE ? "none" : p == INTERN_ALL ? "all" : "python";
}

size_t heap_objsize(htype t)
{
    return objsizes[t];
}

size_t heap_cost(htype t, size_t n)
{
    switch (t) {
    case T_STR:
    case T_BYTES:
        return objsizes[t] + n + 1;
    case T_TUPLE:
    case T_LIST:
        return objsizes[t] + n * sizeof(hobj *);
    case T_DICT:
    case T_SET:
        return objsizes[t] + htab_cost((uint32_t)n);
    default:
        return objsizes[t];
    }
}

size_t heap_sizeof(const hobj *o)
{
    switch ((htype)o->type) {
    case T_STR:
    case T_BYTES:
        return objsizes[o->type] + AS_STR(o)->len + 1;
    case T_TUPLE:
        return objsizes[o->type] + AS_TUPLE(o)->len * sizeof(hobj *);
    case T_LIST:
        return objsizes[o->type] + AS_LIST(o)->cap * sizeof(hobj *);
    case T_DICT:
    case T_SET:
        return objsizes[o->type] + htab_bytes(AS_DICT(o)->tb);
    default:
        return objsizes[o->type];
    }
}

void heap_account(heap *h, long delta)
{
    heap_stats *st = &h->hot.st;
    st->bytes += (uint64_t)delta; /* wraps correctly for negative deltas */
    if (st->bytes > st->peak_bytes)
        st->peak_bytes = st->bytes;
}

void heap_account_ext(heap *h, long delta)
{
    h->ext_bytes += (uint64_t)delta;
    heap_account(h, delta);
}

uint64_t heap_ext_bytes(const heap *h)
{
    return h->ext_bytes;
}

/* --- object birth ------------------------------------------------------- */

static hobj *new_obj(heap *h, htype t)
{
    hobj *o = slab_alloc(&h->slabs[t]);
    if (!o)
        xoom(objsizes[t]); /* 2^32 objects of one type: beyond any memory */
    if (h->snap_on)
        h->snap.born(h->snap.ctx, o);
    o->refcnt = 1;
    if (htype_is_container(t)) {
        o->colour = h->hot.alloc_colour;
        gc_track(h, o);
    }
    h->hot.st.allocated++;
    h->hot.st.increfs++;
    heap_account(h, (long)objsizes[t]);
    return o;
}

static hobj *make_immortal(hobj *o)
{
    o->immortal = 1;
    o->refcnt = 0; /* exact counts: the heap's own pointer is not a reference */
    return o;
}

static bool is_small_int(int64_t v)
{
    return v >= SMALL_INT_MIN && v <= SMALL_INT_MAX;
}

static void make_immortals(heap *h)
{
    h->none = make_immortal(new_obj(h, T_NONE));
    for (int b = 0; b < 2; b++) {
        h->bools[b] = new_obj(h, T_BOOL);
        AS_INT(h->bools[b])->v = b;
        make_immortal(h->bools[b]);
    }
    if (h->cfg.intern == INTERN_NONE)
        return;
    for (int64_t v = SMALL_INT_MIN; v <= SMALL_INT_MAX; v++) {
        hobj *o = new_obj(h, T_INT);
        AS_INT(o)->v = v;
        h->small_ints[v - SMALL_INT_MIN] = make_immortal(o);
    }
}

heap *heap_new(const heap_config *cfg)
{
    heap *h = xcalloc(1, sizeof *h);
    h->cfg = *cfg;
    if (!h->cfg.max_depth)
        h->cfg.max_depth = HEAP_DEFAULT_MAX_DEPTH;
    hash_seed_init();
    h->hot.doomed_colour = 0xFF;
    h->gc.own_cfg = (gc_config)GC_DEFAULT_CONFIG;
    h->gc.cfg = &h->gc.own_cfg;
    h->gc.garbage_colour = 0xFF;
    gc_young_init(h);
    for (int t = 0; t < T__COUNT; t++)
        slab_init(&h->slabs[t], (htype)t, (uint32_t)objsizes[t]);
    itab_init(&h->interned);
    make_immortals(h);
    return h;
}

const heap_config *heap_cfg(const heap *h)
{
    return &h->cfg;
}
const heap_stats *heap_get_stats(const heap *h)
{
    return &h->hot.st;
}
uint64_t heap_live(const heap *h, htype t)
{
    return h->slabs[t].live;
}
const slab *heap_slab(const heap *h, htype t)
{
    return &h->slabs[t];
}

uint64_t heap_live_total(const heap *h)
{
    uint64_t n = 0;
    for (int t = 0; t < T__COUNT; t++)
        n += h->slabs[t].live;
    return n;
}

void heap_set_limits(heap *h, uint64_t max_objects, uint64_t max_bytes)
{
    h->cfg.max_objects = max_objects;
    h->cfg.max_bytes = max_bytes;
}

void heap_set_max_depth(heap *h, uint32_t d)
{
    h->cfg.max_depth = d;
}

void heap_set_roots(heap *h, const hroots_ops *ops, void *ctx)
{
    h->roots = ops;
    h->roots_ctx = ctx;
}

/* The heap's own root: gc.garbage, shaded as each full collection starts. */
static void visit_own_roots(heap *h, hvisit_fn visit, void *arg)
{
    if (h->gc.garbage)
        visit(h->gc.garbage, arg);
}

void heap_visit_roots(heap *h, hvisit_fn visit, void *arg)
{
    visit_own_roots(h, visit, arg);
    if (h->roots)
        h->roots->visit(h->roots_ctx, visit, arg);
}

void heap_roots_scan_begin(heap *h)
{
    if (h->roots)
        h->roots->scan_begin(h->roots_ctx);
}

bool heap_roots_scan_step(heap *h, hvisit_fn visit, void *arg, uint64_t max, uint64_t *work)
{
    return !h->roots || h->roots->scan_step(h->roots_ctx, visit, arg, max, work);
}

void heap_visit_scanned_roots(heap *h, hvisit_fn visit, void *arg)
{
    visit_own_roots(h, visit, arg);
    if (h->roots)
        h->roots->visit_scanned(h->roots_ctx, visit, arg);
}

void heap_set_free_hook(heap *h, hfree_hook fn, void *ctx)
{
    h->free_hook = fn;
    h->free_hook_ctx = ctx;
}

void heap_set_finalize_hook(heap *h, hfinalize_hook fn, void *ctx)
{
    h->finalize_hook = fn;
    h->finalize_hook_ctx = ctx;
}

void heap_set_weak_hook(heap *h, hweak_hook fn, void *ctx)
{
    h->weak_hook = fn;
    h->weak_hook_ctx = ctx;
}

void heap_set_free_cause(heap *h, enum free_cause cause)
{
    h->cause = cause;
}

int heap_check_room(heap *h, uint64_t objects, uint64_t bytes, herr *err)
{
    const heap_config *c = &h->cfg;
    if (c->max_objects && heap_live_total(h) + objects > c->max_objects)
        return herr_set(err, HE_MEMORY, "object limit reached (limits.max_objects = %llu)",
                        (unsigned long long)c->max_objects);
    if (c->max_bytes && h->hot.st.bytes + bytes > c->max_bytes)
        return herr_set(err, HE_MEMORY, "memory limit reached (limits.max_memory_bytes = %llu)",
                        (unsigned long long)c->max_bytes);
    return 0;
}

hobj *heap_lookup(heap *h, hid id)
{
    htype t = hid_type(id);
    if (t >= T__COUNT || (id >> 36 & 0xF) != 0)
        return NULL;
    hobj *o = slab_at(&h->slabs[t], hid_slot(id));
    if (!o || o->dead || o->gen != hid_gen(id))
        return NULL;
    /* Garbage the collector found stays alive until its counts fall, but a
     * client must not reach it again. */
    if (htype_is_container(t) && (o->doomed || o->colour == h->hot.doomed_colour))
        return NULL;
    return o;
}

/* --- scalars, with interning -------------------------------------------- */

hobj *heap_none(heap *h)
{
    return heap_incref(h, h->none);
}
hobj *heap_bool(heap *h, bool v)
{
    return heap_incref(h, h->bools[v]);
}

bool heap_would_intern_int(const heap *h, int64_t v)
{
    return h->cfg.intern != INTERN_NONE && is_small_int(v);
}

static bool identifier_like(const char *s, size_t len);

bool heap_would_reuse(const heap *h, htype t, const void *value, size_t len)
{
    int64_t i;
    switch (t) {
    case T_INT:
        memcpy(&i, value, sizeof i);
        if (heap_would_intern_int(h, i))
            return true;
        /* fall through */
    case T_FLOAT:
        return h->cfg.intern == INTERN_ALL && itab_find_num(&h->interned, t, value);
    case T_STR:
        if (h->cfg.intern == INTERN_PYTHON && !identifier_like(value, len))
            return false;
        /* fall through */
    case T_BYTES:
        return h->cfg.intern != INTERN_NONE && (h->cfg.intern == INTERN_ALL || t == T_STR) &&
               itab_find_str(&h->interned, t, value, len);
    default:
        return false;
    }
}

/* Under "all", equal scalars are one object while alive (hash-consing). */
static hobj *consed(heap *h, hobj *found)
{
    return found ? heap_incref(h, found) : NULL;
}

hobj *heap_int(heap *h, int64_t v)
{
    if (heap_would_intern_int(h, v))
        return heap_incref(h, h->small_ints[v - SMALL_INT_MIN]);
    hobj *o =
        h->cfg.intern == INTERN_ALL ? consed(h, itab_find_num(&h->interned, T_INT, &v)) : NULL;
    if (o)
        return o;
    o = new_obj(h, T_INT);
    AS_INT(o)->v = v;
    if (h->cfg.intern == INTERN_ALL)
        itab_add(&h->interned, o);
    HEFFECT(h, HEFF_NEW, .o = o);
    return o;
}

hobj *heap_float(heap *h, double v)
{
    hobj *o =
        h->cfg.intern == INTERN_ALL ? consed(h, itab_find_num(&h->interned, T_FLOAT, &v)) : NULL;
    if (o)
        return o;
    o = new_obj(h, T_FLOAT);
    AS_FLOAT(o)->v = v;
    if (h->cfg.intern == INTERN_ALL)
        itab_add(&h->interned, o);
    HEFFECT(h, HEFF_NEW, .o = o);
    return o;
}

/* CPython interns string constants made only of name characters. */
static bool identifier_like(const char *s, size_t len)
{
    if (len > INTERN_STR_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

static hobj *new_strlike(heap *h, htype t, const char *data, size_t len)
{
    hobj *o = new_obj(h, t);
    hstr *s = AS_STR(o);
    s->len = (uint32_t)len;
    s->data = xstrndup(data, len);
    heap_account(h, (long)len + 1);
    HEFFECT(h, HEFF_NEW, .o = o);
    return o;
}

static void journal_push(heap *h, hobj *o)
{
    if (h->journal_len == h->journal_cap)
        h->journal =
            xrealloc(h->journal, (h->journal_cap = h->journal_cap * 2 + 8) * sizeof *h->journal);
    h->journal[h->journal_len++] = o;
}

void heap_intern_begin(heap *h)
{
    h->journal_len = 0;
    h->journaling = true;
}

/* An interned str nothing references any more goes as if it had never
 * been made: out of the intern table, then freed as any object is. */
static void unintern(heap *h, hobj *o)
{
    if (h->cfg.intern != INTERN_ALL) /* heap_dispose removes it under "all" */
        itab_remove(&h->interned, o);
    o->immortal = 0;
    heap_dispose(h, o);
}

/* A str the failed request put in a temporary container (a tuple key) is
 * still held by the deferred queue: what the request dropped is released
 * first, within a small budget (a failed request's temporaries are small;
 * one that dropped a huge literal may leave a str interned). */
#define INTERN_UNDO_DRAIN_NS 200000

static bool journal_held(const heap *h)
{
    for (size_t i = 0; i < h->journal_len; i++)
        if (h->journal[i]->refcnt)
            return true;
    return false;
}

void heap_intern_end(heap *h, bool undo)
{
    if (undo && h->dq_len && journal_held(h))
        heap_drain(h, INTERN_UNDO_DRAIN_NS);
    for (size_t i = 0; undo && i < h->journal_len; i++)
        if (h->journal[i]->refcnt == 0)
            unintern(h, h->journal[i]);
    h->journal_len = 0;
    h->journaling = false;
}

static hobj *heap_strlike(heap *h, htype t, const char *data, size_t len)
{
    bool immortal = h->cfg.intern != INTERN_NONE && t == T_STR && identifier_like(data, len);
    bool cons = immortal || h->cfg.intern == INTERN_ALL;
    if (cons) {
        hobj *o = consed(h, itab_find_str(&h->interned, t, data, len));
        if (o)
            return o;
    }
    hobj *o = new_strlike(h, t, data, len);
    if (cons)
        itab_add(&h->interned, o);
    if (immortal) {
        o->immortal = 1; /* keeps the caller's reference: the count stays exact */
        if (h->journaling)
            journal_push(h, o);
    }
    return o;
}

hobj *heap_str(heap *h, const char *data, size_t len)
{
    assert(utf8_valid(data, len));
    return heap_strlike(h, T_STR, data, len);
}

hobj *heap_bytes(heap *h, const void *data, size_t len)
{
    return heap_strlike(h, T_BYTES, data, len);
}

/* --- containers --------------------------------------------------------- */

hobj *heap_list(heap *h, uint32_t cap)
{
    hobj *o = new_obj(h, T_LIST);
    hlist *l = AS_LIST(o);
    l->cap = cap;
    l->items = cap ? xmalloc(cap * sizeof(hobj *)) : NULL;
    heap_account(h, (long)(cap * sizeof(hobj *)));
    HEFFECT(h, HEFF_NEW, .o = o);
    return o;
}

hobj *heap_tuple(heap *h, hobj **items, uint32_t n)
{
    hobj *o = new_obj(h, T_TUPLE);
    htuple *t = AS_TUPLE(o);
    t->len = n;
    t->items = n ? xmalloc(n * sizeof(hobj *)) : NULL;
    if (n)
        memcpy(t->items, items, n * sizeof(hobj *));
    heap_account(h, (long)(n * sizeof(hobj *)));
    uint64_t acc = hash_tuple_start();
    for (uint32_t i = 0; i < n; i++) {
        heap_store_barrier(h, o, items[i]);
        uint64_t ih;
        if (!obj_hash(items[i], &ih))
            t->unhashable = 1;
        acc = hash_tuple_add(acc, ih);
    }
    t->hash = t->unhashable ? 0 : acc;
    HEFFECT(h, HEFF_NEW, .o = o);
    return o;
}

hobj *heap_dict(heap *h)
{
    hobj *o = new_obj(h, T_DICT);
    HEFFECT(h, HEFF_NEW, .o = o);
    return o;
}
hobj *heap_set(heap *h)
{
    hobj *o = new_obj(h, T_SET);
    HEFFECT(h, HEFF_NEW, .o = o);
    return o;
}

hobj *heap_class(heap *h, hobj *name, hobj *dict)
{
    hobj *o = new_obj(h, T_TYPE);
    AS_REC(o)->ref[REC_NAME] = name;
    AS_REC(o)->ref[REC_DICT] = dict;
    heap_store_barrier(h, o, dict);
    o->flag = heap_class_has_del(o); /* part of its value: no HEFF_FLAG before its NEW */
    HEFFECT(h, HEFF_NEW, .o = o);
    return o;
}

hobj *heap_instance(heap *h, hobj *cls, hobj *dict)
{
    hobj *o = new_obj(h, T_INSTANCE);
    AS_REC(o)->ref[REC_CLASS] = heap_incref(h, cls);
    AS_REC(o)->ref[REC_DICT] = dict;
    heap_store_barrier(h, o, cls);
    heap_store_barrier(h, o, dict);
    HEFFECT(h, HEFF_NEW, .o = o);
    return o;
}

hobj *heap_new_weakref_(heap *h)
{
    return new_obj(h, T_WEAKREF);
}

hobj *heap_restore_record(heap *h, htype t)
{
    assert(htype_is_record(t));
    return new_obj(h, t);
}

void heap_restore_rec(heap *h, hobj *o, hobj *a, hobj *b, bool flag)
{
    assert(o->type == T_TYPE || o->type == T_INSTANCE);
    AS_REC(o)->ref[0] = heap_incref(h, a);
    AS_REC(o)->ref[1] = heap_incref(h, b);
    heap_store_barrier(h, o, a);
    heap_store_barrier(h, o, b);
    o->flag = flag;
}

void heap_restore_cleared(heap *h, hobj *o, bool flag)
{
    assert((o->type == T_TYPE || o->type == T_INSTANCE) && !AS_REC(o)->ref[0]);
    o->flag = flag;
    heap_mark_doomed(h, o); /* as gc_dispose_garbage left it: found by no lookup */
    gc_untrack(h, o);
}

void heap_traverse(hobj *o, hvisit_fn visit, void *arg)
{
    switch ((htype)o->type) {
    case T_TUPLE:
    case T_LIST:
        for (uint32_t i = 0; i < AS_LIST(o)->len; i++)
            visit(AS_LIST(o)->items[i], arg);
        break;
    case T_DICT:
    case T_SET: {
        hdict *d = AS_DICT(o);
        for (uint32_t i = 0; i < d->fill; i++) {
            hentry *e = htab_entry(d, i);
            if (!e->key)
                continue;
            visit(e->key, arg);
            if (e->val)
                visit(e->val, arg);
        }
        break;
    }
    case T_TYPE:
    case T_INSTANCE:
        for (int i = 0; i < 2; i++)
            if (AS_REC(o)->ref[i])
                visit(AS_REC(o)->ref[i], arg);
        break;
    case T_WEAKREF:
        if (AS_WEAK(o)->key)
            visit(AS_WEAK(o)->key, arg);
        break;
    default:
        break;
    }
}

void heap_foreach(heap *h, htype t, hvisit_fn fn, void *arg)
{
    htype first = t == T__COUNT ? 0 : t, last = t == T__COUNT ? T__COUNT - 1 : t;
    for (int ty = (int)first; ty <= (int)last; ty++) {
        const slab *s = &h->slabs[ty];
        for (uint32_t i = 0; i < s->nslots; i++) {
            hobj *o = slab_at(s, i);
            if (!o->dead)
                fn(o, arg);
        }
    }
}

/* --- death -------------------------------------------------------------- */

static void dq_push(heap *h, struct dq_item it, uint64_t refs)
{
    it.gc = h->cause == FREE_GC;
    if (h->dq_len == h->dq_cap) {
        size_t cap = h->dq_cap ? h->dq_cap * 2 : 1024;
        h->dq = big_grow(h->dq, h->dq_cap * sizeof *h->dq, cap * sizeof *h->dq);
        h->dq_cap = cap;
    }
    h->dq[h->dq_len++] = it;
    h->hot.st.pending += refs;
}

/* A class's, instance's or weakref's references: copied out into an
 * array of their own, since the object may be freed before they are. */
static void queue_fixed(heap *h, hobj **refs, int n)
{
    hobj *held[2];
    uint32_t k = 0;
    for (int i = 0; i < n; i++) {
        if (refs[i])
            held[k++] = refs[i];
        refs[i] = NULL;
    }
    if (!k)
        return;
    hobj **copy = xmalloc(k * sizeof *copy);
    memcpy(copy, held, k * sizeof *copy);
    heap_account(h, (long)(k * sizeof *copy));
    dq_push(h, (struct dq_item){.refs = copy, .n = k, .bytes = k * sizeof *copy}, k);
}

/* Moves a container's references to the deferred queue, leaving it empty.
 * A list keeps no item array (as CPython's list.clear). */
void heap_queue_contents(heap *h, hobj *o)
{
    if (htype_is_record(o->type)) {
        if (o->type == T_WEAKREF)
            queue_fixed(h, &AS_WEAK(o)->key, 1);
        else
            queue_fixed(h, AS_REC(o)->ref, 2);
        return;
    }
    if (o->type == T_DICT || o->type == T_SET) {
        hdict *d = AS_DICT(o);
        uint32_t fill = d->fill, used = d->used;
        htab_block *tb = htab_detach(d);
        if (tb)
            dq_push(h, (struct dq_item){.tb = tb, .n = fill, .bytes = htab_bytes(tb)},
                    o->type == T_DICT ? 2 * (uint64_t)used : used);
        return;
    }
    hlist *l = AS_LIST(o);
    size_t bytes = (o->type == T_LIST ? l->cap : l->len) * sizeof(hobj *);
    if (l->len) {
        dq_push(h, (struct dq_item){.refs = l->items, .n = l->len, .bytes = bytes}, l->len);
    } else {
        free(l->items);
        heap_account(h, -(long)bytes);
    }
    l->items = NULL;
    l->len = l->cap = 0;
}

void heap_clear_container(heap *h, hobj *o)
{
    assert(htype_is_mutable(o->type));
    HEFFECT(h, HEFF_CLEAR, .o = o);
    heap_queue_contents(h, o);
}

/* Releases what a dying object owns: bytes now, references via the queue. */
static void release_payload(heap *h, hobj *o)
{
    if (htype_is_container(o->type)) {
        heap_queue_contents(h, o);
    } else if (o->type == T_STR || o->type == T_BYTES) {
        heap_account(h, -(long)(AS_STR(o)->len + 1));
        free(AS_STR(o)->data);
    }
}

void heap_dispose(heap *h, hobj *o)
{
    heap_stats *st = &h->hot.st;
    assert(o->refcnt == 0 && !o->immortal);
    if (h->defer_frees)
        return; /* a replay: a zombie until the log frees it (effects.h) */
    HEFFECT(h, HEFF_FREE, .o = o);
    if (o->doomed)
        h->doomed_alive--;
    if (o == h->hot.gc_partial)
        h->hot.gc_partial = NULL; /* its gray stack entry will be skipped */
    if (!h->draining && h->dq_len == 0)
        st->cascade = 0; /* a new cascade starts here */
    if (h->free_hook)
        h->free_hook(h->free_hook_ctx, o, h->cause);
    if (o->type == T_INSTANCE && heap_finalizable(o))
        heap_finalize(h, o, false); /* as CPython: __del__, then weakrefs cleared */
    if (o->weakly)
        weak_clear_freed(h, o);
    if (o->type == T_WEAKREF)
        weak_unlink(h, o);
    if (htype_is_container(o->type)) {
        gc_untrack(h, o);
        if (h->gc.gen[0].count) /* as CPython's gc_dealloc */
            h->gc.gen[0].count--;
    }
    if (h->cause == FREE_GC && htype_is_container(o->type) && !o->doomed)
        gc_note_collected(h); /* garbage freed by the cascade, not by the sweep */
    if (h->cfg.intern == INTERN_ALL && !htype_is_container(o->type) && o->type != T_NONE &&
        o->type != T_BOOL)
        itab_remove(&h->interned, o);
    release_payload(h, o);
    heap_account(h, -(long)objsizes[o->type]);
    slab_free(&h->slabs[o->type], o);
    st->freed++;
    if (h->cause == FREE_GC)
        st->frees_gc++;
    else
        st->frees_refcount++;
    if (++st->cascade > st->longest_cascade)
        st->longest_cascade = st->cascade;
}

void heap_queue_holder(heap *h, const hholder_ops *ops, void *holder, uint64_t refs)
{
    dq_push(h, (struct dq_item){.ops = ops, .holder = holder, .n = 1}, refs);
}

static void dq_pop(heap *h)
{
    struct dq_item *it = &h->dq[--h->dq_len];
    if (it->ops) {
        it->ops->destroy(it->holder, h);
        return;
    }
    free(it->refs ? (void *)it->refs : (void *)it->tb);
    heap_account(h, -(long)it->bytes);
}

/* Releases the next one or two references of the top item. The item is
 * popped before its last references are dropped, so a chain of one-element
 * containers keeps the queue at one item (a loop, not a recursion). */
static void dq_step(heap *h)
{
    struct dq_item *it = &h->dq[h->dq_len - 1];
    hobj *a = NULL, *b = NULL;
    enum free_cause saved = h->cause;
    if (it->ops) {
        a = it->ops->take(it->holder);
        it->pos = a ? 0 : 1; /* a holder is done when it has nothing left */
    } else if (it->refs) {
        a = it->refs[it->pos++];
    } else {
        while (it->pos < it->n && !it->tb->entries[it->pos].key)
            it->pos++;
        if (it->pos < it->n) {
            hentry *e = &it->tb->entries[it->pos++];
            a = e->key, b = e->val;
        }
    }
    /* What this item's references free was freed by whoever queued it. */
    h->cause = it->gc ? FREE_GC : FREE_REFCOUNT;
    if (it->pos == it->n)
        dq_pop(h);
    if (a) {
        h->hot.st.pending--;
        heap_decref(h, a);
    }
    if (b) {
        h->hot.st.pending--;
        heap_decref(h, b);
    }
    h->cause = saved;
}

#define DRAIN_CLOCK_EVERY 64 /* steps between clock reads: a few microseconds */

bool heap_drain(heap *h, uint64_t budget_ns)
{
    uint64_t start = now_ns();
    unsigned steps = 0;
    h->draining = true;
    while (h->dq_len) {
        if (++steps % DRAIN_CLOCK_EVERY == 0 && now_ns() - start >= budget_ns)
            break;
        dq_step(h);
    }
    h->draining = false;
    return h->dq_len == 0;
}

void heap_drain_all(heap *h)
{
    heap_drain(h, UINT64_MAX);
}

void heap_visit_pending(heap *h, hvisit_fn visit, void *arg)
{
    for (size_t i = 0; i < h->dq_len; i++) {
        struct dq_item *it = &h->dq[i];
        if (it->ops) {
            it->ops->visit(it->holder, visit, arg);
            continue;
        }
        for (uint32_t p = it->pos; p < it->n; p++) {
            if (it->refs) {
                visit(it->refs[p], arg);
                continue;
            }
            hentry *e = &it->tb->entries[p];
            if (e->key)
                visit(e->key, arg);
            if (e->key && e->val)
                visit(e->val, arg);
        }
    }
}

/* --- restoring a snapshot ------------------------------------------------- */

void heap_restore_begin(heap *h, const uint32_t nslots[T__COUNT])
{
    for (int t = 0; t < T__COUNT; t++)
        slab_grow_to(&h->slabs[t], nslots[t]);
}

bool heap_restore_gen(heap *h, htype t, uint32_t slot, uint32_t gen)
{
    hobj *o = slab_at(&h->slabs[t], slot);
    if (!o || !o->dead)
        return o && o->gen == gen;
    o->gen = gen;
    return true;
}

bool heap_restore_place(heap *h, hid id)
{
    htype t = hid_type(id);
    hobj *o = slab_at(&h->slabs[t], hid_slot(id));
    if (!o || !o->dead || o->gen != hid_gen(id))
        return false;
    slab_place(&h->slabs[t], hid_slot(id), hid_gen(id));
    return true;
}

void heap_restore_unplace(heap *h, htype t)
{
    slab_unplace(&h->slabs[t]);
}

void heap_restore_end(heap *h)
{
    for (int t = 0; t < T__COUNT; t++)
        slab_rebuild_free_list(&h->slabs[t]);
}

/* --- teardown ----------------------------------------------------------- */

static void free_payload_now(hobj *o, void *arg)
{
    (void)arg;
    switch ((htype)o->type) {
    case T_STR:
    case T_BYTES:
        free(AS_STR(o)->data);
        break;
    case T_TUPLE:
    case T_LIST:
        free(AS_LIST(o)->items);
        break;
    case T_DICT:
    case T_SET:
        free(AS_DICT(o)->tb);
        break;
    default:
        break;
    }
}

void heap_free(heap *h)
{
    if (!h)
        return;
    /* Objects still alive here (cycles, immortals, anything the caller
     * left bound) are finalized without counting: the heap ends whole. */
    while (h->dq_len)
        dq_pop(h);
    heap_foreach(h, T__COUNT, free_payload_now, NULL);
    for (int t = 0; t < T__COUNT; t++)
        slab_destroy(&h->slabs[t]);
    itab_destroy(&h->interned);
    weak_release(h);
    gc_release(h);
    big_free(h->dq, h->dq_cap * sizeof *h->dq);
    free(h->journal);
    free(h);
}
