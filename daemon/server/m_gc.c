/* The collector, named after Python's gc module. */
#include "encode.h"
#include "gc.h"
#include "handlers.h"
#include "server.h"
#include "stats.h"

int m_gc_collect(req *r)
{
    msgpack_pack_uint64(r->out, gc_collect(r->h));
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

int m_gc_get_threshold(req *r)
{
    msgpack_pack_uint64(r->out, gc_get_config(r->h)->threshold);
    return 0;
}

int m_gc_set_threshold(req *r)
{
    int64_t n;
    int rc = arg_int(r, 0, &n);
    if (!rc && (n < 0 || n > UINT32_MAX))
        rc = herr_set(r->err, HE_VALUE, "threshold must be between 0 and %u", UINT32_MAX);
    if (rc)
        return rc;
    gc_set_threshold(r->h, (uint64_t)n);
    msgpack_pack_nil(r->out);
    return 0;
}

int m_gc_get_count(req *r)
{
    msgpack_pack_int64(r->out, gc_count(r->h));
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
