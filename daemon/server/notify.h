/* heapd under systemd (SPEC §7), through libsystemd's sd-daemon API:
 * readiness and status notifications (Type=notify), the watchdog, and the
 * listening sockets of socket activation.
 *
 * Every function is a no-op when heapd was not started that way (no
 * NOTIFY_SOCKET, WATCHDOG_USEC or LISTEN_FDS in the environment), so the
 * daemon calls them unconditionally. A notification that cannot be sent is
 * not an error: the service manager is the one to complain.
 *
 * What systemd sees, in order:
 *   STATUS=Loading                 before the heap is built (and a snapshot,
 *                                  if any, is loaded)
 *   READY=1, STATUS=Ready: N objects  once the loop accepts connections
 *   RELOADING=1 ... READY=1        around each SIGHUP reload
 *   STOPPING=1, STATUS=Stopping    when an orderly stop begins
 *   WATCHDOG=1                     every half WatchdogSec, from the loop */
#ifndef HEAPD_NOTIFY_H
#define HEAPD_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

/* Sends STATUS=<text>, the one line `systemctl status` shows. */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* READY=1 with STATUS=Ready: <objects> objects. Sent at start and again
 * after each reload, which is how systemd learns that a reload ended. */
void notify_ready(uint64_t objects);

/* RELOADING=1 (with MONOTONIC_USEC, which systemd 253 and later want). */
void notify_reloading(void);

/* STOPPING=1 with STATUS=Stopping. */
void notify_stopping(void);

/* When systemd asked for a watchdog (WatchdogSec=, so WATCHDOG_USEC is set
 * for this process), initialises *t on loop and starts it sending
 * WATCHDOG=1 every half interval; returns true. Otherwise returns false and
 * leaves *t untouched. The caller closes *t when the loop ends. */
bool notify_watchdog_start(uv_loop_t *loop, uv_timer_t *t);

/* A listening socket passed by systemd, adopted into libuv. */
typedef union notify_listener {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_pipe_t pipe; /* an AF_UNIX socket */
    uv_tcp_t tcp;   /* an AF_INET or AF_INET6 socket */
} notify_listener;

/* Whether systemd passed listening sockets to this process (LISTEN_FDS and
 * LISTEN_PID), adopting nothing and leaving the environment as it is. */
bool notify_sockets_passed(void);

/* Socket activation: adopts the listening sockets systemd passed
 * (LISTEN_FDS, which is then unset so no child inherits them), each in a
 * handle on loop whose data is data and whose connections go to cb.
 * *out is a new array (caller frees it, after closing its *n handles) and
 * *n how many of its handles are initialised: 0 with *out NULL when no
 * socket was passed, and heapd binds its own. Returns 0, or -1 with err
 * naming a passed socket that is not a listening Unix or TCP stream socket
 * (the handles already initialised are in *out and *n all the same). */
int notify_adopt_listeners(uv_loop_t *loop, uv_connection_cb cb, void *data, notify_listener **out,
                           unsigned *n, char *err, size_t errlen);

#endif
