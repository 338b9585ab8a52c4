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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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

/* The Unix socket's path: listen.unix, else the default rule (SPEC §7),
 * whose private directory is made only when make_dir. */
static int unix_path(const heapd_config *cfg, char *path, size_t size, bool make_dir, char *err,
                     size_t errlen)
{
    if (cfg->listen_unix)
        return snprintf(path, size, "%s", cfg->listen_unix), 0;
    if (sockpath_default(path, size, make_dir) == 0)
        return 0;
    return snprintf(err, errlen, "cannot prepare the socket directory: %s", strerror(errno)), -1;
}

/* Whether a server accepts connections on the Unix socket at path: 1 yes
 * (a full backlog is someone listening too), 0 no (a stale file: refused,
 * or gone), or -errno when a connect cannot tell (EACCES). Connecting is
 * the only test: the file outlives a heapd that was killed. */
static int unix_socket_answers(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? 0 : errno;
    close(fd);
    if (rc == 0 || rc == EAGAIN || rc == EINPROGRESS)
        return 1;
    return rc == ECONNREFUSED || rc == ENOENT ? 0 : -rc;
}

/* Makes way for heapd's socket at path: nothing there, or a stale socket
 * file (removed). Refuses a live socket (another heapd would go on running
 * unreachable, and its socket file would go when this one stops) and any
 * other kind of file. */
static int claim_unix_path(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISSOCK(st.st_mode))
        return snprintf(err, errlen, "listen on %s: the file there is not a socket (left alone)",
                        path),
               -1;
    int live = unix_socket_answers(path);
    if (live > 0)
        return snprintf(err, errlen, "address in use: another heapd is listening on %s", path), -1;
    if (live < 0)
        return snprintf(err, errlen, "listen on %s: cannot tell whether a server answers there: %s",
                        path, strerror(-live)),
               -1;
    if (unlink(path) != 0 && errno != ENOENT)
        return snprintf(err, errlen, "listen on %s: cannot remove the stale socket: %s", path,
                        strerror(errno)),
               -1;
    log_info("removed the stale socket %s (nothing answered there)", path);
    return 0;
}

static int listen_unix(server *srv, char *err, size_t errlen)
{
    char path[512];
    if (unix_path(&srv->cfg, path, sizeof path, true, err, errlen))
        return -1;
    /* claimed again: another heapd may have bound it while the snapshot loaded */
    int rc = claim_unix_path(path, err, errlen);
    if (rc)
        return rc;
    uv_pipe_init(srv->loop, &srv->lis.unix_srv, 0);
    srv->lis.unix_srv.data = srv;
    srv->lis.unix_on = true;
    rc = uv_pipe_bind(&srv->lis.unix_srv, path);
    if (!rc)
        rc = uv_listen((uv_stream_t *)&srv->lis.unix_srv, 511, on_connection);
    if (rc == UV_EADDRINUSE) /* bound between our claim and our bind */
        return snprintf(err, errlen, "address in use: another heapd is listening on %s", path), -1;
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

static int listen_tcp(server *srv, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    if (config_tcp_address(srv->cfg.listen_tcp, &ss, err, errlen)) /* checked: cannot fail */
        return -1;
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

int listeners_open(server *srv, char *err, size_t errlen)
{
    bool adopted = false;
    int rc = adopt_listeners(srv, &adopted, err, errlen);
    if (rc || adopted)
        return rc;
    if (srv->cfg.listen_tcp)
        rc = listen_tcp(srv, err, errlen);
    return rc ? rc : listen_unix(srv, err, errlen);
}

/* --- the rules: the token and listen.tcp ----------------------------------- */

#define TOKEN_MAX 1024

/* The token in auth.token_file, trailing newlines and blanks trimmed, as a
 * new string in *tok (NULL when no file is set). */
static int read_token(const char *file, char **tok, size_t *len, char *err, size_t errlen)
{
    *tok = NULL;
    *len = 0;
    if (!file)
        return 0;
    FILE *f = fopen(file, "r");
    if (!f)
        return snprintf(err, errlen, "auth.token_file: cannot read a token from %s: %s", file,
                        strerror(errno)),
               -1;
    char buf[TOKEN_MAX + 2];
    size_t n = fread(buf, 1, sizeof buf, f);
    bool failed = ferror(f);
    fclose(f);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    if (failed || n == 0 || n > TOKEN_MAX)
        return snprintf(err, errlen, "auth.token_file: cannot read a token from %s: %s", file,
                        failed ? "read error"
                        : n    ? "longer than 1024 bytes"
                               : "empty"),
               -1;
    *tok = xstrndup(buf, n);
    *len = n;
    return 0;
}

/* listen.tcp parses, and is on loopback unless a token is configured. */
static int check_tcp(const heapd_config *cfg, bool have_token, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    if (!cfg->listen_tcp)
        return 0;
    if (config_tcp_address(cfg->listen_tcp, &ss, err, errlen))
        return -1;
    if (!loopback((struct sockaddr *)&ss) && !have_token)
        return snprintf(err, errlen,
                        "listen.tcp: %s is not a loopback address and no auth token is configured "
                        "(auth.token_file)",
                        cfg->listen_tcp),
               -1;
    return 0;
}

/* The rules of listeners_check; keeps the token in l when l is given. */
static int check_rules(const heapd_config *cfg, listeners *l, char *err, size_t errlen)
{
    char *tok;
    size_t len;
    int rc = read_token(cfg->auth_token_file, &tok, &len, err, errlen);
    if (!rc)
        rc = check_tcp(cfg, tok != NULL, err, errlen);
    if (!rc && l) {
        l->token = tok;
        l->token_len = len;
    } else {
        free(tok);
    }
    return rc;
}

int listeners_check(const heapd_config *cfg, char *err, size_t errlen)
{
    return check_rules(cfg, NULL, err, errlen);
}

int listeners_prepare(server *srv, char *err, size_t errlen)
{
    char path[512];
    if (check_rules(&srv->cfg, &srv->lis, err, errlen))
        return -1;
    if (notify_sockets_passed()) /* systemd's sockets are adopted, never probed */
        return 0;
    if (unix_path(&srv->cfg, path, sizeof path, false, err, errlen))
        return -1;
    return claim_unix_path(path, err, errlen);
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
