/* libFuzzer target: arbitrary bytes as the records of a snapshot. The
 * input is framed with the magic, the version and a correct checksum, so
 * every input reaches the record parser (a real file with a wrong checksum
 * never does). Each input loads into a new heap; loaded or refused, the
 * heap must then pass heap_check and tear down with every object freed. */
#include "check.h"
#include "crc32c.h"
#include "snap_fmt.h"
#include "snapshot.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    snap_slot_bytes_max = 64u << 20; /* within libFuzzer's RSS limit */
    size_t len = SNAP_HEAD_LEN + size + SNAP_CRC_LEN;
    unsigned char *file = malloc(len);
    memcpy(file, SNAP_MAGIC, SNAP_MAGIC_LEN);
    be32_put(file + SNAP_MAGIC_LEN, SNAP_VERSION);
    memcpy(file + SNAP_HEAD_LEN, data, size);
    be32_put(file + len - SNAP_CRC_LEN, crc32c(0, file, len - SNAP_CRC_LEN));
    /* mostly "python" (the seeds' policy); "none" and "all" now and then */
    heap_config hc = {.intern = size % 7 == 0   ? INTERN_NONE
                                : size % 7 == 1 ? INTERN_ALL
                                                : INTERN_PYTHON};
    heap *h = heap_new(&hc);
    hns *ns = ns_new(h, 8);
    herr err;
    snapshot_load_mem(h, ns, file, len, NULL, &err);
    heap_drain_all(h);
    if (heap_check(h, NULL, &err))
        abort(); /* the loader left a broken heap: a finding */
    ns_free(ns);
    heap_drain_all(h);
    heap_free(h);
    free(file);
    return 0;
}
