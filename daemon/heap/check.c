#include "check.h"
#include "gc_list.h"
#include "hash.h"
#include "heap_priv.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

struct checker {
    heap *h;
    herr *err;
    int rc;
    uint32_t *expect[T__COUNT];     /* recomputed counts, by slot */
    uint8_t *expect_gray[T__COUNT]; /* containers on the gray stack, by slot */
    uint64_t bytes;
};

#define FAIL(c, ...) ((c)->rc ? (c)->rc : ((c)->rc = herr_set((c)->err, HE_RUNTIME, __VA_ARGS__)))
#define ID(o)        ((unsigned long long)hobj_id(o))

/* One reference to o from somewhere in the graph. */
static void count_ref(hobj *o, void *arg)
{
    struct checker *c = arg;
    if (o->dead) {
        FAIL(c, "a reference points to a freed %s slot", htype_name(o->type));
        return;
    }
    c->expect[o->type][slab_slot_of(o)]++;
}

static void check_slab(struct checker *c, const slab *s)
{
    uint64_t live = 0, free_len = 0;
    for (uint32_t i = 0; i < s->nslots; i++) {
        hobj *o = slab_at(s, i);
        if (o->type != s->type)
            FAIL(c, "slot %u of the %s slab holds a %s", i, htype_name(s->type),
                 htype_name(o->type));
        if (!o->dead)
            live++;
    }
    for (uint32_t i = s->free_head; i != SLAB_NO_SLOT && free_len <= s->nslots; free_len++) {
        hobj *o = slab_at(s, i);
        if (!o || !o->dead)
            return (void)FAIL(c, "the %s free list reaches a live or unused slot",
                              htype_name(s->type));
        i = o->refcnt;
    }
    if (live != s->live)
        FAIL(c, "%s slab counts %llu live objects, found %llu", htype_name(s->type),
             (unsigned long long)s->live, (unsigned long long)live);
    if (live + free_len + s->retired != s->nslots)
        FAIL(c, "%s slab: live + free + retired != slots used", htype_name(s->type));
}

static void check_str(struct checker *c, hobj *o)
{
    hstr *s = AS_STR(o);
    if (s->data[s->len] != '\0')
        FAIL(c, "%s @%llu is not NUL-terminated", htype_name(o->type), ID(o));
    if (o->type == T_STR && !utf8_valid(s->data, s->len))
        FAIL(c, "str @%llu is not valid UTF-8", ID(o));
    uint64_t want = hash_strlike(o->type, s->data, s->len);
    if (s->hashed && s->hash != want)
        FAIL(c, "%s @%llu has a stale cached hash", htype_name(o->type), ID(o));
}

static void check_tuple(struct checker *c, hobj *o)
{
    htuple *t = AS_TUPLE(o);
    if (o->doomed)
        return; /* emptied by the collector; its hash no longer matters */
    uint64_t acc = hash_tuple_start(), ih;
    bool hashable = true;
    for (uint32_t i = 0; i < t->len; i++) {
        if (!obj_hash(t->items[i], &ih))
            hashable = false;
        acc = hash_tuple_add(acc, ih);
    }
    if (hashable == (bool)t->unhashable || (hashable && acc != t->hash))
        FAIL(c, "tuple @%llu has a wrong cached hash", ID(o));
}

static void check_table(struct checker *c, hobj *o)
{
    hdict *d = AS_DICT(o);
    uint32_t used = 0;
    if (d->tb && d->fill > d->tb->ecap)
        FAIL(c, "%s @%llu: fill beyond capacity", htype_name(o->type), ID(o));
    for (uint32_t i = 0; d->tb && i < d->fill; i++) {
        hentry *e = htab_entry(d, i);
        if (!e->key)
            continue;
        used++;
        uint64_t hash;
        if (!obj_hash(e->key, &hash) || hash != e->hash)
            FAIL(c, "%s @%llu: key @%llu stored with a wrong hash", htype_name(o->type), ID(o),
                 ID(e->key));
        else if (htab_find(d, e->key, hash) != i)
            FAIL(c, "%s @%llu: key @%llu not found at its entry (index broken or duplicate)",
                 htype_name(o->type), ID(o), ID(e->key));
        if ((o->type == T_DICT) != (e->val != NULL))
            FAIL(c, "%s @%llu: entry %u has a wrong value slot", htype_name(o->type), ID(o), i);
    }
    if (used != d->used || (!d->tb && (d->used || d->fill)))
        FAIL(c, "%s @%llu: used count %u, found %u", htype_name(o->type), ID(o), d->used, used);
}

/* A class, an instance or a weakref, and a weak-valued dict's values. */
static void check_record(struct checker *c, hobj *o)
{
    if (o->doomed)
        return;
    if (o->type == T_WEAKREF) {
        hobj *r = AS_WEAK(o)->referent;
        if (r && (r->dead || !htype_is_weakrefable(r->type) || !r->weakly))
            FAIL(c, "weakref @%llu points to a freed or unmarked object", ID(o));
        return;
    }
    hobj *first = AS_REC(o)->ref[0], *dict = AS_REC(o)->ref[REC_DICT];
    htype want = o->type == T_TYPE ? T_STR : T_TYPE;
    if (!first || first->type != want || !dict || dict->type != T_DICT)
        FAIL(c, "%s @%llu has a wrong %s or attribute dict", htype_name(o->type), ID(o),
             o->type == T_TYPE ? "name" : "class");
}

static void check_weak_values(struct checker *c, hobj *d)
{
    hdict *t = AS_DICT(d);
    for (uint32_t i = 0; t->tb && i < t->fill; i++) {
        hentry *e = htab_entry(t, i);
        if (!e->key)
            continue;
        hobj *w = e->val;
        if (w->type != T_WEAKREF || AS_WEAK(w)->owner != hobj_id(d) || AS_WEAK(w)->key != e->key)
            FAIL(c, "weak-valued dict @%llu: entry %u is not its own weakref", ID(d), i);
    }
}

static void check_object(hobj *o, void *arg)
{
    struct checker *c = arg;
    c->bytes += heap_sizeof(o);
    if (!o->immortal && o->refcnt == 0)
        FAIL(c, "%s @%llu is alive with no references", htype_name(o->type), ID(o));
    switch ((htype)o->type) {
    case T_STR:
    case T_BYTES:
        check_str(c, o);
        break;
    case T_TUPLE:
        check_tuple(c, o);
        break;
    case T_LIST:
        if (AS_LIST(o)->len > AS_LIST(o)->cap)
            FAIL(c, "list @%llu: length beyond capacity", ID(o));
        break;
    case T_DICT:
    case T_SET:
        check_table(c, o);
        if (o->type == T_DICT && o->flag && !o->doomed)
            check_weak_values(c, o);
        break;
    case T_TYPE:
    case T_INSTANCE:
    case T_WEAKREF:
        check_record(c, o);
        break;
    default:
        break;
    }
    heap_traverse(o, count_ref, c);
}

static void compare_counts(hobj *o, void *arg)
{
    struct checker *c = arg;
    uint32_t want = c->expect[o->type][slab_slot_of(o)];
    if (o->refcnt != want)
        FAIL(c, "%s @%llu has refcount %u but %u references", htype_name(o->type), ID(o), o->refcnt,
             want);
}

/* Interned objects: immortal ones are exactly the singletons, small ints
 * and interned strs; under "all" every other scalar is in the table. */
static void check_interned(hobj *o, void *arg)
{
    struct checker *c = arg;
    heap *h = c->h;
    bool scalar = o->type >= T_INT && o->type <= T_BYTES;
    bool in_table = scalar && itab_find(&h->interned, o) == o;
    bool small = o->type == T_INT && o->immortal; /* in small_ints, not the table */
    bool want_table =
        scalar && !small && (h->cfg.intern == INTERN_ALL || (o->immortal && o->type == T_STR));
    if (in_table != want_table)
        FAIL(c, "%s @%llu is %sin the intern table", htype_name(o->type), ID(o),
             in_table ? "" : "not ");
    bool singleton = o == h->none || o == h->bools[0] || o == h->bools[1];
    if ((singleton || (o->type == T_INT && heap_would_intern_int(h, AS_INT(o)->v) &&
                       h->small_ints[AS_INT(o)->v - SMALL_INT_MIN] == o)) &&
        !o->immortal)
        FAIL(c, "%s @%llu should be immortal", htype_name(o->type), ID(o));
}

static void count_pending(hobj *o, void *arg)
{
    (void)o;
    (*(uint64_t *)arg)++;
}

static void check_totals(struct checker *c)
{
    uint64_t pending = 0;
    heap_visit_pending(c->h, count_pending, &pending);
    if (pending != c->h->hot.st.pending)
        FAIL(c, "stats count %llu pending references, the queue holds %llu",
             (unsigned long long)c->h->hot.st.pending, (unsigned long long)pending);
    heap *h = c->h;
    const heap_stats *st = &h->hot.st;
    for (size_t i = 0; i < h->dq_len; i++)
        c->bytes += h->dq[i].bytes;
    c->bytes += h->ext_bytes;
    if (c->bytes != st->bytes)
        FAIL(c, "memory accounting says %llu bytes, objects hold %llu",
             (unsigned long long)st->bytes, (unsigned long long)c->bytes);
    if (st->allocated - st->freed != heap_live_total(h))
        FAIL(c, "allocated - freed != live objects");
    if (h->interned.count > heap_live_total(h))
        FAIL(c, "intern table holds more objects than are alive");
}

/* --- the collector's invariants (gc.h) ----------------------------------- */

struct colour_walk {
    struct checker *c;
    hobj *parent;  /* NULL: a root */
    bool as_black; /* the scanned part of the partially scanned container */
};

/* A reference from parent (or a root) to o, judged by the collector's rules. */
static void check_edge(hobj *o, void *arg)
{
    struct colour_walk *w = arg;
    struct checker *c = w->c;
    heap *h = c->h;
    if (!htype_is_container(o->type))
        return;
    const char *from = w->parent ? htype_name(w->parent->type) : "a root";
    if (o->doomed || o->colour == h->hot.doomed_colour)
        FAIL(c, "%s reaches garbage %s @%llu that the collector is clearing", from,
             htype_name(o->type), ID(o));
    if (h->gc.phase != GC_MARK || o->colour != h->hot.gc_white)
        return;
    if (!w->parent)
        FAIL(c, "a root references white %s @%llu during mark", htype_name(o->type), ID(o));
    else if (w->parent->colour == HC_BLACK || w->as_black)
        FAIL(c, "black %s @%llu points to white %s @%llu", from, ID(w->parent), htype_name(o->type),
             ID(o));
}

static void check_partial_prefix(struct checker *c, hobj *p, uint32_t pos)
{
    struct colour_walk w = {c, p, true};
    if (p->type == T_LIST || p->type == T_TUPLE) {
        for (uint32_t i = 0; i < pos && i < AS_LIST(p)->len; i++)
            check_edge(AS_LIST(p)->items[i], &w);
        return;
    }
    hdict *d = AS_DICT(p);
    for (uint32_t i = 0; d->tb && i < pos && i < d->fill; i++) {
        hentry *e = htab_entry(d, i);
        if (e->key)
            check_edge(e->key, &w);
        if (e->key && e->val)
            check_edge(e->val, &w);
    }
}

static void count_one(hobj *o, void *arg)
{
    (void)o;
    (*(uint32_t *)arg)++;
}

static void check_colour(hobj *o, void *arg)
{
    struct checker *c = arg;
    heap *h = c->h;
    if (!htype_is_container(o->type))
        return;
    if (o->doomed) {
        uint32_t refs = 0;
        heap_traverse(o, count_one, &refs);
        if (refs || ((o->type == T_DICT || o->type == T_SET) && AS_DICT(o)->tb))
            FAIL(c, "doomed %s @%llu still holds references", htype_name(o->type), ID(o));
        return;
    }
    gc_phase ph = h->gc.phase;
    bool white = o->colour == h->hot.gc_white;
    if ((ph == GC_IDLE && !white) || (ph == GC_SWEEP && o->colour == HC_GRAY))
        FAIL(c, "%s @%llu has colour %d in phase %s", htype_name(o->type), ID(o), o->colour,
             gc_phase_name(ph));
    if (o->colour == HC_GRAY && c->expect_gray[o->type][slab_slot_of(o)] == 0 &&
        o != h->hot.gc_partial)
        FAIL(c, "gray %s @%llu is not on the gray stack", htype_name(o->type), ID(o));
    if (o->colour == h->hot.doomed_colour)
        return; /* garbage may point anywhere */
    struct colour_walk w = {c, o, false};
    heap_traverse(o, check_edge, &w);
}

static void check_gc(struct checker *c)
{
    heap *h = c->h;
    for (int t = T_TUPLE; t < T__COUNT; t++)
        c->expect_gray[t] = xcalloc(h->slabs[t].nslots + 1, 1);
    for (size_t i = 0; i < h->gc.gray_len; i++) {
        hobj *o = h->gc.gray[i];
        if (!o->dead)
            c->expect_gray[o->type][slab_slot_of(o)] = 1;
    }
    /* the roots the incremental scan has passed (all, outside a scan) */
    struct colour_walk roots = {c, NULL, false};
    heap_visit_scanned_roots(h, check_edge, &roots);
    heap_foreach(h, T__COUNT, check_colour, c);
    hobj *p = h->hot.gc_partial;
    if (p && (p->dead || p->colour != HC_GRAY))
        FAIL(c, "the partially scanned %s is not gray", htype_name(p->type));
    else if (p)
        check_partial_prefix(c, p, h->hot.gc_partial_pos);
    if ((h->gc.phase == GC_MARK) != h->hot.gc_marking)
        FAIL(c, "the barrier's marking flag disagrees with the phase");
    for (int t = T_TUPLE; t < T__COUNT; t++)
        free(c->expect_gray[t]);
}

/* --- the generation lists (gc.h) --------------------------------------- */

struct gen_walk {
    struct checker *c;
    uint8_t *seen[T__COUNT]; /* containers found in a list, by slot */
    uint64_t tagged[GCT_PERMANENT + 1];
    bool cursor_seen;
};

/* Walks one list: links both ways, live undoomed containers, tags in
 * [lo, hi], each container once. */
static void walk_list(struct gen_walk *w, const hcont *head, unsigned lo, unsigned hi,
                      const char *what)
{
    struct checker *c = w->c;
    heap *h = c->h;
    uint64_t limit = heap_live_total(h) + 1, n = 0;
    for (const hcont *p = head, *q = head->gc_next; q != head && !c->rc; p = q, q = q->gc_next) {
        const hobj *o = &q->h;
        if (++n > limit || gcl_prev(q) != p)
            return (void)FAIL(c, "the %s list is broken after %llu members", what,
                              (unsigned long long)n);
        if (o->dead || !hobj_is_container(o) || o->doomed)
            return (void)FAIL(c, "the %s list holds a freed, atomic or doomed object", what);
        unsigned tag = gcl_tag(q);
        if (tag < lo || tag > hi)
            FAIL(c, "%s @%llu in the %s list is tagged %u", htype_name(o->type), ID(o), what, tag);
        else
            w->tagged[tag]++;
        uint8_t *seen = &w->seen[o->type][slab_slot_of(o)];
        if ((*seen)++)
            FAIL(c, "%s @%llu is in two generation lists", htype_name(o->type), ID(o));
        w->cursor_seen |= q == h->gc.perm_cursor && head == &h->gc.permanent;
    }
}

static void check_tracked(hobj *o, void *arg)
{
    struct gen_walk *w = arg;
    if (!hobj_is_container(o))
        return;
    bool listed = w->seen[o->type][slab_slot_of(o)];
    unsigned tag = gcl_tag(AS_CONT(o));
    if (o->doomed ? tag != GCT_UNTRACKED || listed : !listed)
        FAIL(w->c, "%s @%llu is %s a generation list", htype_name(o->type), ID(o),
             listed ? "wrongly in" : "in no");
}

static void check_generations(struct checker *c)
{
    heap *h = c->h;
    struct gc_state *g = &h->gc;
    struct gen_walk w = {.c = c};
    for (int t = T_TUPLE; t < T__COUNT; t++)
        w.seen[t] = xcalloc(h->slabs[t].nslots + 1, 1);
    for (unsigned i = 0; i < GC_GENERATIONS; i++)
        walk_list(&w, &g->gen[i].head, i, i, "generation");
    walk_list(&w, &g->permanent, GCT_PERMANENT, GCT_PERMANENT, "permanent");
    if (g->young.gen < 0 && !gcl_empty(&g->young.pending))
        FAIL(c, "no young collection runs, but its pending list is not empty");
    walk_list(&w, &g->young.pending, 0, g->young.gen < 0 ? 0 : (unsigned)g->young.gen, "pending");
    if (!c->rc)
        heap_foreach(h, T__COUNT, check_tracked, &w);
    for (int i = 0; i < GC_GENERATIONS && !c->rc; i++)
        if (w.tagged[i] != g->gen[i].objects)
            FAIL(c, "generation %d counts %llu containers, %llu found", i,
                 (unsigned long long)g->gen[i].objects, (unsigned long long)w.tagged[i]);
    if (!c->rc && w.tagged[GCT_PERMANENT] != g->frozen)
        FAIL(c, "the permanent generation counts %llu containers, %llu found",
             (unsigned long long)g->frozen, (unsigned long long)w.tagged[GCT_PERMANENT]);
    if (!c->rc && g->perm_cursor != &g->permanent && !w.cursor_seen)
        FAIL(c, "the permanent generation's cursor is not in its list");
    for (int t = T_TUPLE; t < T__COUNT; t++)
        free(w.seen[t]);
}

/* --- weak references (weak.c's invariants) ------------------------------ */

struct weak_walk {
    struct checker *c;
    uint64_t listed, marked, pointing;
};

static void check_weak_list(hobj *o, hweakref *head, void *arg)
{
    struct weak_walk *w = arg;
    struct checker *c = w->c;
    if (o->dead || !o->weakly || !head)
        FAIL(c, "the weakref table holds a freed, unmarked or empty %s", htype_name(o->type));
    uint64_t limit = heap_live(c->h, T_WEAKREF) + 1, n = 0;
    for (hweakref *r = head, *prev = NULL; r && !c->rc; prev = r, r = r->wnext) {
        if (++n > limit || r->wprev != prev || r->referent != o || r->c.h.dead)
            FAIL(c, "the weakref list of %s @%llu is broken", htype_name(o->type), ID(o));
        w->listed++;
    }
}

static void count_weak(hobj *o, void *arg)
{
    struct weak_walk *w = arg;
    w->marked += o->weakly;
    w->pointing += o->type == T_WEAKREF && AS_WEAK(o)->referent;
}

static void check_weakrefs(struct checker *c)
{
    struct weak_walk w = {.c = c};
    heap_visit_weakly(c->h, check_weak_list, &w);
    heap_foreach(c->h, T__COUNT, count_weak, &w);
    if (!c->rc && (w.listed != w.pointing || w.marked != c->h->weak.used))
        FAIL(c,
             "weakrefs: %llu listed, %llu with a referent; %llu objects marked, %llu in the "
             "table",
             (unsigned long long)w.listed, (unsigned long long)w.pointing,
             (unsigned long long)w.marked, (unsigned long long)c->h->weak.used);
}

int heap_check(heap *h, uint64_t *objects, herr *err)
{
    struct checker c = {.h = h, .err = err};
    for (int t = 0; t < T__COUNT; t++) {
        c.expect[t] = xcalloc(h->slabs[t].nslots + 1, sizeof(uint32_t));
        check_slab(&c, &h->slabs[t]);
    }
    if (!c.rc) {
        heap_visit_roots(h, count_ref, &c);
        heap_visit_pending(h, count_ref, &c);
        heap_foreach(h, T__COUNT, check_object, &c);
    }
    if (!c.rc) {
        heap_foreach(h, T__COUNT, compare_counts, &c);
        heap_foreach(h, T__COUNT, check_interned, &c);
        check_totals(&c);
    }
    if (!c.rc)
        check_gc(&c);
    if (!c.rc)
        check_generations(&c);
    if (!c.rc)
        check_weakrefs(&c);
    for (int t = 0; t < T__COUNT; t++)
        free(c.expect[t]);
    if (!c.rc && objects)
        *objects = heap_live_total(h);
    return c.rc;
}
