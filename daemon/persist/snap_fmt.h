/* The records of a snapshot file (snapshot.h has the layout), shared by
 * the writer (snap_live.c) and the loader (snap_load.c).
 *
 * Every record is a msgpack array whose first element is its kind. Before
 * version 3, records come in the order of their kinds (HEADER first, END
 * last; a kind may be absent or repeat), except MORE, which continues the
 * open sequence. In version 3, HEADER is first and END last, and the
 * records between may take turns in any order (a save written while heapd
 * serves writes them as it makes them); a MORE follows its sequence at
 * once; the loader applies them kind by kind, each kind in file order; a
 * container's entries may come in several FILL records, appended in
 * order.
 *
 *   [HEADER, {"intern": "python", "saved_at": unix time, "objects": N,
 *             "names": M, "slots": [nslots of each type, by type code],
 *             "heapd": version string, "live": true (version 3: objects
 *             nothing holds are allowed, freed at load), "log_seq": S
 *             (the effect log segment that follows, when the log is on)}]
 *   [GENS, type, nruns, [count, gen, count, gen, ...]]            sequence
 *        slots 0.. of that type, `count` slots at a time, and each slot's
 *        generation: a live object's own, else the one the slot gives
 *        next (HGEN_MAX: retired). Version 3 may give a type's slots in
 *        several GENS records in a row, each going on where the last ended.
 *   [SCALARS, [id, value, ...]]      None nil, bool, int, float64, str, bin
 *   [SHELLS, [id, ...]]              lists, dicts, sets, classes, instances
 *                                    and weakrefs, made empty
 *   [TUPLE, id, n, [item id, ...]]                                  sequence
 *        each tuple after every tuple it holds (its hash needs theirs)
 *   [FILL, id, n, [item id, ...]]    a non-empty list or set        sequence
 *   [FILL, id, n, [key id, value id, ...]]  a non-empty dict (n pairs)
 *   [RECS, [id, a, b, owner, flags, ...]]   (version 2) what the shells of
 *        classes, instances and weakrefs hold, and weak-valued dicts:
 *          class    a: its name (a str), b: its dict, flags 1: has __del__
 *          instance a: its class, b: its dict, flags 1: finalized
 *          class or instance with flags 2 (version 3): emptied by the
 *                   collector (garbage, a save during its sweep): a and b
 *                   0, loaded empty and doomed
 *          weakref  a: its entry's key or 0, b: its referent or 0 (not
 *                   saved: cleared), owner: its weak-valued dict or 0
 *          dict     flags 1: weak-valued (a, b, owner 0)
 *        (version 3) flags 2: a class or instance the collector had
 *          emptied (a save during its sweep; a, b, owner 0): loaded empty
 *          and doomed, and refused if a global name reaches it
 *   [NAMES, [name, id, ...]]         global bindings
 *   [END, objects, names]
 *   [MORE, [...]]                    the next entries of the open sequence
 *
 * A sequence record announces n entries and carries the first ones; MORE
 * records carry the rest, at most SNAP_CHUNK entries per record. No other
 * record may come while a sequence is open. Ids are uint64 as on the wire.
 */
#ifndef HEAPD_SNAP_FMT_H
#define HEAPD_SNAP_FMT_H

#include "util.h"

#include <stdbool.h>
#include <stdint.h>

#define SNAP_MAGIC     "HEAPDSNP"
#define SNAP_MAGIC_LEN 8
#define SNAP_HEAD_LEN  12 /* magic and version */
#define SNAP_CRC_LEN   4
#define SNAP_CHUNK     4096 /* entries per record */
#define SNAP_MAX_NEST  4    /* msgpack nesting of any record */

/* The most memory a file may make the loader give to slots (its header
 * declares the slot counts up front). 0: this machine's physical memory,
 * since the heap that wrote the file had that many slots in memory too.
 * The fuzzer sets a small bound. */
extern uint64_t snap_slot_bytes_max;

enum snap_kind {
    SR_HEADER = 1,
    SR_GENS,
    SR_SCALARS,
    SR_SHELLS,
    SR_TUPLE,
    SR_FILL,
    SR_RECS, /* version 2 */
    SR_NAMES,
    SR_END,
    SR_MORE,
};

/* One bit per slot. */
static inline bool bit_get(const uint64_t *bits, uint32_t i)
{
    return bits[i >> 6] >> (i & 63) & 1;
}
static inline void bit_set(uint64_t *bits, uint32_t i)
{
    bits[i >> 6] |= (uint64_t)1 << (i & 63);
}
static inline uint64_t *bits_new(uint32_t n)
{
    return xcalloc((size_t)n / 64 + 1, sizeof(uint64_t));
}

static inline void be32_put(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}
static inline uint32_t be32_get(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
