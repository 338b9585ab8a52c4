/* Snapshots written while clients go on, without fork() (SPEC §14, §9).
 *
 * The image is the heap as it was at the save's start (its instant): every
 * object alive then, in its slot with its generation, and the global
 * names bound then. It is written in bounded steps from the loop:
 *
 *   the walk    goes through the slots, type by type, writing each object
 *               alive at the instant that is not written yet, and the
 *               generation of every slot; then through the global names
 *               with the scan cursor (cursor.h);
 *   the copies  are made before a change: the heap tells the writer
 *               (effects.h, hsnap_observer) before any object changes or
 *               is freed, and the writer writes that object first, as it
 *               still is, if the walk has not; likewise for a global name
 *               (its binding at the instant is kept) and for the
 *               generation of a slot the walk has not reached yet.
 *
 * Invariant: an object alive at the instant is written exactly once, as it
 * was at the instant: either the walk reaches it unchanged, or its first
 * change (or its free) writes it before it happens. Objects made after the
 * instant are never written (their birth marks their slot done), and
 * nothing written refers to them: what was alive at the instant only held
 * what was alive at the instant. So the extra memory is what changes during
 * the save (copies wait in buffers for the writer thread), not the heap.
 *
 * The walk writes a big list, dict or set in pieces, one step at a time;
 * if that container changes before the walk is through, the rest is
 * written at once (O(its size), once). Tuples are written whole, after the
 * tuples they hold.
 *
 * The file is snapshot format version 3 (snapshot.h): every object alive
 * at the instant is in it (with the effect log on, the log after it may
 * name any of them), marked "live" in the header, so a load frees what no
 * name or container holds. */
#ifndef HEAPD_SNAP_LIVE_H
#define HEAPD_SNAP_LIVE_H

#include "snapshot.h"

typedef struct snap_live snap_live;

/* Starts a save of h and ns to path as of now. Threaded: the file is
 * written and assembled by a writer thread, which calls done(ctx) when it
 * is in place or failed. Unthreaded: the writer's work is done in the
 * steps and the last one. The heap is observed until snap_live_close.
 * log_seq: the effect log's segment that starts now (0: none). NULL with
 * err set if the temporary files cannot be made. */
snap_live *snap_live_start(heap *h, hns *ns, const char *path, uint64_t log_seq, bool threaded,
                           void (*done)(void *ctx), void *ctx, herr *err);
/* Does about budget_ns of the walk (at least one unit). True once the
 * image is all encoded and handed over (threaded: done follows). */
bool snap_live_step(snap_live *s, uint64_t budget_ns);
/* Threaded: whether the writer is through, done called (a wake-up from a
 * save cancelled since finds the next save not through). */
bool snap_live_written(const snap_live *s);
/* After done (or an unthreaded save's last step): 0 with info, or
 * HE_RUNTIME with err. */
int snap_live_result(snap_live *s, snap_info *info, herr *err);
/* Stops observing the heap, ends the writer (abandoning an unfinished
 * save and its temporary files) and frees s. */
void snap_live_close(snap_live *s);
/* The longest step so far, in ns (stats). */
uint64_t snap_live_max_step_ns(const snap_live *s);

#endif
