/* The effect log's segment files (elog_fmt.h): "<base>.<seq>", seq from 1
 * in 8 or more decimal digits. No libuv: start-up and tests use it. */
#ifndef HEAPD_ELOG_FILES_H
#define HEAPD_ELOG_FILES_H

#include "elog_replay.h"

/* "<base>.<seq>", malloc'd. */
char *elog_segment_path(const char *base, uint64_t seq);
/* The seqs of the segments present, ascending (malloc'd; *n may be 0). */
int elog_list_segments(const char *base, uint64_t **seqs, size_t *n, herr *err);

/* Where the replay ended: the last segment, whether it exists, its length
 * and the length of its good part (less when a torn tail was dropped). */
typedef struct elog_tail {
    uint64_t seq;
    bool exists;
    size_t len, valid_len;
    uint64_t covered_below; /* segments below this one are the snapshot's */
} elog_tail;

/* Replays segment start_seq (0: the first present) and every later one, in
 * order and without gaps. The files are only read. 0 with *tail filled, or
 * HE_RUNTIME with err naming the file and the offset. A last segment
 * shorter than its header (a crash between its creation and its header's
 * write) is a torn tail: dropped with a warning, and tail->exists is false
 * so that the writer makes it again (O_TRUNC); anywhere else it is damage. */
int elog_replay_all(elog_replay *r, const char *base, uint64_t start_seq, elog_tail *tail,
                    herr *err);
/* Removes the segments below seq (a durable snapshot covers them). */
void elog_remove_below(const char *base, uint64_t seq);

#endif
