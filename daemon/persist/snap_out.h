/* The output of a snapshot written while heapd serves (snap_live.c).
 *
 * One file, "<path>.tmp", written once: the loop encodes records into a
 * buffer in the order it makes them (the walk and the copies made before
 * changes interleave, so kinds interleave too: format version 3 allows
 * it), and hands full buffers over. The header comes first in the file but
 * is known last, so it has a fixed length: its place is left empty and
 * written at the end, and the checksum is combined from the header's and
 * the body's (crc32c_combine). Then fsync, rename over path, fsync of the
 * directory.
 *
 * Threaded (a background save): a writer thread writes the buffers, so the
 * loop never waits for the disk, and finishes the file; `done` is called
 * on that thread when the file is in place or failed. Unthreaded (the
 * final save, tests): everything runs on the caller. */
#ifndef HEAPD_SNAP_OUT_H
#define HEAPD_SNAP_OUT_H

#include "errors.h"
#include "util.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct snap_out snap_out;

/* head_len: the length of the file's head (magic, version, header), which
 * snap_out_finish gives. Starts the writer thread (threaded); the file is
 * made on the first write. NULL with err set if the thread cannot start. */
snap_out *snap_out_open(const char *path, size_t head_len, bool threaded, void (*done)(void *ctx),
                        void *ctx, herr *err);
/* The packer the records go to, in file order. */
msgpack_packer *snap_out_pk(snap_out *o);
/* Hands the buffer over once it holds enough to be worth a write. */
void snap_out_maybe_flush(snap_out *o);
/* Bytes handed over and not yet written (a walk slows down past a bound). */
uint64_t snap_out_backlog(snap_out *o);
/* Everything is encoded: head (head_len bytes) and tail (END) are copied;
 * the file is finished (on the thread, or here unthreaded). */
void snap_out_finish(snap_out *o, const void *head, size_t hlen, const void *tail, size_t tlen);
/* Whether the writer thread is through (done has been called or is being). */
bool snap_out_through(snap_out *o);
/* After done (or an unthreaded finish): 0 with the file's size, or
 * HE_RUNTIME with err set. */
int snap_out_result(snap_out *o, uint64_t *bytes, herr *err);
/* Stops the thread (abandoning an unfinished save), removes the temporary
 * file unless it was put in place; frees o. A thread through with its
 * save (done called) is left to finish returning: */
void snap_out_close(snap_out *o);
/* joins such threads (before a new save, and before the loop's handles
 * that `done` uses are closed). */
void snap_out_reap(void);

#endif
