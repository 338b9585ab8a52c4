/* The effect log's file format, version 1 (docs/effect-log.md is the full
 * account; this header is what the code shares).
 *
 * A log is a series of segment files "<persistence.log>.<seq>" (seq: 8
 * decimal digits, from 1). Each segment:
 *
 *   header   32 bytes: "HEAPDLOG", u32 version, u32 intern policy,
 *            u64 seq, u32 reserved (0), u32 CRC-32C of the 28 bytes before
 *   blocks   until the end of the file
 *
 * A block is the unit of writing, checksumming and atomicity: everything
 * one loop turn of the writer did (the requests of every connection, the
 * collector's slice, the deferred frees), written with one write():
 *
 *   u32 n    payload bytes (1 .. ELOG_BLOCK_MAX)
 *   u32 crc  CRC-32C of the 8 bytes of lsn and the n bytes of payload
 *   u64 lsn  the block's number: 1, 2, 3 ... across segments, never reused
 *   payload  records
 *
 * All fixed-width integers are big-endian. A record is one kind byte and
 * its fields; an id, a count or an index is an unsigned LEB128 varint, an
 * int a zigzag varint, a float 8 bytes big-endian (IEEE 754 bits), a name,
 * str or bytes a varint length and the bytes:
 *
 *   NEW id payload    the object id names, made; payload by id's type code:
 *                     int: zigzag; float: 8 bytes; str, bytes: length and
 *                     bytes; tuple: count and item ids; list, dict, set:
 *                     nothing (made empty; stores follow); type: name id,
 *                     dict id; object: class id, dict id, u8 finalized;
 *                     weakref: u8 parts (1 referent, 2 weak-dict entry),
 *                     [referent id], [key id, dict id]. A type code this
 *                     version does not know is damage (a newer writer).
 *   FREE id           id was finalized (by refcount or the collector)
 *   CLEAR id          container id emptied (clear(), or collector garbage)
 *   APPEND list item  INSERT list index item  LSET list index item
 *   LDEL list index   DSET dict key value     DDEL dict key
 *   SADD set key      SDEL set key
 *   BIND name id      UNBIND name            (the global namespace)
 *   FLAG id u8        id's flag bit: class __del__, instance finalized by
 *                     the collector, dict made weak-valued
 *   WEAK_CLEAR id     the collector cleared every weakref to garbage id
 *   SESSIONS_END      every session ended (a restart): what only sessions
 *                     held is freed, in slot order (heap_sweep_zombies)
 *
 * Kinds are the heap's effect kinds (effects.h); new kinds and new type
 * payloads are added with new codes, and the version goes up only when an
 * old reader would misread a file rather than refuse it. */
#ifndef HEAPD_ELOG_FMT_H
#define HEAPD_ELOG_FMT_H

#include "effects.h"

#include <stdint.h>
#include <string.h>

#define ELOG_MAGIC        "HEAPDLOG"
#define ELOG_VERSION      1
#define ELOG_HEADER_LEN   32
#define ELOG_BLOCK_HDR    16
#define ELOG_BLOCK_MAX    (1u << 30)
#define ELOG_SEQ_DIGITS   8
#define ELOG_SESSIONS_END 32 /* the record kind beyond the heap's effects */

static inline void elog_be32(unsigned char *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}
static inline void elog_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}
static inline uint32_t elog_get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t elog_get64(const unsigned char *p)
{
    return (uint64_t)elog_get32(p) << 32 | elog_get32(p + 4);
}

/* A growable byte buffer (the records of the block being made). */
typedef struct ebuf {
    unsigned char *p;
    size_t len, cap;
} ebuf;

void ebuf_reserve(ebuf *b, size_t more);
void ebuf_free(ebuf *b);

/* Appends the record for e to b (the effect hook's work). */
void elog_encode(ebuf *b, const heffect *e);
/* The 32 bytes of a segment header. */
void elog_segment_header(unsigned char out[ELOG_HEADER_LEN], uint32_t intern, uint64_t seq);

#endif
