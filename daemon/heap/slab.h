/* Per-type slot allocator; it is also the id table.
 *
 * Objects of one type are carved from 64 KiB chunks aligned to their size,
 * so the chunk (and with it the slot index) of an object is found by masking
 * its address: no id field in the object, no hash table for ids. Slots are
 * reused LIFO through a free list threaded through dead headers, and every
 * reuse bumps the slot's generation, so an id names one object forever. A
 * slot whose generation would wrap is retired instead of reused.
 */
#ifndef HEAPD_SLAB_H
#define HEAPD_SLAB_H

#include "obj.h"

#define SLAB_CHUNK_BYTES 65536u
#define SLAB_CHUNK_HDR   64u
#define SLAB_NO_SLOT     UINT32_MAX

typedef struct slab {
    htype type;
    uint32_t objsize;
    uint32_t per_chunk;
    uint32_t nchunks, chunks_cap;
    char **chunks;
    uint32_t nslots;    /* slots handed out so far (high-water mark) */
    uint32_t free_head; /* first free slot, or SLAB_NO_SLOT */
    uint64_t live;      /* objects in use */
    uint64_t retired;   /* slots whose generation ran out */
} slab;

void slab_init(slab *s, htype type, uint32_t objsize);
/* Releases all chunks; objects in them must have been finalized already. */
void slab_destroy(slab *s);

/* A zeroed object with its header set (refcnt 0, type, generation), or NULL
 * when the slot space (2^32 per type) is exhausted. */
hobj *slab_alloc(slab *s);
/* Returns o's slot to the free list (or retires it); o must be live. */
void slab_free(slab *s, hobj *o);

/* The object (live or dead) at slot, or NULL if the slot was never used. */
static inline hobj *slab_at(const slab *s, uint32_t slot)
{
    if (slot >= s->nslots)
        return NULL;
    return (hobj *)(s->chunks[slot / s->per_chunk] + SLAB_CHUNK_HDR +
                    (size_t)(slot % s->per_chunk) * s->objsize);
}

uint32_t slab_slot_of(const hobj *o);

/* --- restoring a snapshot (heap_restore_*, snapshot loading) -------------
 * While a snapshot loads, objects go back to the slots their ids name:
 * the slab first grows to the snapshot's slot count with every new slot
 * dead, then each dead slot gets the generation the snapshot recorded,
 * then each object is made in its own slot (slab_place, then the ordinary
 * allocation). The free list is rebuilt at the end. */

/* Grows the slab to nslots slots (never fewer than it has); the new ones
 * are dead with generation 0 and on no free list. */
void slab_grow_to(slab *s, uint32_t nslots);
/* The next slab_alloc returns the dead slot `slot`, with generation gen
 * (which its id will carry). The free list must not be in use: it is
 * rebuilt by slab_rebuild_free_list. */
void slab_place(slab *s, uint32_t slot, uint32_t gen);
/* Forgets a placement that no allocation used. */
void slab_unplace(slab *s);
/* Every dead slot whose generation is below HGEN_MAX becomes free (the
 * lowest slot is reused first); a dead slot at HGEN_MAX is retired. */
void slab_rebuild_free_list(slab *s);

static inline hid hid_make(uint32_t gen, uint32_t slot, htype type)
{
    return (hid)gen << 40 | (hid)slot << 4 | (hid)type;
}
static inline htype hid_type(hid id)
{
    return (htype)(id & 0xF);
}
static inline uint32_t hid_slot(hid id)
{
    return (uint32_t)(id >> 4);
}
static inline uint32_t hid_gen(hid id)
{
    return (uint32_t)(id >> 40);
}

static inline hid hobj_id(const hobj *o)
{
    return hid_make(o->gen, slab_slot_of(o), o->type);
}

#endif
