/* heapctl's Python subset (SPEC §11): source text -> statements.
 *
 * Supported: NAME = EXPR (chained), TARGET[KEY] = EXPR, del NAME,
 * del TARGET[KEY], expression statements, ';', '#', pass, import of sys,
 * gc and weakref, def with positional parameters and defaults, return,
 * x.attr = EXPR, del x.attr, class NAME: with attributes and defs.
 * Expressions: literals (nested containers may hold any expression), names,
 * x[k], x.attr, is, is not, in, not in, ==, !=, calls of names, method
 * calls.
 * Anything else is a SyntaxError naming what is not supported, located at
 * the token that starts it. */
#ifndef HEAPCTL_PY_PARSE_H
#define HEAPCTL_PY_PARSE_H

#include "py_ast.h"
#include "py_lex.h"

/* Parses src (NUL-terminated; one or more statements, a def with its
 * body). Returns 0 with the statements in out (the caller frees them with
 * py_block_free), or -1 with err set and out empty. */
int py_parse(const char *src, py_block *out, py_error *err);

#endif
