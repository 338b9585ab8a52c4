/* The syntax tree of heapctl's Python subset (SPEC §11): what py_parse
 * builds and py_eval runs. Every node keeps the span of its source, so an
 * error can point at it. */
#ifndef HEAPCTL_PY_AST_H
#define HEAPCTL_PY_AST_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct py_span {
    int line;
    size_t col, len;
} py_span;

typedef enum py_expr_kind {
    PE_CONST, /* a scalar literal: lit holds its msgpack encoding */
    PE_NAME,
    PE_LIST,
    PE_TUPLE,
    PE_SET,
    PE_DICT,      /* items alternate key, value */
    PE_SUBSCRIPT, /* items[0][items[1]] */
    PE_CALL,      /* name(items...): a built-in or a client function */
    PE_METHOD,    /* items[0].name(items[1...]): a method, or module.function */
    PE_COMPARE,   /* items[0] op items[1] */
    PE_ATTR,      /* items[0].name: an attribute of an instance or a class */
} py_expr_kind;

typedef enum py_cmp { PC_IS, PC_IS_NOT, PC_IN, PC_NOT_IN, PC_EQ, PC_NE } py_cmp;

typedef struct py_expr {
    py_expr_kind kind;
    py_span span;
    char *name; /* PE_NAME, PE_CALL, PE_METHOD (the method's name) */
    py_cmp cmp;
    msgpack_sbuffer lit; /* PE_CONST */
    struct py_expr **items;
    size_t nitems;
} py_expr;

typedef enum py_stmt_kind {
    PS_EXPR,   /* value */
    PS_ASSIGN, /* targets = value */
    PS_DEL,    /* del targets */
    PS_PASS,
    PS_IMPORT, /* accepted, does nothing */
    PS_DEF,
    PS_RETURN, /* value may be NULL */
    PS_CLASS,  /* func: the class's name, and its body (attributes and defs) */
} py_stmt_kind;

struct py_func;

typedef struct py_stmt {
    py_stmt_kind kind;
    py_span span;
    py_expr *value;
    py_expr **targets; /* PE_NAME, PE_SUBSCRIPT or PE_ATTR */
    size_t ntargets;
    struct py_func *func; /* PS_DEF; PS_CLASS: name and body only */
} py_stmt;

typedef struct py_block {
    py_stmt **v;
    size_t n;
} py_block;

/* A function as `def` wrote it: parameters, the default expressions of the
 * last ndefaults of them, its body, and its local names (Python decides at
 * compile time which names are local: the parameters and every name the
 * body assigns or deletes). */
typedef struct py_func {
    char *name;
    char **params;
    size_t nparams;
    py_expr **defaults; /* for params[nparams - ndefaults ...] */
    size_t ndefaults;
    py_block body;
    char **locals;
    size_t nlocals;
    int refs; /* a definition is shared by the table and running calls */
} py_func;

void py_expr_free(py_expr *e);
void py_stmt_free(py_stmt *s);
void py_block_free(py_block *b);
void py_func_release(py_func *f);
bool py_func_is_local(const py_func *f, const char *name);

#endif
