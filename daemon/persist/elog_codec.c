/* The effect log's records: encoding an effect (the writer's hook, on the
 * loop thread) and applying a record to a heap (the replay). elog_fmt.h has
 * the format. Every byte applied is checked: a damaged or hostile log is an
 * error, never a crash. */
#include "cont.h"
#include "crc32c.h"
#include "elog_replay.h"
#include "htab.h"
#include "util.h"

#include <stdlib.h>

/* --- encoding ----------------------------------------------------------- */

void ebuf_reserve(ebuf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < more)
        cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

void ebuf_free(ebuf *b)
{
    free(b->p);
    *b = (ebuf){0};
}

static void put_u8(ebuf *b, uint8_t v)
{
    ebuf_reserve(b, 1);
    b->p[b->len++] = v;
}

static void put_uv(ebuf *b, uint64_t v)
{
    ebuf_reserve(b, 10);
    while (v >= 0x80) {
        b->p[b->len++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    b->p[b->len++] = (unsigned char)v;
}

static void put_bytes(ebuf *b, const void *p, size_t n)
{
    put_uv(b, n);
    ebuf_reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void put_id(ebuf *b, const hobj *o)
{
    put_uv(b, hobj_id(o));
}

/* A weakref: which parts it has (WREF_*), then its referent, then a
 * weak-valued dict entry's key and dict. The callback's session is not
 * logged: sessions end with a restart (as in a snapshot). */
enum { WREF_REFERENT = 1, WREF_ENTRY = 2 };

static void put_weakref(ebuf *b, const hweakref *w)
{
    put_u8(b, (uint8_t)((w->referent ? WREF_REFERENT : 0) | (w->key ? WREF_ENTRY : 0)));
    if (w->referent)
        put_id(b, w->referent);
    if (w->key) {
        put_id(b, w->key);
        put_uv(b, w->owner);
    }
}

/* A new object's value: by type code, so a new type adds a case here and
 * one in make_object below. */
static void put_new_payload(ebuf *b, const hobj *o)
{
    switch ((htype)o->type) {
    case T_BOOL:
        put_u8(b, (uint8_t)AS_INT(o)->v);
        break;
    case T_INT: {
        int64_t v = AS_INT(o)->v;
        put_uv(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
        break;
    }
    case T_FLOAT: {
        uint64_t bits;
        memcpy(&bits, &AS_FLOAT(o)->v, sizeof bits);
        ebuf_reserve(b, 8);
        elog_be64(b->p + b->len, bits);
        b->len += 8;
        break;
    }
    case T_STR:
    case T_BYTES:
        put_bytes(b, AS_STR(o)->data, AS_STR(o)->len);
        break;
    case T_TUPLE:
        put_uv(b, AS_TUPLE(o)->len);
        for (uint32_t i = 0; i < AS_TUPLE(o)->len; i++)
            put_id(b, AS_TUPLE(o)->items[i]);
        break;
    case T_TYPE:     /* name, attribute dict (its flag follows from the dict) */
    case T_INSTANCE: /* class, attribute dict, finalized flag */
        put_id(b, AS_REC(o)->ref[0]);
        put_id(b, AS_REC(o)->ref[1]);
        if (o->type == T_INSTANCE)
            put_u8(b, o->flag);
        break;
    case T_WEAKREF:
        put_weakref(b, AS_WEAK(o));
        break;
    default: /* None; list, dict, set: made empty */
        break;
    }
}

void elog_encode(ebuf *b, const heffect *e)
{
    put_u8(b, (uint8_t)e->kind);
    switch (e->kind) {
    case HEFF_NEW:
        put_id(b, e->o);
        put_new_payload(b, e->o);
        break;
    case HEFF_FREE:
    case HEFF_CLEAR:
    case HEFF_WEAK_CLEAR:
        put_id(b, e->o);
        break;
    case HEFF_FLAG:
        put_id(b, e->o);
        put_u8(b, (uint8_t)e->i);
        break;
    case HEFF_APPEND:
    case HEFF_SADD:
    case HEFF_SDEL:
    case HEFF_DDEL:
        put_id(b, e->o);
        put_id(b, e->a);
        break;
    case HEFF_INSERT:
    case HEFF_LSET:
        put_id(b, e->o);
        put_uv(b, e->i);
        put_id(b, e->a);
        break;
    case HEFF_LDEL:
        put_id(b, e->o);
        put_uv(b, e->i);
        break;
    case HEFF_DSET:
        put_id(b, e->o);
        put_id(b, e->a);
        put_id(b, e->b);
        break;
    case HEFF_BIND:
        put_bytes(b, e->name, e->len);
        put_id(b, e->a);
        break;
    case HEFF_UNBIND:
        put_bytes(b, e->name, e->len);
        break;
    }
}

void elog_segment_header(unsigned char out[ELOG_HEADER_LEN], uint32_t intern, uint64_t seq)
{
    memset(out, 0, ELOG_HEADER_LEN);
    memcpy(out, ELOG_MAGIC, 8);
    elog_be32(out + 8, ELOG_VERSION);
    elog_be32(out + 12, intern);
    elog_be64(out + 16, seq);
    elog_be32(out + 28, crc32c(0, out, 28));
}

/* --- applying ----------------------------------------------------------- */

struct rd {
    elog_replay *r;
    const unsigned char *p, *end;
    herr *err;
};

#define BAD(d, ...) herr_set((d)->err, HE_RUNTIME, __VA_ARGS__)
#define ULL(x)      ((unsigned long long)(x))

static int get_u8(struct rd *d, uint8_t *out)
{
    if (d->p >= d->end)
        return BAD(d, "record cut short");
    *out = *d->p++;
    return 0;
}

static int get_uv(struct rd *d, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (d->p >= d->end)
            return BAD(d, "record cut short");
        unsigned char c = *d->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return BAD(d, "varint longer than 64 bits");
}

static int get_bytes(struct rd *d, const char **p, size_t *n)
{
    uint64_t len;
    int rc = get_uv(d, &len);
    if (rc)
        return rc;
    if (len > (uint64_t)(d->end - d->p) || len > UINT32_MAX)
        return BAD(d, "length %llu runs past the block", ULL(len));
    *p = (const char *)d->p;
    *n = (size_t)len;
    d->p += len;
    return 0;
}

/* The live object an id names (a zombie included), of the wanted kind. */
enum want { W_ANY, W_LIST, W_DICT, W_SET, W_CONT };

static int get_obj(struct rd *d, enum want w, hobj **out)
{
    uint64_t id;
    int rc = get_uv(d, &id);
    if (rc)
        return rc;
    hobj *o = heap_lookup(d->r->h, id);
    if (!o)
        return BAD(d, "@%llu names no live object", ULL(id));
    bool ok = w == W_ANY || (w == W_LIST && o->type == T_LIST) ||
              (w == W_DICT && o->type == T_DICT) || (w == W_SET && o->type == T_SET) ||
              (w == W_CONT && hobj_is_container(o));
    if (!ok)
        return BAD(d, "@%llu is a %s, not what the record acts on", ULL(id), htype_name(o->type));
    *out = o;
    return 0;
}

static int get_key(struct rd *d, hobj **key, uint64_t *hash)
{
    int rc = get_obj(d, W_ANY, key);
    if (rc)
        return rc;
    herr e;
    if (cont_hash(*key, hash, &e))
        return BAD(d, "key @%llu: %s", ULL(hobj_id(*key)), e.msg);
    return 0;
}

static int make_tuple(struct rd *d, hobj **out)
{
    uint64_t n;
    int rc = get_uv(d, &n);
    if (rc)
        return rc;
    if (n > (uint64_t)(d->end - d->p)) /* each id takes at least a byte */
        return BAD(d, "tuple of %llu items runs past the block", ULL(n));
    hobj **items = xmalloc((n ? n : 1) * sizeof *items);
    for (uint64_t i = 0; i < n && !rc; i++)
        rc = get_obj(d, W_ANY, &items[i]);
    if (!rc) {
        for (uint64_t i = 0; i < n; i++)
            heap_incref(d->r->h, items[i]);
        *out = heap_tuple(d->r->h, items, (uint32_t)n);
    }
    free(items);
    return rc;
}

static int get_obj_of(struct rd *d, htype t, hobj **out)
{
    int rc = get_obj(d, W_ANY, out);
    if (!rc && (*out)->type != t)
        return BAD(d, "@%llu is a %s, not a %s", ULL(hobj_id(*out)), htype_name((*out)->type),
                   htype_name(t));
    return rc;
}

static int get_flag(struct rd *d, bool *out)
{
    uint8_t v = 0;
    int rc = get_u8(d, &v);
    if (!rc && v > 1)
        return BAD(d, "a flag of %u", (unsigned)v);
    *out = v;
    return rc;
}

/* A class (name, dict) or an instance (class, dict, flag). */
static int make_rec(struct rd *d, htype t, hobj **out)
{
    hobj *a, *dict;
    bool flag = false;
    int rc = get_obj_of(d, t == T_TYPE ? T_STR : T_TYPE, &a);
    if (!rc)
        rc = get_obj_of(d, T_DICT, &dict);
    if (!rc && t == T_INSTANCE)
        rc = get_flag(d, &flag);
    if (rc)
        return rc;
    heap *h = d->r->h;
    heap_incref(h, dict);
    *out = t == T_TYPE ? heap_class(h, heap_incref(h, a), dict) : heap_instance(h, a, dict);
    (*out)->flag = t == T_TYPE ? (*out)->flag : flag;
    return 0;
}

static int make_weakref(struct rd *d, hobj **out)
{
    uint8_t parts = 0;
    hobj *referent = NULL, *key = NULL;
    uint64_t owner = 0;
    int rc = get_u8(d, &parts);
    if (!rc && parts > (WREF_REFERENT | WREF_ENTRY))
        rc = BAD(d, "weakref parts %u", (unsigned)parts);
    if (!rc && (parts & WREF_REFERENT))
        rc = get_obj(d, W_CONT, &referent); /* what weakref() accepts */
    if (!rc && (parts & WREF_ENTRY))
        rc = get_obj(d, W_ANY, &key);
    if (!rc && (parts & WREF_ENTRY) && !(rc = get_uv(d, &owner)) && hid_type(owner) != T_DICT)
        rc = BAD(d, "weakref's dict @%llu is not a dict's id", ULL(owner));
    if (rc)
        return rc;
    *out = heap_restore_record(d->r->h, T_WEAKREF);
    heap_restore_weakref(d->r->h, *out, key, referent, owner);
    return 0;
}

/* The object of type t whose value follows, with the constructor's reference. */
static int make_object(struct rd *d, htype t, hobj **out)
{
    heap *h = d->r->h;
    uint64_t u;
    const char *s;
    size_t n;
    int rc = 0;
    switch (t) {
    case T_INT:
        if (!(rc = get_uv(d, &u)))
            *out = heap_int(h, (int64_t)(u >> 1) ^ -(int64_t)(u & 1));
        return rc;
    case T_FLOAT: {
        if (d->end - d->p < 8)
            return BAD(d, "record cut short");
        uint64_t bits = elog_get64(d->p);
        double v;
        memcpy(&v, &bits, sizeof v);
        d->p += 8;
        *out = heap_float(h, v);
        return 0;
    }
    case T_STR:
    case T_BYTES:
        if ((rc = get_bytes(d, &s, &n)))
            return rc;
        if (t == T_STR && !utf8_valid(s, n))
            return BAD(d, "str is not valid UTF-8");
        *out = t == T_STR ? heap_str(h, s, n) : heap_bytes(h, s, n);
        return 0;
    case T_TUPLE:
        return make_tuple(d, out);
    case T_LIST:
        *out = heap_list(h, 0);
        return 0;
    case T_DICT:
        *out = heap_dict(h);
        return 0;
    case T_SET:
        *out = heap_set(h);
        return 0;
    case T_TYPE:
    case T_INSTANCE:
        return make_rec(d, t, out);
    case T_WEAKREF:
        return make_weakref(d, out);
    default: /* None and bools are never made: heap_new's immortals */
        return BAD(d, "no object of type %s is ever made by a request", htype_name(t));
    }
}

static int rec_new(struct rd *d)
{
    uint64_t id;
    int rc = get_uv(d, &id);
    if (rc)
        return rc;
    htype t = hid_type(id);
    if (t >= T__COUNT)
        return BAD(d, "@%llu: type code %u is unknown to this heapd", ULL(id), (unsigned)t);
    if (!heap_replay_place(d->r->h, id))
        return BAD(d, "@%llu: its slot is in use or past its generation", ULL(id));
    hobj *o = NULL;
    rc = make_object(d, t, &o);
    heap_restore_unplace(d->r->h, t);
    if (rc)
        return rc;
    hid got = hobj_id(o);
    heap_decref(d->r->h, o); /* a zombie until stored, bound or freed */
    if (got != id)
        return BAD(d, "@%llu came out as @%llu (an equal interned object?)", ULL(id), ULL(got));
    return 0;
}

static int rec_free(struct rd *d)
{
    uint64_t id;
    int rc = get_uv(d, &id);
    if (rc)
        return rc;
    hobj *o = heap_lookup_zombie(d->r->h, id); /* doomed garbage included */
    if (!o)
        return 0; /* not in the snapshot (sessions' garbage), or freed at SESSIONS_END */
    if (o->refcnt)
        return BAD(d, "@%llu freed while %u references remain", ULL(id), (unsigned)o->refcnt);
    if (o->immortal && o->type != T_STR)
        return BAD(d, "@%llu is one of heap_new's immortals", ULL(id));
    heap_free_zombie(d->r->h, o);
    return 0;
}

static int rec_list(struct rd *d, enum heff_kind k)
{
    heap *h = d->r->h;
    hobj *l, *item = NULL;
    uint64_t i = 0;
    int rc = get_obj(d, W_LIST, &l);
    if (!rc && k != HEFF_APPEND)
        rc = get_uv(d, &i);
    if (!rc && k != HEFF_LDEL)
        rc = get_obj(d, W_ANY, &item);
    if (rc)
        return rc;
    uint32_t len = AS_LIST(l)->len;
    if (k == HEFF_INSERT ? i > len : k != HEFF_APPEND && i >= len)
        return BAD(d, "index %llu outside list @%llu of %u items", ULL(i), ULL(hobj_id(l)), len);
    if ((k == HEFF_APPEND || k == HEFF_INSERT) && len == UINT32_MAX)
        return BAD(d, "list @%llu is full", ULL(hobj_id(l)));
    if (k == HEFF_APPEND || k == HEFF_INSERT)
        cont_list_reserve(h, l, 1);
    if (k == HEFF_APPEND)
        cont_list_append(h, l, heap_incref(h, item));
    else if (k == HEFF_INSERT)
        cont_list_insert(h, l, (int64_t)i, heap_incref(h, item));
    else if (k == HEFF_LSET)
        cont_list_set(h, l, (uint32_t)i, heap_incref(h, item));
    else
        heap_decref(h, cont_list_take(h, l, (uint32_t)i));
    return 0;
}

/* Whether w may be weak-valued dict t's value under key: its entry's own
 * weakref (an entry already there keeps its key; heap_check's invariant). */
static bool own_weakref(hobj *t, hobj *key, uint64_t hash, const hobj *w)
{
    int64_t pos = htab_find(AS_DICT(t), key, hash);
    hobj *entry_key = pos == HTAB_NONE ? key : htab_entry(AS_DICT(t), pos)->key;
    return w->type == T_WEAKREF && AS_WEAK(w)->owner == hobj_id(t) && AS_WEAK(w)->key == entry_key;
}

static bool weak_valued_ok(hobj *t)
{
    hdict *dt = AS_DICT(t);
    for (uint32_t i = 0; dt->tb && i < dt->fill; i++) {
        hentry *e = htab_entry(dt, i);
        if (e->key && !own_weakref(t, e->key, e->hash, e->val))
            return false;
    }
    return true;
}

static int rec_table(struct rd *d, enum heff_kind k)
{
    heap *h = d->r->h;
    hobj *t, *key, *val = NULL;
    uint64_t hash;
    int rc = get_obj(d, k == HEFF_DSET || k == HEFF_DDEL ? W_DICT : W_SET, &t);
    if (!rc)
        rc = get_key(d, &key, &hash);
    if (!rc && k == HEFF_DSET)
        rc = get_obj(d, W_ANY, &val);
    if (rc)
        return rc;
    if (k == HEFF_DSET && t->flag && !own_weakref(t, key, hash, val))
        return BAD(d, "weak-valued dict @%llu: @%llu is not its entry's weakref", ULL(hobj_id(t)),
                   ULL(hobj_id(val)));
    bool there = cont_table_contains(t, key, hash);
    if ((k == HEFF_DDEL || k == HEFF_SDEL) && !there)
        return BAD(d, "@%llu has no key equal to @%llu", ULL(hobj_id(t)), ULL(hobj_id(key)));
    if (k == HEFF_SADD && there)
        return BAD(d, "set @%llu has @%llu already", ULL(hobj_id(t)), ULL(hobj_id(key)));
    if (k == HEFF_DSET || k == HEFF_SADD)
        cont_table_reserve(h, t, 1);
    if (k == HEFF_DSET)
        cont_dict_set(h, t, heap_incref(h, key), hash, heap_incref(h, val));
    else if (k == HEFF_SADD)
        cont_set_add(h, t, heap_incref(h, key), hash);
    else if (k == HEFF_DDEL)
        cont_dict_pop(h, t, key, hash, NULL, NULL);
    else
        cont_set_discard(h, t, key, hash);
    return 0;
}

static int rec_name(struct rd *d, bool bind)
{
    const char *name;
    size_t len;
    hobj *o = NULL;
    herr e;
    int rc = get_bytes(d, &name, &len);
    if (!rc && (ns_check_name(name, len, &e) || ns_check_bindable(len, &e)))
        rc = BAD(d, "bad name: %s", e.msg);
    if (!rc && bind)
        rc = get_obj(d, W_ANY, &o);
    if (rc)
        return rc;
    if (bind)
        ns_bind(d->r->ns, NULL, name, len, heap_incref(d->r->h, o), true);
    else if (ns_unbind(d->r->ns, NULL, name, len, true, &e))
        return BAD(d, "%s", e.msg);
    return 0;
}

static int rec_clear(struct rd *d)
{
    hobj *o;
    int rc = get_obj(d, W_CONT, &o);
    if (!rc)
        heap_effect_clear(d->r->h, o);
    return rc;
}

/* A class's "__del__" cache, an instance finalized by the collector, a
 * dict made weak-valued (whose values are its entries' weakrefs already). */
static int rec_flag(struct rd *d)
{
    hobj *o;
    bool on;
    int rc = get_obj(d, W_ANY, &o);
    if (!rc)
        rc = get_flag(d, &on);
    if (rc)
        return rc;
    bool ok = o->type == T_TYPE || (o->type == T_INSTANCE && on) ||
              (o->type == T_DICT && on && !o->flag && weak_valued_ok(o));
    if (!ok)
        return BAD(d, "flag %d cannot be set on %s @%llu", on, htype_name(o->type),
                   ULL(hobj_id(o)));
    o->flag = on;
    return 0;
}

static int rec_weak_clear(struct rd *d)
{
    hobj *o;
    int rc = get_obj(d, W_CONT, &o);
    if (!rc && !o->weakly)
        return BAD(d, "@%llu has no weakrefs to clear", ULL(hobj_id(o)));
    if (!rc)
        heap_effect_weak_clear(d->r->h, o);
    return rc;
}

static int record(struct rd *d)
{
    uint8_t kind;
    int rc = get_u8(d, &kind);
    if (rc)
        return rc;
    switch (kind) {
    case HEFF_NEW:
        return rec_new(d);
    case HEFF_FREE:
        return rec_free(d);
    case HEFF_CLEAR:
        return rec_clear(d);
    case HEFF_APPEND:
    case HEFF_INSERT:
    case HEFF_LSET:
    case HEFF_LDEL:
        return rec_list(d, kind);
    case HEFF_DSET:
    case HEFF_DDEL:
    case HEFF_SADD:
    case HEFF_SDEL:
        return rec_table(d, kind);
    case HEFF_BIND:
    case HEFF_UNBIND:
        return rec_name(d, kind == HEFF_BIND);
    case HEFF_FLAG:
        return rec_flag(d);
    case HEFF_WEAK_CLEAR:
        return rec_weak_clear(d);
    case ELOG_SESSIONS_END:
        heap_sweep_zombies(d->r->h);
        heap_set_defer_frees(d->r->h, true);
        return 0;
    default:
        return BAD(d, "unknown record kind %u", (unsigned)kind);
    }
}

int elog_apply(elog_replay *r, const unsigned char *p, size_t n, size_t *at, herr *err)
{
    struct rd d = {r, p, p + n, err};
    while (d.p < d.end) {
        const unsigned char *start = d.p;
        int rc = record(&d);
        if (rc) {
            *at = (size_t)(start - p);
            return rc;
        }
        r->records++;
    }
    return 0;
}

void elog_replay_begin(elog_replay *r, heap *h, hns *ns)
{
    *r = (elog_replay){.h = h, .ns = ns};
    heap_set_defer_frees(h, true);
}

void elog_replay_end(elog_replay *r)
{
    heap_restore_end(r->h);
    heap_set_defer_frees(r->h, false);
}
