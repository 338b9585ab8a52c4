/* A table of names (byte strings) to objects: the global namespace and each
 * frame. Open addressing over pointers to entries that carry their name
 * inline, with backward-shift deletion. The table holds the references its
 * values represent but does no counting itself: callers incref/decref. */
#ifndef HEAPD_NAMETAB_H
#define HEAPD_NAMETAB_H

#include "obj.h"

struct nentry;

#define NAMETAB_MAX_NAME 65535 /* bytes */

typedef struct nametab {
    struct nentry **slots;
    size_t mask; /* capacity - 1; 0 with no slots */
    size_t count;
    size_t bytes; /* slots and entries */
} nametab;

typedef void (*nametab_fn)(const char *name, size_t len, hobj *val, void *arg);

void nametab_init(nametab *t);
/* Frees the table; it must be empty (values are the caller's to release). */
void nametab_destroy(nametab *t);
hobj *nametab_get(const nametab *t, const char *name, size_t len);
/* Binds name (at most NAMETAB_MAX_NAME bytes) to val (the caller's
 * reference moves into the table) and
 * returns the value it replaced (now the caller's), or NULL. */
hobj *nametab_put(nametab *t, const char *name, size_t len, hobj *val);
/* Unbinds name and returns its value (now the caller's), or NULL. */
hobj *nametab_del(nametab *t, const char *name, size_t len);
/* Removes every entry, handing each value to fn (which must drop it). */
void nametab_drain(nametab *t, nametab_fn fn, void *arg);
/* For a table being torn down (no lookups any more): removes the first
 * entry at or after slot *pos and returns its value (now the caller's),
 * advancing *pos; NULL when none is left. */
hobj *nametab_take_next(nametab *t, size_t *pos);
void nametab_foreach(const nametab *t, nametab_fn fn, void *arg);
/* One step of an iteration that survives growth and deletions (cursor.h):
 * calls fn on the entries whose home bucket is cursor's, adds the slots it
 * looked at to *work, and returns the next cursor, 0 when done. Start with
 * 0. fn must not change the table. */
size_t nametab_scan(const nametab *t, size_t cursor, nametab_fn fn, void *arg, uint64_t *work);
/* Whether a scan now at cursor has passed name's home bucket: had name
 * been bound, the scan would have seen it. False at cursor 0. */
bool nametab_scanned(const nametab *t, const char *name, size_t len, size_t cursor);
/* Calls fn on the entries a scan now at cursor (not 0) has passed. */
void nametab_foreach_scanned(const nametab *t, size_t cursor, nametab_fn fn, void *arg);
static inline size_t nametab_count(const nametab *t)
{
    return t->count;
}
/* Bytes the table and its entries use (kept up to date, O(1)). */
size_t nametab_bytes(const nametab *t);
/* An upper bound of the bytes binding a new name of len bytes adds. */
size_t nametab_put_cost(const nametab *t, size_t len);

#endif
