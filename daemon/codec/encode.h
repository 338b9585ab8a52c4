/* Encoding heap objects as wire values (SPEC section 2, Values): the
 * reverse of literal.h, used for results.
 *
 * None, bool, int, float, str and bytes are msgpack nil, bool, int, float64
 * (always 64 bits, so -0.0, inf and NaN payloads come back bit-exact), str
 * and bin; a list is an array, a dict a map, a tuple ext 2 and a set ext 3
 * (each payload one msgpack array, packed in a buffer of its own); a
 * reference is ext 1 with the id as a big-endian uint64.
 *
 * Which containers are expanded: o is level 1, its items level 2, and so
 * on; a container at a level above `depth`, or one already on the path from
 * o to it (a cycle), is packed as a reference. Two caps bound the work and
 * keep the output decodable whatever depth is asked for:
 *  - ENC_MAX_DEPTH: depth is clamped to it, so the encoder recurses on the
 *    C stack at most that many levels.
 *  - ENC_MAX_NEST: msgpack-c's unpacker refuses a message whose arrays and
 *    maps nest more than WIRE_MSGPACK_MAX_DEPTH (32) levels. An ext payload
 *    is a separate buffer and is unpacked separately, so nesting inside one
 *    starts again from 0; but lists and dicts inside one buffer add up. A
 *    list or dict that would make its buffer nest more than ENC_MAX_NEST
 *    levels is packed as a reference, which leaves two levels for what
 *    encloses the value (the response envelope, and one result array).
 *
 * Bounded output: when pk is an answer's packer (encbuf.h), its budget
 * holds while encoding. The walk stops as soon as the budget is spent, so
 * an answer that cannot fit fails after about limits.max_output_bytes of
 * work and memory, whatever the value's shared structure would expand to
 * (L0 = [1]*100; Lk = [L(k-1)]*100). Such a packer also notes each object
 * packed as a reference (enc_ref), for ref-handle mode.
 *
 * Nothing here changes the heap (no colours, no counters), except the
 * counts an answer's packer takes on the references it notes. */
#ifndef HEAPD_ENCODE_H
#define HEAPD_ENCODE_H

#include "heap.h"

#include <msgpack.h>

#define ENC_MAX_DEPTH 64
#define ENC_MAX_NEST  30

/* Packs o (borrowed) into pk, expanding containers up to `depth` levels as
 * above; depth 0 packs a container o as a reference. h is unused today. */
void enc_value(msgpack_packer *pk, heap *h, hobj *o, uint32_t depth);

/* 0 when o's value, as enc_value would pack it, fits in what is left of
 * pk's budget (always, for a plain packer); else MemoryError in err. For a
 * request that must check before it changes anything (pop): it costs at
 * most the budget in work, and packs nothing. */
int enc_value_fits(msgpack_packer *pk, heap *h, hobj *o, uint32_t depth, herr *err);

/* Packs an atomic object (None, bool, int, float, str, bytes) as its
 * msgpack value: responses and snapshots share this one encoder. */
void enc_scalar(msgpack_packer *pk, const hobj *o);

/* Packs a reference (ext 1) to o (borrowed), noted by an answer's packer
 * that notes references (ref-handle mode: the client gets a handle). */
void enc_ref(msgpack_packer *pk, hobj *o);
/* Packs a reference (ext 1) to an id and notes nothing: for an object that
 * may be gone (events), or one whose handle the request made itself (new). */
void enc_ref_id(msgpack_packer *pk, hid id);

/* getitem's rule: None, bool, int, float, str and bytes as values; tuple,
 * list, dict and set as references. */
void enc_item(msgpack_packer *pk, heap *h, hobj *o);

#endif
