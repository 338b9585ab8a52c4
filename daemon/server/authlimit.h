/* Failed `auth` attempts, slowed as a login slows them: each failed answer
 * waits AUTH_FAIL_DELAY_MS; failed answers leave the server at most one per
 * AUTH_FAIL_SPACING_MS, whatever the number of connections, so opening more
 * of them buys no more guesses; and the AUTH_MAX_FAILURES-th failure on a
 * connection closes it, after its answer, with an AuthError notification.
 * A right token is answered at once. The loop never waits: the connection
 * waits as it does for `save` (conn_defer: it runs nothing more meanwhile,
 * so its pipelined guesses queue up behind the first), and a timer answers. */
#ifndef HEAPD_AUTHLIMIT_H
#define HEAPD_AUTHLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define AUTH_MAX_FAILURES    3
#define AUTH_FAIL_DELAY_MS   500
#define AUTH_FAIL_SPACING_MS 50 /* at most 20 failed answers a second */

struct server;
struct conn;

/* A failed answer waiting for its time: the connection by id (it may close
 * meanwhile, and then there is nobody to answer). */
typedef struct auth_wait {
    uint64_t conn_id, due_ms;
    bool answer; /* a request (a notification gets no answer, only the wait) */
    bool close;  /* the last failure allowed: close after the answer */
} auth_wait;

typedef struct authlimit {
    uv_timer_t timer;
    auth_wait *q; /* by due time: q[head .. head+n) */
    size_t head, n, cap;
    uint64_t last_due_ms;
    uint64_t failures, dropped; /* stats: failed attempts, connections closed */
} authlimit;

/* Initialises a's timer on loop; its data is srv. */
void authlimit_init(authlimit *a, uv_loop_t *loop, struct server *srv);
/* A failed `auth` on c (answer: it came as a request): counts it and
 * defers c until the failure's time. Returns what the handler returns
 * (REQ_DEFERRED). */
int authlimit_failed(struct server *srv, struct conn *c, bool answer);
/* Stops the timer (at the server's stop); authlimit_free frees the queue. */
void authlimit_close(authlimit *a);
void authlimit_free(authlimit *a);

#endif
