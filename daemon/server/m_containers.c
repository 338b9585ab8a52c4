/* Containers: getitem, setitem, delitem, append, extend, insert, pop,
 * remove, clear, add, discard, keys. Each validates and checks the limits
 * before it changes anything; removals never fail for lack of room. */
#include "cont.h"
#include "encode.h"
#include "handlers.h"
#include "hash.h"
#include "htab.h"
#include "repr.h"
#include "utf8.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define POP_DEPTH 16

static int no_attr(req *r, hobj *o, const char *attr)
{
    return herr_set(r->err, HE_TYPE, "'%s' object has no attribute '%s'", heap_type_name(o), attr);
}

static int need(req *r, hobj *o, htype t, const char *attr)
{
    return o->type == t ? 0 : no_attr(r, o, attr);
}

/* KeyError's message is the key's repr, as Python's is. */
static int key_error(req *r, hobj *key)
{
    char buf[120];
    obj_repr(key, buf, sizeof buf);
    return herr_set(r->err, HE_KEY, "%s", buf);
}

static int room(req *r, size_t bytes)
{
    return heap_check_room(r->h, 0, bytes, r->err);
}

/* Whether argument i is an int to Python's index protocol: bools are ints
 * there (True is 1), floats and the rest are not. */
static bool is_index(req *r, uint32_t i)
{
    msgpack_object_type t = r->args[i].type;
    return t == MSGPACK_OBJECT_POSITIVE_INTEGER || t == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
           t == MSGPACK_OBJECT_BOOLEAN;
}

/* The value of an argument is_index accepted (OverflowError past int64). */
static int index_value(req *r, uint32_t i, int64_t *out)
{
    if (r->args[i].type == MSGPACK_OBJECT_BOOLEAN)
        return *out = r->args[i].via.boolean, 0;
    return arg_int(r, i, out);
}

/* Python's words for a subscript that is not an int, naming its type:
 * "list indices must be integers or slices, not str". */
static int bad_subscript(req *r, hobj *seq, uint32_t i)
{
    const char *type;
    int rc = arg_type_name(r, i, &type);
    if (rc)
        return rc;
    if (seq->type == T_STR) /* as Python 3.11 words it */
        return herr_set(r->err, HE_TYPE, "string indices must be integers, not '%s'", type);
    return herr_set(r->err, HE_TYPE, "%s indices must be integers or slices, not %s",
                    seq->type == T_BYTES ? "byte" : heap_type_name(seq), type);
}

/* ... and for an argument that must be an int (list.insert, list.pop). */
static int not_an_integer(req *r, uint32_t i)
{
    const char *type;
    int rc = arg_type_name(r, i, &type);
    return rc ? rc
              : herr_set(r->err, HE_TYPE, "'%s' object cannot be interpreted as an integer", type);
}

/* A list or tuple index argument, normalized (negative counts from the end). */
static int list_index(req *r, hobj *seq, uint32_t arg, uint32_t *out)
{
    int64_t i;
    if (!is_index(r, arg))
        return bad_subscript(r, seq, arg);
    int rc = index_value(r, arg, &i);
    return rc ? rc : cont_index(seq, i, out, r->err);
}

/* A key argument for a dict or set: built, hashable. */
static int table_key(req *r, uint32_t arg, hobj **key, uint64_t *hash)
{
    int rc = arg_key(r, arg, key);
    if (rc)
        return rc;
    rc = cont_hash(*key, hash, r->err);
    if (rc)
        heap_decref(r->h, *key);
    return rc;
}

/* --- getitem -------------------------------------------------------------- */

static void pack_code_point(req *r, hstr *s, uint32_t index)
{
    const char *p = s->data, *end = p + s->len;
    for (uint32_t k = 0; k < index; k++)
        do
            p++;
        while (p < end && ((unsigned char)*p & 0xC0) == 0x80);
    const char *q = p + 1;
    while (q < end && ((unsigned char)*q & 0xC0) == 0x80)
        q++;
    msgpack_pack_str(r->out, (size_t)(q - p));
    msgpack_pack_str_body(r->out, p, (size_t)(q - p));
}

static int str_getitem(req *r, hobj *o)
{
    int64_t i;
    if (!is_index(r, 1))
        return bad_subscript(r, o, 1);
    int rc = index_value(r, 1, &i);
    if (rc)
        return rc;
    hstr *s = AS_STR(o);
    int64_t len = o->type == T_STR ? (int64_t)utf8_count(s->data, s->len) : s->len;
    if (i < 0)
        i += len;
    if (i < 0 || i >= len)
        return herr_set(r->err, HE_INDEX, "%s index out of range", heap_type_name(o));
    if (o->type == T_BYTES)
        msgpack_pack_uint8(r->out, (uint8_t)s->data[i]);
    else
        pack_code_point(r, s, (uint32_t)i);
    return 0;
}

/* A value found in dict d: a weak-valued dict's is its weakref's
 * referent (NULL once gone). */
static hobj *dict_value(req *r, hobj *d, hobj *v)
{
    return v && d->flag ? heap_weakref_get(r->h, v) : v;
}

int m_getitem(req *r)
{
    hobj *o, *key;
    uint32_t i;
    uint64_t hash;
    int rc = arg_target(r, 0, &o);
    if (rc)
        return rc;
    switch ((htype)o->type) {
    case T_LIST:
    case T_TUPLE:
        rc = list_index(r, o, 1, &i);
        if (!rc)
            enc_item(r->out, r->h, AS_LIST(o)->items[i]);
        return rc;
    case T_DICT: {
        if ((rc = table_key(r, 1, &key, &hash)))
            return rc;
        hobj *v = dict_value(r, o, cont_dict_get(o, key, hash));
        rc = v ? (enc_item(r->out, r->h, v), 0) : key_error(r, key);
        heap_decref(r->h, key);
        return rc;
    }
    case T_STR:
    case T_BYTES:
        return str_getitem(r, o);
    default:
        return herr_set(r->err, HE_TYPE, "'%s' object is not subscriptable", heap_type_name(o));
    }
}

/* --- setitem, delitem ------------------------------------------------------ */

static int not_assignable(req *r, hobj *o, const char *verb)
{
    return herr_set(r->err, HE_TYPE, "'%s' object does not support item %s", heap_type_name(o),
                    verb);
}

/* A weak-valued dict holds a weakref to val that belongs to the entry;
 * val itself may go at once (as with a temporary in Python). */
static void weak_set(req *r, hobj *d, hobj *key, uint64_t hash, hobj *val)
{
    /* an entry already there keeps its place and key: its weakref names it */
    int64_t pos = htab_find(AS_DICT(d), key, hash);
    hobj *entry_key = pos == HTAB_NONE ? key : htab_entry(AS_DICT(d), pos)->key;
    cont_dict_set(r->h, d, key, hash, heap_weak_entry(r->h, val, d, entry_key));
    heap_decref(r->h, val);
}

static int dict_setitem(req *r, hobj *d)
{
    hobj *key, *val;
    uint64_t hash;
    size_t extra = d->flag ? heap_cost(T_WEAKREF, 0) : 0;
    /* key and value are checked, limits included, before either is built:
     * a failed setitem leaves nothing, not even an interned key */
    int rc = arg_room_for_two(r, 1, 2, cont_table_grow_bytes(d, 1) + extra);
    if (!rc)
        rc = table_key(r, 1, &key, &hash);
    if (rc)
        return rc;
    if ((rc = arg_value(r, 2, &val))) {
        heap_decref(r->h, key);
        return rc;
    }
    if (d->flag && !htype_is_weakrefable(val->type)) {
        rc = herr_set(r->err, HE_TYPE, "cannot create weak reference to '%s' object",
                      heap_type_name(val));
        heap_decref(r->h, key);
        heap_decref(r->h, val);
        return rc;
    }
    cont_table_reserve(r->h, d, 1);
    if (d->flag)
        weak_set(r, d, key, hash, val);
    else
        cont_dict_set(r->h, d, key, hash, val);
    return 0;
}

int m_setitem(req *r)
{
    hobj *o, *val;
    uint32_t i;
    int rc = arg_target(r, 0, &o);
    if (rc)
        return rc;
    if (o->type == T_DICT)
        rc = dict_setitem(r, o);
    else if (o->type != T_LIST)
        return not_assignable(r, o, "assignment");
    else if (!(rc = list_index(r, o, 1, &i)) && !(rc = arg_value(r, 2, &val)))
        cont_list_set(r->h, o, i, val);
    if (!rc)
        msgpack_pack_nil(r->out);
    return rc;
}

int m_delitem(req *r)
{
    hobj *o, *key;
    uint32_t i;
    uint64_t hash;
    int rc = arg_target(r, 0, &o);
    if (rc)
        return rc;
    if (o->type == T_LIST) {
        if ((rc = list_index(r, o, 1, &i)))
            return rc;
        heap_decref(r->h, cont_list_take(r->h, o, i));
    } else if (o->type == T_DICT) {
        if ((rc = table_key(r, 1, &key, &hash)))
            return rc;
        rc = cont_dict_pop(r->h, o, key, hash, NULL, r->err);
        if (rc)
            key_error(r, key);
        heap_decref(r->h, key);
        if (rc)
            return rc;
    } else {
        return not_assignable(r, o, "deletion");
    }
    msgpack_pack_nil(r->out);
    return 0;
}

/* --- list methods ---------------------------------------------------------- */

int m_append(req *r)
{
    hobj *l, *v;
    int rc = arg_target(r, 0, &l);
    if (!rc)
        rc = need(r, l, T_LIST, "append");
    if (!rc)
        rc = room(r, cont_list_grow_bytes(l, 1));
    if (!rc)
        rc = arg_value(r, 1, &v);
    if (rc)
        return rc;
    cont_list_reserve(r->h, l, 1);
    cont_list_append(r->h, l, v);
    msgpack_pack_nil(r->out);
    return 0;
}

/* The items extend() takes from a value: a sequence's items, a dict's or a
 * set's keys. */
static int iter_items(req *r, hobj *src, hobj ***items, uint32_t *n, hentry **entries)
{
    *entries = NULL;
    if (src->type == T_LIST || src->type == T_TUPLE) {
        *items = AS_LIST(src)->items;
        *n = AS_LIST(src)->len;
        return 0;
    }
    if (src->type == T_DICT || src->type == T_SET) {
        *entries = AS_DICT(src)->tb ? AS_DICT(src)->tb->entries : NULL;
        *n = AS_DICT(src)->fill;
        return 0;
    }
    return herr_set(r->err, HE_TYPE, "'%s' object is not iterable", heap_type_name(src));
}

int m_extend(req *r)
{
    hobj *l, *src, **items = NULL;
    hentry *entries = NULL;
    uint32_t n = 0;
    int rc = arg_target(r, 0, &l);
    if (!rc)
        rc = need(r, l, T_LIST, "extend");
    if (!rc)
        rc = arg_value(r, 1, &src);
    if (rc)
        return rc;
    rc = iter_items(r, src, &items, &n, &entries);
    if (!rc)
        rc = room(r, cont_list_grow_bytes(l, n));
    if (!rc) {
        cont_list_reserve(r->h, l, n); /* may move l's items: index below, never hold */
        for (uint32_t i = 0; i < n; i++) {
            hobj *it = entries ? entries[i].key : (src == l ? AS_LIST(l)->items[i] : items[i]);
            if (it)
                cont_list_append(r->h, l, heap_incref(r->h, it));
        }
        msgpack_pack_nil(r->out);
    }
    heap_decref(r->h, src);
    return rc;
}

int m_insert(req *r)
{
    hobj *l, *v;
    int64_t index;
    int rc = arg_target(r, 0, &l);
    if (!rc)
        rc = need(r, l, T_LIST, "insert");
    if (!rc)
        rc = is_index(r, 1) ? index_value(r, 1, &index) : not_an_integer(r, 1);
    if (!rc)
        rc = room(r, cont_list_grow_bytes(l, 1));
    if (!rc)
        rc = arg_value(r, 2, &v);
    if (rc)
        return rc;
    cont_list_reserve(r->h, l, 1);
    cont_list_insert(r->h, l, index, v);
    msgpack_pack_nil(r->out);
    return 0;
}

/* Packs the removed object's value, then drops the reference it had. */
static void give_back(req *r, hobj *o)
{
    enc_value(r->out, r->h, o, POP_DEPTH);
    heap_decref(r->h, o);
}

static int list_pop(req *r, hobj *l)
{
    uint32_t i;
    int rc = 0;
    if (AS_LIST(l)->len == 0)
        return herr_set(r->err, HE_INDEX, "pop from empty list");
    if (r->nargs < 2)
        i = AS_LIST(l)->len - 1;
    else if (!is_index(r, 1))
        return not_an_integer(r, 1);
    else if ((rc = list_index(r, l, 1, &i)))
        return rc == HE_INDEX ? herr_set(r->err, rc, "pop index out of range") : rc;
    if ((rc = enc_value_fits(r->out, r->h, AS_LIST(l)->items[i], POP_DEPTH, r->err)))
        return rc; /* an answer too large fails before anything is popped */
    give_back(r, cont_list_take(r->h, l, i));
    return 0;
}

static int dict_pop(req *r, hobj *d)
{
    hobj *key, *val;
    uint64_t hash;
    if (r->nargs < 2)
        return herr_set(r->err, HE_TYPE, "pop expected at least 1 argument, got 0");
    int rc = table_key(r, 1, &key, &hash);
    if (rc)
        return rc;
    val = dict_value(r, d, cont_dict_get(d, key, hash));
    if (!val)
        rc = key_error(r, key);
    else if (!(rc = enc_value_fits(r->out, r->h, val, POP_DEPTH, r->err))) {
        heap_incref(r->h, val);                          /* (a weak dict holds a weakref) */
        cont_dict_pop(r->h, d, key, hash, NULL, r->err); /* found above */
        give_back(r, val);
    }
    heap_decref(r->h, key);
    return rc;
}

static int set_pop(req *r, hobj *s)
{
    hdict *d = AS_DICT(s);
    if (r->nargs > 1)
        return herr_set(r->err, HE_TYPE, "set.pop() takes no arguments (1 given)");
    for (uint32_t i = 0; d->tb && i < d->fill; i++) {
        hobj *k = htab_entry(d, i)->key;
        if (!k)
            continue;
        int rc = enc_value_fits(r->out, r->h, k, POP_DEPTH, r->err);
        if (rc)
            return rc;
        heap_incref(r->h, k);
        cont_set_discard(r->h, s, k, htab_entry(d, i)->hash);
        give_back(r, k);
        return 0;
    }
    return herr_set(r->err, HE_KEY, "'pop from an empty set'");
}

int m_pop(req *r)
{
    hobj *o;
    int rc = arg_target(r, 0, &o);
    if (rc)
        return rc;
    switch ((htype)o->type) {
    case T_LIST:
        return list_pop(r, o);
    case T_DICT:
        return dict_pop(r, o);
    case T_SET:
        return set_pop(r, o);
    default:
        return no_attr(r, o, "pop");
    }
}

int m_remove(req *r)
{
    hobj *o, *v;
    uint64_t hash;
    int rc = arg_target(r, 0, &o);
    if (!rc && o->type != T_LIST && o->type != T_SET)
        rc = no_attr(r, o, "remove");
    if (!rc)
        rc = o->type == T_SET ? table_key(r, 1, &v, &hash) : arg_value(r, 1, &v);
    if (rc)
        return rc;
    if (o->type == T_SET) {
        rc = cont_set_discard(r->h, o, v, hash) ? 0 : key_error(r, v);
    } else {
        uint32_t i = 0, len = AS_LIST(o)->len;
        while (i < len && !key_eq(AS_LIST(o)->items[i], v))
            i++;
        if (i < len)
            heap_decref(r->h, cont_list_take(r->h, o, i));
        else
            rc = herr_set(r->err, HE_VALUE, "list.remove(x): x not in list");
    }
    heap_decref(r->h, v);
    if (!rc)
        msgpack_pack_nil(r->out);
    return rc;
}

int m_clear(req *r)
{
    hobj *o;
    int rc = arg_target(r, 0, &o);
    if (!rc && !htype_is_mutable(o->type))
        rc = no_attr(r, o, "clear");
    if (rc)
        return rc;
    cont_clear(r->h, o);
    msgpack_pack_nil(r->out);
    return 0;
}

/* --- set methods ------------------------------------------------------------ */

int m_add(req *r)
{
    hobj *s, *key;
    uint64_t hash;
    int rc = arg_target(r, 0, &s);
    if (!rc)
        rc = need(r, s, T_SET, "add");
    if (!rc)
        rc = room(r, cont_table_grow_bytes(s, 1));
    if (!rc)
        rc = table_key(r, 1, &key, &hash);
    if (rc)
        return rc;
    cont_table_reserve(r->h, s, 1);
    cont_set_add(r->h, s, key, hash);
    msgpack_pack_nil(r->out);
    return 0;
}

int m_discard(req *r)
{
    hobj *s, *key;
    uint64_t hash;
    int rc = arg_target(r, 0, &s);
    if (!rc)
        rc = need(r, s, T_SET, "discard");
    if (!rc)
        rc = table_key(r, 1, &key, &hash);
    if (rc)
        return rc;
    cont_set_discard(r->h, s, key, hash);
    heap_decref(r->h, key);
    msgpack_pack_nil(r->out);
    return 0;
}

int m_keys(req *r)
{
    hobj *d;
    int rc = arg_target(r, 0, &d);
    if (!rc)
        rc = need(r, d, T_DICT, "keys");
    if (rc)
        return rc;
    hdict *t = AS_DICT(d);
    msgpack_pack_array(r->out, t->used);
    for (uint32_t i = 0; t->tb && i < t->fill; i++)
        if (htab_entry(t, i)->key)
            enc_value(r->out, r->h, htab_entry(t, i)->key, POP_DEPTH);
    return 0;
}
