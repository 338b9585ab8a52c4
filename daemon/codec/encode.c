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
static void enc_table(struct enc *e, msgpack_packer *pk, hdict *d, uint32_t nest)
{
    bool dict = d->h.type == T_DICT;
    if (dict)
        msgpack_pack_map(pk, d->used);
    else
        msgpack_pack_array(pk, d->used);
    for (uint32_t i = 0; d->tb && i < d->fill && !enc_stopped(e); i++) {
        hentry *en = htab_entry(d, i);
        if (!en->key)
            continue;
        enc_obj(e, pk, en->key, nest);
        if (dict)
            enc_obj(e, pk, en->val, nest);
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

/* A tuple or set: its array goes into a buffer of its own (where msgpack
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
    if (o->type == T_TUPLE)
        enc_items(e, sub, AS_TUPLE(o)->items, AS_TUPLE(o)->len, 1);
    else
        enc_table(e, sub, AS_DICT(o), 1);
    if (parent)
        encbuf_child_close(&child);
    msgpack_pack_ext(pk, sb.size, o->type == T_TUPLE ? EXT_TUPLE : EXT_SET);
    msgpack_pack_ext_body(pk, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

/* Whether container o, met at msgpack nesting `nest` of its buffer, is
 * expanded rather than packed as a reference. */
static bool enc_expands(const struct enc *e, const hobj *o, uint32_t nest)
{
    if (e->level >= e->depth)
        return false;
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

void enc_value(msgpack_packer *pk, heap *h, hobj *o, uint32_t depth)
{
    const encbuf *eb = encbuf_of(pk);
    struct enc e = {.h = h,
                    .budget = eb ? eb->root : NULL,
                    .depth = depth < ENC_MAX_DEPTH ? depth : ENC_MAX_DEPTH};
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
