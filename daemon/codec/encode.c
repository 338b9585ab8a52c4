#include "encode.h"
#include "encbuf.h"
#include "htab.h"
#include "util.h"
#include "wire.h"

#include <stdlib.h>

/* One encoding: the containers on the path from the top object to the one
 * being packed (path[0] is the top), for the depth and cycle tests. */
struct enc {
    heap *h;
    const encbuf *budget; /* the answer's root buffer, or NULL: no budget */
    uint32_t depth;       /* clamped to ENC_MAX_DEPTH, so path never overflows */
    uint32_t level;       /* containers on the path */
    hobj *path[ENC_MAX_DEPTH];
};

/* Whether the answer has already failed: then nothing more is walked, so
 * a failed answer costs at most its budget in work. */
static bool enc_stopped(const struct enc *e)
{
    return e->budget && (e->budget->over || e->budget->refs_full);
}

static void enc_obj(struct enc *e, msgpack_packer *pk, hobj *o, uint32_t nest);

void enc_ref(msgpack_packer *pk, hobj *o)
{
    enc_ref_id(pk, hobj_id(o));
    encbuf_note_ref(pk, o);
}

void enc_ref_id(msgpack_packer *pk, hid id)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(id >> (56 - 8 * i));
    msgpack_pack_ext(pk, sizeof b, EXT_REF);
    msgpack_pack_ext_body(pk, b, sizeof b);
}

void enc_scalar(msgpack_packer *pk, const hobj *o)
{
    const hstr *s = AS_STR(o);
    switch ((htype)o->type) {
    case T_NONE:
        msgpack_pack_nil(pk);
        return;
    case T_BOOL:
        if (AS_INT(o)->v)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
        return;
    case T_INT:
        msgpack_pack_int64(pk, AS_INT(o)->v);
        return;
    case T_FLOAT:
        msgpack_pack_double(pk, AS_FLOAT(o)->v); /* 64 bits: NaN payloads and -0.0 kept */
        return;
    case T_STR:
        msgpack_pack_str(pk, s->len);
        msgpack_pack_str_body(pk, s->data, s->len);
        return;
    case T_BYTES:
        msgpack_pack_bin(pk, s->len);
        msgpack_pack_bin_body(pk, s->data, s->len);
        return;
    default:
        abort(); /* containers never get here */
    }
}

static void enc_items(struct enc *e, msgpack_packer *pk, hobj **items, uint32_t n, uint32_t nest)
{
    msgpack_pack_array(pk, n);
    for (uint32_t i = 0; i < n && !enc_stopped(e); i++)
        enc_obj(e, pk, items[i], nest);
}

/* A dict as a map, or a set's members as an array; holes (key NULL) are
 * skipped, so the header counts `used`, not `fill`. */
/* A dict's value: a weak-valued dict's is its weakref's referent (NULL
 * once gone: nil). */
static hobj *dict_value(const struct enc *e, const hdict *d, hobj *val)
{
    return d->c.h.flag ? heap_weakref_get(e->h, val) : val;
}

static void enc_table(struct enc *e, msgpack_packer *pk, hdict *d, uint32_t nest)
{
    bool dict = d->c.h.type == T_DICT;
    if (dict)
        msgpack_pack_map(pk, d->used);
    else
        msgpack_pack_array(pk, d->used);
    for (uint32_t i = 0; d->tb && i < d->fill && !enc_stopped(e); i++) {
        hentry *en = htab_entry(d, i);
        if (!en->key)
            continue;
        enc_obj(e, pk, en->key, nest);
        hobj *v = dict ? dict_value(e, d, en->val) : NULL;
        if (v)
            enc_obj(e, pk, v, nest);
        else if (dict)
            msgpack_pack_nil(pk);
    }
}

/* msgpack_sbuffer_write, except that running out of memory aborts as
 * xmalloc does: a payload silently cut short would reach the client as a
 * well-framed but wrong value. */
static int sbuf_write(void *data, const char *buf, size_t len)
{
    msgpack_sbuffer *sb = data;
    if (msgpack_sbuffer_write(sb, buf, len))
        xoom(sb->size + len);
    return 0;
}

static int8_t ext_of(const hobj *o)
{
    return o->type == T_TUPLE ? EXT_TUPLE : o->type == T_SET ? EXT_SET : EXT_INSTANCE;
}

/* A tuple, set or instance: its array goes into a buffer of its own (where msgpack
 * nesting starts again at 1), then into pk as the ext body. Under a budget
 * the buffer is a child of pk's, so its bytes count while it is open. */
static void enc_ext(struct enc *e, msgpack_packer *pk, hobj *o)
{
    msgpack_sbuffer sb;
    msgpack_packer plain, *sub = &plain;
    encbuf child, *parent = encbuf_of(pk);
    msgpack_sbuffer_init(&sb);
    if (parent) {
        encbuf_child_init(&child, &sb, parent);
        sub = &child.pk;
    } else {
        msgpack_packer_init(&plain, &sb, sbuf_write);
    }
    if (o->type == T_TUPLE) {
        enc_items(e, sub, AS_TUPLE(o)->items, AS_TUPLE(o)->len, 1);
    } else if (o->type == T_INSTANCE) { /* [class, {attr: value}] */
        msgpack_pack_array(sub, 2);
        enc_ref(sub, heap_class_of(o));
        enc_table(e, sub, AS_DICT(heap_rec_dict(o)), 2);
    } else {
        enc_table(e, sub, AS_DICT(o), 1);
    }
    if (parent)
        encbuf_child_close(&child);
    msgpack_pack_ext(pk, sb.size, ext_of(o));
    msgpack_pack_ext_body(pk, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

/* Whether container o, met at msgpack nesting `nest` of its buffer, is
 * expanded rather than packed as a reference. */
static bool enc_expands(const struct enc *e, const hobj *o, uint32_t nest)
{
    if (e->level >= e->depth || o->type == T_TYPE || o->type == T_WEAKREF)
        return false; /* classes and weakrefs are always refs */
    if (o->type == T_INSTANCE && !heap_class_of(o))
        return false; /* garbage being cleared */
    if ((o->type == T_LIST || o->type == T_DICT) && nest >= ENC_MAX_NEST)
        return false;
    for (uint32_t i = 0; i < e->level; i++)
        if (e->path[i] == o)
            return false;
    return true;
}

/* nest: the arrays and maps already open around o in pk's buffer. */
static void enc_obj(struct enc *e, msgpack_packer *pk, hobj *o, uint32_t nest)
{
    if (!hobj_is_container(o)) {
        enc_scalar(pk, o);
        return;
    }
    if (!enc_expands(e, o, nest)) {
        enc_ref(pk, o);
        return;
    }
    e->path[e->level++] = o;
    if (o->type == T_LIST)
        enc_items(e, pk, AS_LIST(o)->items, AS_LIST(o)->len, nest + 1);
    else if (o->type == T_DICT)
        enc_table(e, pk, AS_DICT(o), nest + 1);
    else
        enc_ext(e, pk, o);
    e->level--;
}

/* --- the size of an answer, before it is encoded ---------------------------
 *
 * An answer over its budget is refused after a pass that packs nothing: the
 * exact size enc_obj would write, summed with each scalar and header packed
 * into a counter. A container met again at the same level and nesting
 * (shared sub-lists: L1 = [L0]*100) has the size it had the first time,
 * unless its subtree reached a container on the path above it (a cycle
 * back, which packs as a ref and depends on the path): such sizes are not
 * remembered. So a 10 GB answer built from four shared lists is refused in
 * microseconds, and the pass never does more work than its budget in
 * bytes, as every element packs at least one byte. */

struct memo_entry {
    const hobj *o;
    uint32_t level, nest;
    uint64_t size;
};

struct sizer {
    struct enc e;
    uint64_t cap;      /* stop once over this */
    uint32_t min_hit;  /* the lowest path index a cycle reached */
    msgpack_packer pk; /* packs into the counter */
    uint64_t counted;
    struct memo_entry *memo; /* open addressing, power of two */
    size_t memo_mask, memo_used;
};

static int count_write(void *data, const char *buf, size_t len)
{
    (void)buf;
    *(uint64_t *)data += len;
    return 0;
}

static uint64_t counted(struct sizer *z)
{
    uint64_t n = z->counted;
    z->counted = 0;
    return n;
}

static size_t memo_slot(const struct sizer *z, const hobj *o, uint32_t level, uint32_t nest)
{
    size_t i =
        (size_t)(((uintptr_t)o >> 4) * 0x9E3779B97F4A7C15ull ^ level * 31u ^ nest) & z->memo_mask;
    while (z->memo[i].o &&
           !(z->memo[i].o == o && z->memo[i].level == level && z->memo[i].nest == nest))
        i = (i + 1) & z->memo_mask;
    return i;
}

static void memo_put(struct sizer *z, const hobj *o, uint32_t nest, uint64_t size)
{
    if ((z->memo_used + 1) * 2 > z->memo_mask + 1) {
        struct memo_entry *old = z->memo;
        size_t oldcap = old ? z->memo_mask + 1 : 0, cap = oldcap ? oldcap * 2 : 64;
        z->memo = xcalloc(cap, sizeof *z->memo);
        z->memo_mask = cap - 1;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].o)
                z->memo[memo_slot(z, old[i].o, old[i].level, old[i].nest)] = old[i];
        free(old);
    }
    z->memo[memo_slot(z, o, z->e.level, nest)] = (struct memo_entry){o, z->e.level, nest, size};
    z->memo_used++;
}

static uint64_t size_obj(struct sizer *z, hobj *o, uint32_t nest);

static uint64_t size_items(struct sizer *z, hobj **items, uint32_t n, uint32_t nest)
{
    msgpack_pack_array(&z->pk, n);
    uint64_t total = counted(z);
    for (uint32_t i = 0; i < n && total <= z->cap; i++)
        total += size_obj(z, items[i], nest);
    return total;
}

static uint64_t size_table(struct sizer *z, hdict *d, uint32_t nest)
{
    bool dict = d->c.h.type == T_DICT;
    if (dict)
        msgpack_pack_map(&z->pk, d->used);
    else
        msgpack_pack_array(&z->pk, d->used);
    uint64_t total = counted(z);
    for (uint32_t i = 0; d->tb && i < d->fill && total <= z->cap; i++) {
        hentry *en = htab_entry(d, i);
        if (!en->key)
            continue;
        total += size_obj(z, en->key, nest);
        hobj *v = dict ? dict_value(&z->e, d, en->val) : NULL;
        if (v) {
            total += size_obj(z, v, nest);
        } else if (dict) {
            msgpack_pack_nil(&z->pk);
            total += counted(z);
        }
    }
    return total;
}

/* An instance's ext 5 payload: [class ref, {attrs}]. */
static uint64_t size_instance(struct sizer *z, hobj *o)
{
    msgpack_pack_array(&z->pk, 2);
    enc_ref(&z->pk, heap_class_of(o));
    uint64_t head = counted(z);
    return head + size_table(z, AS_DICT(heap_rec_dict(o)), 2);
}

static uint64_t size_expanded(struct sizer *z, hobj *o, uint32_t nest)
{
    if (o->type == T_LIST)
        return size_items(z, AS_LIST(o)->items, AS_LIST(o)->len, nest + 1);
    if (o->type == T_DICT)
        return size_table(z, AS_DICT(o), nest + 1);
    uint64_t payload = o->type == T_TUPLE ? size_items(z, AS_TUPLE(o)->items, AS_TUPLE(o)->len, 1)
                       : o->type == T_INSTANCE ? size_instance(z, o)
                                               : size_table(z, AS_DICT(o), 1);
    msgpack_pack_ext(&z->pk, payload > UINT32_MAX ? UINT32_MAX : (size_t)payload, EXT_TUPLE);
    return counted(z) + payload;
}

/* The path index of o if it is on the path, else UINT32_MAX. */
static uint32_t path_index(const struct enc *e, const hobj *o)
{
    for (uint32_t i = 0; i < e->level; i++)
        if (e->path[i] == o)
            return i;
    return UINT32_MAX;
}

static uint64_t size_obj(struct sizer *z, hobj *o, uint32_t nest)
{
    if (!hobj_is_container(o)) {
        enc_scalar(&z->pk, o);
        return counted(z);
    }
    if (!enc_expands(&z->e, o, nest)) {
        uint32_t at = path_index(&z->e, o);
        if (at < z->min_hit)
            z->min_hit = at; /* a cycle back: the size depends on the path */
        enc_ref(&z->pk, o);
        return counted(z);
    }
    bool shared = o->refcnt > 1;
    if (shared && z->memo) {
        size_t i = memo_slot(z, o, z->e.level, nest);
        if (z->memo[i].o)
            return z->memo[i].size;
    }
    uint32_t level = z->e.level, saved_hit = z->min_hit;
    z->min_hit = UINT32_MAX;
    z->e.path[z->e.level++] = o;
    uint64_t size = size_expanded(z, o, nest);
    z->e.level--;
    if (shared && z->min_hit >= level && size <= z->cap)
        memo_put(z, o, nest, size);
    if (saved_hit < z->min_hit)
        z->min_hit = saved_hit;
    return size;
}

/* The bytes enc_obj(o) would write, or some number over cap. */
static uint64_t enc_size(const struct enc *e, hobj *o, uint64_t cap)
{
    struct sizer z = {.e = *e, .cap = cap, .min_hit = UINT32_MAX};
    msgpack_packer_init(&z.pk, &z.counted, count_write);
    uint64_t size = size_obj(&z, o, 0);
    free(z.memo);
    return size;
}

void enc_value(msgpack_packer *pk, heap *h, hobj *o, uint32_t depth)
{
    encbuf *eb = encbuf_of(pk);
    struct enc e = {.h = h,
                    .budget = eb ? eb->root : NULL,
                    .depth = depth < ENC_MAX_DEPTH ? depth : ENC_MAX_DEPTH};
    if (eb && eb->root->limit && hobj_is_container(o) && !eb->root->over) {
        uint64_t left = eb->root->limit - eb->root->used;
        if (enc_size(&e, o, left) > left) {
            encbuf_set_over(eb); /* refused before anything is packed */
            return;
        }
    }
    enc_obj(&e, pk, o, 0);
}

int enc_value_fits(msgpack_packer *pk, heap *h, hobj *o, uint32_t depth, herr *err)
{
    const encbuf *eb = encbuf_of(pk);
    if (!eb || !eb->root->limit)
        return 0;
    const encbuf *root = eb->root;
    encbuf probe; /* counts only, within what is left of pk's budget */
    encbuf_init(&probe, NULL, root->limit - root->used, NULL);
    probe.over = root->over || root->used == root->limit;
    if (!probe.over)
        enc_value(&probe.pk, h, o, depth);
    bool over = probe.over;
    encbuf_destroy(&probe);
    return over ? herr_set(err, HE_MEMORY, ENCBUF_OVER_MESSAGE) : 0;
}

void enc_item(msgpack_packer *pk, heap *h, hobj *o)
{
    (void)h;
    if (hobj_is_container(o))
        enc_ref(pk, o);
    else
        enc_scalar(pk, o);
}
