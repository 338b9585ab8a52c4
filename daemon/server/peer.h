/* Who is at the other end of an accepted connection, for clients(). */
#ifndef HEAPD_PEER_H
#define HEAPD_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* A new string naming the peer of s: "ADDR:PORT" for TCP ("127.0.0.1:5123",
 * "[::1]:5123"); for a Unix socket, whose clients have no name of their
 * own, the socket's path, as Redis shows it ("?" when unknown). *pid gets
 * a Unix client's process id (SO_PEERCRED), else 0. Caller frees. */
char *peer_name(uv_stream_t *s, bool tcp, int64_t *pid);

#endif
