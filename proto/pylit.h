/* Python literal syntax -> msgpack value with heapd's ext types: the text
 * form of a value, shared by heapctl and the tests.
 *
 *   None True False  1 -2 0x1F  2.5 1e9 inf -inf nan  'str' "str" (escapes
 *   \n \t \r \0 \\ \' \" \xNN \uNNNN \UNNNNNNNN)  b'bytes' (\xNN)
 *   (1,) (1, 2) ()  [1, 2]  {k: v}  {1, 2}  set()  $name  @id
 *
 * Ints from -2^63 to 2^64-1 are accepted (the server rejects what does not
 * fit an int64, with OverflowError); wider ones fail with err->overflow. */
#ifndef HEAPD_PYLIT_H
#define HEAPD_PYLIT_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct pylit_error {
    size_t col;    /* 1-based column of the problem, in bytes */
    bool overflow; /* an int past 64 bits: Python's syntax, heapd's OverflowError */
    char msg[128];
} pylit_error;

/* Parses text (which must hold exactly one value, with optional spaces
 * around it) and appends its msgpack encoding to out. Returns 0, or -1
 * with err filled and out unchanged. */
int pylit_parse(const char *text, size_t len, msgpack_sbuffer *out, pylit_error *err);

/* Parses one value at the start of text and reports how many bytes it took
 * (for command lines holding several values). Same return as pylit_parse;
 * when the only error is err->overflow, *used is still set. */
int pylit_parse_prefix(const char *text, size_t len, size_t *used, msgpack_sbuffer *out,
                       pylit_error *err);

#endif
