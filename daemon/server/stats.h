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

/* The process's resident set size in bytes (/proc/self/statm), 0 where
 * that cannot be read. */
uint64_t stats_rss_bytes(void);

/* n bytes for people, as Redis's used_memory_human: "912B", "1.23K",
 * "4.00M", ... up to "P". */
void stats_human_bytes(char buf[16], uint64_t n);

#endif
