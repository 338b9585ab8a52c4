/* The insertion-ordered hash table behind dict and set (CPython's compact
 * dict): an index array of int32 positions, probed linearly, and a dense
 * entries array in insertion order. Deleting leaves a hole (key NULL) that
 * the next resize squeezes out. Sets use the same table with val NULL.
 *
 * The table does no reference counting and no memory accounting: the heap
 * (heap.c) does both around these calls. */
#ifndef HEAPD_HTAB_H
#define HEAPD_HTAB_H

#include "obj.h"

typedef struct hentry {
    uint64_t hash;
    hobj *key; /* NULL: deleted */
    hobj *val;
} hentry;

typedef struct htab_block {
    uint32_t log2; /* index has 1 << log2 slots */
    uint32_t ecap; /* entries capacity */
    hentry *entries;
    int32_t index[]; /* -1 empty, -2 deleted, else entry position */
} htab_block;

#define HTAB_NONE (-1)

/* Position of key in d's entries, or HTAB_NONE. */
int64_t htab_find(const hdict *d, hobj *key, uint64_t hash);

/* Bytes d's table will occupy after making room for `extra` more entries
 * (its current size if no resize is needed). */
size_t htab_bytes_for(const hdict *d, uint32_t extra);
size_t htab_bytes(const htab_block *tb);

/* Makes room for `extra` new entries (resizing, which also drops holes);
 * returns the change in bytes. */
long htab_reserve(hdict *d, uint32_t extra);

/* Appends a key that is not in the table; room must have been reserved. */
void htab_insert_new(hdict *d, hobj *key, uint64_t hash, hobj *val);

/* Deletes the entry at pos; its key and value are the caller's to release. */
void htab_delete_at(hdict *d, int64_t pos);

/* Detaches and returns d's block (d becomes empty): for clear and free. */
htab_block *htab_detach(hdict *d);

static inline hentry *htab_entry(const hdict *d, int64_t pos)
{
    return &d->tb->entries[pos];
}

/* Bytes of a table built for n entries (0 for an empty, unallocated one). */
size_t htab_cost(uint32_t n);

#endif
