/* The server's life and its loop: the collector's and the deferred frees'
 * place between requests, signals, and an orderly stop. */
#include "server.h"
#include "conn.h"
#include "elog.h"
#include "gc.h"
#include "log.h"
#include "notify.h"
#include "persist.h"
#include "reply.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the collector and the deferred frees, between requests --------------- */

/* The freeing one loop turn may do: a quarter of a collector slice, so a
 * request that arrives while heapd frees a big cascade waits a fraction of
 * a slice, not a whole one (turns are cheap: one non-blocking poll). */
static uint64_t turn_drain_ns(const server *srv)
{
    return gc_get_config(srv->h)->slice_us * 1000 / 4;
}

/* Takes what ran since t0 off what this loop turn may still spend freeing. */
static void spend_turn(server *srv, uint64_t t0)
{
    uint64_t spent = now_ns() - t0;
    srv->drain_left_ns = spent >= srv->drain_left_ns ? 0 : srv->drain_left_ns - spent;
}

/* After each request: release what it freed, within what is left of one
 * slice for this loop iteration, so counts are exact for the next request
 * whenever the cascade is small. */
void server_after_request(server *srv)
{
    if (heap_get_stats(srv->h)->pending && srv->drain_left_ns) {
        uint64_t t0 = now_ns();
        heap_drain(srv->h, srv->drain_left_ns);
        spend_turn(srv, t0);
    }
    if (events_pending(&srv->ev))
        events_send(srv);
}

static bool work_pending(server *srv)
{
    return heap_get_stats(srv->h)->pending || srv->nyielded ||
           (gc_isenabled(srv->h) && gc_running(srv->h));
}

static void on_idle(uv_idle_t *h)
{
    (void)h;
} /* only keeps poll from blocking */

void server_wake(server *srv)
{
    if (!srv->stopping)
        uv_idle_start(&srv->keep_busy, on_idle);
}

/* The connections that used their turn run their next slice of requests. */
static void continue_yielded(server *srv)
{
    for (conn *c = srv->conns, *next; c && srv->nyielded; c = next) {
        next = c->next; /* c may close */
        conn_continue(c);
    }
}

/* A whole slice when no client was served in this turn; else what the
 * turn's requests left of its budget, but never under a quarter of a slice,
 * so that the collector always moves on. Its time is the turn's, frees
 * included. */
static void collector_slice(server *srv)
{
    uint64_t t0 = now_ns();
    uint64_t slice_us = gc_get_config(srv->h)->slice_us, left_us = srv->drain_left_ns / 1000;
    uint64_t busy_us = left_us > slice_us / 4 ? left_us : slice_us / 4;
    if (srv->served)
        gc_step_paced(srv->h, busy_us); /* >= 2: gc.slice_us is at least 10 */
    else
        gc_step_auto(srv->h, slice_us);
    spend_turn(srv, t0);
}

/* The check handle runs once per loop iteration, after the I/O callbacks:
 * a slice when the collector is due (paced by allocation when clients were
 * served in this iteration, the whole budget when the loop was idle), then
 * the deferred frees; never inside a request, never more than one slice. */
static void on_after_io(uv_check_t *h)
{
    server *srv = h->data;
    if (gc_due(srv->h, uv_now(srv->loop)))
        collector_slice(srv);
    /* what the turn's requests and the collector left of its freeing */
    if (heap_get_stats(srv->h)->pending && srv->drain_left_ns)
        heap_drain(srv->h, srv->drain_left_ns);
    if (events_pending(&srv->ev))
        events_send(srv);
    srv->served = false;
    srv->drain_left_ns = turn_drain_ns(srv);
    if (srv->nyielded)
        continue_yielded(srv);
    /* the turn's effects, requests and collector alike: one block */
    elog_turn_end(srv->elog);
    persist_check_log_size(srv->persist);
    if (work_pending(srv) && !srv->stopping)
        uv_idle_start(&srv->keep_busy, on_idle);
    else
        uv_idle_stop(&srv->keep_busy);
}

/* The timer starts cycles by the interval rule when no client is active. */
static void on_gc_timer(uv_timer_t *t)
{
    server *srv = t->data;
    if (gc_due(srv->h, uv_now(srv->loop)) && !srv->stopping)
        uv_idle_start(&srv->keep_busy, on_idle); /* the check handle will run it */
}

/* --- life ---------------------------------------------------------------------- */

void server_apply_runtime(server *srv)
{
    const heapd_config *c = &srv->cfg;
    heap_set_limits(srv->h, c->max_objects, c->max_memory_bytes);
    heap_set_max_depth(srv->h, (uint32_t)c->max_depth);
    ns_set_max_frames(srv->ns, (uint32_t)c->max_frames);
    log_set_level(c->log_level);
}

static void on_signal(uv_signal_t *s, int signum)
{
    server *srv = s->data;
    if (signum == SIGHUP) {
        char err[256];
        notify_reloading();
        if (!srv->cfg.source)
            log_notice("SIGHUP: no configuration file to reload");
        else if (config_reload_runtime(&srv->cfg, srv->cfg.source, err, sizeof err))
            log_err("SIGHUP: %s (settings unchanged)", err);
        else {
            server_apply_runtime(srv);
            log_info("SIGHUP: reloaded run-time settings from %s", srv->cfg.source);
        }
        notify_ready(heap_live_total(srv->h)); /* the reload is over, failed or not */
        return;
    }
    log_info("signal %d: stopping", signum);
    if (!srv->stopping)
        notify_stopping(); /* systemd learns before the final save, which may take a while */
    /* With the effect log on, the log is the final save: server_stop flushes
     * and fsyncs it, in a moment at any heap size (SPEC §14). */
    if (!srv->stopping && !srv->elog && persist_final_save(srv->persist, NULL))
        srv->exit_code = 1; /* logged; the previous snapshot is left in place */
    server_stop(srv);
}

/* The effect log is durable up to block lsn: held answers go. */
static void on_log_durable(void *ctx, uint64_t lsn)
{
    server *srv = ctx;
    for (conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        conn_release_held(c, lsn);
    }
}

/* Replays the effect log onto what the snapshot loaded, and starts it. */
static int open_log(server *srv, char *err, size_t errlen)
{
    if (!srv->cfg.persistence_log)
        return 0;
    elog_setup ls = {srv->loop,
                     srv->h,
                     srv->ns,
                     srv->cfg.persistence_log,
                     srv->cfg.persistence_fsync,
                     persist_loaded_log_seq(srv->persist),
                     on_log_durable,
                     srv};
    int rc = elog_open(&srv->elog, &ls, err, errlen);
    if (!rc)
        persist_set_log(srv->persist, srv->elog, &srv->cfg.persistence_log_max_bytes);
    return rc;
}

/* A save ended: every connection waiting on `save` gets its answer. */
static void on_save_done(void *ctx, int rc, const char *path, const snap_info *info,
                         const char *msg, bool run_more)
{
    server *srv = ctx;
    for (conn *c = srv->conns; c; c = c->next) {
        if (!c->waiting || c->waiting_auth) /* a failed auth's wait is authlimit's */
            continue;
        if (rc) {
            reply_error(&c->pk, c->wait_msgid, HE_RUNTIME, msg);
        } else {
            reply_ok_begin(&c->pk, c->wait_msgid);
            persist_pack_figures(&c->pk, path, info);
        }
        conn_resume(c, run_more);
    }
}

server *server_new(uv_loop_t *loop, heapd_config *cfg, char *err, size_t errlen)
{
    server *srv = xcalloc(1, sizeof *srv);
    srv->loop = loop;
    srv->cfg = *cfg; /* taken over */
    srv->start_ns = now_ns();
    msgpack_zone_init(&srv->zone, 65536);
    heap_config hc = {.intern = (intern_policy)cfg->intern};
    srv->h = heap_new(&hc);
    srv->ns = ns_new(srv->h, (uint32_t)cfg->max_frames);
    gc_use_config(srv->h, &srv->cfg.gc);
    server_apply_runtime(srv);
    events_attach(srv);
    srv->drain_left_ns = turn_drain_ns(srv);
    /* Signals first: a SIGTERM that arrives as soon as the socket accepts
     * must find heapd ready to stop cleanly. */
    static const int signums[3] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(loop, &srv->sigs[i]);
        srv->sigs[i].data = srv;
        uv_signal_start(&srv->sigs[i], on_signal, signums[i]);
    }
    /* A second heapd on the same socket stops before it loads (and tidies)
     * the snapshot files the first one owns; the snapshot loads before
     * anyone connects. */
    persist_setup ps = {loop,
                        srv->h,
                        srv->ns,
                        srv->cfg.persistence_path,
                        srv->cfg.persistence_interval_s,
                        on_save_done,
                        srv,
                        srv->cfg.persistence_log != NULL};
    int rc = listeners_prepare(srv, err, errlen);
    if (!rc)
        rc = persist_init(&srv->persist, &ps, err, errlen);
    if (!rc)
        rc = open_log(srv, err, errlen);
    if (!rc)
        rc = listeners_open(srv, err, errlen);
    if (!rc)
        rc = metrics_open(srv, err, errlen);
    authlimit_init(&srv->auth, loop, srv);
    uv_check_init(loop, &srv->after_io);
    uv_idle_init(loop, &srv->keep_busy);
    uv_timer_init(loop, &srv->gc_timer);
    uv_timer_init(loop, &srv->stop_timer);
    srv->after_io.data = srv->gc_timer.data = srv->keep_busy.data = srv->stop_timer.data = srv;
    if (rc) {
        server_stop(srv);
        uv_run(loop, UV_RUN_DEFAULT); /* let the handles close */
        server_free(srv);
        return NULL;
    }
    uv_check_start(&srv->after_io, on_after_io);
    uint64_t interval = gc_get_config(srv->h)->interval_ms, tick = interval < 100 ? interval : 100;
    uv_timer_start(&srv->gc_timer, on_gc_timer, tick, tick);
    return srv;
}

static void close_if_open(uv_handle_t *h)
{
    if (h->loop && !uv_is_closing(h))
        uv_close(h, NULL);
}

/* A client that does not read its last answers cannot hold a stop: past
 * this, the connections still open are closed without waiting. */
#define STOP_DRAIN_MS 3000

static void on_stop_timer(uv_timer_t *t)
{
    server *srv = t->data;
    for (conn *c = srv->conns; c; c = c->next)
        conn_close(c);
}

void server_stop(server *srv)
{
    if (srv->stopping)
        return;
    srv->stopping = true;
    persist_stop(srv->persist);
    elog_close(srv->elog); /* flushed and fsynced; held answers go out below */
    notify_stopping();
    listeners_close(&srv->lis);
    metrics_close(&srv->met);
    for (conn *c = srv->conns; c; c = c->next)
        conn_close_after_writes(c);
    if (srv->conns && srv->stop_timer.loop)
        uv_timer_start(&srv->stop_timer, on_stop_timer, STOP_DRAIN_MS, 0);
    server_after_close(srv);
}

/* When stopping and the last client is gone, the loop's own handles close
 * and uv_run returns. */
void server_after_close(server *srv)
{
    if (!srv->stopping || srv->conns)
        return;
    close_if_open((uv_handle_t *)&srv->after_io);
    close_if_open((uv_handle_t *)&srv->keep_busy);
    close_if_open((uv_handle_t *)&srv->gc_timer);
    close_if_open((uv_handle_t *)&srv->stop_timer);
    close_if_open((uv_handle_t *)&srv->watchdog);
    authlimit_close(&srv->auth);
    for (int i = 0; i < 3; i++)
        close_if_open((uv_handle_t *)&srv->sigs[i]);
    persist_close(srv->persist);
}

int server_run(server *srv)
{
    /* The listeners accept from the first loop iteration on: ready now,
     * after whatever start-up loaded into the heap. */
    notify_watchdog_start(srv->loop, &srv->watchdog);
    notify_ready(heap_live_total(srv->h));
    uv_run(srv->loop, UV_RUN_DEFAULT);
    return srv->exit_code;
}

void server_free(server *srv)
{
    if (!srv)
        return;
    listeners_free(&srv->lis);
    persist_free(srv->persist);
    elog_close(srv->elog); /* a start that failed after the log opened */
    elog_free(srv->elog);
    bool fast = srv->elog != NULL;
    ns_free(srv->ns); /* every binding and session gone ... */
    gc_drop_garbage(srv->h);
    if (!fast) {
        gc_collect(srv->h);
        heap_drain_all(srv->h);
    }
    /* ... and every object freed. With the effect log on, the log is the
     * heap's copy: heap_free releases the rest in bulk, without collecting
     * or counting, so a stop takes a moment at any heap size (SPEC §14). */
    heap_free(srv->h);
    msgpack_zone_destroy(&srv->zone);
    config_free(&srv->cfg);
    events_free(&srv->ev);
    authlimit_free(&srv->auth);
    free(srv);
}

void server_pack_clients(server *srv, msgpack_packer *pk)
{
    for (conn *c = srv->conns; c; c = c->next)
        conn_pack_info(pk, c);
}
