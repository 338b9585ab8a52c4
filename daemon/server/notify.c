/* sd-daemon glue: notifications, the watchdog, socket activation. */
#include "notify.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <systemd/sd-daemon.h>

/* --- notifications ------------------------------------------------------- */

/* unset_environment is 0 throughout: heapd notifies many times, and the
 * environment is its only record of where to. */
static void send_state(const char *state)
{
    int rc = sd_notify(0, state);
    if (rc < 0)
        log_debug("sd_notify: %s", strerror(-rc));
}

void notify_status(const char *fmt, ...)
{
    char line[256];
    int n = snprintf(line, sizeof line, "STATUS=");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    send_state(line);
}

void notify_ready(uint64_t objects)
{
    char line[96];
    snprintf(line, sizeof line, "READY=1\nSTATUS=Ready: %" PRIu64 " objects", objects);
    send_state(line);
}

void notify_reloading(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t usec = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
    char line[96];
    snprintf(line, sizeof line, "RELOADING=1\nSTATUS=Reloading\nMONOTONIC_USEC=%" PRIu64, usec);
    send_state(line);
}

void notify_stopping(void)
{
    static bool sent; /* once: a final save may come before server_stop */
    if (sent)
        return;
    sent = true;
    send_state("STOPPING=1\nSTATUS=Stopping");
}

/* --- the watchdog ------------------------------------------------------------ */

static void on_watchdog(uv_timer_t *t)
{
    (void)t;
    send_state("WATCHDOG=1");
}

bool notify_watchdog_start(uv_loop_t *loop, uv_timer_t *t)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return false;
    /* Half the interval, as sd_watchdog_enabled(3) advises: a ping late by
     * less than that still arrives in time. */
    uint64_t ms = usec / 2000;
    if (ms == 0)
        ms = 1;
    uv_timer_init(loop, t);
    uv_timer_start(t, on_watchdog, ms, ms);
    log_info("watchdog: pinging systemd every %" PRIu64 " ms", ms);
    return true;
}

/* --- socket activation ------------------------------------------------------ */

static void log_adopted(notify_listener *l, int fd)
{
    char name[512];
    size_t len = sizeof name;
    if (l->handle.type == UV_NAMED_PIPE) {
        if (uv_pipe_getsockname(&l->pipe, name, &len) != 0)
            snprintf(name, sizeof name, "?");
        log_info("listening on %s (fd %d from systemd)", name, fd);
        return;
    }
    struct sockaddr_storage ss;
    int sslen = sizeof ss;
    if (uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &sslen) != 0 ||
        uv_ip_name((struct sockaddr *)&ss, name, sizeof name) != 0)
        snprintf(name, sizeof name, "?");
    int port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    log_info("listening on tcp %s port %d (fd %d from systemd)", name, port, fd);
}

/* Initialises *l as the handle for fd's kind of socket: a pipe for AF_UNIX,
 * a TCP handle for AF_INET and AF_INET6. Only listening stream sockets. */
static int init_for(uv_loop_t *loop, notify_listener *l, int fd)
{
    if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) > 0)
        return uv_pipe_init(loop, &l->pipe, 0);
    if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) > 0)
        return uv_tcp_init(loop, &l->tcp);
    return UV_ENOTSOCK;
}

static int open_and_listen(notify_listener *l, int fd, uv_connection_cb cb)
{
    int rc =
        l->handle.type == UV_NAMED_PIPE ? uv_pipe_open(&l->pipe, fd) : uv_tcp_open(&l->tcp, fd);
    return rc ? rc : uv_listen(&l->stream, 511, cb);
}

bool notify_sockets_passed(void)
{
    return sd_listen_fds(0) > 0;
}

int notify_adopt_listeners(uv_loop_t *loop, uv_connection_cb cb, void *data, notify_listener **out,
                           unsigned *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    int count = sd_listen_fds(1);
    if (count < 0)
        return snprintf(err, errlen, "socket activation: %s", strerror(-count)), -1;
    if (count == 0)
        return 0;
    *out = xcalloc((size_t)count, sizeof **out);
    for (int i = 0; i < count; i++) {
        notify_listener *l = &(*out)[i];
        int fd = SD_LISTEN_FDS_START + i;
        if (init_for(loop, l, fd) != 0)
            return snprintf(err, errlen,
                            "socket activation: fd %d is not a listening Unix or TCP stream "
                            "socket",
                            fd),
                   -1;
        l->handle.data = data;
        ++*n;
        int rc = open_and_listen(l, fd, cb);
        if (rc)
            return snprintf(err, errlen, "socket activation: fd %d: %s", fd, uv_strerror(rc)), -1;
        log_adopted(l, fd);
    }
    return 0;
}
