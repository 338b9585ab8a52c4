/* The output of a snapshot written while heapd serves (snap_live.c).
 *
 * The loop encodes records into one buffer per section; a section's
 * records may be produced in any order relative to the other sections
 * (the walk and the copies made before changes interleave), but the file
 * wants them in the order of their kinds (snap_fmt.h). So each section
 * goes to its own temporary file ("<path>.tmp.<k>"), and at the end the
 * file is assembled: magic, version, header, the sections in order, the
 * tail (END), the checksum; fsync, rename, fsync of the directory.
 *
 * Threaded (a background save): full buffers are handed to a writer
 * thread, so the loop never waits for the disk, and the assembly and the
 * fsyncs run there too; `done` is called on that thread when the file is
 * in place or failed. Unthreaded (the final save, tests): everything runs
 * on the caller. */
#ifndef HEAPD_SNAP_OUT_H
#define HEAPD_SNAP_OUT_H

#include "errors.h"
#include "util.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

enum snap_section {
    SEC_GENS,
    SEC_SCALARS,
    SEC_SHELLS,
    SEC_TUPLES_WALK, /* tuples the walk wrote, post-order */
    SEC_TUPLES_COPY, /* tuples copied before they were freed: after the walk's */
    SEC_FILLS_WALK,
    SEC_FILLS_COPY, /* apart: the walk may have a big container open */
    SEC_RECS,
    SEC_NAMES,
    SEC__COUNT
};

typedef struct snap_out snap_out;

/* Starts the writer thread (threaded); the section files are made on their
 * first write. NULL with err set if the thread cannot start. */
snap_out *snap_out_open(const char *path, bool threaded, void (*done)(void *ctx), void *ctx,
                        herr *err);
/* The packer of a section: records go to its buffer. */
msgpack_packer *snap_out_pk(snap_out *o, enum snap_section s);
/* Hands a section's buffer over once it holds enough to be worth a write. */
void snap_out_maybe_flush(snap_out *o, enum snap_section s);
/* Bytes handed over and not yet written (a walk slows down past a bound). */
uint64_t snap_out_backlog(snap_out *o);
/* Everything is encoded: head (magic, version, HEADER) and tail (END) are
 * copied; the file is assembled (on the thread, or here unthreaded). */
void snap_out_finish(snap_out *o, const void *head, size_t hlen, const void *tail, size_t tlen);
/* After done (or an unthreaded finish): 0 with the file's size, or
 * HE_RUNTIME with err set. */
int snap_out_result(snap_out *o, uint64_t *bytes, herr *err);
/* Stops the thread (abandoning an unfinished save), removes the section
 * files and, unless the file was put in place, the temporary file; frees o. */
void snap_out_close(snap_out *o);
/* Removes section files an unfinished save left behind. */
void snap_out_remove_leftovers(const char *path);

#endif
