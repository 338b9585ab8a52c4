/* The intern table: a set of scalar objects keyed by exact value (type and
 * bits; see value_same), open addressing with linear probing and
 * backward-shift deletion, so it never fills with tombstones. It holds no
 * references: the heap removes an object before finalizing it. */
#ifndef HEAPD_INTERN_H
#define HEAPD_INTERN_H

#include "obj.h"

typedef struct itab {
    hobj **slots;
    size_t mask; /* capacity - 1, or 0 before the first insert */
    size_t count;
} itab;

void itab_init(itab *t);
void itab_destroy(itab *t);
/* The object equal to probe (by value_same), or NULL. */
hobj *itab_find(const itab *t, hobj *probe);
/* Finds an object of type t equal to the given scalar without making one. */
hobj *itab_find_str(const itab *t, htype type, const char *data, size_t len);
hobj *itab_find_num(const itab *t, htype type, const void *value8);
void itab_add(itab *t, hobj *o);
void itab_remove(itab *t, hobj *o);
size_t itab_bytes(const itab *t);

#endif
