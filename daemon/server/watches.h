/* The watch index (SPEC §5, §9): which owners (connections) wait for which
 * object's "freed" event. The heap calls its free hook for every object it
 * frees, so a free must cost the same whatever the number of watches: a
 * hash table from object id to that id's watchers answers "is this id
 * watched?" with one probe (no spare bit in the object header says so).
 *
 * Each watch is one node in a pool, on two lists: its id's watchers
 * (reached from the table) and its owner's watches (reached from a head
 * the owner keeps, so a closing connection drops only its own). At most
 * one watch per (id, owner). Watching does not keep an object alive: the
 * index holds ids, never references. */
#ifndef HEAPD_WATCHES_H
#define HEAPD_WATCHES_H

#include "obj.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wslot; /* one table slot: an id and its first watcher */
struct wnode; /* one watch */

typedef struct watches {
    struct wslot *slots; /* open addressing, linear probing, at most half full */
    size_t mask, nids;
    /* the table before the last growth, moved into slots a few entries per
     * operation (as Redis's dict rehashes), so growing costs no one request
     * the whole table; NULL once empty */
    struct wslot *old;
    size_t old_mask, old_pos;
    struct wnode *nodes; /* the pool; index 0 is "none" */
    uint32_t nnodes, cap, free_list;
    size_t count;    /* watches */
    uint64_t probes; /* table slots examined, ever: for tests */
} watches;

/* A watcher being told its object is gone (watches_fire). */
typedef void (*watch_fire_fn)(void *owner, void *arg);

/* An empty index; watches_free releases its memory. */
void watches_init(watches *w);
void watches_free(watches *w);

/* Adds owner's watch of id unless it exists; *head is the owner's list
 * (0 when empty), which the index keeps up to date. True when added. */
bool watches_add(watches *w, hid id, void *owner, uint32_t *head);
/* Removes owner's watch of id: false when there was none. */
bool watches_remove(watches *w, hid id, const void *owner);
/* Calls fn(owner, arg) for each watcher of id, in the order they started
 * watching, and forgets those watches: the number of watchers told. An
 * unwatched id costs one probe or a few. */
size_t watches_fire(watches *w, hid id, watch_fire_fn fn, void *arg);
/* Forgets every watch on the owner's list *head (the owner is going away). */
void watches_drop_owner(watches *w, uint32_t *head);

/* How many watches there are, and how many watchers id has. */
size_t watches_count(const watches *w);
size_t watches_of(const watches *w, hid id);

#endif
