#include "args.h"
#include "cont.h"
#include "encbuf.h"
#include "literal.h"
#include "methods.h"
#include "util.h"
#include "wire.h"

#include <string.h>

static int resolve_name(void *ctx, const char *name, size_t len, hobj **out, herr *err)
{
    req *r = ctx;
    return ns_resolve(r->ns, r->s, name, len, out, err);
}

static const msgpack_object *arg(req *r, uint32_t i)
{
    return &r->args[i];
}

static int bad_type(req *r, uint32_t i, const char *want)
{
    return herr_set(r->err, HE_TYPE, "%s() argument %u must be %s", req_method(r), i + 1, want);
}

int arg_str(req *r, uint32_t i, const char **s, size_t *len)
{
    const msgpack_object *a = arg(r, i);
    if (a->type != MSGPACK_OBJECT_STR)
        return bad_type(r, i, "a str");
    if (!utf8_valid(a->via.str.ptr, a->via.str.size))
        return herr_set(r->err, HE_VALUE, "%s() argument %u is not valid UTF-8", req_method(r),
                        i + 1);
    *s = a->via.str.ptr;
    *len = a->via.str.size;
    return 0;
}

/* The one UTF-8 check a name gets on its way to the namespaces. */
int arg_name(req *r, uint32_t i, const char **name, size_t *len)
{
    const msgpack_object *a = arg(r, i);
    if (a->type != MSGPACK_OBJECT_STR)
        return bad_type(r, i, "a str");
    *name = a->via.str.ptr;
    *len = a->via.str.size;
    return ns_check_name(*name, *len, r->err);
}

int arg_int(req *r, uint32_t i, int64_t *out)
{
    const msgpack_object *a = arg(r, i);
    if (a->type == MSGPACK_OBJECT_POSITIVE_INTEGER && a->via.u64 > INT64_MAX)
        return herr_set(r->err, HE_OVERFLOW, "%s() argument %u does not fit in int64",
                        req_method(r), i + 1);
    if (a->type != MSGPACK_OBJECT_POSITIVE_INTEGER && a->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return bad_type(r, i, "an int");
    *out = a->via.i64;
    return 0;
}

int arg_value(req *r, uint32_t i, hobj **out)
{
    return lit_build(r->h, arg(r, i), resolve_name, r, out, r->err);
}

int arg_key(req *r, uint32_t i, hobj **out)
{
    return lit_build_key(r->h, arg(r, i), resolve_name, r, out, r->err);
}

int arg_room_for_two(req *r, uint32_t key, uint32_t value, size_t extra_bytes)
{
    lit_costs c = {0, extra_bytes};
    int rc = lit_cost(r->h, arg(r, key), resolve_name, r, true, &c, r->err);
    if (!rc)
        rc = lit_cost(r->h, arg(r, value), resolve_name, r, false, &c, r->err);
    return rc ? rc : heap_check_room(r->h, c.objects, c.bytes, r->err);
}

int arg_check_value(req *r, uint32_t i)
{
    return lit_check(r->h, arg(r, i), resolve_name, r, r->err);
}

static void note_ref(void *pk, hobj *o)
{
    encbuf_note_ref(pk, o);
}

int arg_echo_value(req *r, uint32_t i)
{
    int rc = lit_check_refs(r->h, arg(r, i), resolve_name, r, note_ref, r->out, r->err);
    if (!rc)
        msgpack_pack_object(r->out, *arg(r, i));
    return rc;
}

int arg_target(req *r, uint32_t i, hobj **out)
{
    const msgpack_object *a = arg(r, i);
    if (a->type == MSGPACK_OBJECT_STR) {
        const char *name;
        size_t len;
        int rc = arg_name(r, i, &name, &len);
        return rc ? rc : ns_resolve(r->ns, r->s, name, len, out, r->err);
    }
    if (a->type == MSGPACK_OBJECT_EXT && a->via.ext.type == EXT_REF) {
        hid id;
        int rc = lit_ref_id(&a->via.ext, &id, r->err);
        if (rc)
            return rc;
        *out = heap_lookup(r->h, id);
        return *out ? 0
                    : herr_set(r->err, HE_REFERENCE, "no object with id %llu",
                               (unsigned long long)id);
    }
    if (a->type == MSGPACK_OBJECT_EXT && a->via.ext.type == EXT_NAME) {
        const char *name = a->via.ext.ptr;
        size_t len = a->via.ext.size;
        int rc = ns_check_name(name, len, r->err);
        return rc ? rc : ns_resolve(r->ns, r->s, name, len, out, r->err);
    }
    assert(r->ntemps < ARRAY_LEN(r->temps));
    int rc = arg_value(r, i, out);
    if (!rc)
        r->temps[r->ntemps++] = *out;
    return rc;
}

/* The type of the object an ext 1 or ext 4 names (lit_check has resolved it). */
static const char *named_type(req *r, const msgpack_object_ext *ext)
{
    hobj *o = NULL;
    hid id;
    if (ext->type == EXT_REF && lit_ref_id(ext, &id, r->err) == 0)
        o = heap_lookup(r->h, id);
    else if (ext->type == EXT_NAME)
        ns_resolve(r->ns, r->s, ext->ptr, ext->size, &o, r->err);
    return o ? htype_name(o->type) : "object";
}

int arg_type_name(req *r, uint32_t i, const char **name)
{
    const msgpack_object *a = arg(r, i);
    int rc = arg_check_value(r, i);
    if (rc)
        return rc;
    switch (a->type) {
    case MSGPACK_OBJECT_NIL:
        return *name = "NoneType", 0;
    case MSGPACK_OBJECT_BOOLEAN:
        return *name = "bool", 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return *name = "int", 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return *name = "float", 0;
    case MSGPACK_OBJECT_STR:
        return *name = "str", 0;
    case MSGPACK_OBJECT_BIN:
        return *name = "bytes", 0;
    case MSGPACK_OBJECT_ARRAY:
        return *name = "list", 0;
    case MSGPACK_OBJECT_MAP:
        return *name = "dict", 0;
    default: /* an ext that passed lit_check: tuple, set, ref or name */
        *name = a->via.ext.type == EXT_TUPLE ? "tuple"
                : a->via.ext.type == EXT_SET ? "set"
                                             : named_type(r, &a->via.ext);
        return 0;
    }
}

void req_release_temps(req *r)
{
    while (r->ntemps)
        heap_decref(r->h, r->temps[--r->ntemps]);
}

int arg_scope_opts(req *r, uint32_t i, bool *global)
{
    *global = false;
    if (i >= r->nargs || arg(r, i)->type == MSGPACK_OBJECT_NIL)
        return 0;
    const msgpack_object *a = arg(r, i);
    if (a->type != MSGPACK_OBJECT_MAP)
        return bad_type(r, i, "an opts map");
    for (uint32_t k = 0; k < a->via.map.size; k++) {
        const msgpack_object *key = &a->via.map.ptr[k].key, *val = &a->via.map.ptr[k].val;
        if (!arg_is_str(key, "scope"))
            return herr_set(r->err, HE_VALUE, "%s(): unknown option", req_method(r));
        bool g = arg_is_str(val, "global");
        if (!g && !arg_is_str(val, "local"))
            return herr_set(r->err, HE_VALUE, "%s(): scope must be \"global\" or \"local\"",
                            req_method(r));
        *global = g;
    }
    return 0;
}

bool arg_is_str(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

const char *req_method(const req *r)
{
    return method_table[r->method].name;
}
