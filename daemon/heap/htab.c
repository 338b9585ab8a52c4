#include "htab.h"
#include "hash.h"
#include "util.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define IX_EMPTY      (-1)
#define IX_DELETED    (-2)
#define HTAB_MIN_LOG2 3

static uint32_t ecap_for(uint32_t log2)
{
    return (uint32_t)(((uint64_t)2 << log2) / 3);
}

static size_t block_bytes(uint32_t log2)
{
    return sizeof(htab_block) + ((size_t)1 << log2) * sizeof(int32_t) +
           (size_t)ecap_for(log2) * sizeof(hentry);
}

size_t htab_bytes(const htab_block *tb)
{
    return tb ? block_bytes(tb->log2) : 0;
}

/* The smallest index size whose entries hold `need`, with room to grow:
 * the table is rebuilt for about twice the live entries, as CPython's is. */
static uint32_t log2_for(uint32_t need)
{
    uint32_t log2 = HTAB_MIN_LOG2;
    while (ecap_for(log2) < need)
        log2++;
    return log2;
}

static bool needs_resize(const hdict *d, uint32_t extra)
{
    return !d->tb || (uint64_t)d->fill + extra > d->tb->ecap;
}

static uint32_t target_log2(const hdict *d, uint32_t extra)
{
    uint64_t need = (uint64_t)d->used + extra;
    uint64_t want = need > (uint64_t)d->used * 2 ? need : (uint64_t)d->used * 2;
    return log2_for(want > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)want);
}

size_t htab_bytes_for(const hdict *d, uint32_t extra)
{
    if (!needs_resize(d, extra))
        return htab_bytes(d->tb);
    return block_bytes(target_log2(d, extra));
}

static size_t slot_of(uint64_t hash, uint32_t log2)
{
    return hash_mix(hash) >> (64 - log2);
}

static void index_put(htab_block *tb, uint64_t hash, int32_t pos)
{
    size_t mask = ((size_t)1 << tb->log2) - 1;
    size_t i = slot_of(hash, tb->log2);
    while (tb->index[i] != IX_EMPTY)
        i = (i + 1) & mask;
    tb->index[i] = pos;
}

static htab_block *block_new(uint32_t log2)
{
    htab_block *tb = xmalloc(block_bytes(log2));
    tb->log2 = log2;
    tb->ecap = ecap_for(log2);
    memset(tb->index, 0xff, ((size_t)1 << log2) * sizeof(int32_t)); /* all IX_EMPTY */
    tb->entries = (hentry *)(tb->index + ((size_t)1 << log2));
    return tb;
}

long htab_reserve(hdict *d, uint32_t extra)
{
    if (!needs_resize(d, extra))
        return 0;
    htab_block *old = d->tb, *tb = block_new(target_log2(d, extra));
    uint32_t n = 0;
    for (uint32_t i = 0; old && i < d->fill; i++) {
        hentry *e = &old->entries[i];
        if (!e->key)
            continue;
        tb->entries[n] = *e;
        index_put(tb, e->hash, (int32_t)n);
        n++;
    }
    assert(n == d->used);
    long delta = (long)htab_bytes(tb) - (long)htab_bytes(old);
    free(old);
    d->tb = tb;
    d->fill = n;
    return delta;
}

int64_t htab_find(const hdict *d, hobj *key, uint64_t hash)
{
    const htab_block *tb = d->tb;
    if (!tb)
        return HTAB_NONE;
    size_t mask = ((size_t)1 << tb->log2) - 1;
    for (size_t i = slot_of(hash, tb->log2);; i = (i + 1) & mask) {
        int32_t ix = tb->index[i];
        if (ix == IX_EMPTY)
            return HTAB_NONE;
        if (ix == IX_DELETED)
            continue;
        const hentry *e = &tb->entries[ix];
        if (e->hash == hash && key_eq(e->key, key))
            return ix;
    }
}

void htab_insert_new(hdict *d, hobj *key, uint64_t hash, hobj *val)
{
    assert(d->tb && d->fill < d->tb->ecap);
    int32_t pos = (int32_t)d->fill++;
    d->tb->entries[pos] = (hentry){hash, key, val};
    index_put(d->tb, hash, pos);
    d->used++;
}

void htab_delete_at(hdict *d, int64_t pos)
{
    htab_block *tb = d->tb;
    hentry *e = &tb->entries[pos];
    size_t mask = ((size_t)1 << tb->log2) - 1;
    size_t i = slot_of(e->hash, tb->log2);
    while (tb->index[i] != (int32_t)pos)
        i = (i + 1) & mask;
    tb->index[i] = IX_DELETED;
    e->key = e->val = NULL;
    d->used--;
}

htab_block *htab_detach(hdict *d)
{
    htab_block *tb = d->tb;
    d->tb = NULL;
    d->used = d->fill = 0;
    return tb;
}

size_t htab_cost(uint32_t n)
{
    return n ? block_bytes(log2_for(n)) : 0;
}
