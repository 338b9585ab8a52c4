/* The stats sections of SPEC §4, packed as maps of plain numbers and strings. */
#ifndef HEAPD_STATS_H
#define HEAPD_STATS_H

#include "gc.h"

#include <msgpack.h>

struct server;

/* The collector's section (also the answer to gc_stats). */
void stats_pack_gc(msgpack_packer *pk, const gc_stats *st);

/* The "stats" map: all sections (section NULL) or one; -1 if the section
 * is unknown (nothing packed). */
int stats_pack(struct server *srv, msgpack_packer *pk, const char *section, size_t len);

#endif
