/* Reading a segment of the effect log (elog_replay.h): the header, then
 * block after block, each checked before any of it is applied.
 *
 * What is a torn tail and what is damage. heapd appends a block with one
 * write() and sends no answer that depends on it before that write (and,
 * with fsync "always", its fsync) returned; so a crash can only leave the
 * LAST block of the LAST segment incomplete: short, failing its checksum,
 * or followed by zeros (a file system that extended the file before the
 * data reached it). Such a tail is dropped with a warning. Anything else
 * that does not check out (a bad block with a good one after it, a bad
 * header, a block in a segment that is not the last, an lsn out of order)
 * is damage: the replay stops and names the file and the offset. */
#include "crc32c.h"
#include "elog_replay.h"
#include "log.h"
#include "paths.h"

#include <stdio.h>

#define ULL(x) ((unsigned long long)(x))

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static int check_header(elog_replay *r, const char *name, const unsigned char *p, size_t len,
                        uint64_t expect_seq, herr *err)
{
    if (len < ELOG_HEADER_LEN)
        return herr_set(err, HE_RUNTIME, "%.200s: %zu bytes, too short for a log segment header",
                        name, len);
    if (memcmp(p, ELOG_MAGIC, 8) != 0)
        return herr_set(err, HE_RUNTIME, "%.200s at offset 0: not a heapd log (no HEAPDLOG magic)",
                        name);
    if (elog_get32(p + 28) != crc32c(0, p, 28))
        return herr_set(err, HE_RUNTIME, "%.200s at offset 0: header checksum mismatch", name);
    uint32_t version = elog_get32(p + 8), intern = elog_get32(p + 12);
    if (version != ELOG_VERSION)
        return herr_set(err, HE_RUNTIME, "%.200s: log version %u (this heapd reads version %d)",
                        name, version, ELOG_VERSION);
    if (intern != (uint32_t)heap_cfg(r->h)->intern)
        return herr_set(
            err, HE_RUNTIME, "%.200s: written under intern policy '%s', heapd runs with '%s'", name,
            intern_policy_name((intern_policy)intern), intern_policy_name(heap_cfg(r->h)->intern));
    uint64_t seq = elog_get64(p + 16);
    if (expect_seq && seq != expect_seq)
        return herr_set(err, HE_RUNTIME, "%.200s: its header says segment %llu, expected %llu",
                        name, ULL(seq), ULL(expect_seq));
    r->next_seq = seq + 1;
    return 0;
}

/* The block at p (len bytes left): 0 with *n its payload length when whole
 * and checked; 1 when it is not (the caller decides torn or damage). */
static int check_block(const unsigned char *p, size_t len, uint32_t *n)
{
    if (len < ELOG_BLOCK_HDR)
        return 1;
    *n = elog_get32(p);
    if (*n == 0 || *n > ELOG_BLOCK_MAX || *n > len - ELOG_BLOCK_HDR)
        return 1;
    return elog_get32(p + 4) != crc32c(0, p + 8, 8 + (size_t)*n);
}

/* A CLEAR of a class, instance or weakref dooms it as the collector's
 * garbage (effects.h), and a writer only clears what no name reaches; a
 * hostile log that clears what a name still reaches would leave a heap
 * whose collector invariants fail (a name resolving to an emptied
 * object). Checked where a segment ends, not per record: the walk costs
 * O(what the names reach), and only when some doomed object is alive. A
 * segment refused for other damage is checked too, to set r->unsound. */
static int check_doomed(elog_replay *r, const char *name, size_t off, int rc, herr *err)
{
    if (!heap_doomed_alive(r->h))
        return rc;
    hobj *o = heap_root_reaches_doomed(r->h);
    if (!o)
        return rc;
    r->unsound = true;
    if (rc)
        return rc; /* the first damage found is the one to report */
    return herr_set(err, HE_RUNTIME,
                    "%.200s at offset %zu (its end): a global name reaches %s @%llu, which a "
                    "CLEAR record made the collector's garbage (a writer only clears what "
                    "nothing reaches)",
                    name, off, htype_name(o->type), ULL(hobj_id(o)));
}

/* The blocks of a segment whose header checked out, from *off on. */
static int replay_blocks(elog_replay *r, const char *name, const unsigned char *data, size_t len,
                         bool last, size_t *off_out, herr *err)
{
    size_t off = *off_out;
    while (off < len) {
        uint32_t n = 0;
        if (check_block(data + off, len - off, &n)) {
            bool tail_only =
                n == 0 || n > len - off - ELOG_BLOCK_HDR || off + ELOG_BLOCK_HDR + n == len ||
                all_zero(data + off + ELOG_BLOCK_HDR + n, len - off - ELOG_BLOCK_HDR - n);
            if (last && (tail_only || all_zero(data + off, len - off))) {
                r->torn = len - off;
                log_warn("%s: dropped a torn tail of %zu bytes at offset %zu (a write cut short "
                         "by a crash; nothing in it was acknowledged)",
                         name, len - off, off);
                break;
            }
            return herr_set(err, HE_RUNTIME,
                            "%.200s at offset %zu: damaged block (bad length or checksum) with "
                            "data after it",
                            name, off);
        }
        uint64_t lsn = elog_get64(data + off + 8);
        if (r->last_lsn && lsn != r->last_lsn + 1)
            return herr_set(err, HE_RUNTIME,
                            "%.200s at offset %zu: block %llu follows block %llu (a block or "
                            "segment is missing)",
                            name, off, ULL(lsn), ULL(r->last_lsn));
        size_t at = 0;
        int rc = elog_apply(r, data + off + ELOG_BLOCK_HDR, n, &at, err);
        if (rc) {
            char msg[HERR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err->msg);
            return herr_set(err, HE_RUNTIME, "%.200s at offset %zu: %s", name,
                            off + ELOG_BLOCK_HDR + at, msg);
        }
        r->last_lsn = lsn;
        r->blocks++;
        r->bytes += ELOG_BLOCK_HDR + n;
        off += ELOG_BLOCK_HDR + (size_t)n;
        *off_out = off;
    }
    return 0;
}

int elog_replay_segment(elog_replay *r, const char *name, const unsigned char *data, size_t len,
                        uint64_t expect_seq, bool last, size_t *valid_len, herr *err)
{
    size_t off = ELOG_HEADER_LEN;
    int rc = check_header(r, name, data, len, expect_seq, err);
    if (!rc)
        rc = replay_blocks(r, name, data, len, last, &off, err);
    *valid_len = off;
    return check_doomed(r, name, off, rc, err);
}
