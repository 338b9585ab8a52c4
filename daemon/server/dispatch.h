/* One decoded message from a client (SPEC §2): the envelope, the method,
 * auth, arity (checked once, here), the handler, and its response. */
#ifndef HEAPD_DISPATCH_H
#define HEAPD_DISPATCH_H

#include "server.h"

/* Runs msg from c; the response (or error notification) goes to c's
 * output. A failed request changes nothing and leaves only its error. */
void dispatch_message(server *srv, conn *c, const msgpack_object *msg);

#endif
