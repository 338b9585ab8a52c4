/* Redis's reverse-binary cursor (dict.c, dictScan) over a power-of-two
 * table: the buckets are visited in the order of their bit-reversed
 * numbers, so when the table grows between two steps, the buckets already
 * visited expand into buckets that all come before the cursor in the new
 * order, and none of them is visited twice; every entry present for the
 * whole iteration is seen at least once. Here it runs over *home* buckets
 * of open-addressing tables: an entry is seen when its home bucket is
 * visited, wherever probing or backward-shift deletion has put it (it
 * always stays in the run of occupied slots that starts at its home). */
#ifndef HEAPD_CURSOR_H
#define HEAPD_CURSOR_H

#include <stdbool.h>
#include <stdint.h>

static inline uint64_t cursor_rev(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
    v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0Full) | ((v & 0x0F0F0F0F0F0F0F0Full) << 4);
    v = ((v >> 8) & 0x00FF00FF00FF00FFull) | ((v & 0x00FF00FF00FF00FFull) << 8);
    v = ((v >> 16) & 0x0000FFFF0000FFFFull) | ((v & 0x0000FFFF0000FFFFull) << 16);
    return (v >> 32) | (v << 32);
}

/* The cursor after bucket `cursor` of a table of mask + 1 buckets; 0 when
 * every bucket has been visited. */
static inline uint64_t cursor_next(uint64_t cursor, uint64_t mask)
{
    return cursor_rev(cursor_rev(cursor | ~mask) + 1);
}

/* Whether a scan now at `cursor` (not 0: under way) has visited bucket b. */
static inline bool cursor_passed(uint64_t b, uint64_t cursor, uint64_t mask)
{
    return cursor_rev(b & mask) < cursor_rev(cursor & mask);
}

#endif
