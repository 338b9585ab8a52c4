/* Where heapctl bench connects: an endpoint resolved once, then any number
 * of blocking connects to it (each bench client is one). */
#ifndef HEAPCTL_BENCH_CONNECT_H
#define HEAPCTL_BENCH_CONNECT_H

#include "endpoint.h"

#include <stddef.h>

struct addrinfo;

typedef struct bench_target {
    char path[108];      /* the Unix socket path, when ai is NULL */
    struct addrinfo *ai; /* the TCP addresses, owned */
    char desc[300];      /* for messages: the path, or host:port */
} bench_target;

/* Resolves ep: its Unix path (the default socket when it names neither a
 * path nor a host) or its TCP host and port. Returns 0, or -1 with err. */
int bench_target_init(bench_target *t, const endpoint *ep, char *err, size_t errlen);

/* A connected stream socket (blocking), or -1 with err. */
int bench_target_connect(const bench_target *t, char *err, size_t errlen);

void bench_target_free(bench_target *t);

#endif
