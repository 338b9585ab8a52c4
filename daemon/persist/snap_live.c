/* A snapshot written in steps while clients go on (snap_live.h). */
#include "snap_live.h"
#include "effects.h"
#include "encode.h"
#include "hash.h"
#include "htab.h"
#include "snap_fmt.h"
#include "snap_out.h"
#include "version.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PIECE       1024u       /* entries of a big container per unit of the walk */
#define NAMES_UNIT  256u        /* names per unit of the walk */
#define CLOCK_EVERY 16u         /* units between two looks at the clock */
#define BACKLOG_MAX (64u << 20) /* the walk waits while the writer is this far behind */

/* Entries of a record kind that repeats (SCALARS, SHELLS, RECS, NAMES;
 * GENS, which also names its type, and FILL, its container), packed aside
 * until SNAP_CHUNK of them (or the end of what they belong to) and then
 * written after their record's head: every record is whole when it goes
 * out, so records of several kinds can take turns in the file. */
struct chunk {
    msgpack_sbuffer buf;
    msgpack_packer pk;
    uint32_t n;
    uint8_t kind, per;
    bool keyed;
    uint64_t key; /* GENS: the type; FILL: the container's id */
};

/* A sequence record being written (TUPLE or FILL, then MOREs). */
struct seq {
    msgpack_packer *pk;
    uint64_t left;
    uint32_t room;
    uint8_t per;
};

/* The generation at the instant of slots that changed before the walk
 * reached them. Keys are type << 32 | slot, plus one (0: empty). */
struct genmap {
    uint64_t *keys;
    uint32_t *gens;
    size_t cap, len;
};

/* Global names that changed since the instant, with their binding then. */
struct nment {
    char *name;
    size_t len;
    uint64_t hash;
    hid id; /* 0: unbound at the instant */
};
struct namemap {
    struct nment *v;
    size_t cap, len;
};

struct tframe {
    hobj *t;
    uint32_t next;
};

struct snap_live {
    heap *h;
    hns *ns;
    snap_out *out;
    bool finished;
    uint64_t log_seq, t0;
    int64_t saved_at;
    uint32_t nslots[T__COUNT];   /* at the instant: later slots hold later objects */
    uint64_t *written[T__COUNT]; /* slot done: written, or born after the instant */
    uint64_t *noted[T__COUNT];   /* slot whose generation at the instant is in gens */
    struct genmap gens;
    struct namemap names;
    /* the walk */
    int t;         /* type; T__COUNT: the objects are done */
    uint32_t slot; /* next slot of type t */
    uint32_t run_gen, run_len;
    hobj *part; /* a big list, dict or set being written in pieces */
    uint32_t part_pos;
    uint64_t cursor;
    bool names_done;
    struct chunk genc, scalars, shells, recs, namec, fillc;
    struct tframe *stack;
    size_t stack_cap;
    /* figures */
    uint64_t objects, nnames, max_step_ns;
};

/* --- records ----------------------------------------------------------------- */

static void chunk_init(struct chunk *c, uint8_t kind, uint8_t per, bool keyed)
{
    msgpack_sbuffer_init(&c->buf);
    msgpack_packer_init(&c->pk, &c->buf, msgpack_sbuffer_write);
    c->n = 0, c->kind = kind, c->per = per, c->keyed = keyed, c->key = 0;
}

static void chunk_emit(snap_live *s, struct chunk *c)
{
    if (!c->n)
        return;
    msgpack_packer *pk = snap_out_pk(s->out);
    msgpack_pack_array(pk, c->keyed ? 4 : 2);
    msgpack_pack_uint8(pk, c->kind);
    if (c->keyed) {
        msgpack_pack_uint64(pk, c->key);
        msgpack_pack_uint32(pk, c->n);
    }
    msgpack_pack_array(pk, (size_t)c->n * c->per);
    pk->callback(pk->data, c->buf.data, c->buf.size);
    c->buf.size = 0, c->n = 0;
    snap_out_maybe_flush(s->out);
}

/* After each entry packed into c->pk. */
static void chunk_done(snap_live *s, struct chunk *c)
{
    if (++c->n == SNAP_CHUNK)
        chunk_emit(s, c);
}

static void pack_id(msgpack_packer *pk, const hobj *o)
{
    msgpack_pack_uint64(pk, o ? hobj_id(o) : 0);
}

static struct seq seq_start(snap_live *s, uint8_t kind, const hobj *o, uint64_t n, uint8_t per)
{
    struct seq q = {snap_out_pk(s->out), n, n < SNAP_CHUNK ? (uint32_t)n : SNAP_CHUNK, per};
    msgpack_pack_array(q.pk, 4);
    msgpack_pack_uint8(q.pk, kind);
    pack_id(q.pk, o);
    msgpack_pack_uint64(q.pk, n);
    msgpack_pack_array(q.pk, (size_t)q.room * per);
    return q;
}

static void seq_entry(struct seq *q)
{
    if (!q->room) {
        q->room = q->left < SNAP_CHUNK ? (uint32_t)q->left : SNAP_CHUNK;
        msgpack_pack_array(q->pk, 2);
        msgpack_pack_uint8(q->pk, SR_MORE);
        msgpack_pack_array(q->pk, (size_t)q->room * q->per);
    }
    q->room--, q->left--;
}

/* --- the slots' marks and generations ------------------------------------------ */

/* A bit per slot, mmap'd: zero pages cost nothing until written, so the
 * save's start is O(types), not O(slots), at any heap size. */
static size_t marks_bytes(uint32_t nslots)
{
    return ((size_t)nslots / 64 + 1) * sizeof(uint64_t);
}

static uint64_t *marks_new(uint32_t nslots)
{
    return big_grow(NULL, 0, marks_bytes(nslots));
}

static bool in_image(const snap_live *s, const hobj *o, uint32_t *slot)
{
    *slot = slab_slot_of(o);
    return *slot < s->nslots[o->type];
}

static bool walk_passed(const snap_live *s, htype t, uint32_t slot)
{
    return (int)t < s->t || ((int)t == s->t && slot < s->slot);
}

static size_t gen_find(const struct genmap *m, uint64_t key)
{
    size_t i = (size_t)(key * 0x9E3779B97F4A7C15ull >> 20) & (m->cap - 1);
    while (m->keys[i] && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static void gen_put(struct genmap *m, uint64_t key, uint32_t gen)
{
    if ((m->len + 1) * 2 > m->cap) {
        struct genmap old = *m;
        m->cap = old.cap ? old.cap * 2 : 1024;
        m->keys = xcalloc(m->cap, sizeof *m->keys);
        m->gens = xmalloc(m->cap * sizeof *m->gens);
        for (size_t i = 0; i < old.cap; i++)
            if (old.keys[i]) {
                size_t j = gen_find(m, old.keys[i]);
                m->keys[j] = old.keys[i], m->gens[j] = old.gens[i];
            }
        free(old.keys);
        free(old.gens);
    }
    size_t i = gen_find(m, key);
    m->keys[i] = key, m->gens[i] = gen;
    m->len++;
}

static uint64_t gen_key(htype t, uint32_t slot)
{
    return ((uint64_t)t << 32 | slot) + 1;
}

/* Keeps the generation slot has now, the one it had at the instant, if
 * the walk has yet to pass it and it is about to change. */
static void note_gen(snap_live *s, const hobj *o, uint32_t slot)
{
    htype t = o->type;
    if (walk_passed(s, t, slot) || bit_get(s->noted[t], slot))
        return;
    bit_set(s->noted[t], slot);
    gen_put(&s->gens, gen_key(t, slot), o->gen);
}

/* --- objects --------------------------------------------------------------------- */

static void mark_written(snap_live *s, const hobj *o)
{
    bit_set(s->written[o->type], slab_slot_of(o));
    s->objects++;
}

static bool is_written(const snap_live *s, const hobj *o)
{
    return bit_get(s->written[o->type], slab_slot_of(o));
}

/* A tuple, whole: its TUPLE record and the MOREs that follow it at once
 * (a load makes a tuple from all its items). */
static void write_tuple(snap_live *s, hobj *o)
{
    const htuple *t = AS_TUPLE(o);
    struct seq q = seq_start(s, SR_TUPLE, o, t->len, 1);
    for (uint32_t i = 0; i < t->len; i++) {
        seq_entry(&q);
        pack_id(q.pk, t->items[i]);
    }
    snap_out_maybe_flush(s->out);
}

/* Writes up to max entries of container o from index *pos on (a table's
 * slots, a list's items) as FILL records (version 3: a container's
 * entries may come in several). True when o's end was reached. */
static bool fill_piece(snap_live *s, const hobj *o, uint32_t *pos, uint32_t max)
{
    struct chunk *c = &s->fillc;
    c->key = hobj_id(o), c->per = o->type == T_DICT ? 2 : 1;
    if (o->type == T_LIST) {
        const hlist *l = AS_LIST(o);
        for (; *pos < l->len && max; ++*pos, max--) {
            pack_id(&c->pk, l->items[*pos]);
            chunk_done(s, c);
        }
        chunk_emit(s, c);
        return *pos == l->len;
    }
    const hdict *d = AS_DICT(o);
    for (; *pos < d->fill && max; ++*pos) {
        const hentry *e = htab_entry(d, *pos);
        if (!e->key)
            continue;
        pack_id(&c->pk, e->key);
        if (o->type == T_DICT)
            pack_id(&c->pk, e->val);
        chunk_done(s, c);
        max--;
    }
    chunk_emit(s, c);
    return *pos == d->fill;
}

static uint32_t fill_len(const hobj *o)
{
    return o->type == T_LIST ? AS_LIST(o)->len : AS_DICT(o)->used;
}

/* One piece of the container the walk has open; closes it at its end. */
static void part_piece(snap_live *s, uint32_t max)
{
    if (fill_piece(s, s->part, &s->part_pos, max))
        s->part = NULL;
}

static void write_fill(snap_live *s, hobj *o, bool walk)
{
    uint32_t n = fill_len(o), pos = 0;
    if (!n)
        return;
    if (walk && n > PIECE) {
        s->part = o, s->part_pos = 0;
        return;
    }
    fill_piece(s, o, &pos, UINT32_MAX);
}

static bool has_rec(const hobj *o)
{
    return htype_is_record(o->type) || (o->type == T_DICT && o->flag);
}

/* [id, a, b, owner, flags]: snap_fmt.h. A weakref's referent was alive at
 * the instant if the weakref still has it, so it is in the image. A class
 * or instance the collector has emptied (garbage not freed yet) has flag
 * 2 and nothing in it. */
static void write_rec(snap_live *s, const hobj *o)
{
    msgpack_packer *pk = &s->recs.pk;
    const hobj *a = NULL, *b = NULL;
    hid owner = 0;
    bool cleared = htype_is_record(o->type) && o->type != T_WEAKREF && !AS_REC(o)->ref[0];
    if (o->type == T_WEAKREF) {
        a = AS_WEAK(o)->key, b = AS_WEAK(o)->referent, owner = AS_WEAK(o)->owner;
    } else if (o->type != T_DICT) {
        a = AS_REC(o)->ref[0], b = AS_REC(o)->ref[1];
    }
    pack_id(pk, o);
    pack_id(pk, a);
    pack_id(pk, b);
    msgpack_pack_uint64(pk, owner);
    msgpack_pack_uint8(pk, (uint8_t)(o->flag | (cleared ? 2 : 0)));
    chunk_done(s, &s->recs);
}

/* Tuples after the tuples they hold (a load makes a tuple from its items),
 * without recursion: tuples cannot form a cycle. */
static void push_tuple(snap_live *s, size_t len, hobj *t)
{
    if (len == s->stack_cap)
        s->stack = xrealloc(s->stack, (s->stack_cap = s->stack_cap * 2 + 64) * sizeof *s->stack);
    s->stack[len] = (struct tframe){t, 0};
    mark_written(s, t);
}

static void write_tuples(snap_live *s, hobj *root)
{
    size_t len = 0;
    push_tuple(s, len++, root);
    while (len) {
        struct tframe *f = &s->stack[len - 1];
        const htuple *t = AS_TUPLE(f->t);
        while (f->next < t->len &&
               (t->items[f->next]->type != T_TUPLE || is_written(s, t->items[f->next])))
            f->next++;
        if (f->next == t->len) {
            write_tuple(s, f->t);
            len--;
            continue;
        }
        push_tuple(s, len++, t->items[f->next++]);
    }
}

/* Writes o as it is now, which is as it was at the instant. */
static void write_obj(snap_live *s, hobj *o, bool walk)
{
    if (o->type == T_TUPLE) {
        write_tuples(s, o);
        return;
    }
    mark_written(s, o);
    if (o->type < T_TUPLE) {
        pack_id(&s->scalars.pk, o);
        enc_scalar(&s->scalars.pk, o);
        chunk_done(s, &s->scalars);
        return;
    }
    pack_id(&s->shells.pk, o);
    chunk_done(s, &s->shells);
    if (has_rec(o))
        write_rec(s, o);
    if (htype_is_mutable(o->type))
        write_fill(s, o, walk);
}

/* --- what the heap tells: copies before changes ---------------------------------------- */

static void on_touch(void *ctx, hobj *o)
{
    snap_live *s = ctx;
    uint32_t slot;
    if (o == s->part)
        while (s->part)
            part_piece(s, UINT32_MAX); /* its rest, before it changes */
    if (!in_image(s, o, &slot))
        return;
    note_gen(s, o, slot);
    if (!bit_get(s->written[o->type], slot))
        write_obj(s, o, false);
}

static void on_born(void *ctx, hobj *o)
{
    snap_live *s = ctx;
    uint32_t slot;
    if (!in_image(s, o, &slot))
        return;
    note_gen(s, o, slot); /* allocation keeps the slot's generation */
    bit_set(s->written[o->type], slot);
}

static uint64_t name_hash(const char *name, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a: names are the server's own here */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
    return h | 1; /* never 0: 0 marks an empty slot */
}

static size_t name_find(const struct namemap *m, const char *name, size_t len, uint64_t hash)
{
    size_t i = (size_t)hash & (m->cap - 1);
    for (; m->v[i].hash; i = (i + 1) & (m->cap - 1))
        if (m->v[i].hash == hash && m->v[i].len == len && memcmp(m->v[i].name, name, len) == 0)
            break;
    return i;
}

static bool name_known(const struct namemap *m, const char *name, size_t len)
{
    return m->cap && m->v[name_find(m, name, len, name_hash(name, len))].hash;
}

static void name_put(struct namemap *m, const char *name, size_t len, hid id)
{
    if ((m->len + 1) * 2 > m->cap) {
        struct namemap old = *m;
        m->cap = old.cap ? old.cap * 2 : 64;
        m->v = xcalloc(m->cap, sizeof *m->v);
        for (size_t i = 0; i < old.cap; i++)
            if (old.v[i].hash)
                m->v[name_find(m, old.v[i].name, old.v[i].len, old.v[i].hash)] = old.v[i];
        free(old.v);
    }
    uint64_t hash = name_hash(name, len);
    m->v[name_find(m, name, len, hash)] = (struct nment){xstrndup(name, len), len, hash, id};
    m->len++;
}

static void on_touch_name(void *ctx, const char *name, size_t len)
{
    snap_live *s = ctx;
    if (s->names_done || name_known(&s->names, name, len))
        return;
    if (ns_global_scanned(s->ns, name, len, s->cursor)) /* false at cursor 0: not begun */
        return; /* the scan wrote its binding at the instant (untouched till now) */
    hobj *v = ns_lookup(s->ns, NULL, name, len);
    name_put(&s->names, name, len, v ? hobj_id(v) : 0);
}

/* --- the walk ------------------------------------------------------------------- */

static void run_flush(snap_live *s)
{
    if (!s->run_len)
        return;
    msgpack_pack_uint32(&s->genc.pk, s->run_len);
    msgpack_pack_uint32(&s->genc.pk, s->run_gen);
    chunk_done(s, &s->genc);
    s->run_len = 0;
}

static void walk_slot(snap_live *s)
{
    htype t = (htype)s->t;
    uint32_t slot = s->slot, gen;
    if (bit_get(s->noted[t], slot)) {
        gen = s->gens.gens[gen_find(&s->gens, gen_key(t, slot))];
    } else {
        hobj *o = slab_at(heap_slab(s->h, t), slot);
        gen = o->gen;
        if (!o->dead && !bit_get(s->written[t], slot))
            write_obj(s, o, true);
    }
    if (s->run_len && gen == s->run_gen) {
        s->run_len++;
    } else {
        run_flush(s);
        s->run_gen = gen, s->run_len = 1;
    }
    s->slot++;
}

static void end_type(snap_live *s)
{
    run_flush(s);
    chunk_emit(s, &s->genc); /* a type's GENS may take several records (version 3) */
    s->t++, s->slot = 0;
    s->genc.key = s->t;
}

static void name_entry(const char *name, size_t len, hobj *val, void *arg)
{
    snap_live *s = arg;
    if (s->names.cap && name_known(&s->names, name, len))
        return; /* changed since the instant: written from the copy */
    msgpack_pack_str(&s->namec.pk, len);
    msgpack_pack_str_body(&s->namec.pk, name, len);
    pack_id(&s->namec.pk, val);
    chunk_done(s, &s->namec);
    s->nnames++;
}

static void names_end(snap_live *s)
{
    for (size_t i = 0; i < s->names.cap; i++) {
        const struct nment *e = &s->names.v[i];
        if (!e->hash || !e->id)
            continue;
        msgpack_pack_str(&s->namec.pk, e->len);
        msgpack_pack_str_body(&s->namec.pk, e->name, e->len);
        msgpack_pack_uint64(&s->namec.pk, e->id);
        chunk_done(s, &s->namec);
        s->nnames++;
    }
    s->names_done = true;
}

/* One unit of the walk; false when there is none left. */
static bool walk_unit(snap_live *s)
{
    if (s->part) {
        part_piece(s, PIECE);
    } else if (s->t < T__COUNT) {
        if (s->slot < s->nslots[s->t])
            walk_slot(s);
        else
            end_type(s);
    } else if (!s->names_done) {
        s->cursor = ns_scan(s->ns, NULL, false, s->cursor, NAMES_UNIT, name_entry, s);
        if (!s->cursor)
            names_end(s);
    } else {
        return false;
    }
    return true;
}

/* --- the file's head and tail ------------------------------------------------------- */

static void pack_key(msgpack_packer *pk, const char *k)
{
    size_t n = strlen(k);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, k, n);
}

static void pack_header(snap_live *s, msgpack_packer *pk)
{
    msgpack_pack_array(pk, 2);
    msgpack_pack_uint8(pk, SR_HEADER);
    msgpack_pack_map(pk, s->log_seq ? 8 : 7);
    pack_key(pk, "intern");
    pack_key(pk, intern_policy_name(heap_cfg(s->h)->intern));
    pack_key(pk, "saved_at");
    msgpack_pack_int64(pk, s->saved_at);
    pack_key(pk, "objects"); /* fixed widths: the head's length is known at the start */
    msgpack_pack_fix_uint64(pk, s->objects);
    pack_key(pk, "names");
    msgpack_pack_fix_uint64(pk, s->nnames);
    pack_key(pk, "slots");
    msgpack_pack_array(pk, T__COUNT);
    for (htype t = 0; t < T__COUNT; t++)
        msgpack_pack_uint32(pk, s->nslots[t]);
    pack_key(pk, "heapd");
    pack_key(pk, HEAPD_VERSION);
    pack_key(pk, "live"); /* every object alive at the instant: a load frees the unheld */
    msgpack_pack_true(pk);
    if (s->log_seq) {
        pack_key(pk, "log_seq");
        msgpack_pack_uint64(pk, s->log_seq);
    }
}

/* Magic, version and header, in head (initialized by the caller). */
static void pack_head(snap_live *s, msgpack_sbuffer *head)
{
    msgpack_packer pk;
    msgpack_sbuffer_write(head, SNAP_MAGIC, SNAP_MAGIC_LEN);
    unsigned char ver[4];
    be32_put(ver, SNAP_VERSION);
    msgpack_sbuffer_write(head, (const char *)ver, sizeof ver);
    msgpack_packer_init(&pk, head, msgpack_sbuffer_write);
    pack_header(s, &pk);
}

static size_t head_len(snap_live *s)
{
    msgpack_sbuffer head;
    msgpack_sbuffer_init(&head);
    pack_head(s, &head);
    size_t n = head.size;
    msgpack_sbuffer_destroy(&head);
    return n;
}

static void seal(snap_live *s)
{
    struct chunk *all[] = {&s->scalars, &s->shells, &s->recs, &s->namec};
    for (size_t i = 0; i < ARRAY_LEN(all); i++)
        chunk_emit(s, all[i]);
    msgpack_sbuffer head, tail;
    msgpack_packer pk;
    msgpack_sbuffer_init(&head);
    msgpack_sbuffer_init(&tail);
    pack_head(s, &head);
    msgpack_packer_init(&pk, &tail, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, SR_END);
    msgpack_pack_uint64(&pk, s->objects);
    msgpack_pack_uint64(&pk, s->nnames);
    s->finished = true;
    snap_out_finish(s->out, head.data, head.size, tail.data, tail.size);
    msgpack_sbuffer_destroy(&head);
    msgpack_sbuffer_destroy(&tail);
}

/* --- the API -------------------------------------------------------------------------- */

snap_live *snap_live_start(heap *h, hns *ns, const char *path, uint64_t log_seq, bool threaded,
                           void (*done)(void *ctx), void *ctx, herr *err)
{
    snap_live *s = xcalloc(1, sizeof *s);
    s->h = h, s->ns = ns;
    s->log_seq = log_seq, s->t0 = now_ns(), s->saved_at = (int64_t)time(NULL);
    for (htype t = 0; t < T__COUNT; t++)
        s->nslots[t] = heap_slab(h, t)->nslots;
    s->out = snap_out_open(path, head_len(s), threaded, done, ctx, err);
    if (!s->out) {
        free(s);
        return NULL;
    }
    for (htype t = 0; t < T__COUNT; t++) {
        s->written[t] = marks_new(s->nslots[t]);
        s->noted[t] = marks_new(s->nslots[t]);
    }
    chunk_init(&s->genc, SR_GENS, 2, true);
    chunk_init(&s->scalars, SR_SCALARS, 2, false);
    chunk_init(&s->shells, SR_SHELLS, 1, false);
    chunk_init(&s->recs, SR_RECS, 5, false);
    chunk_init(&s->namec, SR_NAMES, 2, false);
    chunk_init(&s->fillc, SR_FILL, 1, true);
    heap_set_snap_observer(h, &(hsnap_observer){on_touch, on_touch_name, on_born, s});
    return s;
}

bool snap_live_step(snap_live *s, uint64_t budget_ns)
{
    if (s->finished)
        return true;
    if (snap_out_backlog(s->out) > BACKLOG_MAX) /* 0 unthreaded */
        return false; /* the disk is behind: copies may still come, the walk waits */
    uint64_t t0 = now_ns();
    for (unsigned u = 1;; u++) {
        if (!walk_unit(s)) {
            seal(s);
            break;
        }
        if (u % CLOCK_EVERY == 0 && now_ns() - t0 >= budget_ns)
            break;
    }
    uint64_t took = now_ns() - t0;
    if (took > s->max_step_ns)
        s->max_step_ns = took;
    return s->finished;
}

int snap_live_result(snap_live *s, snap_info *info, herr *err)
{
    snap_info in = {.objects = s->objects,
                    .names = s->nnames,
                    .duration_us = (now_ns() - s->t0) / 1000,
                    .saved_at = s->saved_at,
                    .log_seq = s->log_seq};
    int rc = snap_out_result(s->out, &in.bytes, err);
    if (info)
        *info = in;
    return rc;
}

bool snap_live_written(const snap_live *s)
{
    return snap_out_through(s->out);
}

uint64_t snap_live_max_step_ns(const snap_live *s)
{
    return s->max_step_ns;
}

void snap_live_close(snap_live *s)
{
    heap_set_snap_observer(s->h, NULL);
    snap_out_close(s->out);
    for (htype t = 0; t < T__COUNT; t++) {
        big_free(s->written[t], marks_bytes(s->nslots[t]));
        big_free(s->noted[t], marks_bytes(s->nslots[t]));
    }
    for (size_t i = 0; i < s->names.cap; i++)
        free(s->names.v[i].name);
    free(s->names.v);
    free(s->gens.keys);
    free(s->gens.gens);
    struct chunk *all[] = {&s->genc, &s->scalars, &s->shells, &s->recs, &s->namec, &s->fillc};
    for (size_t i = 0; i < ARRAY_LEN(all); i++)
        msgpack_sbuffer_destroy(&all[i]->buf);
    free(s->stack);
    free(s);
}

/* --- synchronous saves (the final save, tools, tests) ------------------------------------- */

int snapshot_write_log(heap *h, hns *ns, const char *path, uint64_t log_seq, snap_info *info,
                       herr *err)
{
    snap_live *s = snap_live_start(h, ns, path, log_seq, false, NULL, NULL, err);
    if (!s)
        return HE_RUNTIME;
    while (!snap_live_step(s, UINT64_MAX))
        ;
    int rc = snap_live_result(s, info, err);
    snap_live_close(s);
    return rc;
}

int snapshot_write(heap *h, hns *ns, const char *path, snap_info *info, herr *err)
{
    return snapshot_write_log(h, ns, path, 0, info, err);
}
