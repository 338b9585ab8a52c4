#include "py_ast.h"

#include <stdlib.h>
#include <string.h>

void py_expr_free(py_expr *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nitems; i++)
        py_expr_free(e->items[i]);
    free(e->items);
    free(e->name);
    msgpack_sbuffer_destroy(&e->lit);
    free(e);
}

void py_stmt_free(py_stmt *s)
{
    if (!s)
        return;
    py_expr_free(s->value);
    for (size_t i = 0; i < s->ntargets; i++)
        py_expr_free(s->targets[i]);
    free(s->targets);
    if (s->func)
        py_func_release(s->func);
    free(s);
}

void py_block_free(py_block *b)
{
    for (size_t i = 0; i < b->n; i++)
        py_stmt_free(b->v[i]);
    free(b->v);
    b->v = NULL;
    b->n = 0;
}

void py_func_release(py_func *f)
{
    if (!f || --f->refs > 0)
        return;
    free(f->name);
    for (size_t i = 0; i < f->nparams; i++)
        free(f->params[i]);
    free(f->params);
    for (size_t i = 0; i < f->ndefaults; i++)
        py_expr_free(f->defaults[i]);
    free(f->defaults);
    py_block_free(&f->body);
    for (size_t i = 0; i < f->nlocals; i++)
        free(f->locals[i]);
    free(f->locals);
    free(f);
}

bool py_func_is_local(const py_func *f, const char *name)
{
    for (size_t i = 0; i < f->nlocals; i++)
        if (strcmp(f->locals[i], name) == 0)
            return true;
    return false;
}
