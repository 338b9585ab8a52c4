/* Small helpers shared by the daemon's modules. */
#ifndef HEAPD_UTIL_H
#define HEAPD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utf8.h" /* utf8_valid, shared with heapctl */

/* Allocation that cannot fail: on exhaustion the process logs and aborts
 * (as Redis's zmalloc does); configured limits (MemoryError) are enforced
 * before allocating, so this is only reached when the machine is out. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrndup(const char *s, size_t n);
_Noreturn void xoom(size_t n);

/* Arrays that may grow to hundreds of megabytes inside a time-bounded step
 * (the collector's gray stack, the deferred-free queue): mmap'd and grown
 * with mremap, so growing moves page tables instead of copying, which a
 * realloc from the brk heap would do. Sizes are in bytes. */
void *big_grow(void *p, size_t old_bytes, size_t new_bytes);
void big_free(void *p, size_t bytes);

/* fsyncs the directory that holds path (a rename or a new file in it is
 * durable then): 0, or the errno. */
int fsync_dir_of(const char *path);

/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
