/* Objects: new, release, get, type, refcount, is, len, contains, getsizeof. */
#include "conn.h"
#include "cont.h"
#include "encode.h"
#include "handlers.h"
#include "hash.h"
#include "utf8.h"

#include <string.h>

#define GET_DEFAULT_DEPTH 16

int m_new(req *r)
{
    hobj *o;
    int rc = arg_value(r, 0, &o);
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
    pack_cstr(r->out, htype_name(o->type));
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
        return herr_set(r->err, HE_TYPE, "object of type '%s' has no len()", htype_name(o->type));
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
                            htype_name(t->type),
                            t->type == T_STR ? "string" : "a bytes-like object",
                            htype_name(v->type));
        *out = sub_contains(t, v);
        return 0;
    default:
        return herr_set(r->err, HE_TYPE, "argument of type '%s' is not iterable",
                        htype_name(t->type));
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
