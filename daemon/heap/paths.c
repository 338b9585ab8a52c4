/* why_alive's search and memory_usage's walk (paths.h). Both run inside
 * one request over a heap that cannot change meanwhile, take no counts and
 * touch no collector state: a visited bit per container slot (the search)
 * or a pointer set (the walk), freed before returning. */
#include "paths.h"
#include "htab.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define NO_PARENT SIZE_MAX
#define NCONT     (T__COUNT - T_TUPLE) /* container types: tuple .. weakref */

/* --- the shortest chain from a root ---------------------------------------- */

struct qent {
    hobj *o;
    size_t parent; /* index in the queue of the container holding o, or NO_PARENT */
};

struct bfs {
    heap *h;
    hobj *target;
    uint8_t *seen[NCONT]; /* one bit per slot of each container slab */
    uint32_t nslots[NCONT];
    struct qent *q;
    size_t len, cap;
    size_t cur;     /* the queue index whose references are being visited */
    size_t scratch; /* bytes of the bitmaps and the queue */
    bool found;
    bool any_doomed; /* looking for any doomed container, not for target */
    size_t found_at; /* the queue index holding target, or NO_PARENT: a root */
    int rc;
    herr *err;
};

static int scratch_error(struct bfs *b, size_t bytes)
{
    if (!b->any_doomed && heap_check_room(b->h, 0, bytes, b->err))
        return herr_set(b->err, HE_MEMORY,
                        "why_alive() needs %zu bytes of scratch memory, more than "
                        "limits.max_memory_bytes leaves",
                        bytes);
    return 0;
}

/* Marks o (a container) seen; false if it already was. */
static bool mark_new(struct bfs *b, const hobj *o)
{
    int t = o->type - T_TUPLE;
    uint32_t slot = slab_slot_of(o);
    /* no object is made during a request's search: every slot is below the
     * high-water mark taken at its start */
    assert(slot < b->nslots[t]);
    uint8_t bit = (uint8_t)(1u << (slot & 7));
    if (b->seen[t][slot >> 3] & bit)
        return false;
    b->seen[t][slot >> 3] |= bit;
    return true;
}

static void push(struct bfs *b, hobj *o)
{
    if (b->len == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        size_t grow = (cap - b->cap) * sizeof *b->q;
        if ((b->rc = scratch_error(b, b->scratch + grow)))
            return;
        b->q = big_grow(b->q, b->cap * sizeof *b->q, cap * sizeof *b->q);
        b->scratch += grow;
        b->cap = cap;
    }
    b->q[b->len++] = (struct qent){o, b->cur};
}

/* Garbage the collector found is not reachable from a root; skipping it
 * keeps the search off objects that no longer resolve. */
static bool is_garbage(heap *h, const hobj *o)
{
    return o->doomed || o->colour == heap_hot_(h)->doomed_colour;
}

/* One reference: from a root (cur == NO_PARENT) or from q[cur].o. */
static void consider(hobj *o, void *arg)
{
    struct bfs *b = arg;
    if (b->found || b->rc)
        return;
    if (o == b->target || (b->any_doomed && hobj_is_container(o) && o->doomed)) {
        b->target = o;
        b->found = true;
        b->found_at = b->cur;
        return;
    }
    if (hobj_is_container(o) && !is_garbage(b->h, o) && mark_new(b, o))
        push(b, o);
}

static int bfs_init(struct bfs *b, heap *h, hobj *target, herr *err)
{
    *b =
        (struct bfs){.h = h, .target = target, .any_doomed = !target, .cur = NO_PARENT, .err = err};
    size_t bytes = 0;
    for (int t = 0; t < NCONT; t++) {
        b->nslots[t] = heap_slab(h, (htype)(T_TUPLE + t))->nslots;
        bytes += b->nslots[t] / 8 + 1;
    }
    if ((b->rc = scratch_error(b, bytes)))
        return b->rc;
    for (int t = 0; t < NCONT; t++)
        b->seen[t] = xcalloc(b->nslots[t] / 8 + 1, 1);
    b->scratch = bytes;
    return 0;
}

static void bfs_free(struct bfs *b)
{
    for (int t = 0; t < NCONT; t++)
        free(b->seen[t]);
    big_free(b->q, b->cap * sizeof *b->q);
}

/* The chain from the root-held container to the one holding target. */
static void bfs_chain(const struct bfs *b, heap_path *out)
{
    size_t n = 0;
    for (size_t i = b->found_at; i != NO_PARENT; i = b->q[i].parent)
        n++;
    out->n = n;
    out->steps = n ? xmalloc(n * sizeof *out->steps) : NULL;
    for (size_t i = b->found_at, k = n; i != NO_PARENT; i = b->q[i].parent)
        out->steps[--k] = b->q[i].o;
    out->first = n ? out->steps[0] : b->target;
}

int heap_path_find(heap *h, hobj *target, heap_path *out, herr *err)
{
    struct bfs b;
    *out = (heap_path){0};
    if (bfs_init(&b, h, target, err))
        return b.rc;
    heap_visit_roots(h, consider, &b);
    /* Breadth first: the queue is in order of distance from the roots, so
     * the first container found holding target ends a shortest chain. */
    for (size_t i = 0; i < b.len && !b.found && !b.rc; i++) {
        b.cur = i;
        heap_traverse(b.q[i].o, consider, &b);
        out->visited++;
    }
    int rc = b.rc ? b.rc : b.found;
    if (b.found && !b.rc)
        bfs_chain(&b, out);
    bfs_free(&b);
    return rc;
}

hobj *heap_root_reaches_doomed(heap *h)
{
    struct bfs b;
    herr err;
    bfs_init(&b, h, NULL, &err); /* no target: any doomed container */
    heap_visit_roots(h, consider, &b);
    for (size_t i = 0; i < b.len && !b.found; i++) {
        b.cur = i;
        heap_traverse(b.q[i].o, consider, &b);
    }
    hobj *hit = b.found ? b.target : NULL;
    bfs_free(&b);
    return hit;
}

void heap_path_free(heap_path *p)
{
    free(p->steps);
    *p = (heap_path){0};
}

bool heap_path_step(hobj *c, hobj *child, path_step *out)
{
    if (htype_is_record(c->type)) { /* class/instance: 0 name or class, 1 dict */
        hobj **refs = c->type == T_WEAKREF ? &AS_WEAK(c)->key : AS_REC(c)->ref;
        for (uint32_t i = 0; i < (c->type == T_WEAKREF ? 1u : 2u); i++)
            if (refs[i] == child) {
                *out = (path_step){PATH_INDEX, i, NULL};
                return true;
            }
        return false;
    }
    if (c->type == T_TUPLE || c->type == T_LIST) {
        for (uint32_t i = 0; i < AS_LIST(c)->len; i++)
            if (AS_LIST(c)->items[i] == child) {
                *out = (path_step){PATH_INDEX, i, NULL};
                return true;
            }
        return false;
    }
    if (c->type != T_DICT && c->type != T_SET)
        return false;
    hdict *d = AS_DICT(c);
    /* a dict's value first: `d[k]` says more than "the key itself" */
    for (uint32_t i = 0; d->tb && i < d->fill; i++) {
        hentry *e = htab_entry(d, i);
        if (e->key && e->val == child) {
            *out = (path_step){PATH_VALUE, 0, e->key};
            return true;
        }
    }
    for (uint32_t i = 0; d->tb && i < d->fill; i++)
        if (htab_entry(d, i)->key == child) {
            *out = (path_step){PATH_MEMBER, 0, child};
            return true;
        }
    return false;
}
