/* Loading a snapshot (snapshot.h, snap_fmt.h).
 *
 * The whole file is checked first (size, checksum, magic, version); then
 * each record is pre-scanned (mpscan: declared lengths must fit in the
 * bytes that are left, so a bad length costs no memory), unpacked, and
 * checked before it changes anything. Objects are made by the ordinary
 * constructors in the slots their ids name (heap_restore_place), so
 * interning, accounting and hashes are right by construction; each
 * constructor's reference is the loader's own until the end, when every
 * object must also be held by a container or a name, and the loader's
 * references are dropped. If anything is wrong, undo() unbinds and frees
 * all the load made. Nothing recurses: containers are made empty before
 * any is filled, and tuples arrive after the tuples they hold. */
#include "cont.h"
#include "crc32c.h"
#include "hash.h"
#include "mpscan.h"
#include "paths.h"
#include "effects.h"
#include "snap_fmt.h"
#include "gc.h"
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct bound {
    const char *name;
    size_t len;
};

struct loader {
    heap *h;
    hns *ns;
    herr *err;
    const char *p;
    size_t pos, end; /* the records are p[pos..end) */
    msgpack_zone zone;
    int phase; /* kind of the last record read (0: none yet) */
    uint32_t nslots[T__COUNT];
    uint64_t *seen[T__COUNT]; /* objects this file made, by slot */
    uint32_t gens_done;       /* bit t: type t's GENS record came */
    uint32_t gen_next[T__COUNT];
    uint64_t objects, want_objects, want_names;
    int64_t saved_at;
    uint64_t log_seq; /* the header's: what sessions held is in the file too */
    bool live;        /* the header's: every object alive at the save's instant is here */
    /* the open sequence (TUPLE, FILL or GENS) and its entries to come */
    int open;
    uint64_t left;
    htype gens_type;
    hobj *fill;
    hid tuple_id;
    hobj **items; /* the tuple's items so far (references held) */
    uint32_t got, items_cap;
    struct bound *bound; /* names bound, for undo */
    size_t nbound, bound_cap;
    uint32_t version;  /* of the file: 1 has no RECS, and 10 types */
    uint64_t recs_got; /* RECS entries read */
    uint64_t cleared;  /* classes and instances loaded as the collector's garbage */
};

#define BAD(ld, ...) herr_set((ld)->err, HE_RUNTIME, __VA_ARGS__)
#define ULL(x)       ((unsigned long long)(x))

static const char *const kind_names[] = {
    "?", "header", "gens", "scalars", "shells", "tuple", "fill", "recs", "names", "end", "more",
};

/* Version 1's types and kinds: no class, instance or weakref, no RECS. */
#define V1_TYPES 10

/* --- ids and objects ----------------------------------------------------- */

static int take_id(struct loader *ld, const msgpack_object *v, hid *out)
{
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return BAD(ld, "an id is not an unsigned int (msgpack type %d)", (int)v->type);
    hid id = v->via.u64;
    htype t = hid_type(id);
    if (t >= T__COUNT || (id >> 36 & 0xF) || id >> 63 || hid_slot(id) >= ld->nslots[t])
        return BAD(ld, "id %llu names no slot of this snapshot", ULL(id));
    *out = id;
    return 0;
}

/* The object a reference in the file names: one this file made already. */
static int resolve(struct loader *ld, const msgpack_object *v, hobj **out)
{
    hid id;
    int rc = take_id(ld, v, &id);
    if (rc)
        return rc;
    hobj *o = slab_at(heap_slab(ld->h, hid_type(id)), hid_slot(id));
    if (!bit_get(ld->seen[hid_type(id)], hid_slot(id)) || o->gen != hid_gen(id))
        return BAD(ld, "@%llu is referenced before it is defined, or never", ULL(id));
    if (o->refcnt >= UINT32_MAX - 1)
        return BAD(ld, "@%llu has more references than a count holds", ULL(id));
    *out = o;
    return 0;
}

static bool is_seen(const struct loader *ld, hid id)
{
    return bit_get(ld->seen[hid_type(id)], hid_slot(id));
}

/* Readies id's slot for the next constructor: an immortal heap_new made is
 * already there (*premade: the constructor returns it), else the dead slot
 * is placed. */
static int claim(struct loader *ld, hid id, bool *premade)
{
    hobj *o = slab_at(heap_slab(ld->h, hid_type(id)), hid_slot(id));
    if (is_seen(ld, id))
        return BAD(ld, "@%llu is defined twice", ULL(id));
    *premade = !o->dead;
    if (*premade && o->gen == hid_gen(id))
        return 0;
    if (*premade || !heap_restore_place(ld->h, id))
        return BAD(ld, "@%llu: its slot's generation is %u", ULL(id), (unsigned)o->gen);
    return 0;
}

/* Checks that the constructor made (or found) exactly the object id names,
 * and records it; the constructor's reference is now the loader's. */
static int claimed(struct loader *ld, hid id, bool premade, hobj *o)
{
    if (!premade)
        heap_restore_unplace(ld->h, hid_type(id));
    hid got = hobj_id(o);
    if (got != id) {
        heap_decref(ld->h, o);
        if (premade)
            return BAD(ld, "@%llu differs from the immortal heap_new made there", ULL(id));
        return BAD(ld, "@%llu equals @%llu, and intern policy '%s' makes them one object", ULL(id),
                   ULL(got), intern_policy_name(heap_cfg(ld->h)->intern));
    }
    bit_set(ld->seen[hid_type(id)], hid_slot(id));
    ld->objects++;
    return 0;
}

static int make_scalar(struct loader *ld, htype t, const msgpack_object *v, hobj **out)
{
    heap *h = ld->h;
    switch (t) {
    case T_NONE:
        *out = v->type == MSGPACK_OBJECT_NIL ? heap_none(h) : NULL;
        break;
    case T_BOOL:
        *out = v->type == MSGPACK_OBJECT_BOOLEAN ? heap_bool(h, v->via.boolean) : NULL;
        break;
    case T_INT:
        if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX)
            *out = heap_int(h, (int64_t)v->via.u64);
        else
            *out = v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? heap_int(h, v->via.i64) : NULL;
        break;
    case T_FLOAT:
        *out = v->type == MSGPACK_OBJECT_FLOAT64 || v->type == MSGPACK_OBJECT_FLOAT32
                   ? heap_float(h, v->via.f64)
                   : NULL;
        break;
    case T_STR:
        *out = v->type == MSGPACK_OBJECT_STR && v->via.str.size < UINT32_MAX &&
                       utf8_valid(v->via.str.ptr, v->via.str.size)
                   ? heap_str(h, v->via.str.size ? v->via.str.ptr : "", v->via.str.size)
                   : NULL;
        break;
    default: /* T_BYTES */
        *out = v->type == MSGPACK_OBJECT_BIN && v->via.bin.size < UINT32_MAX
                   ? heap_bytes(h, v->via.bin.size ? v->via.bin.ptr : "", v->via.bin.size)
                   : NULL;
        break;
    }
    return *out ? 0 : BAD(ld, "a %s value cannot be msgpack type %d", htype_name(t), (int)v->type);
}

static int scalar(struct loader *ld, const msgpack_object *idv, const msgpack_object *val)
{
    hid id;
    bool premade;
    hobj *o;
    int rc = take_id(ld, idv, &id);
    if (!rc && htype_is_container(hid_type(id)))
        rc = BAD(ld, "@%llu: a %s among the scalars", ULL(id), htype_name(hid_type(id)));
    if (!rc)
        rc = claim(ld, id, &premade);
    if (rc)
        return rc;
    rc = make_scalar(ld, hid_type(id), val, &o);
    if (rc) {
        if (!premade)
            heap_restore_unplace(ld->h, hid_type(id));
        return rc;
    }
    return claimed(ld, id, premade, o);
}

static int shell(struct loader *ld, const msgpack_object *idv)
{
    hid id = 0;
    bool premade;
    int rc = take_id(ld, idv, &id);
    htype t = hid_type(id);
    if (!rc && !htype_is_mutable(t) && !htype_is_record(t))
        rc = BAD(ld, "@%llu: a %s among the shells", ULL(id), htype_name(t));
    if (!rc)
        rc = claim(ld, id, &premade);
    if (rc)
        return rc;
    hobj *o = t == T_LIST   ? heap_list(ld->h, 0)
              : t == T_DICT ? heap_dict(ld->h)
              : t == T_SET  ? heap_set(ld->h)
                            : heap_restore_record(ld->h, t);
    return claimed(ld, id, premade, o);
}

/* --- sequences: GENS, TUPLE, FILL ---------------------------------------- */

static unsigned entry_width(const struct loader *ld)
{
    return ld->open == SR_GENS || (ld->open == SR_FILL && ld->fill->type == T_DICT) ? 2 : 1;
}

static int gens_entry(struct loader *ld, const msgpack_object *e)
{
    htype t = ld->gens_type;
    if (e[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        e[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || e[0].via.u64 == 0 ||
        e[0].via.u64 > ld->nslots[t] - ld->gen_next[t] || e[1].via.u64 > HGEN_MAX)
        return BAD(ld, "a bad run of %s slot generations at slot %u", htype_name(t),
                   ld->gen_next[t]);
    for (uint32_t n = (uint32_t)e[0].via.u64; n; n--, ld->gen_next[t]++)
        if (!heap_restore_gen(ld->h, t, ld->gen_next[t], (uint32_t)e[1].via.u64))
            return BAD(ld,
                       "%s slot %u: generation %llu, but heap_new's immortal there has "
                       "another (written under another intern policy?)",
                       htype_name(t), ld->gen_next[t], ULL(e[1].via.u64));
    return 0;
}

static int tuple_entry(struct loader *ld, const msgpack_object *e)
{
    hobj *o;
    int rc = resolve(ld, e, &o);
    if (!rc)
        ld->items[ld->got++] = heap_incref(ld->h, o);
    return rc;
}

static int table_add(struct loader *ld, hobj *d, hobj *k, hobj *v)
{
    uint64_t hash;
    if (!obj_hash(k, &hash))
        return BAD(ld, "%s @%llu: key @%llu is unhashable", htype_name(d->type), ULL(hobj_id(d)),
                   ULL(hobj_id(k)));
    if (cont_table_contains(d, k, hash))
        return BAD(ld, "%s @%llu: key @%llu is there twice (or an equal key is)",
                   htype_name(d->type), ULL(hobj_id(d)), ULL(hobj_id(k)));
    heap_incref(ld->h, k);
    if (v)
        cont_dict_set(ld->h, d, k, hash, heap_incref(ld->h, v));
    else
        cont_set_add(ld->h, d, k, hash);
    return 0;
}

static int fill_entry(struct loader *ld, const msgpack_object *e)
{
    hobj *d = ld->fill, *k, *v = NULL;
    int rc = resolve(ld, &e[0], &k);
    if (!rc && d->type == T_DICT)
        rc = resolve(ld, &e[1], &v);
    if (rc)
        return rc;
    if (d->type != T_LIST)
        return table_add(ld, d, k, v);
    cont_list_append(ld->h, d, heap_incref(ld->h, k));
    return 0;
}

static int close_tuple(struct loader *ld)
{
    bool premade;
    int rc = claim(ld, ld->tuple_id, &premade);
    if (rc)
        return rc;
    hobj *t = heap_tuple(ld->h, ld->items, ld->got); /* steals the item references */
    free(ld->items);
    ld->items = NULL;
    ld->got = ld->items_cap = 0;
    return claimed(ld, ld->tuple_id, premade, t);
}

/* A count is announced before its entries, and a bad file may announce
 * more than it holds; so room grows with the entries that arrive, doubling
 * up to the count (where it ends exactly, for lists and tuples). */
static uint32_t grown(uint32_t cap, uint64_t need, uint64_t total)
{
    uint64_t c = (uint64_t)cap * 2 > need ? (uint64_t)cap * 2 : need;
    return (uint32_t)(c < total ? c : total);
}

static void make_room(struct loader *ld, uint32_t n)
{
    if (ld->open == SR_TUPLE && ld->got + n > ld->items_cap) {
        ld->items_cap = grown(ld->items_cap, ld->got + n, ld->got + ld->left);
        ld->items = xrealloc(ld->items, ld->items_cap * sizeof *ld->items);
    } else if (ld->open == SR_FILL && ld->fill->type == T_LIST) {
        /* Version 3 may fill a list in many records: room doubles past
         * each record's count then, and trim_lists sizes it at the end. */
        hlist *l = AS_LIST(ld->fill);
        uint64_t total = ld->version < 3 ? l->len + ld->left : UINT32_MAX;
        if (l->len + n > l->cap)
            cont_list_set_cap(ld->h, ld->fill, grown(l->cap, l->len + n, total));
    } else if (ld->open == SR_FILL) {
        cont_table_reserve(ld->h, ld->fill, n);
    }
}

/* The entries of arr (a record's array) for the open sequence. */
static int seq_entries(struct loader *ld, const msgpack_object *arr)
{
    unsigned w = entry_width(ld);
    if (arr->type != MSGPACK_OBJECT_ARRAY || arr->via.array.size % w ||
        arr->via.array.size / w > ld->left || (!arr->via.array.size && ld->left))
        return BAD(ld, "a %s record's entries do not match its count", kind_names[ld->open]);
    const msgpack_object *e = arr->via.array.ptr;
    uint32_t n = arr->via.array.size / w;
    make_room(ld, n);
    for (uint32_t i = 0; i < n; i++, e += w) {
        int rc = ld->open == SR_GENS   ? gens_entry(ld, e)
                 : ld->open == SR_FILL ? fill_entry(ld, e)
                                       : tuple_entry(ld, e);
        if (rc)
            return rc;
    }
    ld->left -= n;
    if (ld->left)
        return 0;
    int kind = ld->open;
    ld->open = 0;
    return kind == SR_TUPLE ? close_tuple(ld) : 0;
}

/* [kind, key, n, entries]: n must fit in what is left of the file, since
 * every entry takes at least a byte. */
static int seq_count(struct loader *ld, const msgpack_object *a, uint64_t *n)
{
    if (a[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a[2].via.u64 > ld->end - ld->pos ||
        a[2].via.u64 > UINT32_MAX)
        return BAD(ld, "a %s record with a bad count", kind_names[a[0].via.u64]);
    *n = a[2].via.u64;
    return 0;
}

static int gens_start(struct loader *ld, const msgpack_object *a)
{
    uint64_t n = 0;
    int rc = seq_count(ld, a, &n);
    if (rc)
        return rc;
    /* Version 3 may give a type's generations in several records in a row. */
    if (a[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a[1].via.u64 >= T__COUNT ||
        (ld->gens_done >> a[1].via.u64 & 1 && (ld->version < 3 || a[1].via.u64 != ld->gens_type)))
        return BAD(ld, "a gens record for a bad or repeated type");
    ld->gens_type = (htype)a[1].via.u64;
    ld->gens_done |= 1u << ld->gens_type;
    ld->open = SR_GENS, ld->left = n;
    return seq_entries(ld, &a[3]);
}

static int tuple_start(struct loader *ld, const msgpack_object *a)
{
    uint64_t n = 0;
    hid id = 0;
    int rc = seq_count(ld, a, &n);
    if (!rc)
        rc = take_id(ld, &a[1], &id);
    if (rc)
        return rc;
    if (hid_type(id) != T_TUPLE || is_seen(ld, id))
        return BAD(ld, "@%llu: not a new tuple", ULL(id));
    ld->tuple_id = id;
    ld->got = 0;
    ld->open = SR_TUPLE, ld->left = n;
    if (n)
        return seq_entries(ld, &a[3]);
    ld->open = 0;
    if (a[3].type != MSGPACK_OBJECT_ARRAY || a[3].via.array.size)
        return BAD(ld, "@%llu: an empty tuple with entries", ULL(id));
    return close_tuple(ld);
}

static int fill_start(struct loader *ld, const msgpack_object *a)
{
    uint64_t n = 0;
    hobj *o = NULL;
    int rc = seq_count(ld, a, &n);
    if (!rc)
        rc = resolve(ld, &a[1], &o);
    if (rc)
        return rc;
    /* Version 3 may give a container's entries in several FILL records. */
    if (!htype_is_mutable(o->type) || n == 0 ||
        (ld->version < 3 && (o->type == T_LIST ? AS_LIST(o)->len : AS_DICT(o)->used) != 0))
        return BAD(ld, "@%llu: not an empty list, dict or set to fill", ULL(hobj_id(o)));
    ld->fill = o;
    ld->open = SR_FILL, ld->left = n;
    return seq_entries(ld, &a[3]);
}

/* --- flat records: SCALARS, SHELLS, NAMES --------------------------------- */

static int flat_entries(struct loader *ld, const msgpack_object *arr, unsigned w,
                        const msgpack_object **e, uint32_t *n)
{
    if (arr->type != MSGPACK_OBJECT_ARRAY || arr->via.array.size % w)
        return BAD(ld, "a record's entries are not in groups of %u", w);
    *e = arr->via.array.ptr;
    *n = arr->via.array.size / w;
    return 0;
}

static int scalars(struct loader *ld, const msgpack_object *arr)
{
    const msgpack_object *e = NULL;
    uint32_t n = 0;
    int rc = flat_entries(ld, arr, 2, &e, &n);
    for (uint32_t i = 0; !rc && i < n; i++)
        rc = scalar(ld, &e[2 * i], &e[2 * i + 1]);
    return rc;
}

static int shells(struct loader *ld, const msgpack_object *arr)
{
    const msgpack_object *e = NULL;
    uint32_t n = 0;
    int rc = flat_entries(ld, arr, 1, &e, &n);
    for (uint32_t i = 0; !rc && i < n; i++)
        rc = shell(ld, &e[i]);
    return rc;
}

/* --- RECS: classes, instances, weakrefs, weak-valued dicts ------------------- */

/* An id of the file that may be 0 (nothing). */
static int resolve_or_null(struct loader *ld, const msgpack_object *v, hobj **out)
{
    *out = NULL;
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 == 0)
        return 0;
    return resolve(ld, v, out);
}

/* A record's shell is filled once: its first reference is still NULL. */
static bool unfilled(const hobj *o)
{
    return o->type == T_WEAKREF ? !AS_WEAK(o)->key && !AS_WEAK(o)->referent && !AS_WEAK(o)->owner
                                : !AS_REC(o)->ref[0];
}

static int rec_fill(struct loader *ld, hobj *o, hobj *a, hobj *b, uint64_t owner, bool flag)
{
    if (o->type == T_WEAKREF) {
        if (b && !htype_is_weakrefable(b->type))
            return BAD(ld, "weakref @%llu: a %s cannot be weakly referenced", ULL(hobj_id(o)),
                       htype_name(b->type));
        if (!a != !owner || flag)
            return BAD(ld, "weakref @%llu: a key goes with an owner", ULL(hobj_id(o)));
        heap_restore_weakref(ld->h, o, a, b, owner);
        return 0;
    }
    htype want = o->type == T_TYPE ? T_STR : T_TYPE;
    if (!a || !b || a->type != want || b->type != T_DICT || owner)
        return BAD(ld, "%s @%llu: a wrong %s or dict", htype_name(o->type), ULL(hobj_id(o)),
                   o->type == T_TYPE ? "name" : "class");
    heap_restore_rec(ld->h, o, a, b, flag);
    return 0;
}

static int rec_cleared(struct loader *ld, hobj *o, bool holds, bool flag)
{
    if ((o->type != T_TYPE && o->type != T_INSTANCE) || holds || !unfilled(o) || o->doomed)
        return BAD(ld, "a recs entry for @%llu: only an empty class or instance is cleared",
                   ULL(hobj_id(o)));
    ld->recs_got++;
    ld->cleared++;
    heap_restore_cleared(ld->h, o, flag);
    return 0;
}

static int rec_entry(struct loader *ld, const msgpack_object *e)
{
    hobj *o, *a, *b;
    int rc = resolve(ld, &e[0], &o);
    if (!rc)
        rc = resolve_or_null(ld, &e[1], &a);
    if (!rc)
        rc = resolve_or_null(ld, &e[2], &b);
    if (rc)
        return rc;
    if (e[3].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        e[4].type != MSGPACK_OBJECT_POSITIVE_INTEGER || e[4].via.u64 > (ld->version < 3 ? 1 : 3))
        return BAD(ld, "a recs entry for @%llu has a bad owner or flags", ULL(hobj_id(o)));
    bool flag = e[4].via.u64 & 1;
    if (e[4].via.u64 & 2) /* version 3: emptied by the collector */
        return rec_cleared(ld, o, a || b || e[3].via.u64, flag);
    if (o->type == T_DICT && !a && !b && !e[3].via.u64 && flag && !o->flag) {
        o->flag = 1; /* weak-valued: its values are checked at the end */
        return 0;
    }
    if (!htype_is_record(o->type) || !unfilled(o))
        return BAD(ld, "a recs entry for @%llu, a %s (or a second one)", ULL(hobj_id(o)),
                   htype_name(o->type));
    ld->recs_got++;
    return rec_fill(ld, o, a, b, e[3].via.u64, flag);
}

static int recs(struct loader *ld, const msgpack_object *arr)
{
    const msgpack_object *e = NULL;
    uint32_t n = 0;
    int rc = flat_entries(ld, arr, 5, &e, &n);
    for (uint32_t i = 0; !rc && i < n; i++)
        rc = rec_entry(ld, &e[5 * i]);
    return rc;
}

/* After the records: every class and instance was filled, and each value
 * of a weak-valued dict is its own entry's weakref. */
static void check_rec(struct loader *ld, hobj *o)
{
    if (ld->err->code)
        return;
    if ((o->type == T_TYPE || o->type == T_INSTANCE) && unfilled(o) && !o->doomed)
        BAD(ld, "%s @%llu has no recs entry", htype_name(o->type), ULL(hobj_id(o)));
    if (o->type != T_DICT || !o->flag)
        return;
    hdict *d = AS_DICT(o);
    for (uint32_t i = 0; d->tb && i < d->fill; i++) {
        hentry *en = htab_entry(d, i);
        if (en->key && (en->val->type != T_WEAKREF || AS_WEAK(en->val)->owner != hobj_id(o) ||
                        AS_WEAK(en->val)->key != en->key)) {
            BAD(ld, "weak-valued dict @%llu: a value is not its entry's weakref", ULL(hobj_id(o)));
            return;
        }
    }
}

static int bind_name(struct loader *ld, const msgpack_object *nv, const msgpack_object *idv)
{
    hobj *o;
    herr nerr;
    if (nv->type != MSGPACK_OBJECT_STR)
        return BAD(ld, "a name is not a str");
    const char *name = nv->via.str.ptr;
    size_t len = nv->via.str.size;
    if (ns_check_name(name, len, &nerr) || ns_check_bindable(len, &nerr))
        return BAD(ld, "a bad name: %s", nerr.msg);
    int rc = resolve(ld, idv, &o);
    if (rc)
        return rc;
    if (ns_lookup(ld->ns, NULL, name, len))
        return BAD(ld, "name '%.*s' is bound twice", (int)(len > 60 ? 60 : len), name);
    if (ld->nbound == ld->bound_cap)
        ld->bound =
            xrealloc(ld->bound, (ld->bound_cap = ld->bound_cap * 2 + 64) * sizeof *ld->bound);
    ld->bound[ld->nbound++] = (struct bound){name, len};
    ns_bind(ld->ns, NULL, name, len, heap_incref(ld->h, o), true);
    return 0;
}

static int names(struct loader *ld, const msgpack_object *arr)
{
    const msgpack_object *e = NULL;
    uint32_t n = 0;
    int rc = flat_entries(ld, arr, 2, &e, &n);
    for (uint32_t i = 0; !rc && i < n; i++)
        rc = bind_name(ld, &e[2 * i], &e[2 * i + 1]);
    return rc;
}

/* --- header and end -------------------------------------------------------- */

static bool key_is(const msgpack_object *k, const char *s)
{
    size_t n = strlen(s);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(k->via.str.ptr, s, n) == 0;
}

static bool take_u64(const msgpack_object *v, uint64_t *out)
{
    *out = v->via.u64;
    return v->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
}

static int header_slots(struct loader *ld, const msgpack_object *v)
{
    uint32_t types = ld->version == 1 ? V1_TYPES : T__COUNT;
    if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size != types)
        return BAD(ld, "the header's slots are not %u counts", types);
    for (uint32_t t = 0; t < types; t++) {
        const msgpack_object *c = &v->via.array.ptr[t];
        if (c->type != MSGPACK_OBJECT_POSITIVE_INTEGER || c->via.u64 > UINT32_MAX)
            return BAD(ld, "the header's %s slot count is bad", htype_name((htype)t));
        ld->nslots[t] = (uint32_t)c->via.u64;
    }
    return 0;
}

static int header_field(struct loader *ld, const msgpack_object *k, const msgpack_object *v,
                        unsigned *have)
{
    const char *want = intern_policy_name(heap_cfg(ld->h)->intern);
    if (key_is(k, "intern")) {
        *have |= 1;
        bool str = v->type == MSGPACK_OBJECT_STR;
        if (!key_is(v, want))
            return BAD(ld,
                       "written under intern policy '%.*s' but this heapd runs with '%s' "
                       "(the \"intern\" setting must match)",
                       str ? (int)(v->via.str.size > 16 ? 16 : v->via.str.size) : 1,
                       str ? v->via.str.ptr : "?", want);
    } else if (key_is(k, "slots")) {
        *have |= 2;
        return header_slots(ld, v);
    } else if (key_is(k, "objects")) {
        *have |= take_u64(v, &ld->want_objects) ? 4 : 0;
    } else if (key_is(k, "names")) {
        *have |= take_u64(v, &ld->want_names) ? 8 : 0;
    } else if (key_is(k, "log_seq")) {
        if (!take_u64(v, &ld->log_seq) || !ld->log_seq)
            return BAD(ld, "the header's log_seq is not a positive integer");
    } else if (key_is(k, "live")) {
        ld->live = v->type == MSGPACK_OBJECT_BOOLEAN && v->via.boolean;
    } else if (key_is(k, "saved_at")) {
        bool pos = v->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
        *have |= pos || v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? 16 : 0;
        ld->saved_at = v->via.i64;
    }
    return 0; /* other keys are informational */
}

uint64_t snap_slot_bytes_max;

static uint64_t slot_bytes_max(void)
{
    if (snap_slot_bytes_max)
        return snap_slot_bytes_max;
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : UINT64_MAX;
}

static int header(struct loader *ld, const msgpack_object *m)
{
    unsigned have = 0;
    if (m->type != MSGPACK_OBJECT_MAP)
        return BAD(ld, "the header is not a map");
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        int rc = header_field(ld, &m->via.map.ptr[i].key, &m->via.map.ptr[i].val, &have);
        if (rc)
            return rc;
    }
    if (have != 31)
        return BAD(ld, "the header lacks intern, slots, objects, names or saved_at");
    uint64_t bytes = 0;
    for (int t = 0; t < T__COUNT; t++) {
        if (ld->nslots[t] < heap_slab(ld->h, (htype)t)->nslots)
            return BAD(ld, "fewer %s slots than heap_new's immortals (another intern policy?)",
                       htype_name((htype)t));
        bytes += (uint64_t)ld->nslots[t] * heap_objsize((htype)t);
    }
    if (bytes > slot_bytes_max())
        return BAD(ld, "its slots need %llu bytes, more than this machine's memory", ULL(bytes));
    heap_restore_begin(ld->h, ld->nslots);
    for (int t = 0; t < T__COUNT; t++)
        ld->seen[t] = bits_new(ld->nslots[t]);
    return 0;
}

static int gens_complete(struct loader *ld)
{
    for (int t = 0; t < T__COUNT; t++)
        if (ld->gen_next[t] != ld->nslots[t])
            return BAD(ld, "the %s slot generations cover %u of %u slots", htype_name((htype)t),
                       ld->gen_next[t], ld->nslots[t]);
    return 0;
}

static int end_record(struct loader *ld, const msgpack_object *a)
{
    uint64_t objects, nnames;
    if (!take_u64(&a[1], &objects) || !take_u64(&a[2], &nnames) || objects != ld->objects ||
        objects != ld->want_objects || nnames != ld->nbound || nnames != ld->want_names)
        return BAD(ld, "%llu objects and %llu names read, but the file announces others",
                   ULL(ld->objects), ULL(ld->nbound));
    return 0;
}

/* --- records ------------------------------------------------------------------ */

static const uint8_t record_len[] = {
    [SR_HEADER] = 2, [SR_GENS] = 4, [SR_SCALARS] = 2, [SR_SHELLS] = 2, [SR_TUPLE] = 4,
    [SR_FILL] = 4,   [SR_RECS] = 2, [SR_NAMES] = 2,   [SR_END] = 3,    [SR_MORE] = 2,
};

/* The order rule: the header first and once, then kinds in order, and
 * nothing but MORE inside an open sequence. */
static int check_order(struct loader *ld, int kind)
{
    if (kind == SR_MORE)
        return ld->open ? 0 : BAD(ld, "a more record with no open sequence");
    if (ld->open)
        return BAD(ld, "a %s record inside an unfinished %s", kind_names[kind],
                   kind_names[ld->open]);
    if ((ld->phase == 0) != (kind == SR_HEADER) || kind < ld->phase)
        return BAD(ld, "a %s record after a %s record", kind_names[kind], kind_names[ld->phase]);
    int rc = ld->phase <= SR_GENS && kind > SR_GENS ? gens_complete(ld) : 0;
    ld->phase = kind;
    return rc;
}

static int record(struct loader *ld, const msgpack_object *rec)
{
    const msgpack_object *a = rec->via.array.ptr;
    if (rec->type != MSGPACK_OBJECT_ARRAY || rec->via.array.size < 2 ||
        a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a[0].via.u64 < SR_HEADER ||
        a[0].via.u64 > SR_MORE)
        return BAD(ld, "the record at byte %zu is not one of the known kinds", ld->pos);
    int kind = (int)a[0].via.u64;
    if (ld->version == 1 && kind >= SR_RECS) /* version 1 had no RECS */
        kind = kind == SR_MORE ? -1 : kind + 1;
    if (kind < 0 || rec->via.array.size != record_len[kind])
        return BAD(ld, "the record at byte %zu is not one of the known kinds", ld->pos);
    int rc = check_order(ld, kind);
    if (rc)
        return rc;
    switch (kind) {
    case SR_HEADER:
        return header(ld, &a[1]);
    case SR_GENS:
        return gens_start(ld, a);
    case SR_SCALARS:
        return scalars(ld, &a[1]);
    case SR_SHELLS:
        return shells(ld, &a[1]);
    case SR_TUPLE:
        return tuple_start(ld, a);
    case SR_FILL:
        return fill_start(ld, a);
    case SR_RECS:
        return recs(ld, &a[1]);
    case SR_NAMES:
        return names(ld, &a[1]);
    case SR_END:
        return end_record(ld, a);
    default:
        return seq_entries(ld, &a[1]);
    }
}

/* Applies the records from ld->pos up to end. */
static int read_span(struct loader *ld, size_t end)
{
    while (ld->pos < end && ld->phase != SR_END) {
        size_t used = 0, off = 0;
        msgpack_object rec;
        const char *at = ld->p + ld->pos;
        size_t left = end - ld->pos;
        if (mpscan(at, left, left, SNAP_MAX_NEST, &used) != MPSCAN_OK ||
            msgpack_unpack(at, used, &off, &ld->zone, &rec) != MSGPACK_UNPACK_SUCCESS)
            return BAD(ld, "the record at byte %zu is not valid msgpack", ld->pos);
        int rc = record(ld, &rec);
        msgpack_zone_clear(&ld->zone);
        if (rc)
            return rc;
        ld->pos += used;
    }
    return 0;
}

/* Version 3: records of several kinds take turns in the file (a save
 * written while heapd serves writes them as it makes them), so they are
 * applied kind by kind: a first pass finds the runs (records of one kind
 * in a row, with the MOREs that continue them), then the runs of each kind
 * are applied in file order, kinds in their order. */
struct run {
    size_t start, end;
    int kind;
};

/* A record's kind from its first bytes (an array whose first element is a
 * small positive int), or -1. */
static int peek_kind(const unsigned char *p, size_t n)
{
    size_t h = (p[0] & 0xF0) == 0x90 ? 1 : p[0] == 0xDC ? 3 : p[0] == 0xDD ? 5 : 0;
    return h && n > h && p[h] >= SR_HEADER && p[h] <= SR_MORE ? p[h] : -1;
}

static int find_runs(struct loader *ld, struct run **out, size_t *nruns)
{
    size_t cap = 0, n = 0, max = (ld->end - ld->pos) / 8 + 16;
    struct run *runs = NULL;
    for (size_t pos = ld->pos; pos < ld->end;) {
        size_t used = 0, left = ld->end - pos;
        const char *at = ld->p + pos;
        int kind = mpscan(at, left, left, SNAP_MAX_NEST, &used) == MPSCAN_OK
                       ? peek_kind((const unsigned char *)at, used)
                       : -1;
        if (kind < 0 || (kind == SR_MORE && !n) || (!n && kind != SR_HEADER) || n == max) {
            free(runs);
            return BAD(ld,
                       kind < 0 || n < max ? "the record at byte %zu is not one of the known kinds"
                                           : "too many records for the file's size (byte %zu)",
                       pos);
        }
        if (n && (kind == SR_MORE || kind == runs[n - 1].kind)) {
            runs[n - 1].end = pos + used;
        } else {
            if (n == cap)
                runs = xrealloc(runs, (cap = cap * 2 + 64) * sizeof *runs);
            runs[n++] = (struct run){pos, pos + used, kind};
        }
        pos += used;
    }
    *out = runs, *nruns = n;
    return 0;
}

static int read_by_kind(struct loader *ld)
{
    struct run *runs = NULL;
    size_t n = 0;
    int rc = find_runs(ld, &runs, &n);
    if (!rc && (!n || runs[n - 1].kind != SR_END))
        rc = BAD(ld, "the file does not end with an end record");
    for (int kind = SR_HEADER; !rc && kind < SR_MORE; kind++)
        for (size_t i = 0; !rc && i < n; i++)
            if (runs[i].kind == kind) {
                ld->pos = runs[i].start;
                rc = read_span(ld, runs[i].end);
            }
    free(runs);
    return rc;
}

static int read_records(struct loader *ld)
{
    int rc = ld->version >= 3 ? read_by_kind(ld) : read_span(ld, ld->end);
    if (rc)
        return rc;
    if (ld->phase != SR_END)
        return BAD(ld, "the file ends without an end record");
    if (ld->version < 3 && ld->pos != ld->end)
        return BAD(ld, "bytes follow the end record");
    return 0;
}

/* --- finishing and undoing ------------------------------------------------------ */

typedef void (*seen_fn)(struct loader *ld, hobj *o);

static void foreach_seen(struct loader *ld, seen_fn fn)
{
    for (htype t = 0; t < T__COUNT; t++)
        for (uint32_t i = 0; ld->seen[t] && i < ld->nslots[t]; i++)
            if (bit_get(ld->seen[t], i))
                fn(ld, slab_at(heap_slab(ld->h, t), i));
}

static void find_unreferenced(struct loader *ld, hobj *o)
{
    /* one reference is the loader's own */
    if (!o->immortal && o->refcnt < 2 && !ld->err->code)
        BAD(ld, "%s @%llu is held by no name and no container", htype_name(o->type),
            ULL(hobj_id(o)));
}

static void trim_list(struct loader *ld, hobj *o)
{
    if (o->type == T_LIST && AS_LIST(o)->cap > AS_LIST(o)->len)
        cont_list_set_cap(ld->h, o, AS_LIST(o)->len);
}

static void drop_ref(struct loader *ld, hobj *o)
{
    heap_decref(ld->h, o);
}

static void clear_mutable(struct loader *ld, hobj *o)
{
    if (htype_is_mutable(o->type))
        heap_clear_container(ld->h, o);
}

/* Unbinds and frees everything the load made. Emptying every list, dict
 * and set first leaves only tuples holding objects, and tuples cannot form
 * a cycle, so dropping the loader's references frees them all. */
static void undo(struct loader *ld)
{
    for (size_t i = 0; i < ld->nbound; i++)
        ns_unbind(ld->ns, NULL, ld->bound[i].name, ld->bound[i].len, true, NULL);
    for (uint32_t i = 0; i < ld->got; i++)
        heap_decref(ld->h, ld->items[i]);
    foreach_seen(ld, clear_mutable);
    heap_drain_all(ld->h);
    foreach_seen(ld, drop_ref);
    heap_drain_all(ld->h);
}

static int check_frame(const char *data, size_t len, herr *err)
{
    const unsigned char *p = (const unsigned char *)data;
    if (len < SNAP_HEAD_LEN + SNAP_CRC_LEN)
        return herr_set(err, HE_RUNTIME,
                        "only %zu bytes: too short for a snapshot (checksum "
                        "cannot match)",
                        len);
    uint32_t stored = be32_get(p + len - SNAP_CRC_LEN), actual = crc32c(0, p, len - SNAP_CRC_LEN);
    bool magic = memcmp(p, SNAP_MAGIC, SNAP_MAGIC_LEN) == 0;
    if (stored != actual)
        return herr_set(err, HE_RUNTIME,
                        "checksum mismatch (stored %08x, computed %08x): the file is corrupt%s",
                        stored, actual, magic ? "" : " or not a heapd snapshot");
    if (!magic)
        return herr_set(err, HE_RUNTIME, "not a heapd snapshot (no HEAPDSNP magic)");
    uint32_t version = be32_get(p + SNAP_MAGIC_LEN);
    if (version < 1 || version > SNAP_VERSION)
        return herr_set(err, HE_RUNTIME,
                        "unknown snapshot version %u (this heapd reads versions 1 to %d)", version,
                        SNAP_VERSION);
    return 0;
}

/* A cleared record is garbage the collector had emptied, and the collector
 * only finds garbage among what no root reaches: a file whose global names
 * reach one (directly or through containers) would give a heap where a
 * name resolves to an emptied object. Only a file with cleared records
 * pays this walk, O(what the names reach). (Garbage not emptied yet may
 * still hold one: a save during the sweep, which clears records first.) */
static void check_cleared(struct loader *ld)
{
    if (!ld->cleared || ld->err->code)
        return;
    hobj *o = heap_root_reaches_doomed(ld->h);
    if (o)
        BAD(ld,
            "%s @%llu is marked as the collector's garbage (cleared), but a global name "
            "reaches it",
            htype_name(o->type), ULL(hobj_id(o)));
}

static int load(struct loader *ld, snap_info *info)
{
    int rc = read_records(ld);
    if (!rc)
        foreach_seen(ld, check_rec);
    if (!rc)
        check_cleared(ld);
    /* A file with log_seq or "live" holds what sessions held too: nothing
     * here holds that; the replay, or the end of the load, frees it. */
    if (!rc && !ld->log_seq && !ld->live)
        foreach_seen(ld, find_unreferenced);
    rc = rc ? rc : ld->err->code;
    if (rc) {
        undo(ld);
        return rc;
    }
    if (ld->version >= 3)
        foreach_seen(ld, trim_list); /* loaded lists are sized exactly */
    foreach_seen(ld, drop_ref);
    heap_drain_all(ld->h);
    heap_finish_sweep(ld->h); /* a replay that follows does it at its end */
    if (info)
        *info = (snap_info){.objects = ld->objects,
                            .names = ld->nbound,
                            .saved_at = ld->saved_at,
                            .log_seq = ld->log_seq};
    return 0;
}

int snapshot_load_mem(heap *h, hns *ns, const void *data, size_t len, snap_info *info, herr *err)
{
    uint64_t t0 = now_ns();
    herr local = {0};
    err = err ? err : &local;
    err->code = 0;
    int rc = check_frame(data, len, err);
    if (rc)
        return rc;
    struct loader ld = {.h = h,
                        .ns = ns,
                        .err = err,
                        .p = data,
                        .pos = SNAP_HEAD_LEN,
                        .end = len - SNAP_CRC_LEN,
                        .version = be32_get((const unsigned char *)data + SNAP_MAGIC_LEN)};
    msgpack_zone_init(&ld.zone, 1 << 16);
    rc = load(&ld, info);
    heap_restore_end(h);
    msgpack_zone_destroy(&ld.zone);
    for (int t = 0; t < T__COUNT; t++)
        free(ld.seen[t]);
    free(ld.items);
    free(ld.bound);
    if (!rc)
        gc_age_all(h); /* what a snapshot held is old: generation 2 */
    if (!rc && info) {
        info->bytes = len;
        info->duration_us = (now_ns() - t0) / 1000;
    }
    return rc;
}

int snapshot_load(heap *h, hns *ns, const char *path, snap_info *info, herr *err)
{
    uint64_t t0 = now_ns();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return SNAP_MISSING;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return herr_set(err, HE_RUNTIME, "cannot read: %s", strerror(e));
    }
    size_t len = (size_t)st.st_size;
    void *p = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (p == MAP_FAILED)
        return herr_set(err, HE_RUNTIME, "cannot map: %s", strerror(errno));
    if (p)
        madvise(p, len, MADV_SEQUENTIAL);
    int rc = snapshot_load_mem(h, ns, p ? p : "", len, info, err);
    if (p)
        munmap(p, len);
    if (!rc && info)
        info->duration_us = (now_ns() - t0) / 1000;
    return rc;
}
