/* The generation lists (gc.h): circular doubly linked lists through the
 * containers' hcont heads, with a sentinel head each, and the generation
 * kept in the low bits of gc_prev. Private to the collector and checker. */
#ifndef HEAPD_GC_LIST_H
#define HEAPD_GC_LIST_H

#include "obj.h"

#include <assert.h>
#include <stdint.h>

/* The tag in gc_prev's low bits: a generation, the permanent one, or a
 * young chunk's marks while a chunk is examined (gc_young.c). */
enum {
    GCT_PERMANENT = 3,
    GCT_CHUNK = 4,   /* in the chunk being examined, not yet known reachable */
    GCT_REACHED = 5, /* in the chunk, reachable */
    GCT_UNTRACKED = 7,
    GCT_MASK = 7,
};

static inline unsigned gcl_tag(const hcont *c)
{
    return (unsigned)(c->gc_prev & GCT_MASK);
}
static inline hcont *gcl_prev(const hcont *c)
{
    return (hcont *)(c->gc_prev & ~(uintptr_t)GCT_MASK);
}
static inline void gcl_set_prev(hcont *c, hcont *prev)
{
    c->gc_prev = (uintptr_t)prev | (c->gc_prev & GCT_MASK);
}
static inline void gcl_set_tag(hcont *c, unsigned tag)
{
    c->gc_prev = (c->gc_prev & ~(uintptr_t)GCT_MASK) | tag;
}

static inline void gcl_init(hcont *head)
{
    head->gc_prev = (uintptr_t)head;
    head->gc_next = head;
}
static inline int gcl_empty(const hcont *head)
{
    return head->gc_next == head;
}

/* Appends c (not in any list) at the tail, with this tag. */
static inline void gcl_append(hcont *head, hcont *c, unsigned tag)
{
    hcont *last = gcl_prev(head);
    assert(((uintptr_t)c & GCT_MASK) == 0);
    c->gc_prev = (uintptr_t)last | tag;
    c->gc_next = head;
    last->gc_next = c;
    gcl_set_prev(head, c);
}

/* Takes c out of its list; its tag stays. */
static inline void gcl_remove(hcont *c)
{
    hcont *prev = gcl_prev(c), *next = c->gc_next;
    prev->gc_next = next;
    gcl_set_prev(next, prev);
    c->gc_next = NULL;
}

/* Moves every member of from to the tail of to (tags unchanged); O(1). */
static inline void gcl_splice(hcont *to, hcont *from)
{
    if (gcl_empty(from))
        return;
    hcont *first = from->gc_next, *last = gcl_prev(from), *tail = gcl_prev(to);
    tail->gc_next = first;
    gcl_set_prev(first, tail);
    last->gc_next = to;
    gcl_set_prev(to, last);
    gcl_init(from);
}

#endif
