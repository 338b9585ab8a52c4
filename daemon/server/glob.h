/* Glob patterns for `scan`'s match option, as Python's fnmatch and
 * Redis's MATCH read them: `*` any run, `?` one character (a whole UTF-8
 * sequence), `[abc]`, `[a-z]`, `[!abc]` or `[^abc]` one byte of a set,
 * `\x` a literal x. Lengths are explicit: names may hold NUL. */
#ifndef HEAPD_GLOB_H
#define HEAPD_GLOB_H

#include <stdbool.h>
#include <stddef.h>

bool glob_match(const char *pat, size_t plen, const char *s, size_t slen);

#endif
