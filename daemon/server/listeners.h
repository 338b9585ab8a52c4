/* Where heapd listens (SPEC §7): a Unix socket, TCP, or the sockets systemd
 * passes; and the auth token a session must present when one is set. */
#ifndef HEAPD_LISTENERS_H
#define HEAPD_LISTENERS_H

#include "notify.h"

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct server;

typedef struct listeners {
    uv_pipe_t unix_srv;
    uv_tcp_t tcp_srv;
    bool unix_on, tcp_on;
    char *unix_path; /* the socket file heapd made (removed at exit) */
    /* Socket activation: the sockets systemd passed, used instead. */
    notify_listener *passed;
    unsigned npassed;
    char *token; /* auth token, or NULL */
    size_t token_len;
} listeners;

/* Reads the token (auth.token_file) and opens the listeners: systemd's
 * sockets if it passed any, else listen.tcp and listen.unix. Accepted
 * connections become sessions of srv. 0, or -1 with one line in err. */
int listeners_open(struct server *srv, char *err, size_t errlen);
/* Whether tok is the configured token (constant time in the token). */
bool listeners_token_matches(const listeners *l, const char *tok, size_t len);
/* Stops accepting (closes the listening handles). */
void listeners_close(listeners *l);
/* Removes the socket file heapd made and frees the rest. */
void listeners_free(listeners *l);

#endif
