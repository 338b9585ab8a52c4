/* Python source -> tokens, for heapctl's Python subset (py_parse.h).
 *
 * The lexer knows Python's token shapes (names, numbers, strings, operators,
 * comments, line joining inside brackets and after a backslash), including
 * shapes the subset does not support, so that the parser can name what is
 * not supported and point at it rather than say "invalid syntax". */
#ifndef HEAPCTL_PY_LEX_H
#define HEAPCTL_PY_LEX_H

#include <stdbool.h>
#include <stddef.h>

typedef enum py_tok_kind {
    PT_END,     /* end of the text */
    PT_NEWLINE, /* end of a logical line (outside brackets) */
    PT_NAME,    /* identifiers and keywords */
    PT_NUMBER,
    PT_STRING, /* a str or bytes literal, prefix and quotes included */
    PT_OP,     /* punctuation and operators, longest match */
} py_tok_kind;

typedef struct py_tok {
    py_tok_kind kind;
    size_t start, len; /* bytes of the source */
    int line;          /* 1-based line of the source */
    size_t col;        /* 0-based byte column in that line */
    bool line_start;   /* first token of a logical line */
    size_t indent;     /* its line's indentation, when line_start */
} py_tok;

/* Where and why the text is not Python the lexer can read. */
typedef struct py_error {
    int line;
    size_t col, len; /* 0-based byte column and width of the caret */
    char type[24];   /* "SyntaxError", "IndentationError", ... */
    char msg[160];
} py_error;

typedef struct py_tokens {
    py_tok *v;
    size_t n;
    const char *src;
} py_tokens;

/* Tokenizes src (NUL-terminated). Returns 0, or -1 with err set. The
 * tokens point into src, which must outlive them. Always ends with PT_END. */
int py_lex(const char *src, py_tokens *out, py_error *err);
void py_tokens_free(py_tokens *t);

/* Whether tok is exactly the text s (an operator or a keyword). */
bool py_tok_is(const py_tokens *t, const py_tok *tok, const char *s);

/* Whether src, as typed so far, needs more lines before it can be run: an
 * open bracket, a trailing backslash, or a compound statement's header
 * (a line ending in ':') whose block has not ended. `block_ended` says the
 * last line was blank (the REPL ends a block so, as Python's does). */
bool py_needs_more(const char *src, bool block_ended);

/* The Python keywords (for the lexer's clients: the parser, completion). */
bool py_is_keyword(const char *s, size_t n);

#endif
