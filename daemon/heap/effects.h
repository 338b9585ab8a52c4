/* The heap's effects, for the effect log (SPEC §14; docs/effect-log.md).
 *
 * This is the heap's ONE hook for persistence and replication: every change
 * to what a snapshot holds is reported here, with explicit objects, as it
 * happens: an object made (its value set), a reference stored in or removed
 * from a container, a global name bound or unbound, a container emptied
 * (list.clear, or the collector clearing garbage), an object finalized.
 * Session state (frames, handles) is not reported: a replay keeps objects
 * that only sessions held alive at count 0 ("zombies", below) until the
 * log says they were freed, or until the sessions end.
 *
 * The heap only calls the hook; it knows nothing of files. The hook runs
 * inside heap operations and must not touch the heap.
 *
 * ORDER (a rule every call site keeps; fork-free snapshots rely on it, as
 * they copy an object's state from the hook before it changes): an effect
 * on an EXISTING object (every kind but HEFF_NEW) is reported BEFORE the
 * object is changed, with what the change will be (the hook sees the old
 * items, entries, flag or weakrefs still in place). HEFF_NEW is reported
 * AFTER the new object's value is set (there is no "before" to copy).
 * A change that is part of another one is not reported again: what an
 * object's death does to it (its weakrefs cleared, its finalizer run) is
 * implied by HEFF_FREE.
 *
 * Adding an object type: its constructor reports HEFF_NEW once its value
 * is set, its stores and removals report the kinds below (or new ones), and
 * the log's codec (persist/elog_*.c) gets a payload for the type code.
 *
 * Replay ("defer frees", heap_set_defer_frees): a replay applies effects
 * with the heap's own functions, so containers end in the same layout. An
 * object whose count reaches zero is NOT finalized then, but when the log
 * says it was (HEFF_FREE): its count in the replica misses the references
 * of the writer's sessions and C temporaries, which the log does not
 * carry. heap_sweep_zombies finalizes every zombie left (all sessions
 * ended). */
#ifndef HEAPD_EFFECTS_H
#define HEAPD_EFFECTS_H

#include "heap.h"

enum heff_kind {
    HEFF_NEW = 1, /* o made, value set (a tuple's items included) */
    HEFF_FREE,    /* o about to be finalized (any cause) */
    HEFF_CLEAR,   /* container o emptied: its references go to the deferred queue */
    HEFF_APPEND,  /* list o: a appended */
    HEFF_INSERT,  /* list o: a inserted before index i (already clamped) */
    HEFF_LSET,    /* list o: item i replaced by a */
    HEFF_LDEL,    /* list o: item i removed */
    HEFF_DSET,    /* dict o: o[a] = b */
    HEFF_DDEL,    /* dict o: key a removed */
    HEFF_SADD,    /* set o: a added (only when it was not a member) */
    HEFF_SDEL,    /* set o: a removed */
    HEFF_BIND,    /* global name (name, len) bound to a */
    HEFF_UNBIND,  /* global name (name, len) unbound */
    /* o's flag bit set to i (0 or 1): a class's "has a true __del__"
     * cache, an instance finalized (PEP 442, by the collector), a dict
     * made weak-valued (its values are its entries' weakrefs already) */
    HEFF_FLAG,
    /* every weakref to live container o cleared by the collector (o is
     * garbage; o is not freed now). At a free it is part of HEFF_FREE. */
    HEFF_WEAK_CLEAR,
};

typedef struct heffect {
    enum heff_kind kind;
    hobj *o, *a, *b;
    uint64_t i;
    const char *name;
    size_t len;
} heffect;

typedef void (*heffect_fn)(void *ctx, const heffect *e);

/* fn (NULL: none) is called for every effect from now on. */
void heap_set_effect_hook(heap *h, heffect_fn fn, void *ctx);
bool heap_effects_on(const heap *h);
/* Reports e to the hook, if any (the heap's own call sites use HEFFECT). */
void heap_effect(heap *h, const heffect *e);

/* HEFFECT(h, kind, o, .a = ..., .b = ..., .i = ...): free when no hook is set
 * but for one call. */
#define HEFFECT(h, kind_, ...)                                                                     \
    do {                                                                                           \
        if (heap_effects_on(h))                                                                    \
            heap_effect((h), &(heffect){.kind = (kind_), __VA_ARGS__});                            \
    } while (0)

/* --- the snapshot writer's observer (persist/snap_live.c) -----------------
 *
 * A snapshot written while clients go on is consistent as of its start:
 * the observer is told before any object it may not have written yet
 * changes or is freed, and of every object allocated after the start.
 * It only reads the heap. */
typedef struct hsnap_observer {
    void (*touch)(void *ctx, hobj *o); /* o is about to change or be freed */
    void (*touch_name)(void *ctx, const char *name, size_t len); /* a global name */
    void (*born)(void *ctx, hobj *o); /* just allocated: type, slot and generation set */
    void *ctx;
} hsnap_observer;

/* obs (copied; NULL: none) observes from now on. */
void heap_set_snap_observer(heap *h, const hsnap_observer *obs);
/* For a change that is no effect of its own (a weakref cleared, a flag
 * set, a table rehashed): o is about to change. */
void heap_snap_touch(heap *h, hobj *o);

/* --- replay ------------------------------------------------------------- */

/* On: objects whose count reaches zero stay alive (zombies) until
 * heap_free_zombie or heap_sweep_zombies. */
void heap_set_defer_frees(heap *h, bool on);
/* Finalizes o now (HEFF_FREE in a replay): o must be alive with count 0.
 * An interned str made immortal is uninterned first (a failed request's
 * str, heap_intern_end). Its references drain at once. */
void heap_free_zombie(heap *h, hobj *o);
/* Empties container o (HEFF_CLEAR), tuples included (the collector's way).
 * A class, instance or weakref is only ever cleared by the collector, as
 * garbage: it is doomed here too (untracked, no longer found by
 * heap_lookup; heap_lookup_zombie still finds it for HEFF_FREE). */
void heap_effect_clear(heap *h, hobj *o);
/* Containers the collector (or a replay's CLEAR, or a snapshot's cleared
 * record) has doomed and that are not freed yet. The collector only dooms
 * garbage, so no root may reach one (heap_check); a replay or a load that
 * ends with some alive checks that with heap_root_reaches_doomed (paths.h),
 * so the common case, none, costs nothing. */
uint64_t heap_doomed_alive(const heap *h);
/* Clears every weakref to o (HEFF_WEAK_CLEAR): o must be weakly referenced. */
void heap_effect_weak_clear(heap *h, hobj *o);
/* The live object id names, doomed garbage included (heap_lookup skips it). */
hobj *heap_lookup_zombie(heap *h, hid id);
/* The next object of id's type is made with exactly this id: its slot (the
 * slab grows to it) must be dead with a generation not above id's. The free
 * lists are not in use until heap_restore_end (heap.h). False: placed
 * nothing. heap_restore_unplace drops a placement no constructor used. */
bool heap_replay_place(heap *h, hid id);
/* Finalizes every object left at count 0 (not immortal), and what that
 * frees, with frees no longer deferred after it, then heap_finish_sweep.
 * Returns how many zombies. */
uint64_t heap_sweep_zombies(heap *h);
/* When garbage the collector had emptied is still held by garbage it had
 * not reached (a crash or a snapshot in the middle of its sweep), collects
 * it all now (a full collection, O(heap): only then). */
void heap_finish_sweep(heap *h);

#endif
