/* Paths through the object graph, for the tools that show why an object is
 * alive (why_alive) and how big what a name reaches is (memory_usage).
 *
 * Both walk the graph inside one request and keep nothing afterwards: the
 * heap cannot change while they run (the server is single-threaded and no
 * collector slice or deferred free runs inside a request), so the raw
 * pointers they collect are valid exactly until the request ends, and the
 * caller must not keep them past it. Neither changes the heap: no counts,
 * no colours (the collector's marks are left alone; these walks have their
 * own visited sets).
 *
 * Cost: heap_path_find is a breadth-first search from every root, so it is
 * O(reachable heap) by nature, like Python's gc.get_referrers; it stops as
 * soon as the target is found. heap_deep_size is bounded by its caller's
 * max_objects. */
#ifndef HEAPD_PATHS_H
#define HEAPD_PATHS_H

#include "heap.h"

/* The shortest chain of references from a root to target. */
typedef struct heap_path {
    hobj *first;  /* the object a root references directly (target itself when
                     a root holds it); borrowed, valid during this request */
    hobj **steps; /* steps[0] == first ... steps[n-1] holds target: the
                     containers along the chain; owned (heap_path_free) */
    size_t n;
    uint64_t visited; /* containers the search looked inside */
} heap_path;

/* Searches breadth-first from the roots (heap_visit_roots) for target.
 * Returns 1 with *out filled when a root reaches it, 0 when none does
 * (garbage the collector has not cleared yet), or HE_MEMORY when the
 * search's scratch memory (one bit per container slot and 16 bytes per
 * container reached) would pass the heap's memory limit. Changes nothing. */
int heap_path_find(heap *h, hobj *target, heap_path *out, herr *err);
void heap_path_free(heap_path *p);

/* A doomed container (garbage the collector, or a replay, has cleared) that
 * a root reaches, or NULL when none does: a broken heap, since the
 * collector only dooms what no root reaches (heap_check). Breadth first
 * from the roots, O(what they reach), stopping at the first one; not bound
 * by the memory limit (a load's check, before anything runs). */
hobj *heap_root_reaches_doomed(heap *h);

/* How container c holds child (first match, in c's order). */
typedef enum { PATH_INDEX, PATH_VALUE, PATH_MEMBER } path_step_kind;
typedef struct path_step {
    path_step_kind kind; /* INDEX: list/tuple item; VALUE: a dict's value
                            under key; MEMBER: a set's member or a dict's
                            key (key is then child itself) */
    uint32_t index;
    hobj *key; /* VALUE and MEMBER: borrowed */
} path_step;

/* false when c does not hold child. */
bool heap_path_step(hobj *c, hobj *child, path_step *out);

/* The memory an object holds, counting what it reaches (each object once,
 * immortal ones not at all), in at most max_objects objects of work:
 * exact when that is enough. Otherwise an estimate: containers of more
 * than `samples` items are sampled (`samples` items spread over it, their
 * sizes scaled up to its length), and what is still unwalked when the
 * budget runs out counts its own size only. */
typedef struct deep_size {
    uint64_t bytes;
    uint64_t objects; /* objects counted (estimated ones scaled) */
    uint64_t walked;  /* objects looked at: at most max_objects */
    bool exact;
} deep_size;

/* Returns 0, or HE_MEMORY when the walk's scratch memory (about 24 bytes
 * per object, at most max_objects of them) would pass the memory limit. */
int heap_deep_size(heap *h, hobj *o, uint32_t samples, uint64_t max_objects, deep_size *out,
                   herr *err);

#endif
