/* Classes, instances and weak references (SPEC: classes): class_new,
 * instance, getattr, setattr, delattr, dir, weakref, weakref_get,
 * weakref_count. Errors are Python's, in Python's words. */
#include "conn.h"
#include "cont.h"
#include "encode.h"
#include "handlers.h"
#include "hash.h"
#include "ns.h"

#include <stdlib.h>
#include <string.h>

/* An attrs argument: absent or nil (an empty dict), or a map whose keys
 * are str, built as a new dict. */
static int arg_attrs(req *r, uint32_t i, hobj **dict)
{
    if (i >= r->nargs || r->args[i].type == MSGPACK_OBJECT_NIL) {
        int rc = heap_check_room(r->h, 1, heap_cost(T_DICT, 0), r->err);
        return rc ? rc : (*dict = heap_dict(r->h), 0);
    }
    const msgpack_object *a = &r->args[i];
    if (a->type != MSGPACK_OBJECT_MAP)
        return herr_set(r->err, HE_TYPE, "attrs must be a map of attribute names to values");
    for (uint32_t k = 0; k < a->via.map.size; k++)
        if (a->via.map.ptr[k].key.type != MSGPACK_OBJECT_STR)
            return herr_set(r->err, HE_TYPE, "attribute name must be string");
    return arg_value(r, i, dict);
}

/* Holds o as a handle of this session and answers its ref. */
static void answer_handle(req *r, hobj *o)
{
    conn_handle_add(r->conn, o);
    enc_ref_id(r->out, hobj_id(o));
}

int m_class_new(req *r)
{
    const char *name;
    size_t len;
    hobj *dict;
    int rc = arg_str(r, 0, &name, &len);
    if (!rc && len == 0)
        rc = herr_set(r->err, HE_VALUE, "a class needs a name");
    if (!rc)
        rc = heap_check_room(r->h, 2, heap_cost(T_TYPE, 0) + heap_cost(T_STR, len), r->err);
    if (!rc)
        rc = arg_attrs(r, 1, &dict);
    if (rc)
        return rc;
    answer_handle(r, heap_class(r->h, heap_str(r->h, name, len), dict));
    return 0;
}

int m_instance(req *r)
{
    hobj *cls, *dict;
    int rc = arg_target(r, 0, &cls);
    if (!rc && cls->type != T_TYPE)
        rc = herr_set(r->err, HE_TYPE, "'%s' object is not callable", heap_type_name(cls));
    if (!rc)
        rc = heap_check_room(r->h, 1, heap_cost(T_INSTANCE, 0), r->err);
    if (!rc)
        rc = arg_attrs(r, 1, &dict);
    if (rc)
        return rc;
    answer_handle(r, heap_instance(r->h, cls, dict));
    return 0;
}

/* The attribute name argument as a str object (a new reference). */
static int attr_name(req *r, uint32_t i, hobj **key, uint64_t *hash)
{
    const char *name;
    size_t len;
    if (r->args[i].type != MSGPACK_OBJECT_STR) {
        const char *type;
        int rc = arg_type_name(r, i, &type);
        return rc ? rc : herr_set(r->err, HE_TYPE, "attribute name must be string, not '%s'", type);
    }
    int rc = arg_str(r, i, &name, &len);
    if (!rc)
        rc = heap_check_room(r->h, 1, heap_cost(T_STR, len), r->err);
    if (rc)
        return rc;
    *key = heap_str(r->h, name, len);
    return cont_hash(*key, hash, r->err);
}

static int no_attribute(req *r, hobj *o, hobj *key)
{
    if (o->type == T_TYPE)
        return herr_set(r->err, HE_ATTRIBUTE, "type object '%s' has no attribute '%s'",
                        heap_class_name(o), AS_STR(key)->data);
    return herr_set(r->err, HE_ATTRIBUTE, "'%s' object has no attribute '%s'", heap_type_name(o),
                    AS_STR(key)->data);
}

/* The attribute key names on o (borrowed), or NULL: the instance's own,
 * then its class's; a class's; "__class__", "__name__" and "__dict__" as
 * Python has them. */
static hobj *find_attr(hobj *o, hobj *key, uint64_t hash)
{
    const char *k = AS_STR(key)->data;
    if (!htype_is_record(o->type) || o->type == T_WEAKREF)
        return NULL;
    if (strcmp(k, "__dict__") == 0)
        return heap_rec_dict(o);
    if (o->type == T_INSTANCE && strcmp(k, "__class__") == 0)
        return heap_class_of(o);
    if (o->type == T_TYPE && strcmp(k, "__name__") == 0)
        return AS_REC(o)->ref[REC_NAME];
    hobj *v = cont_dict_get(heap_rec_dict(o), key, hash);
    if (!v && o->type == T_INSTANCE)
        v = cont_dict_get(heap_rec_dict(heap_class_of(o)), key, hash);
    return v;
}

/* The target and the attribute name (a new reference) of getattr,
 * setattr and delattr. */
static int target_and_name(req *r, hobj **o, hobj **key, uint64_t *hash)
{
    int rc = arg_target(r, 0, o);
    return rc ? rc : attr_name(r, 1, key, hash);
}

int m_getattr(req *r)
{
    hobj *o, *key;
    uint64_t hash;
    int rc = target_and_name(r, &o, &key, &hash);
    if (rc)
        return rc;
    hobj *v = find_attr(o, key, hash);
    rc = v ? (enc_item(r->out, r->h, v), 0) : no_attribute(r, o, key);
    heap_decref(r->h, key);
    return rc;
}

/* Only classes and instances have attributes one may set. */
static int settable(req *r, hobj *o, hobj *key)
{
    if (o->type == T_TYPE || o->type == T_INSTANCE)
        return 0;
    return herr_set(r->err, HE_ATTRIBUTE, "'%s' object has no attribute '%s'", heap_type_name(o),
                    AS_STR(key)->data);
}

int m_setattr(req *r)
{
    hobj *o, *key, *val;
    uint64_t hash;
    int rc = target_and_name(r, &o, &key, &hash);
    if (rc)
        return rc;
    if (!(rc = settable(r, o, key)) &&
        !(rc = arg_room_for_two(r, 1, 2, cont_table_grow_bytes(heap_rec_dict(o), 1))) &&
        !(rc = arg_value(r, 2, &val))) {
        hobj *dict = heap_rec_dict(o);
        cont_table_reserve(r->h, dict, 1);
        cont_dict_set(r->h, dict, key, hash, val); /* steals key and val */
        if (o->type == T_TYPE)
            heap_class_changed(r->h, o);
        msgpack_pack_nil(r->out);
        return 0;
    }
    heap_decref(r->h, key);
    return rc;
}

int m_delattr(req *r)
{
    hobj *o, *key;
    uint64_t hash;
    int rc = target_and_name(r, &o, &key, &hash);
    if (rc)
        return rc;
    rc = settable(r, o, key);
    if (!rc && cont_dict_pop(r->h, heap_rec_dict(o), key, hash, NULL, NULL) != 0)
        rc = no_attribute(r, o, key);
    if (!rc && o->type == T_TYPE)
        heap_class_changed(r->h, o);
    heap_decref(r->h, key);
    if (!rc)
        msgpack_pack_nil(r->out);
    return rc;
}

/* --- dir ----------------------------------------------------------------- */

static int cmp_strs(const void *a, const void *b)
{
    const hstr *x = AS_STR(*(hobj *const *)a), *y = AS_STR(*(hobj *const *)b);
    int c = memcmp(x->data, y->data, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static size_t add_keys(hobj *dict, hobj **out, size_t n)
{
    hdict *d = AS_DICT(dict);
    for (uint32_t i = 0; d->tb && i < d->fill; i++)
        if (htab_entry(d, i)->key && htab_entry(d, i)->key->type == T_STR)
            out[n++] = htab_entry(d, i)->key;
    return n;
}

/* dir(x): the sorted attribute names of an instance and its class, or of
 * a class; [] for the other types (their methods are the server's). */
int m_dir(req *r)
{
    hobj *o;
    int rc = arg_target(r, 0, &o);
    if (rc)
        return rc;
    bool has = o->type == T_TYPE || o->type == T_INSTANCE;
    hobj *own = has ? heap_rec_dict(o) : NULL;
    hobj *cls = o->type == T_INSTANCE ? heap_rec_dict(heap_class_of(o)) : NULL;
    size_t cap = (own ? AS_DICT(own)->used : 0) + (cls ? AS_DICT(cls)->used : 0);
    hobj **names = xmalloc((cap + 1) * sizeof *names);
    size_t n = own ? add_keys(own, names, 0) : 0;
    n = cls ? add_keys(cls, names, n) : n;
    qsort(names, n, sizeof *names, cmp_strs);
    size_t out = 0; /* an attribute both own and the class's, once */
    for (size_t i = 0; i < n; i++)
        if (!out || cmp_strs(&names[out - 1], &names[i]) != 0)
            names[out++] = names[i];
    msgpack_pack_array(r->out, out);
    for (size_t i = 0; i < out; i++)
        enc_scalar(r->out, names[i]);
    free(names);
    return 0;
}

/* --- weak references ------------------------------------------------------ */

static int not_weakrefable(req *r, hobj *o)
{
    return herr_set(r->err, HE_TYPE, "cannot create weak reference to '%s' object",
                    heap_type_name(o));
}

static int weakref_opts(req *r, uint32_t i, bool *callback)
{
    *callback = false;
    if (i >= r->nargs || r->args[i].type == MSGPACK_OBJECT_NIL)
        return 0;
    const msgpack_object *a = &r->args[i];
    if (a->type != MSGPACK_OBJECT_MAP)
        return herr_set(r->err, HE_TYPE, "weakref() opts must be a map");
    for (uint32_t k = 0; k < a->via.map.size; k++) {
        const msgpack_object_kv *kv = &a->via.map.ptr[k];
        if (!arg_is_str(&kv->key, "callback"))
            return herr_set(r->err, HE_VALUE, "weakref(): unknown option (\"callback\")");
        if (kv->val.type != MSGPACK_OBJECT_BOOLEAN)
            return herr_set(r->err, HE_TYPE, "weakref() callback must be a bool");
        *callback = kv->val.via.boolean;
    }
    return 0;
}

int m_weakref(req *r)
{
    hobj *o;
    bool callback;
    int rc = arg_target(r, 0, &o);
    if (!rc && !htype_is_weakrefable(o->type))
        rc = not_weakrefable(r, o);
    if (!rc)
        rc = weakref_opts(r, 1, &callback);
    if (!rc)
        rc = heap_check_room(r->h, 1, heap_cost(T_WEAKREF, 0), r->err);
    if (rc)
        return rc;
    uint32_t session = callback ? (uint32_t)ns_session_id(r->s) : 0;
    answer_handle(r, heap_weakref(r->h, o, session));
    return 0;
}

int m_weakref_get(req *r)
{
    hobj *w;
    int rc = arg_target(r, 0, &w);
    if (!rc && w->type != T_WEAKREF)
        rc = herr_set(r->err, HE_TYPE, "'%s' object is not a weakref", heap_type_name(w));
    if (rc)
        return rc;
    hobj *o = heap_weakref_get(r->h, w);
    if (o)
        enc_ref(r->out, o);
    else
        msgpack_pack_nil(r->out);
    return 0;
}

int m_weakref_count(req *r)
{
    hobj *o;
    int rc = arg_target(r, 0, &o);
    if (rc)
        return rc;
    msgpack_pack_uint32(r->out, heap_weakref_count(r->h, o));
    return 0;
}
