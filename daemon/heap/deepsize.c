/* memory_usage's walk (paths.h, heap_deep_size): what an object reaches,
 * each object counted once, in a bounded number of objects. A first pass
 * walks everything; if the budget runs out, a second pass samples big
 * containers instead (Redis's MEMORY USAGE ... SAMPLES), so the work of a
 * call is at most twice max_objects objects, whatever the object holds. */
#include "htab.h"
#include "paths.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

struct went {
    hobj *o;
    double w; /* how many objects like this one it stands for (sampling) */
};

struct walk {
    heap *h;
    uint32_t samples; /* 0: expand every container whole */
    uint64_t max;
    hobj **set; /* open addressing: the objects counted */
    size_t setcap, setlen;
    struct went *q;
    size_t len, cap;
    double bytes, objects, w; /* w: the weight of the references being visited */
    uint64_t walked;
    bool over; /* the budget ran out */
    int rc;
    herr *err;
};

static size_t walk_scratch(const struct walk *k, size_t setcap, size_t qcap)
{
    (void)k;
    return setcap * sizeof(hobj *) + qcap * sizeof(struct went);
}

static int room(struct walk *k, size_t setcap, size_t qcap)
{
    size_t bytes = walk_scratch(k, setcap, qcap);
    if (heap_check_room(k->h, 0, bytes, k->err))
        return k->rc = herr_set(k->err, HE_MEMORY,
                                "memory_usage() needs %zu bytes of scratch memory, more than "
                                "limits.max_memory_bytes leaves",
                                bytes);
    return 0;
}

static size_t hash_ptr(const hobj *o, size_t mask)
{
    uint64_t x = (uint64_t)(uintptr_t)o * 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 17) & mask;
}

/* Inserts o; false if it was there already. */
static bool set_add(struct walk *k, hobj *o)
{
    size_t mask = k->setcap - 1;
    for (size_t i = hash_ptr(o, mask);; i = (i + 1) & mask) {
        if (k->set[i] == o)
            return false;
        if (!k->set[i]) {
            k->set[i] = o;
            k->setlen++;
            return true;
        }
    }
}

static void set_grow(struct walk *k)
{
    size_t old = k->setcap, cap = old ? old * 2 : 1024;
    if (room(k, cap, k->cap))
        return;
    hobj **prev = k->set;
    k->set = xcalloc(cap, sizeof *k->set);
    k->setcap = cap;
    k->setlen = 0;
    for (size_t i = 0; i < old; i++)
        if (prev[i])
            set_add(k, prev[i]);
    free(prev);
}

static void enqueue(struct walk *k, hobj *o)
{
    if (k->len == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 1024;
        if (room(k, k->setcap, cap))
            return;
        k->q = xrealloc(k->q, cap * sizeof *k->q);
        k->cap = cap;
    }
    k->q[k->len++] = (struct went){o, k->w};
}

/* One reference, standing for k->w of them. Immortal objects (None, bools,
 * small ints, interned strs) are held by no one in particular: skipped. */
static void count(hobj *o, void *arg)
{
    struct walk *k = arg;
    if (k->rc || o->immortal)
        return;
    if (k->walked >= k->max) { /* out of budget: its own size, unwalked */
        k->over = true;
        if (!k->samples) /* the exact pass gives up: the sampled one follows */
            return;
        k->bytes += k->w * (double)heap_sizeof(o);
        k->objects += k->w;
        return;
    }
    if (2 * (k->setlen + 1) > k->setcap && (set_grow(k), k->rc))
        return;
    if (!set_add(k, o))
        return;
    k->walked++;
    k->bytes += k->w * (double)heap_sizeof(o);
    k->objects += k->w;
    if (hobj_is_container(o))
        enqueue(k, o);
}

static uint32_t items_of(const hobj *o)
{
    return o->type == T_TUPLE || o->type == T_LIST ? AS_LIST(o)->len : AS_DICT(o)->used;
}

/* `samples` entries spread over a dict's or set's table, each standing for
 * used/samples of them. */
static void sample_table(struct walk *k, hobj *o)
{
    hdict *d = AS_DICT(o);
    uint32_t last = UINT32_MAX;
    for (uint32_t j = 0; j < k->samples && !k->rc; j++) {
        uint32_t i = (uint32_t)((uint64_t)j * d->fill / k->samples);
        while (i < d->fill && !htab_entry(d, i)->key)
            i++;
        if (i >= d->fill || i == last)
            continue;
        last = i;
        count(htab_entry(d, i)->key, k);
        if (htab_entry(d, i)->val)
            count(htab_entry(d, i)->val, k);
    }
}

/* Every reference of o, stopping as soon as the budget runs out in the
 * exact pass (heap_traverse cannot stop: a list of 10 million items would
 * cost 10 million steps after the budget was spent). */
static void count_all(struct walk *k, hobj *o)
{
    if (o->type == T_TUPLE || o->type == T_LIST) {
        for (uint32_t i = 0; i < AS_LIST(o)->len && !k->rc && !k->over; i++)
            count(AS_LIST(o)->items[i], k);
        return;
    }
    hdict *d = AS_DICT(o);
    for (uint32_t i = 0; i < d->fill && !k->rc && !k->over; i++) {
        hentry *e = htab_entry(d, i);
        if (!e->key)
            continue;
        count(e->key, k);
        if (e->val)
            count(e->val, k);
    }
}

static void expand(struct walk *k, struct went e)
{
    uint32_t n = items_of(e.o);
    if (!k->samples || n <= k->samples) {
        k->w = e.w;
        count_all(k, e.o);
        return;
    }
    k->w = e.w * (double)n / k->samples;
    if (e.o->type == T_DICT || e.o->type == T_SET) {
        sample_table(k, e.o);
        return;
    }
    for (uint32_t j = 0; j < k->samples && !k->rc; j++)
        count(AS_LIST(e.o)->items[(uint64_t)j * n / k->samples], k);
}

static void walk_run(struct walk *k, hobj *o)
{
    /* o itself counts even when immortal: it is what was asked about */
    k->walked = 1;
    k->w = 1;
    k->bytes = (double)heap_sizeof(o);
    k->objects = 1;
    set_grow(k);
    if (!k->rc)
        set_add(k, o);
    if (!k->rc && hobj_is_container(o))
        enqueue(k, o);
    /* Once over budget, what is still queued counts its own size only (it
     * was counted when found): the estimate errs low, never slow. */
    for (size_t i = 0; i < k->len && !k->rc && !k->over; i++)
        expand(k, k->q[i]);
}

static void walk_reset(struct walk *k)
{
    free(k->set);
    free(k->q);
    k->set = NULL;
    k->q = NULL;
    k->setcap = k->setlen = k->len = k->cap = 0;
    k->over = false;
}

int heap_deep_size(heap *h, hobj *o, uint32_t samples, uint64_t max_objects, deep_size *out,
                   herr *err)
{
    struct walk k = {.h = h, .max = max_objects ? max_objects : 1, .err = err};
    walk_run(&k, o); /* exact, if the budget is enough */
    bool exact = !k.over;
    if (!k.rc && k.over && samples) {
        walk_reset(&k);
        k.samples = samples;
        walk_run(&k, o);
    }
    uint64_t walked = k.walked;
    walk_reset(&k);
    if (k.rc)
        return k.rc;
    *out = (deep_size){(uint64_t)(k.bytes + 0.5), (uint64_t)(k.objects + 0.5), walked, exact};
    return 0;
}
