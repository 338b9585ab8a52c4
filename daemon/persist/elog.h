/* The effect log in the running server (SPEC §14; docs/effect-log.md).
 *
 * The heap reports every effect (effects.h) to elog's hook, which appends a
 * record to the block of the current loop turn. At the end of each turn
 * (the server's check handle) the block is sealed and handed to the writer
 * thread, which writes it with one write() and, with fsync "always", one
 * fdatasync for everything handed over since its last one: group commit
 * across the requests and connections of a turn, and of every turn that
 * came while the previous fsync ran. The loop never writes or syncs.
 *
 * Answers wait for the log: an answer packed while records are pending is
 * held (the server's conn.c) until the writer reports the block durable:
 * written (everysec, no) or written and fsynced (always). elog_hold_lsn
 * says which block an answer packed now must wait for. So an answer is
 * never seen before the effects it reports, or any effect before it, are
 * in the file; a crash of heapd alone loses nothing acknowledged, a power
 * failure loses nothing acknowledged with "always", at most about a second
 * of it with "everysec" (the writer fsyncs once a second).
 *
 * Segments rotate at each snapshot (elog_rotate at the instant the
 * snapshot's image is taken): the snapshot records the segment that starts
 * after it, and segments before it are removed once it is durable. */
#ifndef HEAPD_ELOG_H
#define HEAPD_ELOG_H

#include "heap.h"
#include "ns.h"

#include <msgpack.h>
#include <uv.h>

enum elog_fsync { ELOG_ALWAYS, ELOG_EVERYSEC, ELOG_NO };

typedef struct elog elog;

/* Called on the loop thread when blocks up to lsn are durable. */
typedef void (*elog_release_fn)(void *ctx, uint64_t lsn);

typedef struct elog_setup {
    uv_loop_t *loop;
    heap *h;
    hns *ns;
    const char *path;   /* persistence.log, borrowed for the log's life */
    int fsync;          /* enum elog_fsync */
    uint64_t start_seq; /* the segment the loaded snapshot names; 0: from the first there is */
    elog_release_fn release;
    void *ctx;
} elog_setup;

/* Replays the log's segments into the heap (which holds the snapshot, if
 * any, loaded with elog_defer_frees_for_load first), drops a torn tail,
 * removes segments the snapshot covers, opens the last segment for
 * appending, starts the writer and hooks the heap's effects. -1 with one
 * line in err (damage: file and offset; the files untouched). */
int elog_open(elog **out, const elog_setup *s, char *err, size_t errlen);

/* Before loading a snapshot that a log replay will follow: objects the
 * snapshot keeps for sessions stay alive as zombies (effects.h). */
void elog_defer_frees_for_load(heap *h);

/* End of a loop turn: the records since the last call become a block for
 * the writer. Cheap when there are none. */
void elog_turn_end(elog *l);
/* 0 if an answer packed now may be sent at once; else the block it must
 * wait for (the release callback reports it). */
uint64_t elog_hold_lsn(const elog *l);
/* Seals the turn's records into the current segment; what follows goes to
 * a new one, whose seq is returned (for the snapshot being taken now). */
uint64_t elog_rotate(elog *l);
/* A snapshot naming segment seq is durable: older segments go. */
void elog_drop_before(elog *l, uint64_t seq);
/* Bytes logged since the last rotation (persistence.log_max_bytes). */
uint64_t elog_bytes_since_rotate(const elog *l);

/* Stops logging: hands over what is pending, waits for the writer to write
 * and fsync it all and to end, releases every held answer, unhooks the
 * heap and closes the libuv handle. Blocks the loop (heapd is stopping:
 * one write and one fsync). */
void elog_close(elog *l);
/* Frees l (after elog_close, once the loop has ended). NULL: nothing. */
void elog_free(elog *l);

/* The "log" part of stats persistence. */
void elog_pack_stats(const elog *l, msgpack_packer *pk, int *nkeys_out);
#define ELOG_STATS_KEYS 12

#endif
