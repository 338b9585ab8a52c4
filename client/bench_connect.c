/* Connecting heapctl bench's clients. */
#include "bench_connect.h"
#include "sockpath.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int resolve_tcp(bench_target *t, const endpoint *ep, char *err, size_t errlen)
{
    char port[16];
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    snprintf(port, sizeof port, "%d", ep->port);
    snprintf(t->desc, sizeof t->desc, "%s:%d", ep->host, ep->port);
    int rc = getaddrinfo(ep->host, port, &hints, &t->ai);
    if (rc != 0) {
        snprintf(err, errlen, "cannot connect to %s: %s", t->desc, gai_strerror(rc));
        t->ai = NULL;
        return -1;
    }
    return 0;
}

int bench_target_init(bench_target *t, const endpoint *ep, char *err, size_t errlen)
{
    *t = (bench_target){0};
    if (!ep->unix_path && ep->host)
        return resolve_tcp(t, ep, err, errlen);
    const char *path = ep->unix_path;
    if (!path && sockpath_default(t->path, sizeof t->path, false) != 0) {
        snprintf(err, errlen, "cannot find the default socket: %s", strerror(errno));
        return -1;
    }
    if (path && strlen(path) >= sizeof t->path) {
        snprintf(err, errlen, "cannot connect to %s: socket path too long", path);
        return -1;
    }
    if (path)
        strcpy(t->path, path);
    snprintf(t->desc, sizeof t->desc, "%s", t->path);
    return 0;
}

static int connect_unix(const bench_target *t)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, t->path, strlen(t->path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        return fd;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

static int connect_tcp(const bench_target *t)
{
    int e = ECONNREFUSED;
    for (const struct addrinfo *a = t->ai; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            int one = 1; /* answers are small and latency is measured */
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            return fd;
        }
        e = errno;
        close(fd);
    }
    errno = e;
    return -1;
}

int bench_target_connect(const bench_target *t, char *err, size_t errlen)
{
    int fd = t->ai ? connect_tcp(t) : connect_unix(t);
    if (fd < 0)
        snprintf(err, errlen, "cannot connect to %s: %s", t->desc, strerror(errno));
    return fd;
}

void bench_target_free(bench_target *t)
{
    if (t->ai)
        freeaddrinfo(t->ai);
    t->ai = NULL;
}
