/* One answer's output (SPEC §9): a msgpack packer whose bytes are counted
 * against a budget as they are written, so an answer can never grow past
 * limits.max_output_bytes, and which can note the objects it packs as
 * references (ext 1) for ref-handle mode.
 *
 * The encoder (encode.h) recognizes a packer made here by its write
 * callback: it then stops walking as soon as the budget is spent, packs the
 * payloads of tuples and sets into child buffers that share the budget, and
 * notes every reference it packs. A plain msgpack packer (snapshots, tests)
 * is encoded exactly as before, without a budget.
 *
 * The budget counts the bytes this answer holds at any moment: those
 * written to the answer's buffer plus those in the open payload buffers. So
 * the memory an answer takes stays within the limit (plus the sbuffer's
 * growth slack), and a failed answer stops after at most that many bytes
 * of work. Once over, every later write is dropped: the caller must then
 * discard the partial output (the dispatcher does). */
#ifndef HEAPD_ENCBUF_H
#define HEAPD_ENCBUF_H

#include "heap.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

/* A reference's count is never taken this close to the limit of its 32-bit
 * counter by a noted reference (a request would fail first). */
#define ENCBUF_REFCNT_MAX (UINT32_MAX - 0xFFFFu)

/* The message of the MemoryError an answer over its budget fails with. */
#define ENCBUF_OVER_MESSAGE "response larger than limits.max_output_bytes"

typedef struct encbuf {
    msgpack_packer pk;   /* pack through &eb->pk */
    msgpack_sbuffer *sb; /* where the bytes go; NULL: counted, then dropped */
    struct encbuf *root; /* the answer's own buffer (itself for the root) */
    /* the rest is the root's: */
    size_t used, limit; /* bytes this answer holds now; 0 limit: none */
    bool over;          /* the budget ran out: later bytes are dropped */
    bool refs_full;     /* a noted object's count reached ENCBUF_REFCNT_MAX */
    uint64_t refused;   /* writes refused once over (tests: the walk stops) */
    heap *note_h;       /* non-NULL: note references, taking a count each */
    hobj **refs;        /* the noted references, in the order packed */
    size_t nrefs, refs_cap;
} encbuf;

/* Starts an answer writing to sb (NULL: counts only, for a result nobody
 * will read), failing past limit bytes (0: no limit). With note_h, every
 * reference packed through the encoder is noted with a new reference taken
 * on its object, so the object outlives the request whatever the handler
 * does after packing it. */
void encbuf_init(encbuf *eb, msgpack_sbuffer *sb, size_t limit, heap *note_h);
/* Drops the noted references that were not taken over (encbuf_take_refs)
 * and frees the note list. */
void encbuf_destroy(encbuf *eb);

/* A child for a payload packed on its own (a tuple's or set's array):
 * writes to sb, counted against the root of parent's budget. The caller
 * calls encbuf_child_close before moving sb's bytes into the parent. */
void encbuf_child_init(encbuf *child, msgpack_sbuffer *sb, encbuf *parent);
void encbuf_child_close(encbuf *child);

/* The encbuf pk belongs to, or NULL for a plain msgpack packer. */
encbuf *encbuf_of(const msgpack_packer *pk);
/* True when pk is an encbuf whose answer can no longer succeed (over its
 * budget, or a count at its limit): the encoder stops walking. */
bool encbuf_failed(const msgpack_packer *pk);
/* Marks eb's answer as over its budget (the encoder found it would be). */
void encbuf_set_over(encbuf *eb);
/* Notes o as packed as a reference in pk's answer, when that answer notes
 * references (nothing otherwise). */
void encbuf_note_ref(msgpack_packer *pk, hobj *o);

/* Hands the noted references to the caller, who now owns one count per
 * entry (the array is freed by encbuf_destroy, after the caller used it). */
hobj **encbuf_take_refs(encbuf *eb, size_t *n);

#endif
