#include "literal.h"
#include "cont.h"
#include "hash.h"
#include "mpscan.h"
#include "util.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

/* The first pass turns the value into a flat pre-order plan with every ext
 * decoded and every ref resolved; the second pass builds from the plan. */
enum pkind {
    P_NONE,
    P_BOOL,
    P_INT,
    P_FLOAT,
    P_STR,
    P_BYTES,
    P_TUPLE,
    P_LIST,
    P_DICT,
    P_SET,
    P_REF,
    P_INSTANCE /* u.ref: the class; n attribute pairs follow */
};

struct pnode {
    uint8_t kind;
    uint32_t n; /* items (tuple, list, set) or pairs (dict); P_REF: 1 from ext 1 */
    union {
        int64_t i;
        double f;
        struct {
            const char *p;
            uint32_t len;
        } s;
        hobj *ref;
    } u;
};

struct plan {
    heap *h;
    lit_resolve_fn resolve;
    void *rctx;
    herr *err;
    struct pnode *nodes;
    size_t len, cap;
    msgpack_zone *zone; /* ext payloads, unpacked on demand */
    uint64_t objects, bytes;
    uint32_t max_depth;
    struct pnode local[16];
};

static struct pnode *plan_add(struct plan *p, enum pkind kind)
{
    if (p->len == p->cap) {
        p->cap *= 2;
        if (p->nodes == p->local) {
            p->nodes = xmalloc(p->cap * sizeof *p->nodes);
            memcpy(p->nodes, p->local, sizeof p->local);
        } else {
            p->nodes = xrealloc(p->nodes, p->cap * sizeof *p->nodes);
        }
    }
    struct pnode *n = &p->nodes[p->len++];
    memset(n, 0, sizeof *n);
    n->kind = (uint8_t)kind;
    return n;
}

static void cost(struct plan *p, htype t, size_t n)
{
    p->objects++;
    p->bytes += heap_cost(t, n);
}

static int plan_value(struct plan *p, const msgpack_object *v, uint32_t depth, bool key);

static int unhashable(struct plan *p, const char *type)
{
    return herr_set(p->err, HE_TYPE, "unhashable type: '%s'", type);
}

static int plan_items(struct plan *p, const msgpack_object *items, uint32_t n, uint32_t depth,
                      bool key)
{
    for (uint32_t i = 0; i < n; i++) {
        int rc = plan_value(p, &items[i], depth, key);
        if (rc)
            return rc;
    }
    return 0;
}

static int plan_container(struct plan *p, enum pkind kind, const msgpack_object *items, uint32_t n,
                          uint32_t depth, bool key)
{
    static const char *const names[] = {[P_LIST] = "list", [P_DICT] = "dict", [P_SET] = "set"};
    if (key && kind != P_TUPLE)
        return unhashable(p, names[kind]);
    if (depth > p->max_depth)
        return herr_set(p->err, HE_RECURSION,
                        "maximum literal nesting depth exceeded (limits.max_depth = %u)",
                        p->max_depth);
    plan_add(p, kind)->n = n;
    cost(p, (htype)kind, n);
    if (kind != P_DICT)
        return plan_items(p, items, n, depth, key || kind == P_SET);
    const msgpack_object_kv *kv = (const msgpack_object_kv *)items;
    for (uint32_t i = 0; i < n; i++) {
        int rc = plan_value(p, &kv[i].key, depth, true);
        if (!rc)
            rc = plan_value(p, &kv[i].val, depth, false);
        if (rc)
            return rc;
    }
    return 0;
}

int lit_ref_id(const msgpack_object_ext *ext, hid *id, herr *err)
{
    if (ext->size != 8)
        return herr_set(err, HE_PROTOCOL, "reference (ext 1) must be 8 bytes, not %u", ext->size);
    const unsigned char *b = (const unsigned char *)ext->ptr;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    *id = v;
    return 0;
}

static int plan_ref(struct plan *p, hobj *o, bool key)
{
    uint64_t hash;
    if (key && cont_hash(o, &hash, p->err))
        return p->err->code;
    plan_add(p, P_REF)->u.ref = o;
    return 0;
}

/* Unpacks an ext payload that must be exactly one msgpack array. */
static int unpack_array(struct plan *p, const msgpack_object_ext *ext, msgpack_object *out)
{
    size_t used = 0, off = 0;
    if (mpscan(ext->ptr, ext->size, ext->size, WIRE_MSGPACK_MAX_DEPTH, &used) != MPSCAN_OK ||
        used != ext->size)
        return herr_set(p->err, HE_PROTOCOL, "ext %d payload is not one msgpack value", ext->type);
    if (!p->zone)
        p->zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    if (!p->zone ||
        msgpack_unpack(ext->ptr, ext->size, &off, p->zone, out) != MSGPACK_UNPACK_SUCCESS)
        return herr_set(p->err, HE_PROTOCOL, "ext %d payload could not be decoded", ext->type);
    if (out->type != MSGPACK_OBJECT_ARRAY)
        return herr_set(p->err, HE_PROTOCOL, "ext %d payload must be an array", ext->type);
    return 0;
}

static int plan_instance(struct plan *p, const msgpack_object_ext *ext, uint32_t depth);

static int plan_ext(struct plan *p, const msgpack_object_ext *ext, uint32_t depth, bool key)
{
    hobj *o;
    hid id = 0;
    msgpack_object arr;
    int rc;
    switch (ext->type) {
    case EXT_REF:
        if ((rc = lit_ref_id(ext, &id, p->err)))
            return rc;
        if (!(o = heap_lookup(p->h, id)))
            return herr_set(p->err, HE_REFERENCE, "no object with id %llu", (unsigned long long)id);
        if ((rc = plan_ref(p, o, key)))
            return rc;
        p->nodes[p->len - 1].n = 1; /* an ext 1, for lit_check_refs */
        return 0;
    case EXT_NAME:
        if (!utf8_valid(ext->ptr, ext->size))
            return herr_set(p->err, HE_VALUE, "name is not valid UTF-8");
        if ((rc = p->resolve(p->rctx, ext->ptr, ext->size, &o, p->err)))
            return rc;
        return plan_ref(p, o, key);
    case EXT_TUPLE:
    case EXT_SET:
        if ((rc = unpack_array(p, ext, &arr)))
            return rc;
        return plan_container(p, ext->type == EXT_TUPLE ? P_TUPLE : P_SET, arr.via.array.ptr,
                              arr.via.array.size, depth + 1, key);
    case EXT_INSTANCE: /* hashable, by identity: a new one is a fine key */
        return plan_instance(p, ext, depth);
    default:
        return herr_set(p->err, HE_PROTOCOL, "unknown ext type %d", ext->type);
    }
}

/* The class of an ext 5: a ref or a name ext to a class, or the name
 * (str) a class is bound to. */
static int plan_class(struct plan *p, const msgpack_object *c, hobj **cls)
{
    hid id = 0;
    int rc = 0;
    if (c->type == MSGPACK_OBJECT_EXT && c->via.ext.type == EXT_REF) {
        if (!(rc = lit_ref_id(&c->via.ext, &id, p->err)) && !(*cls = heap_lookup(p->h, id)))
            rc = herr_set(p->err, HE_REFERENCE, "no object with id %llu", (unsigned long long)id);
    } else if (c->type == MSGPACK_OBJECT_STR ||
               (c->type == MSGPACK_OBJECT_EXT && c->via.ext.type == EXT_NAME)) {
        const char *s = c->type == MSGPACK_OBJECT_STR ? c->via.str.ptr : c->via.ext.ptr;
        uint32_t n = c->type == MSGPACK_OBJECT_STR ? c->via.str.size : c->via.ext.size;
        rc = utf8_valid(s, n) ? p->resolve(p->rctx, s, n, cls, p->err)
                              : herr_set(p->err, HE_VALUE, "name is not valid UTF-8");
    } else {
        return herr_set(p->err, HE_TYPE, "an instance's class must be a ref, a name or a str");
    }
    if (!rc && (*cls)->type != T_TYPE)
        rc = herr_set(p->err, HE_TYPE, "'%s' object is not a class", htype_name((*cls)->type));
    return rc;
}

/* ext 5: [class, {attr: value, ...}] -> an instance (and its dict). */
static int plan_instance(struct plan *p, const msgpack_object_ext *ext, uint32_t depth)
{
    msgpack_object arr;
    hobj *cls = NULL;
    int rc = unpack_array(p, ext, &arr);
    if (!rc && arr.via.array.size != 2)
        rc = herr_set(p->err, HE_PROTOCOL, "ext 5 payload must be [class, {attrs}]");
    if (!rc)
        rc = plan_class(p, &arr.via.array.ptr[0], &cls);
    const msgpack_object *attrs = rc ? NULL : &arr.via.array.ptr[1];
    if (!rc && attrs->type != MSGPACK_OBJECT_MAP)
        rc = herr_set(p->err, HE_TYPE, "an instance's attributes must be a map");
    for (uint32_t i = 0; !rc && i < attrs->via.map.size; i++)
        if (attrs->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR)
            rc = herr_set(p->err, HE_TYPE, "attribute name must be string");
    if (rc)
        return rc;
    if (depth + 1 > p->max_depth)
        return herr_set(p->err, HE_RECURSION,
                        "maximum literal nesting depth exceeded (limits.max_depth = %u)",
                        p->max_depth);
    struct pnode *n = plan_add(p, P_INSTANCE);
    n->u.ref = cls;
    n->n = attrs->via.map.size;
    cost(p, T_INSTANCE, 0);
    cost(p, T_DICT, n->n);
    const msgpack_object_kv *kv = attrs->via.map.ptr;
    for (uint32_t i = 0; !rc && i < n->n; i++) {
        rc = plan_value(p, &kv[i].key, depth + 1, true);
        if (!rc)
            rc = plan_value(p, &kv[i].val, depth + 1, false);
    }
    return rc;
}

static int plan_value(struct plan *p, const msgpack_object *v, uint32_t depth, bool key)
{
    switch (v->type) {
    case MSGPACK_OBJECT_NIL:
        plan_add(p, P_NONE);
        return 0;
    case MSGPACK_OBJECT_BOOLEAN:
        plan_add(p, P_BOOL)->u.i = v->via.boolean;
        return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (v->via.u64 > INT64_MAX)
            return herr_set(p->err, HE_OVERFLOW, "int too large (%llu does not fit in int64)",
                            (unsigned long long)v->via.u64);
        /* fall through */
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        plan_add(p, P_INT)->u.i = v->via.i64;
        if (!heap_would_reuse(p->h, T_INT, &v->via.i64, 0))
            cost(p, T_INT, 0);
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        plan_add(p, P_FLOAT)->u.f = v->via.f64;
        if (!heap_would_reuse(p->h, T_FLOAT, &v->via.f64, 0))
            cost(p, T_FLOAT, 0);
        return 0;
    case MSGPACK_OBJECT_STR:
        if (!utf8_valid(v->via.str.ptr, v->via.str.size))
            return herr_set(p->err, HE_VALUE, "str is not valid UTF-8");
        /* fall through */
    case MSGPACK_OBJECT_BIN: {
        bool str = v->type == MSGPACK_OBJECT_STR;
        struct pnode *n = plan_add(p, str ? P_STR : P_BYTES);
        n->u.s.p = v->via.str.ptr; /* str and bin share their layout in msgpack-c */
        n->u.s.len = v->via.str.size;
        if (!heap_would_reuse(p->h, str ? T_STR : T_BYTES, v->via.str.ptr, v->via.str.size))
            cost(p, str ? T_STR : T_BYTES, v->via.str.size);
        return 0;
    }
    case MSGPACK_OBJECT_ARRAY:
        return plan_container(p, P_LIST, v->via.array.ptr, v->via.array.size, depth + 1, key);
    case MSGPACK_OBJECT_MAP:
        return plan_container(p, P_DICT, (const msgpack_object *)v->via.map.ptr, v->via.map.size,
                              depth + 1, key);
    case MSGPACK_OBJECT_EXT:
        return plan_ext(p, &v->via.ext, depth, key);
    default:
        return herr_set(p->err, HE_PROTOCOL, "unsupported msgpack type %d", (int)v->type);
    }
}

/* --- second pass: cannot fail ------------------------------------------- */

static hobj *build_node(struct plan *p, size_t *pos);

static hobj *build_tuple(struct plan *p, size_t *pos, uint32_t n)
{
    hobj *local[8], **items = n <= 8 ? local : xmalloc(n * sizeof *items);
    for (uint32_t i = 0; i < n; i++)
        items[i] = build_node(p, pos);
    hobj *t = heap_tuple(p->h, items, n);
    if (items != local)
        free(items);
    return t;
}

static hobj *build_table(struct plan *p, size_t *pos, enum pkind kind, uint32_t n)
{
    heap *h = p->h;
    hobj *d = kind == P_DICT ? heap_dict(h) : heap_set(h);
    cont_table_reserve(h, d, n);
    for (uint32_t i = 0; i < n; i++) {
        hobj *k = build_node(p, pos);
        uint64_t hash = 0;
        obj_hash(k, &hash); /* hashable: checked by the plan */
        if (kind == P_DICT)
            cont_dict_set(h, d, k, hash, build_node(p, pos));
        else
            cont_set_add(h, d, k, hash);
    }
    return d;
}

static hobj *build_node(struct plan *p, size_t *pos)
{
    heap *h = p->h;
    struct pnode *n = &p->nodes[(*pos)++];
    switch ((enum pkind)n->kind) {
    case P_NONE:
        return heap_none(h);
    case P_BOOL:
        return heap_bool(h, n->u.i != 0);
    case P_INT:
        return heap_int(h, n->u.i);
    case P_FLOAT:
        return heap_float(h, n->u.f);
    case P_STR:
        return heap_str(h, n->u.s.p, n->u.s.len);
    case P_BYTES:
        return heap_bytes(h, n->u.s.p, n->u.s.len);
    case P_REF:
        return heap_incref(h, n->u.ref);
    case P_TUPLE:
        return build_tuple(p, pos, n->n);
    case P_DICT:
    case P_SET:
        return build_table(p, pos, (enum pkind)n->kind, n->n);
    case P_LIST: {
        uint32_t count = n->n;
        hobj *l = heap_list(h, count);
        for (uint32_t i = 0; i < count; i++)
            cont_list_append(h, l, build_node(p, pos));
        return l;
    }
    case P_INSTANCE:
        return heap_instance(h, n->u.ref, build_table(p, pos, P_DICT, n->n));
    }
    abort();
}

/* The first pass alone, for lit_check and lit_build; key: v must be
 * hashable (a dict key, a set member). */
static int plan_only(struct plan *p, const msgpack_object *v, bool key)
{
    p->nodes = p->local;
    p->cap = ARRAY_LEN(p->local);
    return plan_value(p, v, 0, key);
}

static void plan_free(struct plan *p)
{
    if (p->nodes != p->local)
        free(p->nodes);
    if (p->zone)
        msgpack_zone_free(p->zone);
}

static struct plan plan_new(heap *h, lit_resolve_fn resolve, void *ctx, herr *err)
{
    return (struct plan){
        .h = h, .resolve = resolve, .rctx = ctx, .err = err, .max_depth = heap_cfg(h)->max_depth};
}

/* Both passes; with out NULL, only the first (and no limit check). */
static int plan_and_build(heap *h, const msgpack_object *v, lit_resolve_fn resolve, void *ctx,
                          hobj **out, herr *err, bool key)
{
    herr local_err;
    struct plan p = plan_new(h, resolve, ctx, err ? err : &local_err);
    int rc = plan_only(&p, v, key);
    if (!rc && out)
        rc = heap_check_room(h, p.objects, p.bytes, p.err);
    if (!rc && out) {
        size_t pos = 0;
        *out = build_node(&p, &pos);
    }
    plan_free(&p);
    return rc;
}

int lit_check(heap *h, const msgpack_object *v, lit_resolve_fn resolve, void *ctx, herr *err)
{
    return plan_and_build(h, v, resolve, ctx, NULL, err, false);
}

int lit_build_key(heap *h, const msgpack_object *v, lit_resolve_fn resolve, void *ctx, hobj **out,
                  herr *err)
{
    return plan_and_build(h, v, resolve, ctx, out, err, true);
}

int lit_cost(heap *h, const msgpack_object *v, lit_resolve_fn resolve, void *ctx, bool key,
             lit_costs *out, herr *err)
{
    herr local_err;
    struct plan p = plan_new(h, resolve, ctx, err ? err : &local_err);
    int rc = plan_only(&p, v, key);
    out->objects += p.objects;
    out->bytes += p.bytes;
    plan_free(&p);
    return rc;
}

int lit_check_refs(heap *h, const msgpack_object *v, lit_resolve_fn resolve, void *ctx,
                   lit_ref_fn on_ref, void *arg, herr *err)
{
    herr local_err;
    struct plan p = plan_new(h, resolve, ctx, err ? err : &local_err);
    int rc = plan_only(&p, v, false);
    for (size_t i = 0; !rc && i < p.len; i++)
        if (p.nodes[i].kind == P_REF && p.nodes[i].n == 1)
            on_ref(arg, p.nodes[i].u.ref);
    plan_free(&p);
    return rc;
}

int lit_build(heap *h, const msgpack_object *v, lit_resolve_fn resolve, void *ctx, hobj **out,
              herr *err)
{
    return plan_and_build(h, v, resolve, ctx, out, err, false);
}
