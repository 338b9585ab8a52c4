/* The server: listeners, accept, the collector's place in the loop,
 * events, signals and an orderly stop. */
#include "conn.h"
#include "encode.h"
#include "gc.h"
#include "handlers.h"
#include "log.h"
#include "notify.h"
#include "persist.h"
#include "sockpath.h"
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- events: queued by heap hooks, sent between requests ------------------ */

struct event {
    bool gc; /* a "gc" event, else "freed" */
    hid id;
    uint8_t type, cause;
    conn *c;
    gc_cycle_info info;
};

static struct event *events;
static size_t nevents, events_cap;

static void queue_event(struct event e)
{
    if (nevents == events_cap)
        events = xrealloc(events, (events_cap = events_cap ? events_cap * 2 : 16) * sizeof *events);
    events[nevents++] = e;
}

/* The free hook: a watched object's "freed" goes to each watcher, once. */
static void on_free(void *ctx, hobj *o, enum free_cause cause)
{
    server *srv = ctx;
    if (!srv->nwatches)
        return;
    hid id = hobj_id(o);
    for (size_t i = 0; i < srv->nwatches;) {
        if (srv->watches[i].id != id) {
            i++;
            continue;
        }
        queue_event(
            (struct event){.id = id, .type = o->type, .cause = cause, .c = srv->watches[i].c});
        srv->watches[i] = srv->watches[--srv->nwatches];
    }
}

static void on_cycle(void *ctx, const gc_cycle_info *info)
{
    server *srv = ctx;
    for (conn *c = srv->conns; c; c = c->next)
        if (c->gc_subscribed)
            queue_event((struct event){.gc = true, .c = c, .info = *info});
}

static void pack_event(msgpack_packer *pk, const struct event *e)
{
    msgpack_pack_array(pk, 3);
    msgpack_pack_int(pk, MSG_NOTIFY);
    pack_cstr(pk, e->gc ? "gc" : "freed");
    if (!e->gc) {
        msgpack_pack_array(pk, 3);
        enc_ref_id(pk, e->id);
        pack_cstr(pk, htype_name(e->type));
        pack_cstr(pk, e->cause == FREE_GC ? "gc" : "refcount");
        return;
    }
    msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 4);
    pack_cstr(pk, "collected");
    msgpack_pack_uint64(pk, e->info.collected);
    pack_cstr(pk, "pause_us");
    msgpack_pack_uint64(pk, e->info.pause_us);
    pack_cstr(pk, "duration_us");
    msgpack_pack_uint64(pk, e->info.duration_us);
    pack_cstr(pk, "traced");
    msgpack_pack_uint64(pk, e->info.traced);
}

static void send_events(server *srv)
{
    for (size_t i = 0; i < nevents; i++) {
        conn *c = events[i].c;
        if (c->closing || c->draining)
            continue;
        pack_event(&c->pk, &events[i]);
        srv->st.events_sent++;
        conn_flush(c);
    }
    nevents = 0;
}

int server_watch(server *srv, conn *c, hobj *o)
{
    hid id = hobj_id(o);
    for (size_t i = 0; i < srv->nwatches; i++)
        if (srv->watches[i].id == id && srv->watches[i].c == c)
            return 0; /* already watched: one event, not two */
    if (srv->nwatches == srv->watches_cap)
        srv->watches = xrealloc(srv->watches, (srv->watches_cap = srv->watches_cap * 2 + 16) *
                                                  sizeof *srv->watches);
    srv->watches[srv->nwatches++] = (struct watch){id, c};
    return 0;
}

int server_unwatch(server *srv, conn *c, hobj *o)
{
    hid id = hobj_id(o);
    for (size_t i = 0; i < srv->nwatches; i++)
        if (srv->watches[i].id == id && srv->watches[i].c == c) {
            srv->watches[i] = srv->watches[--srv->nwatches];
            return 0;
        }
    return -1;
}

void server_drop_watches(server *srv, conn *c)
{
    for (size_t i = 0; i < srv->nwatches;)
        if (srv->watches[i].c == c)
            srv->watches[i] = srv->watches[--srv->nwatches];
        else
            i++;
    size_t kept = 0; /* c is about to be freed: its queued events go too */
    for (size_t i = 0; i < nevents; i++)
        if (events[i].c != c)
            events[kept++] = events[i];
    nevents = kept;
}

/* --- the collector and the deferred frees, between requests --------------- */

static uint64_t slice_ns(const server *srv)
{
    return srv->cfg.gc_slice_us * 1000;
}

/* After each request: release what it freed, within what is left of one
 * slice for this loop iteration, so counts are exact for the next request
 * whenever the cascade is small. */
void server_after_request(server *srv)
{
    if (heap_get_stats(srv->h)->pending && srv->drain_left_ns) {
        uint64_t t0 = now_ns();
        heap_drain(srv->h, srv->drain_left_ns);
        uint64_t spent = now_ns() - t0;
        srv->drain_left_ns = spent >= srv->drain_left_ns ? 0 : srv->drain_left_ns - spent;
    }
    if (nevents)
        send_events(srv);
}

static bool work_pending(server *srv)
{
    return heap_get_stats(srv->h)->pending ||
           (gc_isenabled(srv->h) && gc_get_phase(srv->h) != GC_IDLE);
}

static void on_idle(uv_idle_t *h)
{
    (void)h;
} /* only keeps poll from blocking */

/* The check handle runs once per loop iteration, after the I/O callbacks:
 * a slice when the collector is due (paced by allocation when clients were
 * served in this iteration, the whole budget when the loop was idle), then
 * the deferred frees; never inside a request, never more than one slice. */
static void on_after_io(uv_check_t *h)
{
    server *srv = h->data;
    if (gc_due(srv->h, uv_now(srv->loop))) {
        if (srv->served)
            gc_step_paced(srv->h, srv->cfg.gc_slice_us);
        else
            gc_step(srv->h, srv->cfg.gc_slice_us);
    }
    if (heap_get_stats(srv->h)->pending)
        heap_drain(srv->h, slice_ns(srv));
    if (nevents)
        send_events(srv);
    srv->served = false;
    srv->drain_left_ns = slice_ns(srv);
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

/* --- accepting -------------------------------------------------------------- */

static void on_connection(uv_stream_t *listener, int status)
{
    server *srv = listener->data;
    if (status < 0 || srv->stopping)
        return;
    bool tcp = listener->type == UV_TCP; /* ours or one systemd passed */
    conn *c = conn_new(srv);
    c->is_tcp = tcp;
    if (tcp)
        uv_tcp_init(srv->loop, &c->u.tcp);
    else
        uv_pipe_init(srv->loop, &c->u.pipe, 0);
    c->u.handle.data = c;
    if (uv_accept(listener, &c->u.stream) != 0) {
        conn_close(c);
        return;
    }
    srv->st.clients_total++;
    if (srv->nconns > srv->cfg.max_clients) {
        srv->st.clients_rejected++;
        log_warn("connection refused: %u clients (limits.max_clients)", srv->nconns - 1);
        conn_fatal(c, HE_RUNTIME, "too many clients (limits.max_clients)");
        return;
    }
    if (tcp)
        uv_tcp_nodelay(&c->u.tcp, 1);
    conn_start(c);
}

/* Removes a stale socket file (one nobody listens on), never a live one. */
static int clear_stale_socket(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISSOCK(st.st_mode))
        return -EEXIST;
    return unlink(path) == 0 ? 0 : -errno;
}

static int listen_unix(server *srv, char *err, size_t errlen)
{
    char path[512];
    if (srv->cfg.listen_unix)
        snprintf(path, sizeof path, "%s", srv->cfg.listen_unix);
    else if (sockpath_default(path, sizeof path, true) != 0)
        return snprintf(err, errlen, "cannot prepare the socket directory: %s", strerror(errno)),
               -1;
    int rc = clear_stale_socket(path);
    uv_pipe_init(srv->loop, &srv->unix_srv, 0);
    srv->unix_srv.data = srv;
    if (!rc)
        rc = uv_pipe_bind(&srv->unix_srv, path);
    if (!rc)
        rc = uv_listen((uv_stream_t *)&srv->unix_srv, 511, on_connection);
    srv->unix_on = true;
    if (rc)
        return snprintf(err, errlen, "listen on %s: %s", path, uv_strerror(rc)), -1;
    chmod(path, srv->cfg.listen_unix_mode);
    srv->unix_path = xstrndup(path, strlen(path));
    log_info("listening on %s", path);
    return 0;
}

static bool loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    return memcmp(a, &in6addr_loopback, sizeof *a) == 0;
}

static int parse_hostport(const char *spec, struct sockaddr_storage *ss)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof host)
        return -1;
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    int port = atoi(colon + 1);
    if (host[0] == '[') { /* [::1]:7000 */
        size_t n = strlen(host);
        if (n < 2 || host[n - 1] != ']')
            return -1;
        host[n - 1] = '\0';
        return uv_ip6_addr(host + 1, port, (struct sockaddr_in6 *)ss);
    }
    return uv_ip4_addr(host, port, (struct sockaddr_in *)ss);
}

static int listen_tcp(server *srv, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (parse_hostport(srv->cfg.listen_tcp, &ss) != 0)
        return snprintf(err, errlen, "listen.tcp: cannot parse \"%s\"", srv->cfg.listen_tcp), -1;
    if (!loopback((struct sockaddr *)&ss) && !srv->token)
        return snprintf(err, errlen,
                        "listen.tcp: %s is not a loopback address and no auth token is configured "
                        "(auth.token_file)",
                        srv->cfg.listen_tcp),
               -1;
    uv_tcp_init(srv->loop, &srv->tcp_srv);
    srv->tcp_srv.data = srv;
    srv->tcp_on = true;
    int rc = uv_tcp_bind(&srv->tcp_srv, (struct sockaddr *)&ss, 0);
    if (!rc)
        rc = uv_listen((uv_stream_t *)&srv->tcp_srv, 511, on_connection);
    if (rc)
        return snprintf(err, errlen, "listen on %s: %s", srv->cfg.listen_tcp, uv_strerror(rc)), -1;
    log_info("listening on tcp %s", srv->cfg.listen_tcp);
    return 0;
}

/* Socket activation: systemd's sockets replace listen.unix and listen.tcp,
 * and a passed TCP socket obeys listen.tcp's rule (not loopback: a token is
 * needed). Sets *adopted when systemd passed any. */
static int adopt_listeners(server *srv, bool *adopted, char *err, size_t errlen)
{
    if (notify_adopt_listeners(srv->loop, on_connection, srv, &srv->passed, &srv->npassed, err,
                               errlen))
        return -1;
    *adopted = srv->npassed > 0;
    for (unsigned i = 0; i < srv->npassed; i++) {
        struct sockaddr_storage ss;
        int len = sizeof ss;
        if (srv->passed[i].handle.type != UV_TCP || srv->token)
            continue;
        if (uv_tcp_getsockname(&srv->passed[i].tcp, (struct sockaddr *)&ss, &len) != 0 ||
            !loopback((struct sockaddr *)&ss))
            return snprintf(err, errlen,
                            "socket activation: a TCP socket that is not on a loopback address "
                            "needs an auth token (auth.token_file)"),
                   -1;
    }
    return 0;
}

static int open_listeners(server *srv, char *err, size_t errlen)
{
    bool adopted = false;
    int rc = adopt_listeners(srv, &adopted, err, errlen);
    if (rc || adopted)
        return rc;
    if (srv->cfg.listen_tcp)
        rc = listen_tcp(srv, err, errlen);
    return rc ? rc : listen_unix(srv, err, errlen);
}

/* --- the token ---------------------------------------------------------------- */

static int read_token(server *srv, char *err, size_t errlen)
{
    if (!srv->cfg.auth_token_file)
        return 0;
    FILE *f = fopen(srv->cfg.auth_token_file, "r");
    char buf[1024];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    if (!f || n == 0)
        return snprintf(err, errlen, "auth.token_file: cannot read a token from %s",
                        srv->cfg.auth_token_file),
               -1;
    srv->token = xstrndup(buf, n);
    srv->token_len = n;
    return 0;
}

/* --- life ---------------------------------------------------------------------- */

void server_apply_runtime(server *srv)
{
    const heapd_config *c = &srv->cfg;
    heap_set_limits(srv->h, c->max_objects, c->max_memory_bytes);
    heap_set_max_depth(srv->h, (uint32_t)c->max_depth);
    ns_set_max_frames(srv->ns, (uint32_t)c->max_frames);
    gc_config g = {c->gc_enabled, c->gc_threshold, c->gc_heap_fraction, c->gc_interval_ms,
                   c->gc_slice_us};
    gc_configure(srv->h, &g);
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
    if (!srv->stopping && persist_final_save(srv->persist, NULL))
        srv->exit_code = 1; /* logged; the previous snapshot is left in place */
    server_stop(srv);
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
    server_apply_runtime(srv);
    heap_set_free_hook(srv->h, on_free, srv);
    gc_set_cycle_hook(srv->h, on_cycle, srv);
    srv->drain_left_ns = slice_ns(srv);
    /* Signals first: a SIGTERM that arrives as soon as the socket accepts
     * must find heapd ready to stop cleanly. */
    static const int signums[3] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(loop, &srv->sigs[i]);
        srv->sigs[i].data = srv;
        uv_signal_start(&srv->sigs[i], on_signal, signums[i]);
    }
    int rc = read_token(srv, err, errlen);
    if (!rc)
        rc = persist_init(srv, err, errlen); /* the snapshot loads before anyone connects */
    if (!rc)
        rc = open_listeners(srv, err, errlen);
    uv_check_init(loop, &srv->after_io);
    uv_idle_init(loop, &srv->keep_busy);
    uv_timer_init(loop, &srv->gc_timer);
    srv->after_io.data = srv->gc_timer.data = srv->keep_busy.data = srv;
    if (rc) {
        server_stop(srv);
        uv_run(loop, UV_RUN_DEFAULT); /* let the handles close */
        server_free(srv);
        return NULL;
    }
    uv_check_start(&srv->after_io, on_after_io);
    uint64_t tick = srv->cfg.gc_interval_ms < 100 ? srv->cfg.gc_interval_ms : 100;
    uv_timer_start(&srv->gc_timer, on_gc_timer, tick, tick);
    return srv;
}

static void close_if_open(uv_handle_t *h)
{
    if (h->loop && !uv_is_closing(h))
        uv_close(h, NULL);
}

void server_stop(server *srv)
{
    if (srv->stopping)
        return;
    srv->stopping = true;
    notify_stopping();
    if (srv->unix_on)
        close_if_open((uv_handle_t *)&srv->unix_srv);
    if (srv->tcp_on)
        close_if_open((uv_handle_t *)&srv->tcp_srv);
    for (unsigned i = 0; i < srv->npassed; i++)
        close_if_open(&srv->passed[i].handle);
    for (conn *c = srv->conns; c; c = c->next)
        conn_close_after_writes(c);
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
    close_if_open((uv_handle_t *)&srv->watchdog);
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
    if (srv->unix_path) {
        unlink(srv->unix_path);
        free(srv->unix_path);
    }
    persist_free(srv->persist);
    ns_free(srv->ns); /* every binding and session gone ... */
    gc_collect(srv->h);
    heap_drain_all(srv->h);
    heap_free(srv->h); /* ... and every object freed */
    msgpack_zone_destroy(&srv->zone);
    config_free(&srv->cfg);
    free(srv->token);
    free(srv->passed); /* its handles were closed by server_stop */
    free(srv->watches);
    free(events);
    events = NULL;
    nevents = events_cap = 0;
    free(srv);
}

void server_pack_clients(server *srv, msgpack_packer *pk)
{
    for (conn *c = srv->conns; c; c = c->next)
        conn_pack_info(pk, c);
}
