/* The stats sections of SPEC §4, packed as maps of plain numbers and strings. */
#ifndef HEAPD_STATS_H
#define HEAPD_STATS_H

#include "gc.h"

#include <msgpack.h>

void stats_pack_gc(msgpack_packer *pk, const gc_stats *st);

#endif
