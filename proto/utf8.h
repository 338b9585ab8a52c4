/* Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF): what
 * heapd accepts as a str, and what heapctl's literals must hold. */
#ifndef HEAPD_UTF8_H
#define HEAPD_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* The length (1 to 4) of the valid sequence starting at s, which has n > 0
 * bytes; 0 if it does not start with one. */
size_t utf8_seq_len(const unsigned char *s, size_t n);

/* The number of code points in n bytes of valid UTF-8 (len() of a str). */
size_t utf8_count(const char *s, size_t n);

/* Whether all of s is valid. s may be NULL when len is 0 (msgpack-c hands
 * out NULL for an empty str inside an ext payload). */
bool utf8_valid(const char *s, size_t len);

#endif
