/* Writing a snapshot (snapshot.h, snap_fmt.h). Reads the heap and never
 * changes it: no counts, colours or counters move, so a forked child can
 * run this on its copy-on-write image (touching a page would copy it). */
#include "crc32c.h"
#include "encode.h"
#include "hash.h"
#include "htab.h"
#include "snap_fmt.h"
#include "snapshot.h"
#include "version.h"

#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_BYTES (1u << 20)

struct writer {
    heap *h;
    hns *ns;
    uint64_t *mark[T__COUNT]; /* reachable from a global name, by slot */
    uint64_t *tuple_done;     /* tuples written (post-order), by slot */
    uint64_t count[T__COUNT]; /* marked objects */
    uint64_t names;
    uint64_t log_seq; /* snapshot_write_log's */
    hobj **stack;     /* containers marked but not yet traversed */
    size_t len, cap;
    /* output */
    int fd;
    int error; /* the first errno of a failed write, else 0 */
    msgpack_sbuffer buf;
    msgpack_packer pk;
    uint32_t crc;
    uint64_t bytes;
};

/* A run of entries of `per` values each, cut into records of at most
 * SNAP_CHUNK entries; each new record opens with [kind, array]. */
struct run {
    struct writer *w;
    uint64_t left;
    uint32_t room; /* entries the open record's array still takes */
    uint8_t per, kind;
};

/* --- output ------------------------------------------------------------ */

static void write_all(struct writer *w, const char *p, size_t n)
{
    w->bytes += n;
    while (n && !w->error) {
        ssize_t k = write(w->fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            w->error = k < 0 ? errno : EIO;
        else
            p += k, n -= (size_t)k;
    }
}

/* Everything packed so far goes to the file and into the checksum. */
static void flush(struct writer *w)
{
    w->crc = crc32c(w->crc, w->buf.data, w->buf.size);
    write_all(w, w->buf.data, w->buf.size);
    w->buf.size = 0;
}

static void maybe_flush(struct writer *w)
{
    if (w->buf.size >= FLUSH_BYTES)
        flush(w);
}

/* Starts a record, or continues the run's records, before each entry. */
static void run_entry(struct run *r)
{
    if (!r->room) {
        r->room = r->left < SNAP_CHUNK ? (uint32_t)r->left : SNAP_CHUNK;
        msgpack_pack_array(&r->w->pk, 2);
        msgpack_pack_uint8(&r->w->pk, r->kind);
        msgpack_pack_array(&r->w->pk, (size_t)r->room * r->per);
    }
    r->room--;
    r->left--;
    maybe_flush(r->w);
}

/* A sequence record [kind, key, n, [first entries]]; MORE records follow. */
static struct run seq_start(struct writer *w, uint8_t kind, uint64_t key, uint64_t n, uint8_t per)
{
    struct run r = {w, n, n < SNAP_CHUNK ? (uint32_t)n : SNAP_CHUNK, per, SR_MORE};
    msgpack_pack_array(&w->pk, 4);
    msgpack_pack_uint8(&w->pk, kind);
    msgpack_pack_uint64(&w->pk, key);
    msgpack_pack_uint64(&w->pk, n);
    msgpack_pack_array(&w->pk, (size_t)r.room * per);
    return r;
}

static void pack_id(struct writer *w, const hobj *o)
{
    msgpack_pack_uint64(&w->pk, hobj_id(o));
}

static void pack_key(struct writer *w, const char *k)
{
    size_t n = strlen(k);
    msgpack_pack_str(&w->pk, n);
    msgpack_pack_str_body(&w->pk, k, n);
}

/* --- what is saved: everything reachable from a global name ------------- */

static bool marked(const struct writer *w, const hobj *o)
{
    return bit_get(w->mark[o->type], slab_slot_of(o));
}

static void mark(hobj *o, void *arg)
{
    struct writer *w = arg;
    if (marked(w, o))
        return;
    bit_set(w->mark[o->type], slab_slot_of(o));
    w->count[o->type]++;
    if (!hobj_is_container(o))
        return;
    if (w->len == w->cap)
        w->stack = xrealloc(w->stack, (w->cap = w->cap ? w->cap * 2 : 1024) * sizeof *w->stack);
    w->stack[w->len++] = o;
}

static void mark_binding(const char *name, size_t len, hobj *val, void *arg)
{
    (void)name, (void)len;
    ((struct writer *)arg)->names++;
    mark(val, arg);
}

/* None, True, False and the small ints exist in every heap of the same
 * intern policy with the same ids; writing them always lets the loader
 * check that the policy and the ids agree. */
static void mark_premade(hobj *o, void *arg)
{
    if (o->immortal)
        mark(o, arg);
}

static void mark_reachable(struct writer *w)
{
    ns_foreach_name(w->ns, NULL, false, mark_binding, w);
    for (htype t = T_NONE; t <= T_INT; t++)
        heap_foreach(w->h, t, mark_premade, w);
    if (w->log_seq) {
        /* The log that follows may name any object alive now: what
         * sessions hold, interned strs nothing holds (a request finds them
         * rather than making them), garbage the collector will clear,
         * objects the deferred queue will free. The file holds them all, so
         * that the replay finds each where the writer did (snapshot.h). */
        heap_foreach(w->h, T__COUNT, mark, w);
    }
    while (w->len) {
        hobj *o = w->stack[--w->len];
        heap_traverse(o, mark, w);
    }
}

static uint64_t total_marked(const struct writer *w, htype first, htype last)
{
    uint64_t n = 0;
    for (htype t = first; t <= last; t++)
        n += w->count[t];
    return n;
}

/* --- records ----------------------------------------------------------- */

static void write_header(struct writer *w, int64_t now)
{
    msgpack_packer *pk = &w->pk;
    msgpack_sbuffer_write(&w->buf, SNAP_MAGIC, SNAP_MAGIC_LEN);
    unsigned char ver[4];
    be32_put(ver, SNAP_VERSION);
    msgpack_sbuffer_write(&w->buf, (const char *)ver, sizeof ver);
    msgpack_pack_array(pk, 2);
    msgpack_pack_uint8(pk, SR_HEADER);
    msgpack_pack_map(pk, w->log_seq ? 7 : 6);
    pack_key(w, "intern");
    pack_key(w, intern_policy_name(heap_cfg(w->h)->intern));
    pack_key(w, "saved_at");
    msgpack_pack_int64(pk, now);
    pack_key(w, "objects");
    msgpack_pack_uint64(pk, total_marked(w, 0, T__COUNT - 1));
    pack_key(w, "names");
    msgpack_pack_uint64(pk, w->names);
    pack_key(w, "slots");
    msgpack_pack_array(pk, T__COUNT);
    for (htype t = 0; t < T__COUNT; t++)
        msgpack_pack_uint32(pk, heap_slab(w->h, t)->nslots);
    pack_key(w, "heapd");
    pack_key(w, HEAPD_VERSION);
    if (w->log_seq) {
        pack_key(w, "log_seq");
        msgpack_pack_uint64(pk, w->log_seq);
    }
}

/* The generation slot i will carry after a load: a saved object's own; for
 * a free slot the one it gives next; for an object not saved the one after
 * its own, so its id goes stale. HGEN_MAX retires the slot. */
static uint32_t slot_gen(const struct writer *w, const hobj *o)
{
    if (o->dead || marked(w, o))
        return o->gen;
    return o->gen < HGEN_MAX ? (uint32_t)o->gen + 1 : HGEN_MAX;
}

static uint64_t count_gen_runs(const struct writer *w, const slab *s)
{
    uint64_t runs = 0;
    uint32_t prev = 0;
    for (uint32_t i = 0; i < s->nslots; i++) {
        uint32_t g = slot_gen(w, slab_at(s, i));
        runs += i == 0 || g != prev;
        prev = g;
    }
    return runs;
}

static void write_gens(struct writer *w, htype t)
{
    const slab *s = heap_slab(w->h, t);
    if (!s->nslots)
        return;
    struct run r = seq_start(w, SR_GENS, t, count_gen_runs(w, s), 2);
    for (uint32_t i = 0; i < s->nslots;) {
        uint32_t g = slot_gen(w, slab_at(s, i)), n = 1;
        while (i + n < s->nslots && slot_gen(w, slab_at(s, i + n)) == g)
            n++;
        run_entry(&r);
        msgpack_pack_uint32(&w->pk, n);
        msgpack_pack_uint32(&w->pk, g);
        i += n;
    }
}

/* Calls fn on every marked object of types first..last, in slot order. */
static void foreach_marked(struct writer *w, htype first, htype last,
                           void (*fn)(struct writer *, hobj *, void *), void *arg)
{
    for (htype t = first; t <= last; t++) {
        const slab *s = heap_slab(w->h, t);
        for (uint32_t i = 0; i < s->nslots; i++) {
            hobj *o = slab_at(s, i);
            if (!o->dead && bit_get(w->mark[t], i))
                fn(w, o, arg);
        }
    }
}

static void scalar_entry(struct writer *w, hobj *o, void *arg)
{
    run_entry(arg);
    pack_id(w, o);
    enc_scalar(&w->pk, o);
}

static void shell_entry(struct writer *w, hobj *o, void *arg)
{
    run_entry(arg);
    pack_id(w, o);
}

static void write_scalars_and_shells(struct writer *w)
{
    struct run r = {w, total_marked(w, T_NONE, T_BYTES), 0, 2, SR_SCALARS};
    foreach_marked(w, T_NONE, T_BYTES, scalar_entry, &r);
    r = (struct run){w, total_marked(w, T_LIST, T_WEAKREF), 0, 1, SR_SHELLS};
    foreach_marked(w, T_LIST, T_WEAKREF, shell_entry, &r);
}

/* --- RECS: what classes, instances and weakrefs hold; weak-valued dicts -- */

static bool has_rec(const hobj *o)
{
    return htype_is_record(o->type) || (o->type == T_DICT && o->flag);
}

static void count_rec(struct writer *w, hobj *o, void *arg)
{
    (void)w;
    *(uint64_t *)arg += has_rec(o);
}

static void pack_id_or_0(struct writer *w, const hobj *o)
{
    msgpack_pack_uint64(&w->pk, o ? hobj_id(o) : 0);
}

static void rec_entry(struct writer *w, hobj *o, void *arg)
{
    if (!has_rec(o))
        return;
    run_entry(arg);
    pack_id(w, o);
    hobj *a = NULL, *b = NULL;
    hid owner = 0;
    if (o->type == T_WEAKREF) {
        hobj *r = AS_WEAK(o)->referent;
        a = AS_WEAK(o)->key;
        b = r && bit_get(w->mark[r->type], slab_slot_of(r)) ? r : NULL;
        owner = AS_WEAK(o)->owner;
    } else if (o->type != T_DICT) {
        a = AS_REC(o)->ref[0], b = AS_REC(o)->ref[1];
    }
    pack_id_or_0(w, a);
    pack_id_or_0(w, b);
    msgpack_pack_uint64(&w->pk, owner);
    msgpack_pack_uint8(&w->pk, o->flag);
}

static void write_recs(struct writer *w)
{
    uint64_t n = 0;
    foreach_marked(w, T_DICT, T_WEAKREF, count_rec, &n);
    struct run r = {w, n, 0, 5, SR_RECS};
    foreach_marked(w, T_DICT, T_WEAKREF, rec_entry, &r);
}

static void write_items(struct writer *w, uint8_t kind, hobj *o)
{
    hlist *l = AS_LIST(o);
    struct run r = seq_start(w, kind, hobj_id(o), l->len, 1);
    for (uint32_t i = 0; i < l->len; i++) {
        run_entry(&r);
        pack_id(w, l->items[i]);
    }
}

/* Tuples in post-order (a tuple after the tuples it holds), without
 * recursion: tuples cannot form a cycle, so a depth-first walk with an
 * explicit stack visits each once. */
struct tframe {
    hobj *t;
    uint32_t next;
};

static void tuple_tree(struct writer *w, hobj *root, struct tframe **stack, size_t *cap)
{
    size_t len = 0;
    (*stack)[len++] = (struct tframe){root, 0};
    bit_set(w->tuple_done, slab_slot_of(root));
    while (len) {
        struct tframe *f = &(*stack)[len - 1];
        htuple *t = AS_TUPLE(f->t);
        while (f->next < t->len && (t->items[f->next]->type != T_TUPLE ||
                                    bit_get(w->tuple_done, slab_slot_of(t->items[f->next]))))
            f->next++;
        if (f->next == t->len) {
            write_items(w, SR_TUPLE, f->t);
            len--;
            continue;
        }
        hobj *child = t->items[f->next++];
        bit_set(w->tuple_done, slab_slot_of(child));
        if (len == *cap)
            *stack = xrealloc(*stack, (*cap *= 2) * sizeof **stack);
        (*stack)[len++] = (struct tframe){child, 0};
    }
}

static void write_tuples(struct writer *w)
{
    size_t cap = 64;
    struct tframe *stack = xmalloc(cap * sizeof *stack);
    const slab *s = heap_slab(w->h, T_TUPLE);
    w->tuple_done = bits_new(s->nslots);
    for (uint32_t i = 0; i < s->nslots; i++) {
        hobj *o = slab_at(s, i);
        if (!o->dead && bit_get(w->mark[T_TUPLE], i) && !bit_get(w->tuple_done, i))
            tuple_tree(w, o, &stack, &cap);
    }
    free(stack);
}

static void write_table(struct writer *w, hobj *o)
{
    hdict *d = AS_DICT(o);
    bool dict = o->type == T_DICT;
    struct run r = seq_start(w, SR_FILL, hobj_id(o), d->used, dict ? 2 : 1);
    for (uint32_t i = 0; i < d->fill; i++) {
        hentry *e = htab_entry(d, i);
        if (!e->key)
            continue;
        run_entry(&r);
        pack_id(w, e->key);
        if (dict)
            pack_id(w, e->val);
    }
}

static void fill_entry(struct writer *w, hobj *o, void *arg)
{
    (void)arg;
    if (o->type == T_LIST && AS_LIST(o)->len)
        write_items(w, SR_FILL, o);
    else if (o->type != T_LIST && AS_DICT(o)->used)
        write_table(w, o);
}

static void name_entry(const char *name, size_t len, hobj *val, void *arg)
{
    struct run *r = arg;
    run_entry(r);
    msgpack_pack_str(&r->w->pk, len);
    msgpack_pack_str_body(&r->w->pk, name, len);
    pack_id(r->w, val);
}

static void write_body(struct writer *w, int64_t now)
{
    write_header(w, now);
    for (htype t = 0; t < T__COUNT; t++)
        write_gens(w, t);
    write_scalars_and_shells(w);
    write_tuples(w);
    foreach_marked(w, T_LIST, T_SET, fill_entry, NULL);
    write_recs(w);
    struct run r = {w, w->names, 0, 2, SR_NAMES};
    ns_foreach_name(w->ns, NULL, false, name_entry, &r);
    msgpack_pack_array(&w->pk, 3);
    msgpack_pack_uint8(&w->pk, SR_END);
    msgpack_pack_uint64(&w->pk, total_marked(w, 0, T__COUNT - 1));
    msgpack_pack_uint64(&w->pk, w->names);
    flush(w);
    unsigned char crc[SNAP_CRC_LEN];
    be32_put(crc, w->crc);
    write_all(w, (const char *)crc, sizeof crc);
}

/* --- the file: temporary, fsync, rename, fsync of the directory --------- */

static int fsync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir =
        slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrndup(".", 1);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
    if (fd < 0 || fsync(fd) != 0)
        rc = errno;
    if (fd >= 0)
        close(fd);
    free(dir);
    return rc;
}

static int fail(herr *err, const char *what, const char *path, int e)
{
    return herr_set(err, HE_RUNTIME, "%s %.150s: %s", what, path, strerror(e));
}

/* Writes w's body to tmp and puts it in place of path. */
static int write_file(struct writer *w, const char *path, const char *tmp, int64_t now, herr *err)
{
    w->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (w->fd < 0)
        return fail(err, "cannot create", tmp, errno);
    write_body(w, now);
    int rc = 0;
    if (w->error)
        rc = fail(err, "cannot write", tmp, w->error);
    else if (fsync(w->fd) != 0)
        rc = fail(err, "cannot fsync", tmp, errno);
    if (close(w->fd) != 0 && !rc)
        rc = fail(err, "cannot close", tmp, errno);
    if (!rc && rename(tmp, path) != 0)
        rc = fail(err, "cannot rename the snapshot to", path, errno);
    if (rc) {
        unlink(tmp);
        return rc;
    }
    int e = fsync_dir(path);
    return e ? fail(err, "cannot fsync the directory of", path, e) : 0;
}

char *snapshot_tmp_path(const char *path)
{
    size_t n = strlen(path);
    char *tmp = xmalloc(n + 5);
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    return tmp;
}

int snapshot_write(heap *h, hns *ns, const char *path, snap_info *info, herr *err)
{
    return snapshot_write_log(h, ns, path, 0, info, err);
}

int snapshot_write_log(heap *h, hns *ns, const char *path, uint64_t log_seq, snap_info *info,
                       herr *err)
{
    uint64_t t0 = now_ns();
    struct writer w = {.h = h, .ns = ns, .log_seq = log_seq};
    for (htype t = 0; t < T__COUNT; t++)
        w.mark[t] = bits_new(heap_slab(h, t)->nslots);
    mark_reachable(&w);
    msgpack_sbuffer_init(&w.buf);
    msgpack_packer_init(&w.pk, &w.buf, msgpack_sbuffer_write);
    char *tmp = snapshot_tmp_path(path);
    int64_t now = (int64_t)time(NULL);
    int rc = write_file(&w, path, tmp, now, err);
    if (!rc && info)
        *info = (snap_info){.objects = total_marked(&w, 0, T__COUNT - 1),
                            .names = w.names,
                            .bytes = w.bytes,
                            .duration_us = (now_ns() - t0) / 1000,
                            .saved_at = now,
                            .log_seq = log_seq};
    free(tmp);
    msgpack_sbuffer_destroy(&w.buf);
    for (htype t = 0; t < T__COUNT; t++)
        free(w.mark[t]);
    free(w.tuple_done);
    free(w.stack);
    return rc;
}
