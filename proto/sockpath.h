/* Where heapd listens by default, and where heapctl looks (SPEC §7):
 * $XDG_RUNTIME_DIR/heapd.sock, else /tmp/heapd-UID/heapd.sock in a
 * directory private to the user. */
#ifndef HEAPD_SOCKPATH_H
#define HEAPD_SOCKPATH_H

#include <stdbool.h>
#include <stddef.h>

/* Writes the default socket path into buf. With make_dir, creates the
 * private /tmp directory (mode 0700) if needed and refuses one that is not
 * the user's own or is open to others. Returns 0, or -1 with errno set. */
int sockpath_default(char *buf, size_t size, bool make_dir);

#endif
