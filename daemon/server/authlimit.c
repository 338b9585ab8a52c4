/* Failed auth attempts, answered late (authlimit.h). */
#include "authlimit.h"
#include "conn.h"
#include "log.h"
#include "reply.h"
#include "request.h"
#include "server.h"
#include "util.h"

#include <string.h>

void authlimit_init(authlimit *a, uv_loop_t *loop, server *srv)
{
    uv_timer_init(loop, &a->timer);
    a->timer.data = srv;
}

static void push(authlimit *a, auth_wait w)
{
    if (a->head + a->n == a->cap && a->head) {
        memmove(a->q, a->q + a->head, a->n * sizeof *a->q);
        a->head = 0;
    }
    if (a->n == a->cap)
        a->q = xrealloc(a->q, (a->cap = a->cap ? a->cap * 2 : 16) * sizeof *a->q);
    a->q[a->head + a->n++] = w;
}

static conn *find_conn(server *srv, uint64_t id)
{
    for (conn *c = srv->conns; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

/* A closed connection is logged at most once a second: an attack would
 * otherwise write the journal at the pace of its guesses. */
static void log_dropped(const conn *c, uint64_t dropped)
{
    static uint64_t last_ns, logged;
    uint64_t now = now_ns();
    if (last_ns && now - last_ns < 1000000000u)
        return;
    log_notice("client %llu closed after %d failed auth attempts (%llu more since the last report)",
               (unsigned long long)c->id, AUTH_MAX_FAILURES,
               (unsigned long long)(dropped - logged - 1));
    last_ns = now;
    logged = dropped;
}

static void answer(server *srv, conn *c, const auth_wait *w)
{
    c->waiting_auth = false;
    if (w->answer)
        reply_error(&c->pk, c->wait_msgid, HE_AUTH, "invalid token");
    if (!w->close) {
        conn_resume(c, true); /* runs what it pipelined meanwhile, reads on */
        return;
    }
    srv->auth.dropped++;
    log_dropped(c, srv->auth.dropped);
    conn_resume(c, false);
    conn_fatal(c, HE_AUTH, "too many failed auth attempts: closing the connection");
}

static void on_due(uv_timer_t *t)
{
    server *srv = t->data;
    authlimit *a = &srv->auth;
    uint64_t now = uv_now(t->loop);
    while (a->n && a->q[a->head].due_ms <= now) {
        auth_wait w = a->q[a->head++]; /* popped first: answering may push */
        if (--a->n == 0)
            a->head = 0;
        conn *c = find_conn(srv, w.conn_id);
        if (c && c->waiting_auth && !c->closing && !c->draining)
            answer(srv, c, &w);
    }
    if (a->n && !srv->stopping)
        uv_timer_start(&a->timer, on_due, a->q[a->head].due_ms - now, 0);
}

int authlimit_failed(server *srv, conn *c, bool answer)
{
    authlimit *a = &srv->auth;
    uint64_t now = uv_now(srv->loop), due = now + AUTH_FAIL_DELAY_MS;
    if (due < a->last_due_ms + AUTH_FAIL_SPACING_MS) /* the server-wide pace */
        due = a->last_due_ms + AUTH_FAIL_SPACING_MS;
    a->last_due_ms = due;
    a->failures++;
    if (c->auth_failures < UINT8_MAX)
        c->auth_failures++;
    c->waiting_auth = true;
    if (!answer) /* a notification: the dispatcher defers requests only */
        conn_defer(c, 0);
    push(a, (auth_wait){c->id, due, answer, c->auth_failures >= AUTH_MAX_FAILURES});
    if (a->n == 1)
        uv_timer_start(&a->timer, on_due, due - now, 0);
    return REQ_DEFERRED;
}

void authlimit_close(authlimit *a)
{
    if (a->timer.loop && !uv_is_closing((uv_handle_t *)&a->timer))
        uv_close((uv_handle_t *)&a->timer, NULL);
}

void authlimit_free(authlimit *a)
{
    free(a->q);
    a->q = NULL;
    a->head = a->n = a->cap = 0;
}
