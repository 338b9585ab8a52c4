/* A validating scan of one msgpack object in a byte buffer, run before
 * msgpack-c unpacks it: msgpack-c sizes arrays and maps from their declared
 * lengths, so a 5-byte header claiming 4 G elements would cost memory
 * before failing. The scan allocates nothing and checks that every declared
 * length fits in the bytes the object may occupy, the nesting depth, and
 * that no reserved byte (0xc1) appears. */
#ifndef HEAPD_MPSCAN_H
#define HEAPD_MPSCAN_H

#include <stddef.h>

enum mpscan_result {
    MPSCAN_OK,         /* one whole object; *used is its size */
    MPSCAN_INCOMPLETE, /* the buffer ends inside the object */
    MPSCAN_TOO_BIG,    /* declared lengths need more than `limit` bytes */
    MPSCAN_TOO_DEEP,   /* nesting beyond max_depth */
    MPSCAN_INVALID,    /* a byte that is not msgpack */
};

/* Scans the object at buf[0..len). limit bounds the object's total size
 * (pass len for a complete buffer, the message limit for a stream).
 * max_depth counts nested containers (an empty one too, as msgpack-c does)
 * and is capped at 64. */
enum mpscan_result mpscan(const char *buf, size_t len, size_t limit, unsigned max_depth,
                          size_t *used);

#endif
