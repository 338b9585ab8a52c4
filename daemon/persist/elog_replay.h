/* Replaying the effect log (elog_fmt.h): the records of a block applied to
 * a heap, and the segment files of a log read, checked and applied in
 * order. No libuv here: the loader, the fuzzer and a replica share it.
 *
 * A replay runs with the heap's frees deferred (effects.h): an object is
 * finalized when a FREE record says so, never because its count in the
 * replica reached zero; so ids come back exactly, whatever the writer's
 * collector and deferred frees did when. */
#ifndef HEAPD_ELOG_REPLAY_H
#define HEAPD_ELOG_REPLAY_H

#include "elog_fmt.h"
#include "ns.h"

typedef struct elog_replay {
    heap *h;
    hns *ns;
    uint64_t blocks, records, bytes;
    uint64_t last_lsn; /* the last block applied (0: none) */
    uint64_t next_seq; /* the segment after the last one read */
    uint64_t torn;     /* bytes dropped from the tail of the last segment */
    /* refused because a global name reaches an object a CLEAR record made
     * garbage: the heap breaks the collector's invariants and must be
     * thrown away (any other refusal leaves a sound heap, half replayed) */
    bool unsound;
} elog_replay;

/* Begins a replay into h and ns (a new heap, or one a snapshot was just
 * loaded into with elog_replay_begin called before the load, so that
 * objects only sessions held stay as zombies). */
void elog_replay_begin(elog_replay *r, heap *h, hns *ns);
/* Applies the n bytes of one block's records. 0, or HE_RUNTIME with err
 * saying what is wrong and *at the offset of the bad record in p. */
int elog_apply(elog_replay *r, const unsigned char *p, size_t n, size_t *at, herr *err);
/* Ends the replay: free lists rebuilt, frees no longer deferred. Does NOT
 * sweep zombies: the writer logs SESSIONS_END and sweeps (elog.c). */
void elog_replay_end(elog_replay *r);

/* Reads and applies one segment held in memory (data, len) named `name` in
 * messages. last: it is the last segment, whose torn tail (a block cut
 * short, or failing its checksum with nothing but it, or zeros, after it)
 * is dropped: *valid_len tells where the good part ends. Damage elsewhere
 * is an error naming name and the offset. expect_seq: the seq its header
 * must carry (0: any). At its end no global name may reach an object the
 * collector (a CLEAR record, or a snapshot's cleared record) has doomed:
 * refused, with r->unsound set, if one does. */
int elog_replay_segment(elog_replay *r, const char *name, const unsigned char *data, size_t len,
                        uint64_t expect_seq, bool last, size_t *valid_len, herr *err);

#endif
