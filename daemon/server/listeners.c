/* Listening and accepting: the Unix socket, TCP, the sockets systemd
 * passes (socket activation), the rule that a non-loopback TCP address needs
 * an auth token, and the token itself. */
#include "listeners.h"
#include "conn.h"
#include "log.h"
#include "server.h"
#include "sockpath.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    uv_pipe_init(srv->loop, &srv->lis.unix_srv, 0);
    srv->lis.unix_srv.data = srv;
    if (!rc)
        rc = uv_pipe_bind(&srv->lis.unix_srv, path);
    if (!rc)
        rc = uv_listen((uv_stream_t *)&srv->lis.unix_srv, 511, on_connection);
    srv->lis.unix_on = true;
    if (rc)
        return snprintf(err, errlen, "listen on %s: %s", path, uv_strerror(rc)), -1;
    chmod(path, srv->cfg.listen_unix_mode);
    srv->lis.unix_path = xstrndup(path, strlen(path));
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
    if (!loopback((struct sockaddr *)&ss) && !srv->lis.token)
        return snprintf(err, errlen,
                        "listen.tcp: %s is not a loopback address and no auth token is configured "
                        "(auth.token_file)",
                        srv->cfg.listen_tcp),
               -1;
    uv_tcp_init(srv->loop, &srv->lis.tcp_srv);
    srv->lis.tcp_srv.data = srv;
    srv->lis.tcp_on = true;
    int rc = uv_tcp_bind(&srv->lis.tcp_srv, (struct sockaddr *)&ss, 0);
    if (!rc)
        rc = uv_listen((uv_stream_t *)&srv->lis.tcp_srv, 511, on_connection);
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
    if (notify_adopt_listeners(srv->loop, on_connection, srv, &srv->lis.passed, &srv->lis.npassed,
                               err, errlen))
        return -1;
    *adopted = srv->lis.npassed > 0;
    for (unsigned i = 0; i < srv->lis.npassed; i++) {
        struct sockaddr_storage ss;
        int len = sizeof ss;
        if (srv->lis.passed[i].handle.type != UV_TCP || srv->lis.token)
            continue;
        if (uv_tcp_getsockname(&srv->lis.passed[i].tcp, (struct sockaddr *)&ss, &len) != 0 ||
            !loopback((struct sockaddr *)&ss))
            return snprintf(err, errlen,
                            "socket activation: a TCP socket that is not on a loopback address "
                            "needs an auth token (auth.token_file)"),
                   -1;
    }
    return 0;
}

static int open_sockets(server *srv, char *err, size_t errlen)
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
    srv->lis.token = xstrndup(buf, n);
    srv->lis.token_len = n;
    return 0;
}

int listeners_open(server *srv, char *err, size_t errlen)
{
    int rc = read_token(srv, err, errlen);
    return rc ? rc : open_sockets(srv, err, errlen);
}

/* Compares in time independent of where the first difference is. */
bool listeners_token_matches(const listeners *l, const char *tok, size_t len)
{
    unsigned char diff = len != l->token_len;
    for (size_t i = 0; i < len && i < l->token_len; i++)
        diff |= (unsigned char)(tok[i] ^ l->token[i]);
    return diff == 0;
}

static void close_if_open(uv_handle_t *h)
{
    if (h->loop && !uv_is_closing(h))
        uv_close(h, NULL);
}

void listeners_close(listeners *l)
{
    if (l->unix_on)
        close_if_open((uv_handle_t *)&l->unix_srv);
    if (l->tcp_on)
        close_if_open((uv_handle_t *)&l->tcp_srv);
    for (unsigned i = 0; i < l->npassed; i++)
        close_if_open(&l->passed[i].handle);
}

void listeners_free(listeners *l)
{
    if (l->unix_path) {
        unlink(l->unix_path);
        free(l->unix_path);
    }
    free(l->token);
    free(l->passed); /* its handles were closed by listeners_close */
    *l = (listeners){0};
}
