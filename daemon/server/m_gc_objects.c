/* gc_get_objects: the tracked containers, all at once (O(n), as Python's
 * gc.get_objects) or a page at a time with a cursor, as scan pages names.
 *
 * The cursor is a position in the container slabs, (slab << 32 | slot) + 1
 * (0: start, and the end): slots are stable while objects live, so a walk
 * that pages to the end sees every container that lived throughout it
 * once, as Redis's SCAN guarantees for keys. */
#include "args.h"
#include "encode.h"
#include "gc.h"
#include "handlers.h"

#include <stdlib.h>

#define OBJECTS_COUNT_DEFAULT 100
#define OBJECTS_COUNT_MAX     100000
#define OBJECTS_SCAN_FACTOR   10 /* slots examined per object asked for, at most */

struct objects_opts {
    int gen; /* -1: generations 0..2 */
    bool paged;
    uint64_t cursor, count;
};

static int objects_option(req *r, const msgpack_object *k, const msgpack_object *v,
                          struct objects_opts *o)
{
    bool cursor = arg_is_str(k, "cursor");
    if (!cursor && !arg_is_str(k, "count"))
        return herr_set(r->err, HE_VALUE,
                        "gc_get_objects(): unknown option (\"cursor\", \"count\")");
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return herr_set(r->err, HE_TYPE, "gc_get_objects() %s must be a non-negative int",
                        cursor ? "cursor" : "count");
    if (cursor) {
        o->cursor = v->via.u64;
    } else if (v->via.u64 < 1 || v->via.u64 > OBJECTS_COUNT_MAX) {
        return herr_set(r->err, HE_VALUE, "gc_get_objects() count must be an int from 1 to %d",
                        OBJECTS_COUNT_MAX);
    } else {
        o->count = v->via.u64;
    }
    return 0;
}

static int objects_args(req *r, struct objects_opts *o)
{
    *o = (struct objects_opts){.gen = -1, .count = OBJECTS_COUNT_DEFAULT};
    if (r->nargs > 0 && r->args[0].type != MSGPACK_OBJECT_NIL) {
        int64_t g;
        int rc = arg_int(r, 0, &g);
        if (rc)
            return rc;
        if (g < 0 || g >= GC_GENERATIONS)
            return herr_set(r->err, HE_VALUE,
                            "generation parameter must be less than the number of available "
                            "generations (%d)",
                            GC_GENERATIONS);
        o->gen = (int)g;
    }
    if (r->nargs < 2 || r->args[1].type == MSGPACK_OBJECT_NIL)
        return 0;
    if (r->args[1].type != MSGPACK_OBJECT_MAP)
        return herr_set(r->err, HE_TYPE, "gc_get_objects() argument 2 must be an opts map");
    o->paged = true;
    const msgpack_object_map *m = &r->args[1].via.map;
    int rc = 0;
    for (uint32_t i = 0; !rc && i < m->size; i++)
        rc = objects_option(r, &m->ptr[i].key, &m->ptr[i].val, o);
    return rc;
}

static bool wanted(const hobj *o, int gen)
{
    if (o->dead)
        return false;
    int g = gc_generation_of(o);
    return gen < 0 ? g >= 0 && g < GC_GENERATIONS : g == gen;
}

struct found {
    hobj **v;
    size_t n, cap;
};

static void found_add(struct found *f, hobj *o)
{
    if (f->n == f->cap)
        f->v = xrealloc(f->v, (f->cap = f->cap * 2 + 64) * sizeof *f->v);
    f->v[f->n++] = o;
}

/* Walks from the cursor until max objects are found or max_slots slots
 * examined; returns the next cursor (0 at the end). */
static uint64_t walk(heap *h, const struct objects_opts *o, uint64_t max, uint64_t max_slots,
                     struct found *f)
{
    uint64_t pos = o->cursor ? o->cursor - 1 : 0, examined = 0;
    for (uint64_t t = T_TUPLE + (pos >> 32); t < T__COUNT; t++, pos = 0) {
        const slab *s = heap_slab(h, (htype)t);
        for (uint32_t i = (uint32_t)pos; i < s->nslots; i++) {
            if (f->n >= max || examined++ >= max_slots)
                return ((t - T_TUPLE) << 32 | i) + 1;
            hobj *obj = slab_at(s, i);
            if (wanted(obj, o->gen))
                found_add(f, obj);
        }
    }
    return 0;
}

int m_gc_get_objects(req *r)
{
    struct objects_opts o;
    int rc = objects_args(r, &o);
    if (!rc && (o.cursor >> 32) >= T__COUNT - T_TUPLE)
        rc = herr_set(r->err, HE_VALUE, "gc_get_objects(): invalid cursor");
    if (rc)
        return rc;
    struct found f = {0};
    uint64_t next = o.paged ? walk(r->h, &o, o.count, o.count * OBJECTS_SCAN_FACTOR, &f)
                            : walk(r->h, &o, UINT64_MAX, UINT64_MAX, &f);
    if (o.paged) {
        msgpack_pack_array(r->out, 2);
        msgpack_pack_uint64(r->out, next);
    }
    msgpack_pack_array(r->out, f.n);
    for (size_t i = 0; i < f.n; i++)
        enc_ref(r->out, f.v[i]);
    free(f.v);
    return 0;
}
