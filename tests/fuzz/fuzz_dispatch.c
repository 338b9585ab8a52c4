/* libFuzzer target: arbitrary bytes through heapd's request path, as one
 * connection's input: framing (mpscan), decoding (msgpack-c), dispatch and
 * every handler. Each input gets a fresh heap; after it, the heap must pass
 * heap_check and tear down with every object freed (LeakSanitizer checks). */
#include "check.h"
#include "conn.h"
#include "dispatch.h"
#include "mpscan.h"
#include "util.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

/* A server with no sockets, and one connection that is not on its list (so
 * `shutdown` and `clients` never reach for a libuv handle). */
static server *make_server(void)
{
    server *srv = xcalloc(1, sizeof *srv);
    config_defaults(&srv->cfg);
    srv->cfg.max_message_bytes = 1 << 20;
    heap_config hc = {.intern = INTERN_PYTHON};
    srv->h = heap_new(&hc);
    srv->ns = ns_new(srv->h, (uint32_t)srv->cfg.max_frames);
    server_apply_runtime(srv);
    msgpack_zone_init(&srv->zone, 4096);
    return srv;
}

static void run_bytes(server *srv, conn *c, const char *p, size_t n)
{
    size_t pos = 0;
    while (pos < n) {
        size_t used = 0, off = 0;
        msgpack_object msg;
        if (mpscan(p + pos, n - pos, srv->cfg.max_message_bytes, WIRE_MSGPACK_MAX_DEPTH, &used) !=
            MPSCAN_OK)
            return; /* the real server closes the connection here */
        if (msgpack_unpack(p + pos, used, &off, &srv->zone, &msg) == MSGPACK_UNPACK_SUCCESS)
            dispatch_message(srv, c, &msg);
        msgpack_zone_clear(&srv->zone);
        c->out.size = 0; /* responses go nowhere */
        heap_drain_all(srv->h);
        pos += used;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    server *srv = make_server();
    conn *c = conn_new(srv);
    srv->conns = NULL; /* off the list: see make_server */
    srv->nconns = 0;
    run_bytes(srv, c, (const char *)data, size);
    herr err;
    if (heap_check(srv->h, NULL, &err))
        abort(); /* the heap was corrupted: a finding */
    ns_session_end(srv->ns, c->s);
    msgpack_sbuffer_destroy(&c->out);
    free(c);
    ns_free(srv->ns);
    heap_drain_all(srv->h);
    heap_free(srv->h);
    msgpack_zone_destroy(&srv->zone);
    config_free(&srv->cfg);
    events_free(&srv->ev);
    free(srv);
    return 0;
}
