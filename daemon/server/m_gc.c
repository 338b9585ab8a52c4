/* The collector, named after Python's gc module. */
#include "encode.h"
#include "gc.h"
#include "handlers.h"
#include "pack.h"
#include "server.h"
#include "stats.h"

/* A generation argument, as Python's gc.collect checks it. */
static int arg_generation(req *r, uint32_t i, int *gen)
{
    int64_t g;
    int rc = arg_int(r, i, &g);
    if (!rc && (g < 0 || g >= GC_GENERATIONS))
        rc = herr_set(r->err, HE_VALUE, "invalid generation");
    *gen = (int)g;
    return rc;
}

int m_gc_collect(req *r)
{
    int gen = 2;
    int rc = r->nargs ? arg_generation(r, 0, &gen) : 0;
    if (rc)
        return rc;
    msgpack_pack_uint64(r->out, gc_collect_generation(r->h, gen));
    return 0;
}

/* The gc methods change the settings in their one home, which config_get
 * reports (gc_use_config). */
int m_gc_enable(req *r)
{
    gc_enable(r->h);
    msgpack_pack_nil(r->out);
    return 0;
}

int m_gc_disable(req *r)
{
    gc_disable(r->h);
    msgpack_pack_nil(r->out);
    return 0;
}

int m_gc_isenabled(req *r)
{
    pack_bool(r->out, gc_isenabled(r->h));
    return 0;
}

static void pack_u64s(msgpack_packer *pk, const uint64_t *v, int n)
{
    msgpack_pack_array(pk, (size_t)n);
    for (int i = 0; i < n; i++)
        msgpack_pack_uint64(pk, v[i]);
}

int m_gc_get_threshold(req *r)
{
    pack_u64s(r->out, gc_get_config(r->h)->threshold, GC_GENERATIONS);
    return 0;
}

int m_gc_set_threshold(req *r)
{
    uint64_t t[GC_GENERATIONS];
    for (uint32_t i = 0; i < r->nargs; i++) {
        int64_t n;
        int rc = arg_int(r, i, &n);
        if (!rc && (n < 0 || n > UINT32_MAX))
            rc = herr_set(r->err, HE_VALUE, "threshold must be between 0 and %u", UINT32_MAX);
        if (rc)
            return rc;
        t[i] = (uint64_t)n;
    }
    gc_set_threshold(r->h, t, (int)r->nargs);
    msgpack_pack_nil(r->out);
    return 0;
}

int m_gc_get_count(req *r)
{
    uint64_t c[GC_GENERATIONS];
    gc_get_counts(r->h, c);
    pack_u64s(r->out, c, GC_GENERATIONS);
    return 0;
}

int m_gc_get_stats(req *r)
{
    gc_stats st;
    gc_get_stats(r->h, &st);
    msgpack_pack_array(r->out, GC_GENERATIONS);
    for (int i = 0; i < GC_GENERATIONS; i++) {
        msgpack_pack_map(r->out, 3);
        pack_kv_u(r->out, "collections", st.gen[i].collections);
        pack_kv_u(r->out, "collected", st.gen[i].collected);
        pack_kv_u(r->out, "uncollectable", 0); /* no legacy finalizers */
    }
    return 0;
}

int m_gc_freeze(req *r)
{
    gc_freeze(r->h);
    msgpack_pack_nil(r->out);
    return 0;
}

int m_gc_unfreeze(req *r)
{
    gc_unfreeze(r->h);
    msgpack_pack_nil(r->out);
    return 0;
}

int m_gc_get_freeze_count(req *r)
{
    msgpack_pack_uint64(r->out, gc_get_freeze_count(r->h));
    return 0;
}

int m_gc_is_tracked(req *r)
{
    hobj *o;
    int rc = arg_target(r, 0, &o);
    if (rc)
        return rc;
    pack_bool(r->out, gc_generation_of(o) != GC_UNTRACKED);
    return 0;
}

int m_gc_set_debug(req *r)
{
    const msgpack_object *a = &r->args[0];
    unsigned flags = 0;
    if (a->type != MSGPACK_OBJECT_ARRAY)
        return herr_set(r->err, HE_TYPE, "gc_set_debug() flags must be a list of str");
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        if (!arg_is_str(&a->via.array.ptr[i], "saveall"))
            return herr_set(r->err, HE_VALUE, "gc_set_debug(): unknown flag (\"saveall\")");
        flags |= GC_DEBUG_SAVEALL;
    }
    gc_set_debug(r->h, flags);
    msgpack_pack_nil(r->out);
    return 0;
}

int m_gc_get_debug(req *r)
{
    bool saveall = gc_get_debug(r->h) & GC_DEBUG_SAVEALL;
    msgpack_pack_array(r->out, saveall);
    if (saveall)
        pack_cstr(r->out, "saveall");
    return 0;
}

int m_gc_garbage(req *r)
{
    enc_ref(r->out, gc_garbage(r->h)); /* (made on first use: one empty list) */
    return 0;
}

int m_gc_step(req *r)
{
    int64_t budget = (int64_t)gc_get_config(r->h)->slice_us;
    int rc = r->nargs ? arg_int(r, 0, &budget) : 0;
    if (!rc && (budget < 1 || budget > 10000000))
        rc = herr_set(r->err, HE_VALUE, "budget_us must be between 1 and 10000000");
    if (rc)
        return rc;
    pack_cstr(r->out, gc_phase_name(gc_step(r->h, (uint64_t)budget)));
    return 0;
}

struct referrers {
    hobj *target;
    hobj **found;
    size_t n, cap;
    bool hit;
};

static void note_hit(hobj *o, void *arg)
{
    struct referrers *f = arg;
    f->hit |= o == f->target;
}

/* Every live (not doomed) container holding the target; O(heap), as
 * Python's gc.get_referrers. */
static void scan_holder(hobj *o, void *arg)
{
    struct referrers *f = arg;
    if (!htype_is_container(o->type) || o->doomed)
        return;
    f->hit = false;
    heap_traverse(o, note_hit, f);
    if (!f->hit)
        return;
    if (f->n == f->cap)
        f->found = xrealloc(f->found, (f->cap = f->cap ? f->cap * 2 : 16) * sizeof *f->found);
    f->found[f->n++] = o;
}

int m_gc_get_referrers(req *r)
{
    struct referrers f = {0};
    int rc = arg_target(r, 0, &f.target);
    if (rc)
        return rc;
    heap_foreach(r->h, T__COUNT, scan_holder, &f);
    msgpack_pack_array(r->out, f.n);
    for (size_t i = 0; i < f.n; i++)
        enc_ref(r->out, f.found[i]);
    free(f.found);
    return 0;
}

static void count_ref(hobj *o, void *arg)
{
    (void)o;
    (*(uint32_t *)arg)++;
}

static void pack_ref(hobj *o, void *arg)
{
    enc_ref(arg, o);
}

int m_gc_get_referents(req *r)
{
    hobj *o;
    uint32_t n = 0;
    int rc = arg_target(r, 0, &o);
    if (rc)
        return rc;
    heap_traverse(o, count_ref, &n);
    msgpack_pack_array(r->out, n);
    heap_traverse(o, pack_ref, r->out);
    return 0;
}

int m_gc_stats(req *r)
{
    gc_stats st;
    gc_get_stats(r->h, &st);
    stats_pack_gc(r->out, &st);
    return 0;
}
