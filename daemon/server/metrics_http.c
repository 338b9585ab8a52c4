/* The HTTP side of GET /metrics (metrics.h): just enough HTTP/1.0 and 1.1
 * for Prometheus and curl. A connection reads its request line and headers
 * into a fixed buffer, gets one answer (200 with the metrics, 400, 404,
 * 405, 431 or 505), and is closed; a deadline timer closes it whatever the
 * client does, so a slow or silent client costs one buffer for a few
 * seconds and never a moment of the loop. */
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct metrics_conn {
    uv_tcp_t tcp;
    uv_timer_t deadline; /* from accept to the last byte written */
    metrics_conn *prev, *next;
    server *srv;
    int open_handles; /* freed when both tcp and deadline have closed */
    bool closing, answered;
    bool head_only; /* a HEAD request: headers without the body */
    uv_write_t wr;
    uv_shutdown_t sd;
    char head[256]; /* the status line and headers of the answer */
    prom body;
    size_t len;
    char req[METRICS_REQUEST_MAX];
};

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* --- closing ------------------------------------------------------------ */

static void on_handle_closed(uv_handle_t *h)
{
    metrics_conn *c = h->data;
    if (--c->open_handles)
        return;
    metrics *m = &c->srv->met;
    if (c->prev)
        c->prev->next = c->next;
    else
        m->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    m->nconns--;
    prom_free(&c->body);
    free(c);
}

static void conn_close(metrics_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->deadline, on_handle_closed);
}

static void on_deadline(uv_timer_t *t)
{
    conn_close(t->data);
}

/* --- answering ---------------------------------------------------------- */

/* Lingering close, as web servers do: what the client still sends is read
 * and dropped until it closes too, since closing with unread bytes would
 * reset the connection, and a reset can destroy the answer before the
 * client has read it. A client that goes on sending past one more
 * buffer's worth (or past the deadline) is closed all the same. */
static void on_shutdown(uv_shutdown_t *req, int status)
{
    metrics_conn *c = req->data;
    c->len = 0;
    if (status < 0 || c->closing || uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_close(c);
}

/* The answer is out: a FIN after it (so the client reads it all), then
 * the close. */
static void on_written(uv_write_t *req, int status)
{
    metrics_conn *c = req->data;
    if (status < 0 || c->closing || uv_shutdown(&c->sd, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
        conn_close(c);
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 431:
        return "Request Header Fields Too Large";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Bad Request";
    }
}

/* Writes status and c->body (or its length only, for HEAD), then closes. */
static void answer(metrics_conn *c, int status)
{
    c->answered = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
    snprintf(c->head, sizeof c->head,
             "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: "
             "close\r\n\r\n",
             status, reason(status),
             status == 200 ? "text/plain; version=0.0.4; charset=utf-8"
                           : "text/plain; charset=utf-8",
             c->body.len, status == 405 ? "Allow: GET, HEAD\r\n" : "");
    uv_buf_t bufs[2] = {uv_buf_init(c->head, (unsigned)strlen(c->head)),
                        uv_buf_init(c->body.data, (unsigned)c->body.len)};
    c->wr.data = c->sd.data = c;
    if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, bufs, c->head_only || !c->body.len ? 1 : 2,
                 on_written) != 0)
        conn_close(c);
}

static void answer_error(metrics_conn *c, int status, const char *msg)
{
    prom_free(&c->body);
    char line[160];
    snprintf(line, sizeof line, "%d %s: %s\n", status, reason(status), msg);
    prom_append(&c->body, line);
    answer(c, status);
}

/* --- the request -------------------------------------------------------- */

/* The request line's three words, split at single spaces; false if it is
 * not "METHOD TARGET VERSION". */
static bool split_line(char *line, char **method, char **target, char **version)
{
    *method = line;
    *target = strchr(line, ' ');
    if (!*target)
        return false;
    *(*target)++ = '\0';
    *version = strchr(*target, ' ');
    if (!*version)
        return false;
    *(*version)++ = '\0';
    return **method && **target && !strchr(*version, ' ');
}

/* Answers the request whose line and headers are complete in c->req. */
static void handle_request(metrics_conn *c)
{
    char *eol = memchr(c->req, '\n', c->len), *method, *target, *version;
    size_t n = (size_t)(eol - c->req);
    bool nul = memchr(c->req, '\0', n) != NULL;
    *eol = '\0';
    if (n && eol[-1] == '\r')
        eol[-1] = '\0';
    if (nul || !split_line(c->req, &method, &target, &version) || strncmp(version, "HTTP/", 5) != 0)
        return answer_error(c, 400, "expected \"GET /metrics HTTP/1.1\"");
    if (strcmp(version, "HTTP/1.0") != 0 && strcmp(version, "HTTP/1.1") != 0)
        return answer_error(c, 505, "heapd speaks HTTP/1.0 and HTTP/1.1");
    c->head_only = strcmp(method, "HEAD") == 0;
    if (!c->head_only && strcmp(method, "GET") != 0)
        return answer_error(c, 405, "GET /metrics is the only request");
    size_t path_len = strcspn(target, "?");
    if (path_len != 8 || memcmp(target, "/metrics", 8) != 0)
        return answer_error(c, 404, "heapd serves /metrics only");
    metrics_render(c->srv, &c->body);
    c->srv->met.scrapes++; /* after: the render counted this one already */
    answer(c, 200);
}

/* Where the headers end ("\r\n\r\n", or "\n\n" from a lax client), or
 * NULL while they go on. */
static bool headers_done(const char *p, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (p[i] == '\n' && (p[i - 1] == '\n' || (i >= 2 && p[i - 1] == '\r' && p[i - 2] == '\n')))
            return true;
    return false;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    metrics_conn *c = h->data; /* the buffer is the connection's: nothing grows */
    *buf = uv_buf_init(c->req + c->len, (unsigned)(sizeof c->req - c->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    metrics_conn *c = s->data;
    if (nread < 0) /* EOF before a whole request, a reset, or no room */
        return conn_close(c);
    c->len += (size_t)nread;
    if (c->answered) { /* after the answer: dropped (on_shutdown), a buffer's worth at most */
        if (c->len == sizeof c->req)
            conn_close(c);
        return;
    }
    if (headers_done(c->req, c->len))
        return handle_request(c);
    if (c->len == sizeof c->req)
        answer_error(c, 431, "the request line and headers must fit in 8192 bytes");
}

/* --- accepting ---------------------------------------------------------- */

static void free_refused(uv_handle_t *h)
{
    free(h);
}

/* Past the cap a connection is closed as soon as it is accepted: a burst
 * costs a handle for one loop turn each, not a buffer. */
static void refuse(server *srv, uv_stream_t *listener)
{
    uv_tcp_t *t = xmalloc(sizeof *t);
    uv_tcp_init(srv->loop, t);
    if (uv_accept(listener, (uv_stream_t *)t) == 0)
        srv->met.refused++;
    uv_close((uv_handle_t *)t, free_refused);
}

static void on_connection(uv_stream_t *listener, int status)
{
    server *srv = listener->data;
    metrics *m = &srv->met;
    if (status < 0 || srv->stopping)
        return;
    if (m->nconns >= METRICS_MAX_CONNS)
        return refuse(srv, listener);
    metrics_conn *c = xcalloc(1, sizeof *c);
    c->srv = srv;
    c->open_handles = 2;
    uv_tcp_init(srv->loop, &c->tcp);
    uv_timer_init(srv->loop, &c->deadline);
    c->tcp.data = c->deadline.data = c;
    c->next = m->conns;
    if (m->conns)
        m->conns->prev = c;
    m->conns = c;
    m->nconns++;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        return conn_close(c);
    uv_timer_start(&c->deadline, on_deadline, METRICS_TIMEOUT_MS, 0);
}

/* --- the listener ------------------------------------------------------- */

int metrics_open(server *srv, char *err, size_t errlen)
{
    const char *spec = srv->cfg.metrics_listen;
    struct sockaddr_storage ss;
    if (!spec)
        return 0;
    if (config_host_port("metrics.listen", spec, &ss, err, errlen)) /* checked at load */
        return -1;
    metrics *m = &srv->met;
    /* from the monotonic uptime, once: the wall clock may step later */
    m->started_at = (uint64_t)time(NULL) - (now_ns() - srv->start_ns) / 1000000000u;
    uv_tcp_init(srv->loop, &m->listener);
    m->listener.data = srv;
    m->on = true;
    int rc = uv_tcp_bind(&m->listener, (struct sockaddr *)&ss, 0);
    if (!rc)
        rc = uv_listen((uv_stream_t *)&m->listener, 64, on_connection);
    if (rc)
        return snprintf(err, errlen, "metrics.listen: listen on %s: %s", spec, uv_strerror(rc)), -1;
    log_info("serving metrics on http://%s/metrics", spec);
    return 0;
}

void metrics_close(metrics *m)
{
    if (m->on && !uv_is_closing((uv_handle_t *)&m->listener))
        uv_close((uv_handle_t *)&m->listener, NULL);
    for (metrics_conn *c = m->conns; c; c = c->next)
        conn_close(c);
}
