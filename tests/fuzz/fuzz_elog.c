/* libFuzzer target: the effect log's reader (elog_replay.h). The first
 * byte chooses how the rest is read: even, as a whole segment file (the
 * header, torn tails, damage); odd, as the records of one block framed
 * with a good header and checksum, so every input reaches the record
 * parser. Applied or refused, the heap must then pass heap_check (after the
 * sweep a restart does) and tear down with every object freed; but for a
 * refusal that says the heap is unsound (r.unsound: a name reaches what a
 * CLEAR made garbage), whose heap heapd throws away: it must only tear
 * down. */
#include "check.h"
#include "crc32c.h"
#include "elog_replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *framed(const uint8_t *data, size_t size, intern_policy ip, size_t *len)
{
    *len = ELOG_HEADER_LEN + ELOG_BLOCK_HDR + size;
    unsigned char *f = malloc(*len);
    elog_segment_header(f, (uint32_t)ip, 1);
    unsigned char *b = f + ELOG_HEADER_LEN;
    elog_be32(b, (uint32_t)size);
    elog_be64(b + 8, 1);
    memcpy(b + ELOG_BLOCK_HDR, data, size);
    elog_be32(b + 4, crc32c(0, b + 8, 8 + size));
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    heap_config hc = {.intern = size % 7 == 0   ? INTERN_NONE
                                : size % 7 == 1 ? INTERN_ALL
                                                : INTERN_PYTHON};
    heap *h = heap_new(&hc);
    hns *ns = ns_new(h, 8);
    herr err;
    elog_replay r;
    size_t len, valid;
    unsigned char *file = data[0] & 1 ? framed(data + 1, size - 1, hc.intern, &len) : NULL;
    elog_replay_begin(&r, h, ns);
    if (file)
        elog_replay_segment(&r, "fuzz", file, len, 1, true, &valid, &err);
    else
        elog_replay_segment(&r, "fuzz", data + 1, size - 1, 0, data[0] & 2, &valid, &err);
    elog_replay_end(&r);
    heap_sweep_zombies(h);
    heap_drain_all(h);
    if (!r.unsound && heap_check(h, NULL, &err)) {
        fprintf(stderr, "heap_check: %s\n", err.msg);
        abort(); /* the replay left a broken heap: a finding */
    }
    ns_free(ns);
    heap_drain_all(h);
    heap_free(h);
    free(file);
    return 0;
}
