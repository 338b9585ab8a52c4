/* Where heapd listens (SPEC §7): a Unix socket, TCP, or the sockets systemd
 * passes; and the auth token a session must present when one is set. */
#ifndef HEAPD_LISTENERS_H
#define HEAPD_LISTENERS_H

#include "notify.h"

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct server;
struct heapd_config;

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

/* Every rule start-up applies to the listening settings, binding nothing:
 * auth.token_file (when set) holds a token, and listen.tcp parses
 * (config_tcp_address) and is on loopback unless there is a token.
 * --check-config runs it, and listeners_prepare. 0, or -1 with one line in err. */
int listeners_check(const struct heapd_config *cfg, char *err, size_t errlen);
/* Before anything touches files another heapd may own (the snapshot):
 * listeners_check, keeping the token, then the Unix socket's path is
 * claimed: a socket where a server answers refuses the start ("address in
 * use: another heapd is listening on PATH"), a stale one is removed. Under
 * socket activation systemd's sockets are not probed. 0, or -1 and err. */
int listeners_prepare(struct server *srv, char *err, size_t errlen);
/* Opens the listeners: systemd's sockets if it passed any, else listen.tcp
 * and listen.unix (claimed again just before the bind). Accepted
 * connections become sessions of srv. 0, or -1 with one line in err. */
int listeners_open(struct server *srv, char *err, size_t errlen);
/* Whether tok is the configured token (constant time in the token). */
bool listeners_token_matches(const listeners *l, const char *tok, size_t len);
/* Stops accepting (closes the listening handles). */
void listeners_close(listeners *l);
/* Removes the socket file heapd made and frees the rest. */
void listeners_free(listeners *l);

#endif
