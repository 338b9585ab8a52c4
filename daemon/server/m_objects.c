/* Objects: new, release, get, type, refcount, is, len, contains, getsizeof. */
#include "conn.h"
#include "cont.h"
#include "encode.h"
#include "handlers.h"
#include "hash.h"
#include "htab.h"
#include "utf8.h"

#include <string.h>

#define GET_DEFAULT_DEPTH 16

/* new(value, {"weak_values": true}): whether a weak-valued dict is asked. */
static int new_opts(req *r, bool *weak)
{
    *weak = false;
    if (r->nargs < 2 || r->args[1].type == MSGPACK_OBJECT_NIL)
        return 0;
    const msgpack_object *a = &r->args[1];
    if (a->type != MSGPACK_OBJECT_MAP)
        return herr_set(r->err, HE_TYPE, "new() opts must be a map");
    for (uint32_t i = 0; i < a->via.map.size; i++) {
        const msgpack_object_kv *kv = &a->via.map.ptr[i];
        if (!arg_is_str(&kv->key, "weak_values"))
            return herr_set(r->err, HE_VALUE, "new(): unknown option (\"weak_values\")");
        if (kv->val.type != MSGPACK_OBJECT_BOOLEAN)
            return herr_set(r->err, HE_TYPE, "new() weak_values must be a bool");
        *weak = kv->val.via.boolean;
    }
    if (*weak && r->args[0].type != MSGPACK_OBJECT_MAP)
        return herr_set(r->err, HE_TYPE, "weak_values needs a dict");
    return 0;
}

/* Makes the new dict d weak-valued: each value becomes a weakref that
 * belongs to its entry (a value that cannot be weakly referenced is a
 * TypeError, checked before anything changes). */
static int make_weak_valued(req *r, hobj *d)
{
    hdict *t = AS_DICT(d);
    for (uint32_t i = 0; t->tb && i < t->fill; i++) {
        hentry *e = htab_entry(t, i);
        if (e->key && !htype_is_weakrefable(e->val->type))
            return herr_set(r->err, HE_TYPE, "cannot create weak reference to '%s' object",
                            heap_type_name(e->val));
    }
    int rc = heap_check_room(r->h, t->used, t->used * heap_cost(T_WEAKREF, 0), r->err);
    if (rc)
        return rc;
    /* Each value is replaced in place (cont_dict_set: an effect like any
     * store, the entry keeps its key and place), and only then is d made
     * weak-valued: at every step d is a valid dict of its kind. */
    for (uint32_t i = 0; t->tb && i < t->fill; i++) {
        hentry *e = htab_entry(t, i);
        if (!e->key)
            continue;
        hobj *w = heap_weak_entry(r->h, e->val, d, e->key);
        /* drops the old value: weakly held now, it may go at once */
        cont_dict_set(r->h, d, heap_incref(r->h, e->key), e->hash, w);
    }
    heap_dict_make_weak(r->h, d);
    return 0;
}

int m_new(req *r)
{
    hobj *o;
    bool weak;
    int rc = new_opts(r, &weak);
    if (!rc)
        rc = arg_value(r, 0, &o);
    if (!rc && weak && (rc = make_weak_valued(r, o)))
        heap_decref(r->h, o);
    if (rc)
        return rc;
    conn_handle_add(r->conn, o);
    enc_ref_id(r->out, hobj_id(o)); /* its handle is this one: not noted again */
    return 0;
}

/* release(ref, [count]): all count handles, or none. */
int m_release(req *r)
{
    hobj *o;
    int64_t count = 1;
    int rc = arg_target(r, 0, &o);
    if (!rc && r->nargs > 1)
        rc = arg_int(r, 1, &count);
    if (!rc && (count < 1 || count > UINT32_MAX))
        rc = herr_set(r->err, HE_VALUE, "release() count must be from 1 to %u", UINT32_MAX);
    if (!rc)
        rc = conn_handle_release(r->conn, o, (uint32_t)count, r->err);
    if (!rc)
        msgpack_pack_nil(r->out);
    return rc;
}

int m_get(req *r)
{
    hobj *o;
    int64_t depth = GET_DEFAULT_DEPTH;
    int rc = arg_target(r, 0, &o);
    if (!rc && r->nargs > 1)
        rc = arg_int(r, 1, &depth);
    if (!rc && depth < 0)
        rc = herr_set(r->err, HE_VALUE, "get() depth must be >= 0");
    if (rc)
        return rc;
    uint32_t max = heap_cfg(r->h)->max_depth;
    enc_value(r->out, r->h, o, depth > max ? max : (uint32_t)depth);
    return 0;
}

int m_type(req *r)
{
    hobj *o;
    int rc = arg_target(r, 0, &o);
    if (rc)
        return rc;
    pack_cstr(r->out, o->type == T_TYPE ? "type" : heap_type_name(o));
    return 0;
}

int m_refcount(req *r)
{
    hobj *o;
    int rc = arg_target(r, 0, &o);
    if (rc)
        return rc;
    /* exact: a temporary made for a literal target is not counted */
    uint32_t temps = 0;
    for (uint32_t i = 0; i < r->ntemps; i++)
        temps += r->temps[i] == o;
    msgpack_pack_uint32(r->out, o->refcnt - temps);
    return 0;
}

int m_is(req *r)
{
    hobj *a, *b;
    int rc = arg_target(r, 0, &a);
    if (!rc)
        rc = arg_target(r, 1, &b);
    if (rc)
        return rc;
    pack_bool(r->out, a == b);
    return 0;
}

static int obj_len(req *r, hobj *o, uint64_t *len)
{
    switch ((htype)o->type) {
    case T_STR:
        *len = utf8_count(AS_STR(o)->data, AS_STR(o)->len);
        return 0;
    case T_BYTES:
        *len = AS_STR(o)->len;
        return 0;
    case T_TUPLE:
    case T_LIST:
        *len = AS_LIST(o)->len;
        return 0;
    case T_DICT:
    case T_SET:
        *len = AS_DICT(o)->used;
        return 0;
    default:
        return herr_set(r->err, HE_TYPE, "object of type '%s' has no len()", heap_type_name(o));
    }
}

int m_len(req *r)
{
    hobj *o;
    uint64_t len = 0;
    int rc = arg_target(r, 0, &o);
    if (!rc)
        rc = obj_len(r, o, &len);
    if (!rc)
        msgpack_pack_uint64(r->out, len);
    return rc;
}

static bool seq_contains(hobj *seq, hobj *v)
{
    for (uint32_t i = 0; i < AS_LIST(seq)->len; i++)
        if (key_eq(AS_LIST(seq)->items[i], v))
            return true;
    return false;
}

static bool sub_contains(hobj *hay, hobj *needle)
{
    hstr *h = AS_STR(hay), *n = AS_STR(needle);
    return n->len == 0 || memmem(h->data, h->len, n->data, n->len) != NULL;
}

/* `value in target`, with Python's rules per container type. */
static int contains(req *r, hobj *t, hobj *v, bool *out)
{
    uint64_t hash;
    switch ((htype)t->type) {
    case T_TUPLE:
    case T_LIST:
        *out = seq_contains(t, v);
        return 0;
    case T_DICT:
    case T_SET:
        if (cont_hash(v, &hash, r->err))
            return r->err->code;
        *out = cont_table_contains(t, v, hash);
        return 0;
    case T_STR:
    case T_BYTES:
        if (v->type != t->type)
            return herr_set(r->err, HE_TYPE, "'in <%s>' requires %s as left operand, not %s",
                            heap_type_name(t), t->type == T_STR ? "string" : "a bytes-like object",
                            heap_type_name(v));
        *out = sub_contains(t, v);
        return 0;
    default:
        return herr_set(r->err, HE_TYPE, "argument of type '%s' is not iterable",
                        heap_type_name(t));
    }
}

int m_contains(req *r)
{
    hobj *t, *v;
    bool found = false;
    int rc = arg_target(r, 0, &t);
    if (!rc)
        rc = arg_value(r, 1, &v);
    if (rc)
        return rc;
    rc = contains(r, t, v, &found);
    heap_decref(r->h, v);
    if (!rc)
        pack_bool(r->out, found);
    return rc;
}

int m_getsizeof(req *r)
{
    hobj *o;
    int rc = arg_target(r, 0, &o);
    if (!rc)
        msgpack_pack_uint64(r->out, heap_sizeof(o));
    return rc;
}
