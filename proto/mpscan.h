/* A validating scan of one msgpack object in a byte buffer, run before
 * msgpack-c unpacks it: msgpack-c sizes arrays and maps from their declared
 * lengths, so a 5-byte header claiming 4 G elements would cost memory
 * before failing. The scan allocates nothing and checks that every declared
 * length fits in the bytes the object may occupy, the nesting depth, and
 * that no reserved byte (0xc1) appears. */
#ifndef HEAPD_MPSCAN_H
#define HEAPD_MPSCAN_H

#include <stddef.h>
#include <stdint.h>

#define MPSCAN_DEPTH_CAP 64

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

/* A scan that resumes where the last one stopped: a big message arriving
 * in many reads is scanned once in all, not once per read (which would be
 * quadratic). Only MPSCAN_INCOMPLETE may be resumed, with the same buffer
 * start (more bytes appended); after MPSCAN_OK, init again for the next. */
typedef struct mpscan_state {
    size_t pos;
    unsigned depth;
    uint64_t left[MPSCAN_DEPTH_CAP + 1]; /* elements still to read, per level */
} mpscan_state;

void mpscan_init(mpscan_state *st);
enum mpscan_result mpscan_resume(mpscan_state *st, const char *buf, size_t len, size_t limit,
                                 unsigned max_depth, size_t *used);

#endif
