/* Container operations on the heap: the list, dict and set primitives the
 * literal builder and the method handlers use. Callers check types and
 * limits first (cont_*_grow_bytes gives what a growth would cost); these
 * functions then cannot fail except where they return an error code.
 * Every store of a reference into a container goes through heap_store. */
#ifndef HEAPD_CONT_H
#define HEAPD_CONT_H

#include "heap.h"
#include "htab.h"

/* 0 and the hash in *hash, or TypeError "unhashable type: 'list'". */
int cont_hash(hobj *key, uint64_t *hash, herr *err);

/* --- list --------------------------------------------------------------- */

/* Extra bytes the item array needs to hold `extra` more items. */
size_t cont_list_grow_bytes(const hobj *list, uint32_t extra);
void cont_list_reserve(heap *h, hobj *list, uint32_t extra);
/* Makes the item array hold exactly cap items (at least len), for callers
 * that know the final length (the snapshot loader). */
void cont_list_set_cap(heap *h, hobj *list, uint32_t cap);
/* Appends, stealing item. Room must have been reserved. */
void cont_list_append(heap *h, hobj *list, hobj *item);
/* Normalizes a Python index (negative counts from the end): IndexError
 * "list index out of range" when outside [0, len). */
int cont_index(const hobj *seq, int64_t index, uint32_t *out, herr *err);
/* Replaces item i, stealing item and dropping the old reference. */
void cont_list_set(heap *h, hobj *list, uint32_t i, hobj *item);
/* Removes item i and returns its reference (now the caller's). */
hobj *cont_list_take(heap *h, hobj *list, uint32_t i);
/* Inserts before index (clamped as Python's list.insert), stealing item;
 * room must have been reserved. */
void cont_list_insert(heap *h, hobj *list, int64_t index, hobj *item);

/* --- dict and set ------------------------------------------------------- */

size_t cont_table_grow_bytes(const hobj *d, uint32_t extra);
void cont_table_reserve(heap *h, hobj *d, uint32_t extra);
/* The value for key (borrowed), or NULL. */
hobj *cont_dict_get(const hobj *d, hobj *key, uint64_t hash);
/* d[key] = val, stealing both; an existing key keeps its original object.
 * Room for one entry must have been reserved. */
void cont_dict_set(heap *h, hobj *d, hobj *key, uint64_t hash, hobj *val);
/* Removes key; its value reference goes to *val (or is dropped if val is
 * NULL). KeyError if absent. */
int cont_dict_pop(heap *h, hobj *d, hobj *key, uint64_t hash, hobj **val, herr *err);
/* Adds key (stolen); returns false if it was already a member. */
bool cont_set_add(heap *h, hobj *s, hobj *key, uint64_t hash);
/* Removes key if present; returns whether it was. */
bool cont_set_discard(heap *h, hobj *s, hobj *key, uint64_t hash);
bool cont_table_contains(const hobj *d, hobj *key, uint64_t hash);

/* Empties a list, dict or set; the references go to the deferred queue. */
void cont_clear(heap *h, hobj *o);

#endif
