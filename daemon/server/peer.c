/* Naming a connection's peer (peer.h). */
#include "peer.h"
#include "util.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

static char *tcp_peer(uv_tcp_t *t)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char ip[64], out[80];
    if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &len) != 0)
        return xstrndup("?", 1);
    if (ss.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
        snprintf(out, sizeof out, "[%s]:%u", ip, ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
    } else {
        uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
        snprintf(out, sizeof out, "%s:%u", ip, ntohs(((struct sockaddr_in *)&ss)->sin_port));
    }
    return xstrndup(out, strlen(out));
}

static char *unix_peer(uv_pipe_t *p, int64_t *pid)
{
    char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
    size_t len = sizeof path;
    uv_os_fd_t fd;
    struct ucred cred;
    socklen_t clen = sizeof cred;
    if (uv_fileno((uv_handle_t *)p, &fd) == 0 &&
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
        *pid = cred.pid;
    if (uv_pipe_getsockname(p, path, &len) != 0 || len == 0)
        return xstrndup("?", 1);
    if (path[0] == '\0') /* an abstract socket: shown as ss(8) does */
        path[0] = '@';
    return xstrndup(path, strnlen(path, len));
}

char *peer_name(uv_stream_t *s, bool tcp, int64_t *pid)
{
    *pid = 0;
    return tcp ? tcp_peer((uv_tcp_t *)s) : unix_peer((uv_pipe_t *)s, pid);
}
