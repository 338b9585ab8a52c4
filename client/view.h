/* What heapctl's heap views (why, graph, top) share: calls with packed
 * params whose failures are printed once, refs as ids, targets as words.
 * An answer (rpc_reply) is valid until the next call on the session, so
 * the views copy what they keep. */
#ifndef HEAPCTL_VIEW_H
#define HEAPCTL_VIEW_H

#include "session.h"

#include <msgpack.h>
#include <stdint.h>

/* A params array being built: view_params_begin(&p, n) then n packs. */
typedef struct view_params {
    msgpack_sbuffer b;
    msgpack_packer pk;
} view_params;

void view_params_begin(view_params *p, uint32_t n);
/* Calls method with p's params (and frees them): EXIT_OK with the answer
 * in rep, or the exit status with the failure printed. */
int view_call(session *s, const char *method, view_params *p, rpc_reply *rep);

/* One page of scan("global", *cursor, {count, match}) (count 0 and match
 * NULL: the server's defaults): its names, copied, appended to *names
 * (*n of them, at most max in all), and *cursor advanced. EXIT_OK, or the
 * exit status with the failure printed. */
int view_scan_page(session *s, uint64_t *cursor, int64_t count, const char *match, char ***names,
                   size_t *n, size_t max);

/* method(@id) and method(@id, depth). */
int view_call_id(session *s, const char *method, uint64_t id, rpc_reply *rep);
int view_call_id_int(session *s, const char *method, uint64_t id, int64_t n, rpc_reply *rep);

/* Packs an ext 1 reference. */
void view_pack_ref(msgpack_packer *pk, uint64_t id);
/* true with *id when o is an ext 1 reference. */
bool view_ref_id(const msgpack_object *o, uint64_t *id);

/* Packs one word as a `target` parameter is read on the command line (a
 * bare word is a name, @id, $name or a literal): 0, or the exit status
 * with a syntax error shown. */
int view_pack_target(session *s, const char *word, view_params *p);

/* repr(o) as a NUL-terminated string (malloc'd), cut to at most max
 * characters with "..." when longer (max 0: whole). */
char *view_repr(const msgpack_object *o, size_t max);

#endif
