/* What a method handler sees: its arguments (already arity-checked), the
 * session and heap, and the packer its result goes to. Handlers validate
 * every argument before changing anything (every request is atomic) and
 * return 0 with exactly one value packed, or a negative HE_* code with
 * r->err set and nothing packed (the dispatcher rolls back partial output). */
#ifndef HEAPD_REQUEST_H
#define HEAPD_REQUEST_H

#include "heap.h"
#include "ns.h"

#include <msgpack.h>

struct server;
struct conn;

typedef struct req {
    struct server *srv;
    struct conn *conn;
    int method; /* enum method_id */
    heap *h;
    hns *ns;
    hsession *s;
    const msgpack_object *args;
    uint32_t nargs;
    msgpack_packer *out;
    herr *err;
    hobj *temps[4]; /* temporaries made for target arguments, dropped after */
    uint32_t ntemps;
} req;

typedef int (*method_fn)(req *r);

/* A handler's return when its answer comes later (`save`): nothing is
 * packed now, and the connection waits (conn_defer in conn.h). */
#define REQ_DEFERRED 1

/* --- argument helpers (args.c): each returns 0 or an error with r->err set */

/* The object a target designates: a str or ext 4 is a name, an ext 1 an id.
 * Any other literal is built as a temporary that lives until the request
 * ends (so `refcount 26` finds the interned 26: its count does not include
 * the temporary's reference, which is dropped before anyone can see it). */
int arg_target(req *r, uint32_t i, hobj **out);
/* Builds the value of argument i (a literal): a new reference in *out. */
int arg_value(req *r, uint32_t i, hobj **out);
/* Checks argument i as arg_value would, building nothing. */
int arg_check_value(req *r, uint32_t i);
/* A name argument (str): non-empty valid UTF-8. */
int arg_name(req *r, uint32_t i, const char **name, size_t *len);
int arg_int(req *r, uint32_t i, int64_t *out);
/* Drops the temporaries of arg_target (the dispatcher calls it). */
void req_release_temps(req *r);

/* An optional trailing opts map: {"scope": "global"} sets *global. */
int arg_scope_opts(req *r, uint32_t i, bool *global);
/* A str argument, not necessarily a name. */
int arg_str(req *r, uint32_t i, const char **s, size_t *len);

/* The method's name, for messages ("%s() takes ..."). */
const char *req_method(const req *r);

#endif
