/* heapctl's connection to heapd: one blocking msgpack-RPC session (the
 * one-shot command, a script, the REPL). Requests go out one at a time and
 * the answer is read before the next, so a session's state (scopes,
 * handles) carries across them. */
#ifndef HEAPCTL_RPC_H
#define HEAPCTL_RPC_H

#include "endpoint.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct rpc rpc;

/* Called for each server notification read while waiting for an answer. */
typedef void (*rpc_event_fn)(void *ctx, const msgpack_object *method, const msgpack_object *params);

/* Connects. NULL with a message in err when the server cannot be reached.
 * Authentication (ep->token) is the caller's first call, so that a refused
 * token is reported as the server's answer. */
rpc *rpc_connect(const endpoint *ep, char *err, size_t errlen);
void rpc_close(rpc *r);
void rpc_on_event(rpc *r, rpc_event_fn fn, void *ctx);

/* The answer to one call. Valid until the next rpc_call on the same rpc. */
typedef struct rpc_reply {
    bool ok;               /* false: the server answered an error */
    msgpack_object result; /* when ok */
    char etype[32];        /* "NameError", ... when !ok */
    char emsg[512];        /* the server's message when !ok */
} rpc_reply;

/* Sends method(params...) where params is an already packed msgpack array
 * of nparams items, and waits for the answer. Returns 0, or -1 with err set
 * when the connection fails (closed, unreadable reply). */
int rpc_call_packed(rpc *r, const char *method, const char *params, size_t len, rpc_reply *out,
                    char *err, size_t errlen);

/* The same with no parameters or one str parameter. */
int rpc_call0(rpc *r, const char *method, rpc_reply *out, char *err, size_t errlen);
int rpc_call_str(rpc *r, const char *method, const char *arg, rpc_reply *out, char *err,
                 size_t errlen);

/* The connection's socket, for a caller that waits on it (the REPL). */
int rpc_fd(const rpc *r);

/* Reads what the server has sent unasked (events) without waiting, and
 * passes each notification to the event callback. Returns 0, or -1 with
 * err set when the connection is gone or sent something else. */
int rpc_poll_events(rpc *r, char *err, size_t errlen);

/* Opens the socket only: used by bench for its many connections. Returns
 * a connected blocking fd or -1 with err set. */
int rpc_open_socket(const endpoint *ep, char *err, size_t errlen);

#endif
