/* Statements of heapctl's Python, and calls of the functions def makes:
 * a call is a heapd frame (push_scope ... pop_scope), so the function's
 * locals go out of scope when it returns, as in Python. */
#include "py_interp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Python's recursion limit, far below heapd's frame limit. */
enum { MAX_CALL_DEPTH = 200 };

static py_frame *top_frame(py_ctx *c)
{
    return c->nframes ? &c->frames[c->nframes - 1] : NULL;
}

static void mark_bound(py_ctx *c, const char *name, bool bound)
{
    py_frame *f = top_frame(c);
    if (!f)
        return;
    for (size_t i = 0; i < f->fn->f->nlocals; i++)
        if (strcmp(f->fn->f->locals[i], name) == 0)
            f->bound[i] = bound;
}

py_fn *py_find_fn(py_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->nfns; i++)
        if (strcmp(c->fns[i]->f->name, name) == 0)
            return c->fns[i];
    return NULL;
}

void py_fn_free(py_ctx *c, py_fn *fn)
{
    for (size_t i = 0; i < fn->f->ndefaults; i++)
        if (fn->defaults[i])
            py_release(c, fn->defaults[i]);
    free(fn->defaults);
    free(fn->file);
    py_func_release(fn->f);
    free(fn);
}

/* A global name rebound or deleted at the top level is no longer the
 * function def made. */
static void forget_fn(py_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->nfns; i++)
        if (strcmp(c->fns[i]->f->name, name) == 0) {
            py_fn_free(c, c->fns[i]);
            c->fns[i] = c->fns[--c->nfns];
            return;
        }
}

void py_forget_all(py_ctx *c)
{
    while (c->nfns)
        py_fn_free(c, c->fns[--c->nfns]);
    free(c->fns);
    c->fns = NULL;
}

/* ---- assignment and del ---- */

int py_bind_name(py_ctx *c, const char *name, const pv *v)
{
    py_params p;
    py_params_begin(&p, 2);
    py_params_str(&p, name);
    rpc_reply rep;
    int rc = py_value_param(c, v, &p);
    if (!rc)
        rc = py_call(c, "bind", &p.b, &rep);
    py_params_end(&p);
    if (!rc) {
        mark_bound(c, name, true);
        if (!top_frame(c))
            forget_fn(c, name);
    }
    return rc;
}

/* Evaluates the container and key of x[k] (a target of = or del). */
static int eval_item_target(py_ctx *c, const py_expr *t, pv *target, pv *key)
{
    int rc = py_eval(c, t->items[0], true, target);
    if (!rc && pv_ref_id(target) && py_expr_impure(t->items[1]))
        rc = py_pin(c, target);
    if (!rc)
        rc = py_eval(c, t->items[1], true, key);
    return rc;
}

static int set_item(py_ctx *c, const py_expr *t, const pv *v)
{
    pv target, key;
    pv_init(&target);
    pv_init(&key);
    py_params p;
    py_params_begin(&p, 3);
    rpc_reply rep;
    int rc = eval_item_target(c, t, &target, &key);
    if (!rc)
        rc = py_target_param(c, &target, &p);
    if (!rc)
        rc = py_value_param(c, &key, &p);
    if (!rc)
        rc = py_value_param(c, v, &p);
    if (!rc)
        rc = py_call(c, "setitem", &p.b, &rep);
    py_params_end(&p);
    pv_free(&target);
    pv_free(&key);
    return rc;
}

static int exec_assign(py_ctx *c, const py_stmt *s)
{
    pv v;
    pv_init(&v);
    int rc = py_eval(c, s->value, true, &v);
    /* Python evaluates the value once and assigns it to each target, left
     * to right: a literal given to several targets is built once */
    if (!rc && s->ntargets > 1 && v.kind != V_OBJ)
        rc = py_pin(c, &v);
    if (!rc && (v.kind == V_TYPE || v.kind == V_KEYS))
        rc = py_raise(c, "NotImplementedError", "heapctl cannot bind a %s to a name",
                      v.kind == V_TYPE ? "type object" : "dict_keys view");
    if (!rc && pv_ref_id(&v) == 0 && v.kind == V_OBJ && s->ntargets > 1)
        rc = py_pin(c, &v); /* a name: later targets must see the same object */
    for (size_t i = 0; !rc && i < s->ntargets; i++) {
        const py_expr *t = s->targets[i];
        rc = t->kind == PE_NAME   ? py_bind_name(c, t->name, &v)
             : t->kind == PE_ATTR ? py_set_attr(c, t, &v)
                                  : set_item(c, t, &v);
    }
    pv_free(&v);
    return rc;
}

static int unbind_name(py_ctx *c, const char *name)
{
    py_frame *f = top_frame(c);
    if (!f && py_find_fn(c, name)) {
        forget_fn(c, name);
        return 0;
    }
    if (f) {
        for (size_t i = 0; i < f->fn->f->nlocals; i++)
            if (strcmp(f->fn->f->locals[i], name) == 0 && !f->bound[i])
                return py_raise(c, "UnboundLocalError",
                                "cannot access local variable '%s' where it is not associated "
                                "with a value",
                                name);
    }
    py_params p;
    py_params_begin(&p, 1);
    py_params_str(&p, name);
    rpc_reply rep;
    int rc = py_call(c, "unbind", &p.b, &rep);
    py_params_end(&p);
    if (!rc)
        mark_bound(c, name, false);
    return rc;
}

static int del_item(py_ctx *c, const py_expr *t)
{
    pv target, key;
    pv_init(&target);
    pv_init(&key);
    py_params p;
    py_params_begin(&p, 2);
    rpc_reply rep;
    int rc = eval_item_target(c, t, &target, &key);
    if (!rc)
        rc = py_target_param(c, &target, &p);
    if (!rc)
        rc = py_value_param(c, &key, &p);
    if (!rc)
        rc = py_call(c, "delitem", &p.b, &rep);
    py_params_end(&p);
    pv_free(&target);
    pv_free(&key);
    return rc;
}

static int exec_del(py_ctx *c, const py_stmt *s)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < s->ntargets; i++) {
        const py_expr *t = s->targets[i];
        rc = t->kind == PE_NAME   ? unbind_name(c, t->name)
             : t->kind == PE_ATTR ? py_del_attr(c, t)
                                  : del_item(c, t);
    }
    return rc;
}

/* ---- expression statements ---- */

static bool is_none(const pv *v)
{
    return (v->kind == V_VAL || v->kind == V_LIT) && v->w.size == 1 &&
           (unsigned char)v->w.data[0] == 0xc0;
}

static int exec_expr(py_ctx *c, const py_stmt *s, bool echo)
{
    pv v;
    pv_init(&v);
    int rc = py_eval(c, s->value, false, &v);
    if (!rc && !echo && v.kind == V_OBJ && !pv_ref_id(&v)) {
        /* a name alone: nothing to print, but Python's NameError if unbound */
        py_params p;
        py_params_begin(&p, 1);
        py_params_raw(&p, &v.w);
        rpc_reply rep;
        rc = py_call(c, "type", &p.b, &rep);
        py_params_end(&p);
    }
    if (!rc && echo && !is_none(&v)) {
        msgpack_sbuffer out;
        msgpack_sbuffer_init(&out);
        rc = py_repr(c, &v, &out, false);
        if (!rc) {
            fwrite(out.data, 1, out.size, stdout);
            putchar('\n');
        }
        msgpack_sbuffer_destroy(&out);
    }
    pv_free(&v);
    return rc;
}

/* ---- def ---- */

py_fn *py_fn_make(py_ctx *c, py_func *f)
{
    py_fn *fn = calloc(1, sizeof *fn);
    if (!fn || !(fn->defaults = calloc(f->ndefaults + 1, sizeof *fn->defaults))) {
        free(fn);
        py_raise(c, "MemoryError", "out of memory");
        return NULL;
    }
    fn->f = f;
    fn->line_base = c->line_base;
    f->refs++;
    /* defaults are evaluated once, now, and held as long as the function */
    int rc = 0;
    for (size_t i = 0; !rc && i < f->ndefaults; i++) {
        pv v;
        pv_init(&v);
        rc = py_eval(c, f->defaults[i], true, &v);
        if (!rc)
            rc = py_hold(c, &v, &fn->defaults[i]);
        pv_free(&v);
    }
    if (rc) {
        py_fn_free(c, fn);
        return NULL;
    }
    return fn;
}

static int exec_def(py_ctx *c, const py_stmt *s)
{
    py_func *f = s->func;
    py_fn *fn = py_fn_make(c, f);
    if (!fn)
        return -1;
    py_fn **v = realloc(c->fns, (c->nfns + 1) * sizeof *v);
    if (!v) {
        py_fn_free(c, fn);
        return py_raise(c, "MemoryError", "out of memory");
    }
    c->fns = v;
    /* def binds the name: a server binding of it goes, as a rebinding would */
    if (!top_frame(c)) {
        py_params p;
        py_params_begin(&p, 1);
        py_params_str(&p, f->name);
        rpc_reply rep;
        py_exc saved = c->exc;
        if (py_call(c, "unbind", &p.b, &rep) && c->exc.status != EXIT_CONNECT)
            c->exc = saved; /* NameError: it was not bound */
        py_params_end(&p);
        forget_fn(c, f->name);
    }
    c->fns[c->nfns++] = fn;
    return 0;
}

/* ---- blocks ---- */

static int exec_return(py_ctx *c, const py_stmt *s, uint64_t *returned)
{
    pv v;
    pv_init(&v);
    int rc = 0;
    if (s->value)
        rc = py_eval(c, s->value, true, &v);
    else
        msgpack_sbuffer_write(&v.w, "\xc0", 1);
    if (!rc)
        rc = py_hold(c, &v, returned);
    pv_free(&v);
    return rc;
}

static int exec_stmt(py_ctx *c, const py_stmt *s, bool echo, uint64_t *returned, bool *did_return)
{
    switch (s->kind) {
    case PS_EXPR:
        return exec_expr(c, s, echo);
    case PS_ASSIGN:
        return exec_assign(c, s);
    case PS_DEL:
        return exec_del(c, s);
    case PS_PASS:
        return 0;
    case PS_IMPORT:
        return 0; /* the modules are there already; py_run notes the names */
    case PS_DEF:
        return exec_def(c, s);
    case PS_CLASS:
        return py_exec_class(c, s);
    case PS_RETURN:
        *did_return = true;
        return exec_return(c, s, returned);
    }
    return 0;
}

int py_exec_block(py_ctx *c, const py_block *b, bool echo, uint64_t *returned, bool *did_return)
{
    *did_return = false;
    for (size_t i = 0; i < b->n; i++) {
        const py_stmt *s = b->v[i];
        if (top_frame(c))
            top_frame(c)->line = s->span.line;
        else
            c->exc.frames[0].line = c->line_base + s->span.line;
        if (s->kind == PS_IMPORT)
            py_note_imports(c, s);
        size_t mark = c->ntemps;
        int rc = exec_stmt(c, s, echo, returned, did_return);
        py_temps_release(c, mark);
        if (rc)
            return -1;
        if (*did_return)
            break;
    }
    return 0;
}

/* ---- calls ---- */

static int check_arity(py_ctx *c, const py_fn *fn, size_t given)
{
    const py_func *f = fn->f;
    char name[160];
    snprintf(name, sizeof name, "%s%s%s", fn->cls ? fn->cls : "", fn->cls ? "." : "", f->name);
    size_t required = f->nparams - f->ndefaults;
    if (given > f->nparams)
        return py_raise(c, "TypeError", "%s() takes %zu positional argument%s but %zu %s given",
                        name, f->nparams, f->nparams == 1 ? "" : "s", given,
                        given == 1 ? "was" : "were");
    if (given < required) {
        size_t missing = required - given;
        return py_raise(c, "TypeError", "%s() missing %zu required positional argument%s: '%s'%s",
                        name, missing, missing == 1 ? "" : "s", f->params[given],
                        missing > 1 ? " and more" : "");
    }
    return 0;
}

/* The arguments, held as handles: once the frame is open, a name would be
 * looked up there, and a parameter bound earlier could hide it. */
int py_hold_args(py_ctx *c, py_expr *const *items, size_t n, uint64_t *ids)
{
    for (size_t i = 0; i < n; i++) {
        pv v;
        pv_init(&v);
        int rc = py_eval(c, items[i], true, &v);
        if (!rc)
            rc = py_hold(c, &v, &ids[i]);
        pv_free(&v);
        if (rc) {
            while (i-- > 0)
                py_release(c, ids[i]);
            return -1;
        }
    }
    return 0;
}

int py_push_frame(py_ctx *c, py_fn *fn)
{
    py_frame *v = realloc(c->frames, (c->nframes + 1) * sizeof *v);
    if (!v)
        return py_raise(c, "MemoryError", "out of memory");
    c->frames = v;
    bool *bound = calloc(fn->f->nlocals + 1, sizeof *bound);
    if (!bound)
        return py_raise(c, "MemoryError", "out of memory");
    c->frames[c->nframes++] = (py_frame){fn, bound, 0, NULL, 0};
    py_params p;
    py_params_begin(&p, 0);
    rpc_reply rep;
    int rc = py_call(c, "push_scope", &p.b, &rep);
    py_params_end(&p);
    if (rc) {
        free(bound);
        c->nframes--;
    }
    return rc;
}

int py_pop_frame(py_ctx *c)
{
    py_params p;
    py_params_begin(&p, 0);
    rpc_reply rep;
    py_exc saved = c->exc;
    int rc = py_call(c, "pop_scope", &p.b, &rep);
    if (rc && c->exc.status != EXIT_CONNECT)
        c->exc = saved;
    py_params_end(&p);
    free(c->frames[--c->nframes].bound);
    return rc;
}

static int bind_params(py_ctx *c, py_fn *fn, const uint64_t *args, size_t nargs)
{
    const py_func *f = fn->f;
    int rc = 0;
    for (size_t i = 0; !rc && i < f->nparams; i++) {
        pv v;
        pv_init(&v);
        size_t d = i - (f->nparams - f->ndefaults);
        pv_set_ref(&v, i < nargs ? args[i] : fn->defaults[d]);
        rc = py_bind_name(c, f->params[i], &v);
        pv_free(&v);
    }
    return rc;
}

/* A traceback line for this call, innermost last. */
static void note_frame(py_ctx *c, py_fn *fn, int line)
{
    py_exc *e = &c->exc;
    int n = e->nframes < 1 ? 1 : e->nframes;
    if (n >= (int)(sizeof e->frames / sizeof e->frames[0]))
        return;
    memmove(&e->frames[2], &e->frames[1], (size_t)(n - 1) * sizeof e->frames[0]);
    e->frames[1].line = fn->line_base + line;
    snprintf(e->frames[1].func, sizeof e->frames[1].func, "%s", fn->f->name);
    e->nframes = n + 1;
}

static void release_all(py_ctx *c, const uint64_t *args, size_t nargs)
{
    for (size_t i = 0; i < nargs; i++)
        py_release(c, args[i]);
}

/* Sets out to the call's result: the returned handle, or None. */
static int call_result(py_ctx *c, bool did_return, uint64_t ret, pv *out)
{
    if (did_return) {
        pv_set_ref(out, ret);
        return py_temp_push(c, ret);
    }
    out->kind = V_VAL;
    out->w.size = 0;
    msgpack_sbuffer_write(&out->w, "\xc0", 1);
    return 0;
}

int py_call_held(py_ctx *c, py_fn *fn, uint64_t *args, size_t nargs, pv *out)
{
    if (check_arity(c, fn, nargs) ||
        (c->nframes >= MAX_CALL_DEPTH &&
         py_raise(c, "RecursionError", "maximum recursion depth exceeded"))) {
        release_all(c, args, nargs);
        return -1;
    }
    fn->f->refs++; /* a redefinition while it runs must not free it */
    int rc = 0;
    if (py_push_frame(c, fn)) {
        release_all(c, args, nargs);
        rc = -1;
    } else {
        rc = bind_params(c, fn, args, nargs);
        /* the parameters hold the arguments now, as Python's frame does */
        release_all(c, args, nargs);
        uint64_t ret = 0;
        bool did_return = false;
        if (!rc)
            rc = py_exec_block(c, &fn->f->body, false, &ret, &did_return);
        int line = top_frame(c)->line;
        if (py_pop_frame(c) && !rc)
            rc = -1;
        if (rc && c->exc.status != EXIT_CONNECT)
            note_frame(c, fn, line);
        if (!rc)
            rc = call_result(c, did_return, ret, out);
        else if (did_return && ret)
            py_release(c, ret);
    }
    py_func_release(fn->f);
    return rc;
}

int py_call_function(py_ctx *c, py_fn *fn, const py_expr *call, pv *out)
{
    if (check_arity(c, fn, call->nitems))
        return -1;
    uint64_t *args = calloc(call->nitems + 1, sizeof *args);
    if (!args)
        return py_raise(c, "MemoryError", "out of memory");
    fn->f->refs++;
    int rc = py_hold_args(c, call->items, call->nitems, args);
    if (!rc)
        rc = py_call_held(c, fn, args, call->nitems, out);
    free(args);
    py_func_release(fn->f);
    return rc;
}
