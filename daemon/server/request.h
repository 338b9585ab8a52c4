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
    bool notify; /* sent as a notification: the result goes nowhere */
    herr *err;
    hobj *temps[4]; /* temporaries made for target arguments, dropped after */
    uint32_t ntemps;
} req;

typedef int (*method_fn)(req *r);

/* A handler's return when its answer comes later (`save`): nothing is
 * packed now, and the connection waits (conn_defer in conn.h). */
#define REQ_DEFERRED 1

#endif
