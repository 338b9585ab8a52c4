/* Where heapctl connects, and how it authenticates: filled by main.c from
 * -s / -H -p / -a / HEAPCTL_AUTH, used by every connection it opens (the
 * one-shot/script/REPL session and each of bench's clients). */
#ifndef HEAPCTL_ENDPOINT_H
#define HEAPCTL_ENDPOINT_H

typedef struct endpoint {
    const char *unix_path; /* Unix socket path, or NULL for TCP */
    const char *host;      /* TCP host (when unix_path is NULL) */
    int port;              /* TCP port */
    const char *token;     /* auth token to send first, or NULL */
} endpoint;

#endif
