/* Snapshots (SPEC §8, §14): the heap as it was at one instant (every object
 * alive then, every slot's generation, the global names), in one file,
 * restored at start with the same ids and refcounts. snap_live.h writes it
 * while heapd serves; docs/snapshots.md has the design.
 *
 * The file (version 3; versions 1 and 2 are read too):
 *
 *   "HEAPDSNP"  8 bytes of magic
 *   version     uint32, big-endian
 *   records     msgpack arrays, of these kinds (snap_fmt.h has the details;
 *               before version 3 in this order, in version 3 in any order
 *               after the header, applied kind by kind in this order):
 *     header    intern policy, time, object and name counts, slots per type
 *     gens      per type, the generation of every slot, run-length coded
 *     scalars   [id, value] for None, bool, int, float, str, bytes
 *     shells    ids of the lists, dicts and sets (made empty first)
 *     tuples    id and item ids, each after the tuples it holds
 *     fills     the items of each list, the entries of each dict and set
 *     names     [name, id] for each global binding
 *     end       the object and name counts again
 *   checksum    CRC-32C of every byte before it, uint32 big-endian
 *
 * The magic, the version word and the trailing checksum keep this layout
 * in every version, so any version's file is checked before it is read.
 * Records are at most a few thousand entries each, so writing holds no
 * more than a record and a few buffers in memory besides the heap, the
 * loader only the file and an index of its runs of records, and nothing
 * recurses: a chain of a million nested lists is one shell and one fill
 * per list.
 *
 * Ids. An object comes back in its own slot with its own generation, so its
 * id is unchanged. Every slot's generation is saved, also for free slots:
 * after a restart a slot hands out the generation it would have handed
 * out next, so a stale id from before the restart stays stale
 * (ReferenceError) and never names a new object.
 *
 * Refcounts. Only the global namespace is saved (frames and session handles
 * die with their connections), so after a load an object's count is its
 * references from loaded containers and global names: exact, as always.
 * What no name or container holds (what only sessions held) is freed at
 * the end of the load ("live" files, version 3), or kept for the effect
 * log's replay (log_seq).
 * The immortals heap_new makes (None, True, False, the small ints) are
 * always written, so a file only loads under the intern policy it was
 * written with, which the header records.
 */
#ifndef HEAPD_SNAPSHOT_H
#define HEAPD_SNAPSHOT_H

#include "heap.h"
#include "ns.h"

#define SNAP_VERSION 3 /* 3: written live (snap_live.h), GENS in several records; 2: RECS */

/* What a save wrote or a load read. */
typedef struct snap_info {
    uint64_t objects;     /* objects in the file */
    uint64_t names;       /* global names in the file */
    uint64_t bytes;       /* the file's size */
    uint64_t duration_us; /* time the save or load took */
    int64_t saved_at;     /* unix time the file was written */
    uint64_t log_seq;     /* the effect log segment that follows it (0: none) */
} snap_info;

/* Writes the heap (every live object, ns's global names) to path: to
 * "<path>.tmp" in the same directory, fsync, rename over path, fsync of
 * the directory, synchronously (snap_live.h writes one in steps). Returns 0
 * with info filled, or HE_RUNTIME with err saying what failed; path then
 * still holds the previous snapshot. */
int snapshot_write(heap *h, hns *ns, const char *path, snap_info *info, herr *err);

/* snapshot_write for a server with the effect log (elog.h): the header
 * names log_seq, the segment that starts at this snapshot's instant. The
 * log may name any object the file holds (what sessions hold, garbage not
 * yet collected, objects waiting in the deferred queue, interned strs): a
 * load followed by the log's replay keeps them (zombies, effects.h) until
 * the replay ends; any other load frees them, as if their sessions had
 * ended. */
int snapshot_write_log(heap *h, hns *ns, const char *path, uint64_t log_seq, snap_info *info,
                       herr *err);

/* The temporary file snapshot_write writes first: "<path>.tmp", malloc'd. */
char *snapshot_tmp_path(const char *path);

/* Loads the snapshot at path into h and ns, which must be new: nothing
 * bound, no object but heap_new's immortals. Returns 0 with info filled;
 * SNAP_MISSING when path does not exist (nothing changed); or HE_RUNTIME
 * with err naming what is wrong (a checksum mismatch says "checksum"). On
 * error nothing the load made stays bound or alive (interned strs, which
 * never die, aside) and the file is untouched. */
#define SNAP_MISSING 1
int snapshot_load(heap *h, hns *ns, const char *path, snap_info *info, herr *err);

/* snapshot_load from len bytes at data (the whole file). */
int snapshot_load_mem(heap *h, hns *ns, const void *data, size_t len, snap_info *info, herr *err);

#endif
