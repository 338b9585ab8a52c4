#include "slab.h"
#include "util.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* The first bytes of every chunk; objects start at SLAB_CHUNK_HDR. */
struct chunk_hdr {
    uint32_t first_slot;
    uint32_t objsize;
};

void slab_init(slab *s, htype type, uint32_t objsize)
{
    memset(s, 0, sizeof *s);
    s->type = type;
    s->objsize = objsize;
    s->per_chunk = (SLAB_CHUNK_BYTES - SLAB_CHUNK_HDR) / objsize;
    s->free_head = SLAB_NO_SLOT;
}

void slab_destroy(slab *s)
{
    for (uint32_t i = 0; i < s->nchunks; i++)
        free(s->chunks[i]);
    free(s->chunks);
    slab_init(s, s->type, s->objsize);
}

static void slab_add_chunk(slab *s)
{
    if (s->nchunks == s->chunks_cap) {
        s->chunks_cap = s->chunks_cap ? s->chunks_cap * 2 : 16;
        s->chunks = xrealloc(s->chunks, s->chunks_cap * sizeof *s->chunks);
    }
    char *c = aligned_alloc(SLAB_CHUNK_BYTES, SLAB_CHUNK_BYTES);
    if (!c)
        xoom(SLAB_CHUNK_BYTES);
    struct chunk_hdr *hdr = (struct chunk_hdr *)c;
    hdr->first_slot = s->nchunks * s->per_chunk;
    hdr->objsize = s->objsize;
    s->chunks[s->nchunks++] = c;
}

hobj *slab_alloc(slab *s)
{
    hobj *o;
    uint32_t gen;
    if (s->free_head != SLAB_NO_SLOT) {
        o = slab_at(s, s->free_head);
        assert(o->dead);
        s->free_head = o->refcnt;
        gen = o->gen;
    } else {
        if (s->nslots == SLAB_NO_SLOT)
            return NULL;
        if (s->nslots == s->nchunks * s->per_chunk)
            slab_add_chunk(s);
        o = slab_at(s, s->nslots++);
        gen = 0;
    }
    memset(o, 0, s->objsize);
    o->type = s->type;
    o->gen = gen;
    s->live++;
    return o;
}

void slab_free(slab *s, hobj *o)
{
    assert(!o->dead && o->type == s->type);
    uint32_t next_gen = o->gen + 1;
    memset(o, 0, s->objsize); /* no stale pointers survive in a dead slot */
    o->type = s->type;
    o->dead = 1;
    s->live--;
    if (next_gen > HGEN_MAX) {
        /* Reusing the slot would repeat generation 0's ids: keep it dead. */
        o->gen = HGEN_MAX;
        s->retired++;
        return;
    }
    o->gen = next_gen;
    o->refcnt = s->free_head;
    s->free_head = slab_slot_of(o);
}

uint32_t slab_slot_of(const hobj *o)
{
    uintptr_t base = (uintptr_t)o & ~(uintptr_t)(SLAB_CHUNK_BYTES - 1);
    const struct chunk_hdr *hdr = (const struct chunk_hdr *)base;
    return hdr->first_slot + (uint32_t)(((uintptr_t)o - base - SLAB_CHUNK_HDR) / hdr->objsize);
}

/* --- restoring a snapshot --------------------------------------------------- */

void slab_grow_to(slab *s, uint32_t nslots)
{
    while (s->nslots < nslots) {
        if (s->nslots == s->nchunks * s->per_chunk)
            slab_add_chunk(s);
        hobj *o = slab_at(s, s->nslots++);
        memset(o, 0, s->objsize);
        o->type = s->type;
        o->dead = 1;
    }
}

void slab_place(slab *s, uint32_t slot, uint32_t gen)
{
    hobj *o = slab_at(s, slot);
    assert(o && o->dead && gen <= HGEN_MAX);
    o->gen = gen;
    o->refcnt = SLAB_NO_SLOT; /* a free list of one: slab_alloc takes it */
    s->free_head = slot;
}

void slab_unplace(slab *s)
{
    s->free_head = SLAB_NO_SLOT;
}

void slab_rebuild_free_list(slab *s)
{
    s->free_head = SLAB_NO_SLOT;
    s->retired = 0;
    for (uint32_t i = s->nslots; i-- > 0;) {
        hobj *o = slab_at(s, i);
        if (!o->dead)
            continue;
        if (o->gen >= HGEN_MAX) {
            s->retired++;
            continue;
        }
        o->refcnt = s->free_head;
        s->free_head = i;
    }
}
