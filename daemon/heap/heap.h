/* The object heap: creation, exact reference counting, interning, freeing
 * (with a deferred-free queue for large cascades), limits and counters.
 *
 * Ownership: functions that return an object return a NEW reference (the
 * caller owns one count and must store or decref it). Functions documented
 * as "stealing" take over the caller's reference. Objects passed otherwise
 * are borrowed. The heap trusts its callers (values are checked at the edge,
 * in literal.c and the method handlers) and asserts.
 *
 * Freeing: when a count reaches zero the object is finalized at once: its
 * id stops resolving and its slot returns to the slab. A container's item
 * array or table is not walked then; it is pushed on the deferred queue,
 * whose references are released by heap_drain within a time budget. So no
 * decref ever does more than O(1) work or recurses, however long the chain.
 * Until drained, the queued arrays still count as references (heap_check
 * counts them).
 */
#ifndef HEAPD_HEAP_H
#define HEAPD_HEAP_H

#include "errors.h"
#include "obj.h"
#include "slab.h"

#include <assert.h>

typedef enum { INTERN_PYTHON, INTERN_NONE, INTERN_ALL } intern_policy;

/* Parses "python" / "none" / "all"; returns -1 for anything else. */
int intern_policy_parse(const char *s);
const char *intern_policy_name(intern_policy p);

typedef struct heap_config {
    intern_policy intern;
    uint64_t max_objects; /* 0: unlimited */
    uint64_t max_bytes;   /* 0: unlimited */
    uint32_t max_depth;   /* literal nesting limit */
} heap_config;

#define HEAP_DEFAULT_MAX_DEPTH 64

typedef struct heap_stats {
    uint64_t allocated, freed; /* objects, since start */
    uint64_t bytes, peak_bytes;
    uint64_t increfs, decrefs;
    uint64_t frees_refcount; /* objects freed because their count hit zero */
    uint64_t frees_gc;       /* ... while the collector was clearing garbage */
    uint64_t cascade;        /* objects freed in the current cascade */
    uint64_t longest_cascade;
    uint64_t pending; /* references waiting in the deferred queue */
} heap_stats;

enum free_cause { FREE_REFCOUNT, FREE_GC };

typedef void (*hvisit_fn)(hobj *o, void *arg);
typedef struct heap heap;

/* The root set, provided by the namespaces (ns.c), so that neither the heap
 * nor the collector knows sessions. Each visit is one call per reference
 * (per binding or handle: the same object may be visited several times). */
typedef struct hroots_ops {
    /* every root reference */
    void (*visit)(void *ctx, hvisit_fn visit, void *arg);
    /* starts an incremental scan (the collector, as a cycle starts) */
    void (*scan_begin)(void *ctx);
    /* visits roots until about max units of work are done (added to
     * *work); true when the scan is complete. The scan may be resumed after
     * any change to the roots: what it misses was added after it began. */
    bool (*scan_step)(void *ctx, hvisit_fn visit, void *arg, uint64_t max, uint64_t *work);
    /* the roots the scan under way has passed, or every root when none is
     * under way (for the checker) */
    void (*visit_scanned)(void *ctx, hvisit_fn visit, void *arg);
} hroots_ops;

/* A holder of references that is not a container and not a root: a closed
 * frame's names, a finished session's handles. It goes to the deferred
 * queue and is released in slices, like a dying container's items; until
 * then its references still count. */
typedef struct hholder_ops {
    /* removes one reference from the holder and returns its object (the
     * queue drops it), or NULL when none is left */
    hobj *(*take)(void *holder);
    /* every reference the holder still has */
    void (*visit)(void *holder, hvisit_fn visit, void *arg);
    /* frees the empty holder */
    void (*destroy)(void *holder, heap *h);
} hholder_ops;
/* Called just before an object is finalized, while its id still works. */
typedef void (*hfree_hook)(void *ctx, hobj *o, enum free_cause cause);
/* An instance whose class has a finalizer ("__del__") is reclaimed: called
 * once per instance (PEP 442), with its attributes intact; by_collector
 * when the collector found it in garbage (its weakrefs are cleared
 * already, as CPython clears them before finalizers run). */
typedef void (*hfinalize_hook)(void *ctx, hobj *inst, bool by_collector);
/* A weakref made with a session to tell was cleared. */
typedef void (*hweak_hook)(void *ctx, hobj *weakref);

/* A heap with its immortal objects made; never NULL. */
heap *heap_new(const heap_config *cfg);
/* Finalizes every object (in any state) and releases all memory. */
void heap_free(heap *h);

const heap_config *heap_cfg(const heap *h);
const heap_stats *heap_get_stats(const heap *h);
uint64_t heap_live(const heap *h, htype t);
uint64_t heap_live_total(const heap *h);
void heap_set_limits(heap *h, uint64_t max_objects, uint64_t max_bytes);
void heap_set_max_depth(heap *h, uint32_t max_depth);
/* ops (static, or NULL: no roots) and ctx stay the heap's until replaced. */
void heap_set_roots(heap *h, const hroots_ops *ops, void *ctx);
void heap_visit_roots(heap *h, hvisit_fn visit, void *arg);
void heap_roots_scan_begin(heap *h);
bool heap_roots_scan_step(heap *h, hvisit_fn visit, void *arg, uint64_t max, uint64_t *work);
void heap_visit_scanned_roots(heap *h, hvisit_fn visit, void *arg);
void heap_set_free_hook(heap *h, hfree_hook fn, void *ctx);
void heap_set_finalize_hook(heap *h, hfinalize_hook fn, void *ctx);
void heap_set_weak_hook(heap *h, hweak_hook fn, void *ctx);
/* Sets the cause reported to the free hook (the collector sets FREE_GC
 * while it clears garbage). */
void heap_set_free_cause(heap *h, enum free_cause cause);

/* --- limits ------------------------------------------------------------- */

/* 0 if `objects` more objects and `bytes` more bytes fit under the limits,
 * else HE_MEMORY with the message set. Nothing is reserved. */
int heap_check_room(heap *h, uint64_t objects, uint64_t bytes, herr *err);
/* Bytes an object of type t occupies before its payload. */
size_t heap_objsize(htype t);
/* Bytes a new object takes in all (object plus payload), for limit checks:
 * `n` is the length for str/bytes and the item count for containers. */
size_t heap_cost(htype t, size_t n);
/* sys.getsizeof: the object and its payload, in bytes. */
size_t heap_sizeof(const hobj *o);
void heap_account(heap *h, long delta_bytes);
/* Charges memory that is not an object's (name tables, session handles) to
 * the heap's total, so stats and the memory limit see it. */
void heap_account_ext(heap *h, long delta_bytes);
uint64_t heap_ext_bytes(const heap *h);

/* --- ids ---------------------------------------------------------------- */

/* The live object with this id, or NULL (stale, never issued, or freed). */
hobj *heap_lookup(heap *h, hid id);

/* --- creation: each returns a new reference ----------------------------- */

hobj *heap_none(heap *h);
hobj *heap_bool(heap *h, bool v);
hobj *heap_int(heap *h, int64_t v);
hobj *heap_float(heap *h, double v);
/* data must be valid UTF-8 (checked at the edge). */
hobj *heap_str(heap *h, const char *data, size_t len);
hobj *heap_bytes(heap *h, const void *data, size_t len);
/* An empty list with room for cap items. */
hobj *heap_list(heap *h, uint32_t cap);
/* A tuple of n items, stealing the n references in items[]. */
hobj *heap_tuple(heap *h, hobj **items, uint32_t n);
hobj *heap_dict(heap *h);
hobj *heap_set(heap *h);
/* A class named by the str `name`, with the attribute dict `dict`
 * (stealing both references). */
hobj *heap_class(heap *h, hobj *name, hobj *dict);
/* An instance of cls (borrowed) with the attribute dict `dict` (stolen). */
hobj *heap_instance(heap *h, hobj *cls, hobj *dict);
/* A weak reference to o (any container; borrowed). session: who gets the
 * "weakref" callback event when o dies (0: nobody). */
hobj *heap_weakref(heap *h, hobj *o, uint32_t session);

/* --- classes, instances and weak references (object.c, weak.c) ----------- */

/* A class's name (a str), and the attribute dict of a class or instance. */
static inline hobj *heap_rec_dict(const hobj *o)
{
    return ((const hrec *)o)->ref[REC_DICT];
}
/* The class of an instance. */
static inline hobj *heap_class_of(const hobj *inst)
{
    return ((const hrec *)inst)->ref[REC_CLASS];
}
/* A class's name, NUL-terminated. */
const char *heap_class_name(const hobj *cls);
/* The type name Python gives o: an instance's class name, else htype_name
 * ("WeakValueDictionary" for a weak-valued dict). */
const char *heap_type_name(const hobj *o);
/* Whether reclaiming o calls the finalize hook: an instance, not yet
 * finalized, whose class's attributes have a true "__del__". */
bool heap_finalizable(const hobj *o);
/* A class's attributes changed: re-reads whether it has "__del__". */
void heap_class_changed(heap *h, hobj *cls);

/* The referent of weakref w (borrowed), or NULL once it is gone (or is
 * garbage the collector has found). */
hobj *heap_weakref_get(heap *h, hobj *w);
/* How many weakrefs point to o (weakref.getweakrefcount). */
uint32_t heap_weakref_count(heap *h, const hobj *o);
/* A weak-valued dict's value: a weakref to o that belongs to entry `key`
 * (a new reference to key is kept) of dict d. */
hobj *heap_weak_entry(heap *h, hobj *o, hobj *d, hobj *key);
/* Makes dict d weak-valued: each of its values must already be its own
 * entry's weakref (heap_weak_entry; the invariant heap_check verifies). */
void heap_dict_make_weak(heap *h, hobj *d);
/* Removes the entries of weak-valued dicts whose values died since the
 * last call (deferred, as no free may change a dict under a collector's
 * examination). The server calls it before each request. */
void heap_weak_purge(heap *h);

/* True if creating this int would reuse a small-int object. */
bool heap_would_intern_int(const heap *h, int64_t v);
/* True if creating this scalar would reuse an existing (interned) object,
 * so it costs nothing against the limits. value points at the int64 or
 * double for numbers, at the bytes (len of them) for str and bytes. */
bool heap_would_reuse(const heap *h, htype t, const void *value, size_t len);

/* --- reference counting ------------------------------------------------- */

void heap_dispose(heap *h, hobj *o);

static inline hobj *heap_incref(heap *h, hobj *o);
static inline void heap_decref(heap *h, hobj *o);

/* Empties a list, dict or set: its references move to the deferred queue. */
void heap_clear_container(heap *h, hobj *o);

/* Releases deferred references for at most budget_ns nanoseconds (checked
 * every few hundred objects). Returns true when the queue is empty. */
bool heap_drain(heap *h, uint64_t budget_ns);
void heap_drain_all(heap *h);

/* A failed request changes nothing, interned objects included: between
 * heap_intern_begin and heap_intern_end the heap remembers the strs it
 * interns (immortal, so never freed by refcount); heap_intern_end(h, true)
 * frees those that nothing references any more, false keeps them. */
void heap_intern_begin(heap *h);
void heap_intern_end(heap *h, bool undo);

/* Queues a holder of `refs` references (see hholder_ops), stealing them:
 * heap_drain releases them in slices; ops->destroy frees it when empty. */
void heap_queue_holder(heap *h, const hholder_ops *ops, void *holder, uint64_t refs);

/* Calls visit on every reference held by the deferred queue. */
void heap_visit_pending(heap *h, hvisit_fn visit, void *arg);

/* Calls visit on every reference o holds (tuple/list items, dict keys and
 * values, set members): the traverse function of the collector and checker. */
void heap_traverse(hobj *o, hvisit_fn visit, void *arg);

/* Calls fn on every live object of type t (or every type, t = T__COUNT),
 * in slot order. fn must not free objects. */
void heap_foreach(heap *h, htype t, hvisit_fn fn, void *arg);

const slab *heap_slab(const heap *h, htype t);

/* --- restoring a snapshot (snapshot.h) ----------------------------------
 * Objects are made with the ordinary constructors, each in the slot and
 * generation its saved id names: heap_restore_place before the
 * constructor, and the caller checks the id it got (an interned value
 * may come back as an existing object instead). Between begin and end the
 * free lists are not used. */

/* Grows each slab t to nslots[t] slots (never fewer than it has); the new
 * slots are dead with generation 0. */
void heap_restore_begin(heap *h, const uint32_t nslots[T__COUNT]);
/* Records the generation of slot `slot` of type t: the next id that slot
 * gives if it is dead (HGEN_MAX: retired). A live slot (an immortal made
 * by heap_new) must already have it: returns false otherwise. */
bool heap_restore_gen(heap *h, htype t, uint32_t slot, uint32_t gen);
/* The next object of id's type is made with exactly this id. False (and
 * nothing placed) if its slot is not dead with id's generation. */
bool heap_restore_place(heap *h, hid id);
/* Drops a placement no constructor used. */
void heap_restore_unplace(heap *h, htype t);
/* Rebuilds the free lists (lowest slot reused first; HGEN_MAX retired). */
void heap_restore_end(heap *h);
/* A class, instance or weakref with nothing in it yet (a shell)... */
hobj *heap_restore_record(heap *h, htype t);
/* ... then what a class (a: name, b: dict) or an instance (a: class, b:
 * dict) holds (new references are taken), and its flag; or what a weakref
 * holds (key or NULL, referent or NULL, owner dict id or 0). */
void heap_restore_rec(heap *h, hobj *o, hobj *a, hobj *b, bool flag);
void heap_restore_weakref(heap *h, hobj *w, hobj *key, hobj *referent, hid owner);
/* ... or, for a class or instance the collector had found to be garbage and
 * emptied (a snapshot written during its sweep), that it stays so: empty,
 * doomed, found by no lookup, until its count falls to zero. */
void heap_restore_cleared(heap *h, hobj *o, bool flag);

/* --- implementation of the inline functions ----------------------------- */

/* The part of the heap the inline functions below touch. */
struct heap_hot {
    heap_stats st;
    bool gc_marking;       /* the collector is in its MARK phase */
    uint8_t gc_white;      /* the current white */
    uint8_t alloc_colour;  /* colour of new containers */
    uint8_t doomed_colour; /* during SWEEP: garbage's colour; else 0xFF */
    hobj *gc_partial;      /* the container being scanned piecewise, or NULL */
    uint32_t gc_partial_pos;
};

/* Shades o gray (collector internals, gc.c). */
void gc_shade(heap *h, hobj *o);

static inline struct heap_hot *heap_hot_(heap *h)
{
    return (struct heap_hot *)h;
}

static inline hobj *heap_incref(heap *h, hobj *o)
{
    assert(!o->dead && o->refcnt < UINT32_MAX);
    o->refcnt++;
    heap_hot_(h)->st.increfs++;
    return o;
}

static inline void heap_decref(heap *h, hobj *o)
{
    /* A count at zero before the decrement is a bug that would corrupt the
     * heap: stop here (redis decrRefCount does the same). */
    assert(!o->dead && o->refcnt > 0);
    heap_hot_(h)->st.decrefs++;
    if (--o->refcnt == 0 && !o->immortal)
        heap_dispose(h, o);
}

/* The write barrier: every store of a reference to child into container
 * passes here (gc.h states the invariant it keeps). Lua's luaC_objbarrier:
 * a cheap test inline, the shading out of line. */
static inline void heap_store_barrier(heap *h, hobj *container, hobj *child)
{
    struct heap_hot *hot = heap_hot_(h);
    if (hot->gc_marking && htype_is_container(child->type) && child->colour == hot->gc_white &&
        (container->colour == HC_BLACK || container == hot->gc_partial))
        gc_shade(h, child);
}

/* The root barrier: every new root reference (binding, handle) passes here. */
static inline void heap_root_barrier(heap *h, hobj *o)
{
    struct heap_hot *hot = heap_hot_(h);
    if (hot->gc_marking && htype_is_container(o->type) && o->colour == hot->gc_white)
        gc_shade(h, o);
}

/* A list's items from index on moved by delta (+1 insert, -1 removal): keeps
 * the position of a piecewise scan pointing at the next unscanned item. */
static inline void heap_note_shift(heap *h, hobj *list, uint32_t index, int delta)
{
    struct heap_hot *hot = heap_hot_(h);
    if (hot->gc_partial == list && index < hot->gc_partial_pos)
        hot->gc_partial_pos += (uint32_t)delta;
}

/* A dict or set was rebuilt (entries moved): a piecewise scan restarts. */
static inline void heap_note_rebuild(heap *h, hobj *table)
{
    struct heap_hot *hot = heap_hot_(h);
    if (hot->gc_partial == table)
        hot->gc_partial_pos = 0;
}

#endif
