/* Command arguments as text -> msgpack params, by the kind of parameter
 * each one fills (from the parameter names in proto/methods.def):
 *
 *   name, scope, token, channel, section, setting   a word: `x` is "x"
 *   target, ref, a, b      a bare word is a name (as on the wire: a str
 *                          target is a name); a literal is a temporary
 *   opts                   a dict literal, or a bare word W for {"scope": W}
 *   anything else          a Python literal, $name or @id (pylit.h)
 *
 * A word may also be written as a literal ('x'), so any name can be given. */
#ifndef HEAPCTL_ARGS_H
#define HEAPCTL_ARGS_H

#include "methods.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct arg_error {
    int index;     /* which argument (0-based) */
    size_t col;    /* 1-based column (in bytes) within that argument */
    bool overflow; /* an int past 64 bits: valid Python, heapd's OverflowError */
    char msg[200];
} arg_error;

/* Packs argv[0..argc) as the params array of method m into out. Returns 0,
 * or -1 with err set and out unchanged. */
int args_pack(const method_info *m, int argc, char *const *argv, msgpack_sbuffer *out,
              arg_error *err);

/* One script or REPL line split into words: the command and its arguments,
 * each argument a whole literal (`[1, 2]` is one word). `#` outside a
 * literal starts a comment. */
typedef struct line_words {
    int count;
    char **words;   /* count strings, owned */
    size_t *starts; /* each word's 0-based offset in the line */
} line_words;

/* Returns 0 (count may be 0 for a blank or comment line), or -1 with err
 * (index -1, col in the line) for an unfinished or malformed literal. */
int line_split(const char *line, line_words *out, arg_error *err);
void line_words_free(line_words *w);

#endif
