/* The heap checker (behind the debug_check method): recomputes every
 * reference count from the graph (roots, containers, deferred queue) and
 * verifies every invariant of obj.h, slab.h, htab.h and the interning
 * rules. O(heap); for tests and operators, never on a hot path. */
#ifndef HEAPD_CHECK_H
#define HEAPD_CHECK_H

#include "heap.h"

/* 0 with the live object count in *objects (may be NULL), or HE_RUNTIME
 * with err naming the first broken invariant. */
int heap_check(heap *h, uint64_t *objects, herr *err);

#endif
