/* Building heap objects from wire values (msgpack objects with the ext
 * types of SPEC section 2). This is the edge where client values are
 * checked: every rule (int range, UTF-8, hashable keys, nesting depth, refs
 * and names that resolve, object and memory limits) is verified in a first
 * pass that changes nothing; only then is anything created. So a failed
 * literal leaves the heap exactly as before: no object, id, count or
 * counter changes. */
#ifndef HEAPD_LITERAL_H
#define HEAPD_LITERAL_H

#include "heap.h"

#include <msgpack.h>

/* Resolves a name (ext 4) to a borrowed object, or fails with NameError. */
typedef int (*lit_resolve_fn)(void *ctx, const char *name, size_t len, hobj **out, herr *err);

/* Builds the object v describes and returns 0 with a new reference in *out,
 * or a negative error code with err set and the heap unchanged. */
int lit_build(heap *h, const msgpack_object *v, lit_resolve_fn resolve, void *ctx, hobj **out,
              herr *err);

/* lit_build for a value that must be hashable (a dict key, a set member):
 * "unhashable type" is found before anything is built. */
int lit_build_key(heap *h, const msgpack_object *v, lit_resolve_fn resolve, void *ctx, hobj **out,
                  herr *err);

/* What building v would add, summed into *out (plan only, no limit
 * check), so a request that builds two literals checks the limits for both
 * before building either: 0, or the error lit_build would give. */
typedef struct lit_costs {
    uint64_t objects, bytes;
} lit_costs;
int lit_cost(heap *h, const msgpack_object *v, lit_resolve_fn resolve, void *ctx, bool key,
             lit_costs *out, herr *err);

/* Checks v as lit_build would (every rule but the limits) without building
 * anything: 0, or the error lit_build would give. */
int lit_check(heap *h, const msgpack_object *v, lit_resolve_fn resolve, void *ctx, herr *err);

/* lit_check, then on_ref(arg, o) for each ext 1 in v, in order, ext
 * payloads included (ext 4 names are not references on the wire): for an
 * answer that echoes v as it came (ping). Nothing is called on error. */
typedef void (*lit_ref_fn)(void *arg, hobj *o);
int lit_check_refs(heap *h, const msgpack_object *v, lit_resolve_fn resolve, void *ctx,
                   lit_ref_fn on_ref, void *arg, herr *err);

/* Decodes an ext 1 payload: the id, or ProtocolError if malformed. */
int lit_ref_id(const msgpack_object_ext *ext, hid *id, herr *err);

#endif
