/* Seeing the heap: why_alive (the shortest chain of references from a root
 * to an object, like objgraph's find_backref_chain) and memory_usage (what
 * an object holds, counting what it reaches, like Redis's MEMORY USAGE).
 *
 * Both run within this one request and keep no pointer past it (paths.h):
 * nothing is freed or made while they walk, and they change nothing.
 * why_alive is O(reachable heap) by nature: a breadth-first search from
 * every root, stopping as soon as the target is found (docs/protocol.md
 * gives what it stalls at a million objects). memory_usage is bounded per
 * call by its max_objects. */
#include "encode.h"
#include "handlers.h"
#include "ns_why.h"
#include "paths.h"

#include <string.h>

#define MU_SAMPLES_DEFAULT 5
#define MU_SAMPLES_MAX     10000
#define MU_MAX_DEFAULT     10000
#define MU_MAX_MAX         100000

static void pack_root(msgpack_packer *pk, const ns_root *root)
{
    switch (root->kind) {
    case NS_ROOT_GLOBAL:
        msgpack_pack_array(pk, 2);
        pack_cstr(pk, "global");
        msgpack_pack_str_with_body(pk, root->name, root->len);
        return;
    case NS_ROOT_LOCAL:
        msgpack_pack_array(pk, 4);
        pack_cstr(pk, "local");
        msgpack_pack_uint64(pk, root->session);
        msgpack_pack_uint32(pk, root->depth);
        msgpack_pack_str_with_body(pk, root->name, root->len);
        return;
    case NS_ROOT_HANDLE:
        msgpack_pack_array(pk, 2);
        pack_cstr(pk, "handle");
        msgpack_pack_uint64(pk, root->session);
        return;
    }
}

/* [container, index] for a list or tuple item, [container, key] for a
 * dict's value, [container, member, "key"] for a set's member or a dict's
 * key (the reference is the key itself). */
static void pack_step(req *r, hobj *c, const path_step *st)
{
    msgpack_pack_array(r->out, st->kind == PATH_MEMBER ? 3 : 2);
    enc_ref(r->out, c);
    if (st->kind == PATH_INDEX)
        msgpack_pack_uint32(r->out, st->index);
    else
        enc_item(r->out, r->h, st->key);
    if (st->kind == PATH_MEMBER)
        pack_cstr(r->out, "key");
}

/* Everything is found before anything is packed, so a chain whose root
 * or step cannot be named fails before the answer starts. */
static int pack_chain(req *r, hobj *target, const heap_path *p)
{
    ns_root root;
    path_step *steps = p->n ? xmalloc(p->n * sizeof *steps) : NULL;
    bool ok = ns_root_of(r->ns, p->first, &root);
    for (size_t i = 0; ok && i < p->n; i++)
        ok = heap_path_step(p->steps[i], i + 1 < p->n ? p->steps[i + 1] : target, &steps[i]);
    if (ok) {
        msgpack_pack_array(r->out, (uint32_t)(1 + p->n));
        pack_root(r->out, &root);
        for (size_t i = 0; i < p->n; i++)
            pack_step(r, p->steps[i], &steps[i]);
    }
    free(steps);
    /* the search only follows the references these two look for */
    return ok ? 0 : herr_set(r->err, HE_RUNTIME, "why_alive(): the chain found cannot be named");
}

int m_why_alive(req *r)
{
    hobj *target;
    heap_path p;
    int rc = arg_target(r, 0, &target);
    if (rc)
        return rc;
    rc = heap_path_find(r->h, target, &p, r->err);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        msgpack_pack_nil(r->out);
        return 0;
    }
    rc = pack_chain(r, target, &p);
    heap_path_free(&p);
    return rc;
}

struct mu_opts {
    uint32_t samples;
    uint64_t max;
};

static int mu_option(req *r, const msgpack_object *k, const msgpack_object *v, struct mu_opts *o)
{
    bool samples = arg_is_str(k, "samples");
    if (!samples && !arg_is_str(k, "max_objects"))
        return herr_set(r->err, HE_VALUE,
                        "memory_usage(): unknown option (\"samples\", \"max_objects\")");
    uint64_t lo = samples ? 0 : 1, hi = samples ? MU_SAMPLES_MAX : MU_MAX_MAX;
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 < lo || v->via.u64 > hi)
        return herr_set(r->err, HE_VALUE, "memory_usage() %s must be an int from %llu to %llu",
                        samples ? "samples" : "max_objects", (unsigned long long)lo,
                        (unsigned long long)hi);
    if (samples)
        o->samples = (uint32_t)v->via.u64;
    else
        o->max = v->via.u64;
    return 0;
}

static int mu_opts_parse(req *r, struct mu_opts *o)
{
    *o = (struct mu_opts){MU_SAMPLES_DEFAULT, MU_MAX_DEFAULT};
    if (r->nargs < 2 || r->args[1].type == MSGPACK_OBJECT_NIL)
        return 0;
    if (r->args[1].type != MSGPACK_OBJECT_MAP)
        return herr_set(r->err, HE_TYPE, "memory_usage() argument 2 must be an opts map");
    const msgpack_object_map *m = &r->args[1].via.map;
    int rc = 0;
    for (uint32_t k = 0; !rc && k < m->size; k++)
        rc = mu_option(r, &m->ptr[k].key, &m->ptr[k].val, o);
    return rc;
}

/* memory_usage(target, [opts]) -> {"bytes", "objects", "exact"}. */
int m_memory_usage(req *r)
{
    hobj *o;
    struct mu_opts opts;
    deep_size ds;
    int rc = arg_target(r, 0, &o);
    if (!rc)
        rc = mu_opts_parse(r, &opts);
    if (!rc)
        rc = heap_deep_size(r->h, o, opts.samples, opts.max, &ds, r->err);
    if (rc)
        return rc;
    msgpack_pack_map(r->out, 3);
    pack_cstr(r->out, "bytes");
    msgpack_pack_uint64(r->out, ds.bytes);
    pack_cstr(r->out, "objects");
    msgpack_pack_uint64(r->out, ds.objects);
    pack_cstr(r->out, "exact");
    pack_bool(r->out, ds.exact);
    return 0;
}
