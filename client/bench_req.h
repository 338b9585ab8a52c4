/* heapctl bench: requests encoded once and sent many times, so the
 * benchmark client costs far less per request than the server it measures. */
#ifndef HEAPCTL_BENCH_REQ_H
#define HEAPCTL_BENCH_REQ_H

#include <stdarg.h>
#include <stddef.h>

/* [0, msgid, method, params]: 0x94, 0x00, then the msgid, always as a
 * uint32 (0xce and 4 big-endian bytes) so that it can be patched in place. */
#define BENCH_REQ_MSGID_OFF 3

/* One request, encoded. When `then` is set, the answer to this request must
 * be a ref (ext 1), and the same in-flight slot next sends `then` with that
 * ref patched into its ref placeholder (`new` followed by `release`). */
typedef struct bench_req {
    const char *method; /* for messages; not owned */
    char *buf;          /* owned */
    size_t len;
    size_t ref_off;               /* offset of the 8 ref bytes, or 0: none */
    unsigned cost;                /* requests reserved from the budget when sent */
    const struct bench_req *then; /* not owned */
} bench_req;

/* Encodes method with parameters described by fmt, one letter each:
 *   s  a str (const char *)        i  an int (int)
 *   x  a str of N 'x' (size_t N)   L  an empty list
 *   D  a one-entry dict (const char *key, int value)
 *   R  a ref placeholder, patched when sent
 * cost is 1 and then is NULL; method must outlive r. Returns 0, or -1 when
 * out of memory (r is then empty). Free with bench_req_free. */
int bench_req_make(bench_req *r, const char *method, const char *fmt, ...);
int bench_req_makev(bench_req *r, const char *method, const char *fmt, va_list ap);
void bench_req_free(bench_req *r);

/* Copies r to dst (room for r->len bytes) with msgid and, if r has a ref
 * placeholder, the 8 ref bytes patched in. */
void bench_req_emit(const bench_req *r, char *dst, unsigned msgid, const char *ref8);

#endif
