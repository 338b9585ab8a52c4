#include "rpc.h"
#include "format.h"
#include "wire.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct rpc {
    int fd;
    uint32_t next_msgid;
    msgpack_unpacker up;
    msgpack_unpacked msg; /* the last message read; owns the reply's memory */
    msgpack_sbuffer out;
    rpc_event_fn on_event;
    void *event_ctx;
    char closing[600]; /* the server's last "error" notification, if any */
};

static int open_unix(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "socket path too long: %s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        snprintf(err, errlen, "could not connect to %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int open_tcp(const char *host, int port, char *err, size_t errlen)
{
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "could not resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "could not connect to %s:%d: %s", host, port, strerror(saved));
        return -1;
    }
    int one = 1; /* requests are small and answered one by one */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int rpc_open_socket(const endpoint *ep, char *err, size_t errlen)
{
    if (ep->unix_path)
        return open_unix(ep->unix_path, err, errlen);
    return open_tcp(ep->host, ep->port, err, errlen);
}

rpc *rpc_connect(const endpoint *ep, char *err, size_t errlen)
{
    int fd = rpc_open_socket(ep, err, errlen);
    if (fd < 0)
        return NULL;
    rpc *r = calloc(1, sizeof *r);
    if (!r || !msgpack_unpacker_init(&r->up, 64 * 1024)) {
        snprintf(err, errlen, "out of memory");
        free(r);
        close(fd);
        return NULL;
    }
    r->fd = fd;
    r->next_msgid = 1;
    msgpack_unpacked_init(&r->msg);
    msgpack_sbuffer_init(&r->out);
    return r;
}

void rpc_close(rpc *r)
{
    if (!r)
        return;
    close(r->fd);
    msgpack_unpacked_destroy(&r->msg);
    msgpack_unpacker_destroy(&r->up);
    msgpack_sbuffer_destroy(&r->out);
    free(r);
}

void rpc_on_event(rpc *r, rpc_event_fn fn, void *ctx)
{
    r->on_event = fn;
    r->event_ctx = ctx;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w, n -= (size_t)w;
    }
    return 0;
}

static void copy_str(char *dst, size_t size, const msgpack_object *o)
{
    size_t n = 0;
    if (o && o->type == MSGPACK_OBJECT_STR) {
        n = o->via.str.size < size - 1 ? o->via.str.size : size - 1;
        memcpy(dst, o->via.str.ptr, n);
    }
    dst[n] = '\0';
}

/* An error map {"type", "message"} into the reply. */
static void take_error(rpc_reply *out, const msgpack_object *e)
{
    out->ok = false;
    copy_str(out->etype, sizeof out->etype, fmt_map_get(e, "type"));
    copy_str(out->emsg, sizeof out->emsg, fmt_map_get(e, "message"));
    if (!out->etype[0])
        snprintf(out->etype, sizeof out->etype, "Error");
}

/* A notification: the "error" one the server sends before closing is kept
 * for the message; the others go to the event callback. */
static void take_notification(rpc *r, const msgpack_object *a)
{
    const msgpack_object *method = &a->via.array.ptr[1], *params = &a->via.array.ptr[2];
    if (method->type == MSGPACK_OBJECT_STR && method->via.str.size == 5 &&
        memcmp(method->via.str.ptr, "error", 5) == 0 && params->type == MSGPACK_OBJECT_ARRAY &&
        params->via.array.size == 1) {
        rpc_reply tmp;
        take_error(&tmp, &params->via.array.ptr[0]);
        snprintf(r->closing, sizeof r->closing, "%s: %s", tmp.etype, tmp.emsg);
        return;
    }
    if (r->on_event)
        r->on_event(r->event_ctx, method, params);
}

/* Reads until the response to msgid, passing notifications on. */
static int read_reply(rpc *r, uint32_t msgid, rpc_reply *out, char *err, size_t errlen)
{
    for (;;) {
        msgpack_unpack_return ur = msgpack_unpacker_next(&r->up, &r->msg);
        if (ur == MSGPACK_UNPACK_SUCCESS) {
            const msgpack_object *a = &r->msg.data;
            if (a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size < 3 ||
                a->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                break;
            uint64_t kind = a->via.array.ptr[0].via.u64;
            if (kind == MSG_NOTIFY && a->via.array.size == 3) {
                take_notification(r, a);
                continue;
            }
            if (kind != MSG_RESPONSE || a->via.array.size != 4 ||
                a->via.array.ptr[1].via.u64 != msgid)
                break;
            out->ok = true;
            out->result = a->via.array.ptr[3];
            if (a->via.array.ptr[2].type != MSGPACK_OBJECT_NIL)
                take_error(out, &a->via.array.ptr[2]);
            return 0;
        }
        if (ur != MSGPACK_UNPACK_CONTINUE)
            break;
        if (!msgpack_unpacker_reserve_buffer(&r->up, 64 * 1024)) {
            snprintf(err, errlen, "out of memory reading the answer");
            return -1;
        }
        ssize_t n = read(r->fd, msgpack_unpacker_buffer(&r->up), 64 * 1024);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "the server closed the connection%s%s", r->closing[0] ? ": " : "",
                     r->closing);
            return -1;
        }
        msgpack_unpacker_buffer_consumed(&r->up, (size_t)n);
    }
    snprintf(err, errlen, "the server sent an unexpected message");
    return -1;
}

int rpc_call_packed(rpc *r, const char *method, const char *params, size_t len, rpc_reply *out,
                    char *err, size_t errlen)
{
    uint32_t msgid = r->next_msgid++;
    msgpack_packer pk;
    r->out.size = 0;
    msgpack_packer_init(&pk, &r->out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint8(&pk, MSG_REQUEST);
    msgpack_pack_uint32(&pk, msgid);
    msgpack_pack_str_with_body(&pk, method, strlen(method));
    msgpack_sbuffer_write(&r->out, params, len);
    if (write_all(r->fd, r->out.data, r->out.size) < 0) {
        snprintf(err, errlen, "could not send to the server: %s", strerror(errno));
        return -1;
    }
    return read_reply(r, msgid, out, err, errlen);
}

int rpc_call0(rpc *r, const char *method, rpc_reply *out, char *err, size_t errlen)
{
    return rpc_call_packed(r, method, "\x90", 1, out, err, errlen);
}

int rpc_call_str(rpc *r, const char *method, const char *arg, rpc_reply *out, char *err,
                 size_t errlen)
{
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_str_with_body(&pk, arg, strlen(arg));
    int rc = rpc_call_packed(r, method, b.data, b.size, out, err, errlen);
    msgpack_sbuffer_destroy(&b);
    return rc;
}

int rpc_fd(const rpc *r)
{
    return r->fd;
}

int rpc_poll_events(rpc *r, char *err, size_t errlen)
{
    if (!msgpack_unpacker_reserve_buffer(&r->up, 64 * 1024)) {
        snprintf(err, errlen, "out of memory reading events");
        return -1;
    }
    ssize_t n = recv(r->fd, msgpack_unpacker_buffer(&r->up), 64 * 1024, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (n <= 0) {
        snprintf(err, errlen, "the server closed the connection%s%s", r->closing[0] ? ": " : "",
                 r->closing);
        return -1;
    }
    msgpack_unpacker_buffer_consumed(&r->up, (size_t)n);
    /* between calls only notifications can come: anything else is kept
     * for read_reply to refuse */
    while (msgpack_unpacker_next(&r->up, &r->msg) == MSGPACK_UNPACK_SUCCESS) {
        const msgpack_object *a = &r->msg.data;
        if (a->type == MSGPACK_OBJECT_ARRAY && a->via.array.size == 3 &&
            a->via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
            a->via.array.ptr[0].via.u64 == MSG_NOTIFY) {
            take_notification(r, a);
            continue;
        }
        snprintf(err, errlen, "the server sent an unexpected message");
        return -1;
    }
    return 0;
}
