/* Classes in heapctl's Python (SPEC §13): a class statement makes a class
 * on the server (class_new) whose methods stay in the client; NAME(args)
 * makes an instance (instance) and runs __init__ with self bound; obj.m()
 * runs a method with self bound; attributes are getattr, setattr and
 * delattr. A class with __del__ is made with {"__del__": True}: heapd then
 * sends a finalize event, before the answer of the request that freed the
 * instance, and heapctl runs the __del__ body with the instance's last
 * attributes, which the event carries, as self's. */
#include "py_interp.h"
#include "py_run.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the session's classes ---- */

py_class *py_class_by_id(py_ctx *c, uint64_t id)
{
    for (size_t i = 0; i < c->nclasses; i++)
        if (c->classes[i]->id == id)
            return c->classes[i];
    return NULL;
}

static bool class_named(py_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->nclasses; i++)
        if (strcmp(c->classes[i]->name, name) == 0)
            return true;
    return false;
}

static py_fn *method_of(const py_class *k, const char *name)
{
    for (size_t i = 0; k && i < k->nmethods; i++)
        if (strcmp(k->methods[i]->f->name, name) == 0)
            return k->methods[i];
    return NULL;
}

static bool any_method_named(py_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->nclasses; i++)
        if (method_of(c->classes[i], name))
            return true;
    return false;
}

static void class_free(py_ctx *c, py_class *k)
{
    for (size_t i = 0; i < k->nmethods; i++)
        py_fn_free(c, k->methods[i]);
    free(k->methods);
    if (k->id)
        py_release(c, k->id);
    free(k->name);
    free(k);
}

void py_forget_classes(py_ctx *c)
{
    while (c->nclasses)
        class_free(c, c->classes[--c->nclasses]);
    free(c->classes);
    c->classes = NULL;
    for (size_t i = 0; i < c->nfinals; i++)
        msgpack_sbuffer_destroy(&c->finals[i].params);
    free(c->finals);
    c->finals = NULL;
    c->nfinals = 0;
    if (c->kept_init) {
        msgpack_unpacked_destroy(&c->kept);
        msgpack_sbuffer_destroy(&c->kept_buf);
        c->kept_init = false;
    }
}

/* ---- small calls ---- */

/* method(target, name[, value]) with the reply in rep. */
static int attr_call(py_ctx *c, const char *method, pv *target, const char *name, const pv *value,
                     rpc_reply *rep)
{
    py_params p;
    py_params_begin(&p, value ? 3 : 2);
    int rc = py_target_param(c, target, &p);
    py_params_str(&p, name);
    if (!rc && value)
        rc = py_value_param(c, value, &p);
    if (!rc)
        rc = py_call(c, method, &p.b, rep);
    py_params_end(&p);
    return rc;
}

static uint64_t result_ref(const rpc_reply *rep)
{
    pv v;
    pv_init(&v);
    pv_set_object(&v, V_VAL, &rep->result);
    uint64_t id = pv_ref_id(&v);
    pv_free(&v);
    return id;
}

int py_object_id(py_ctx *c, pv *v, uint64_t *id)
{
    if ((*id = pv_ref_id(v)))
        return 0;
    if (v->kind == V_TYPE)
        return py_raise(c, "NotImplementedError", "heapctl has no id for type objects");
    /* a name: the object it is bound to; a literal: a temporary, as id([])
     * is in Python */
    if (py_hold(c, v, id))
        return -1;
    return py_release(c, *id);
}

/* The class statement's class of the instance v, or NULL (not an
 * instance, or of a class another session made). */
static py_class *class_of(py_ctx *c, pv *v)
{
    uint64_t id;
    py_exc saved = c->exc;
    if (py_object_id(c, v, &id))
        return NULL;
    if (strcmp(wire_id_type(id), "object") != 0)
        return NULL;
    rpc_reply rep;
    if (attr_call(c, "getattr", v, "__class__", NULL, &rep)) {
        if (c->exc.status != EXIT_CONNECT)
            c->exc = saved;
        return NULL;
    }
    return py_class_by_id(c, result_ref(&rep));
}

/* ---- the class statement ---- */

static int add_method(py_ctx *c, py_class *k, py_func *f)
{
    py_fn *fn = py_fn_make(c, f);
    if (!fn)
        return -1;
    fn->cls = k->name;
    py_fn **v = realloc(k->methods, (k->nmethods + 1) * sizeof *v);
    if (!v) {
        py_fn_free(c, fn);
        return py_raise(c, "MemoryError", "out of memory");
    }
    k->methods = v;
    /* a second def of a name replaces the first, as in Python */
    for (size_t i = 0; i < k->nmethods; i++)
        if (strcmp(k->methods[i]->f->name, f->name) == 0) {
            py_fn_free(c, k->methods[i]);
            k->methods[i] = fn;
            return 0;
        }
    k->methods[k->nmethods++] = fn;
    return 0;
}

static int class_new(py_ctx *c, py_class *k)
{
    py_params p;
    py_params_begin(&p, 2);
    py_params_str(&p, k->name);
    msgpack_pack_map(&p.pk, k->has_del ? 1 : 0);
    if (k->has_del) {
        py_params_str(&p, "__del__");
        msgpack_pack_true(&p.pk);
    }
    rpc_reply rep;
    int rc = py_call(c, "class_new", &p.b, &rep);
    py_params_end(&p);
    if (!rc && !(k->id = result_ref(&rep)))
        rc = py_raise(c, "RuntimeError", "heapd answered class_new() without a reference");
    return rc;
}

/* The class attributes (NAME = EXPR), in order, as setattr on the class. */
static int class_attrs(py_ctx *c, py_class *k, const py_block *body)
{
    for (size_t i = 0; i < body->n; i++) {
        const py_stmt *s = body->v[i];
        if (s->kind != PS_ASSIGN)
            continue;
        pv v, cls;
        pv_init(&v);
        pv_init(&cls);
        pv_set_ref(&cls, k->id);
        int rc = py_eval(c, s->value, true, &v);
        for (size_t t = 0; !rc && t < s->ntargets; t++) {
            rpc_reply rep;
            rc = attr_call(c, "setattr", &cls, s->targets[t]->name, &v, &rep);
        }
        pv_free(&v);
        pv_free(&cls);
        if (rc)
            return -1;
    }
    return 0;
}

static int subscribe_finalize(py_ctx *c)
{
    if (c->finalize_subscribed)
        return 0;
    py_params p;
    py_params_begin(&p, 1);
    py_params_str(&p, "finalize");
    rpc_reply rep;
    int rc = py_call(c, "subscribe", &p.b, &rep);
    py_params_end(&p);
    c->finalize_subscribed = rc == 0;
    return rc;
}

static int add_class(py_ctx *c, py_class *k)
{
    py_class **v = realloc(c->classes, (c->nclasses + 1) * sizeof *v);
    if (!v)
        return py_raise(c, "MemoryError", "out of memory");
    c->classes = v;
    c->classes[c->nclasses++] = k;
    return 0;
}

int py_exec_class(py_ctx *c, const py_stmt *s)
{
    const py_block *body = &s->func->body;
    py_class *k = calloc(1, sizeof *k);
    if (!k || !(k->name = strdup(s->func->name))) {
        free(k);
        return py_raise(c, "MemoryError", "out of memory");
    }
    for (size_t i = 0; i < body->n; i++)
        if (body->v[i]->kind == PS_DEF && !strcmp(body->v[i]->func->name, "__del__"))
            k->has_del = true;
    int rc = class_new(c, k);
    if (!rc)
        rc = class_attrs(c, k, body);
    for (size_t i = 0; !rc && i < body->n; i++)
        if (body->v[i]->kind == PS_DEF)
            rc = add_method(c, k, body->v[i]->func);
    if (!rc && k->has_del)
        rc = subscribe_finalize(c);
    pv ref;
    pv_init(&ref);
    pv_set_ref(&ref, k->id);
    if (!rc)
        rc = py_bind_name(c, k->name, &ref);
    pv_free(&ref);
    if (!rc)
        rc = add_class(c, k);
    if (rc)
        class_free(c, k);
    return rc;
}

/* ---- NAME(args): an instance ---- */

static bool is_none(const pv *v)
{
    return (v->kind == V_VAL || v->kind == V_LIT) && v->w.size == 1 &&
           (unsigned char)v->w.data[0] == 0xc0;
}

/* Runs __init__ with self (args[0]) and the arguments (args[1...]). */
static int run_init(py_ctx *c, py_class *k, uint64_t *args, size_t nargs)
{
    py_fn *init = method_of(k, "__init__");
    if (!init) {
        for (size_t i = 0; i < nargs; i++)
            py_release(c, args[i]);
        return nargs > 1 ? py_raise(c, "TypeError", "%s() takes no arguments", k->name) : 0;
    }
    pv ret;
    pv_init(&ret);
    int rc = py_call_held(c, init, args, nargs, &ret);
    if (!rc && !is_none(&ret)) {
        uint64_t id = 0;
        py_object_id(c, &ret, &id);
        rc = py_raise(c, "TypeError", "__init__() should return None, not '%s'", wire_id_type(id));
    }
    pv_free(&ret);
    return rc;
}

/* Python evaluates the arguments, then makes the instance, then runs
 * __init__; the instance is the call's value, held until the statement
 * ends. */
static int make_instance(py_ctx *c, py_class *k, const py_expr *e, pv *out)
{
    uint64_t *args = calloc(e->nitems + 2, sizeof *args);
    if (!args)
        return py_raise(c, "MemoryError", "out of memory");
    int rc = py_hold_args(c, e->items, e->nitems, args + 1);
    py_params p;
    py_params_begin(&p, 1);
    pv cls;
    pv_init(&cls);
    pv_set_ref(&cls, k->id);
    py_params_raw(&p, &cls.w);
    rpc_reply rep;
    if (!rc && py_call(c, "instance", &p.b, &rep)) {
        for (size_t i = 1; i <= e->nitems; i++)
            py_release(c, args[i]);
        rc = -1;
    }
    uint64_t id = rc ? 0 : result_ref(&rep);
    if (!rc)
        pv_set_ref(out, id);
    if (!rc && (rc = py_temp_push(c, id)) == 0 && (rc = py_hold(c, out, &args[0])) != 0)
        for (size_t i = 1; i <= e->nitems; i++)
            py_release(c, args[i]);
    if (!rc)
        rc = run_init(c, k, args, e->nitems + 1);
    py_params_end(&p);
    pv_free(&cls);
    free(args);
    return rc;
}

int py_class_call(py_ctx *c, const py_expr *e, pv *out, bool *done)
{
    *done = false;
    if (!class_named(c, e->name))
        return 0;
    pv name;
    pv_init(&name);
    pv_set_name(&name, e->name);
    uint64_t id;
    int rc = py_object_id(c, &name, &id);
    pv_free(&name);
    py_class *k = rc ? NULL : py_class_by_id(c, id);
    if (rc || !k) {
        *done = rc != 0;
        return rc;
    }
    *done = true;
    return make_instance(c, k, e, out);
}

/* ---- obj.method(args) ---- */

static int call_method(py_ctx *c, py_fn *fn, pv *self, const py_expr *e, pv *out)
{
    size_t n = e->nitems - 1, first = self ? 1 : 0;
    uint64_t *args = calloc(n + 2, sizeof *args);
    if (!args)
        return py_raise(c, "MemoryError", "out of memory");
    int rc = self ? py_hold(c, self, &args[0]) : 0;
    if (!rc && py_hold_args(c, e->items + 1, n, args + first)) {
        if (self)
            py_release(c, args[0]);
        rc = -1;
    }
    if (!rc)
        rc = py_call_held(c, fn, args, n + first, out);
    free(args);
    return rc;
}

int py_class_method(py_ctx *c, const py_expr *e, pv *out, bool *done)
{
    *done = false;
    if (!any_method_named(c, e->name) || py_expr_impure(e->items[0]))
        return 0;
    pv obj;
    pv_init(&obj);
    int rc = py_eval(c, e->items[0], true, &obj);
    uint64_t id = 0;
    if (!rc)
        rc = py_object_id(c, &obj, &id);
    py_class *k = NULL;
    bool is_class = !rc && !strcmp(wire_id_type(id), "type");
    if (!rc)
        k = is_class ? py_class_by_id(c, id) : class_of(c, &obj);
    py_fn *fn = method_of(k, e->name);
    if (rc || fn) {
        *done = true;
        if (!rc)
            rc = call_method(c, fn, is_class ? NULL : &obj, e, out);
    }
    pv_free(&obj);
    return rc;
}

/* ---- attributes ---- */

static py_frame *top_frame(py_ctx *c)
{
    return c->nframes ? &c->frames[c->nframes - 1] : NULL;
}

/* self in a __del__ run for a finalize event. */
static bool dead_self(py_ctx *c, const py_expr *x)
{
    py_frame *f = top_frame(c);
    return f && f->self_attrs && x->kind == PE_NAME && f->fn->f->nparams &&
           strcmp(x->name, f->fn->f->params[0]) == 0;
}

/* self.name in __del__: the event's attributes, then the class's. */
static int dead_attr(py_ctx *c, const char *name, pv *out)
{
    py_frame *f = top_frame(c);
    const msgpack_object_map *m = &f->self_attrs->via.map;
    for (uint32_t i = 0; f->self_attrs->type == MSGPACK_OBJECT_MAP && i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(name) &&
            !memcmp(k->via.str.ptr, name, k->via.str.size)) {
            pv_set_object(out, V_VAL, &m->ptr[i].val);
            return 0;
        }
    }
    pv cls;
    pv_init(&cls);
    pv_set_ref(&cls, f->self_class);
    rpc_reply rep;
    int rc = attr_call(c, "getattr", &cls, name, NULL, &rep);
    if (!rc)
        pv_set_object(out, V_VAL, &rep.result);
    else if (c->exc.status != EXIT_CONNECT)
        rc = py_raise(c, "AttributeError", "'%s' object has no attribute '%s'", f->fn->cls, name);
    pv_free(&cls);
    return rc;
}

static bool is_module(const py_expr *x)
{
    return x->kind == PE_NAME &&
           (!strcmp(x->name, "sys") || !strcmp(x->name, "gc") || !strcmp(x->name, "weakref"));
}

int py_eval_attr(py_ctx *c, const py_expr *e, pv *out)
{
    const py_expr *x = e->items[0];
    if (is_module(x))
        return py_raise(c, "NotImplementedError",
                        "heapctl has the functions of %s, not its other attributes (%s.%s)",
                        x->name, x->name, e->name);
    if (dead_self(c, x))
        return dead_attr(c, e->name, out);
    pv obj;
    pv_init(&obj);
    int rc = py_eval(c, x, true, &obj);
    rpc_reply rep;
    if (!rc)
        rc = attr_call(c, "getattr", &obj, e->name, NULL, &rep);
    if (!rc)
        pv_set_object(out, V_VAL, &rep.result);
    else if (any_method_named(c, e->name) && !strcmp(c->exc.type, "AttributeError"))
        rc = py_raise(c, "NotImplementedError",
                      "heapctl calls methods (obj.%s()) but cannot use them as values", e->name);
    pv_free(&obj);
    return rc;
}

static int attr_target(py_ctx *c, const py_expr *t, const pv *v, const char *method)
{
    if (dead_self(c, t->items[0]))
        return py_raise(c, "NotImplementedError",
                        "heapctl runs __del__ after heapd freed the instance: it can read "
                        "self's attributes, not change them");
    pv obj;
    pv_init(&obj);
    int rc = py_eval(c, t->items[0], true, &obj);
    if (!rc && v && pv_ref_id(&obj) && py_expr_impure(t->items[0]))
        rc = py_pin(c, &obj);
    rpc_reply rep;
    if (!rc)
        rc = attr_call(c, method, &obj, t->name, v, &rep);
    pv_free(&obj);
    return rc;
}

int py_set_attr(py_ctx *c, const py_expr *t, const pv *v)
{
    return attr_target(c, t, v, "setattr");
}

int py_del_attr(py_ctx *c, const py_expr *t)
{
    return attr_target(c, t, NULL, "delattr");
}

/* ---- finalize events ---- */

bool py_take_event(session *s, const msgpack_object *method, const msgpack_object *params)
{
    py_ctx *c = s->py;
    if (!c || !c->finalize_subscribed || method->type != MSGPACK_OBJECT_STR ||
        method->via.str.size != 8 || memcmp(method->via.str.ptr, "finalize", 8) != 0)
        return false;
    py_final *v = realloc(c->finals, (c->nfinals + 1) * sizeof *v);
    if (!v)
        return true; /* out of memory: the event is lost, not shown */
    c->finals = v;
    msgpack_sbuffer_init(&v[c->nfinals].params);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &v[c->nfinals].params, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *params);
    c->nfinals++;
    return true;
}

/* The newest class of this name with a __del__. */
static py_class *finalizing_class(py_ctx *c, const msgpack_object *name)
{
    for (size_t i = c->nclasses; i-- > 0;) {
        py_class *k = c->classes[i];
        if (k->has_del && name->type == MSGPACK_OBJECT_STR &&
            name->via.str.size == strlen(k->name) &&
            !memcmp(name->via.str.ptr, k->name, name->via.str.size))
            return k;
    }
    return NULL;
}

static void print_ignored(py_ctx *c, const py_class *k)
{
    fflush(stdout);
    fprintf(stderr, "Exception ignored in: <function %s.__del__>\n", k->name);
    fprintf(stderr, "Traceback (most recent call last):\n");
    for (int i = 1; i < c->exc.nframes; i++)
        fprintf(stderr, "  File \"%s\", line %d, in %s\n", c->s->file ? c->s->file : "<stdin>",
                c->exc.frames[i].line, c->exc.frames[i].func);
    fprintf(stderr, "%s: %s\n", c->exc.type, c->exc.msg);
}

/* Runs k's __del__ with self's last attributes. */
static int run_del(py_ctx *c, py_class *k, const msgpack_object *attrs)
{
    py_fn *fn = method_of(k, "__del__");
    if (fn->f->nparams != 1)
        return py_raise(c, "TypeError",
                        "%s.__del__() takes %zu positional arguments but 1 was given", k->name,
                        fn->f->nparams);
    if (py_push_frame(c, fn))
        return -1;
    py_frame *f = top_frame(c);
    f->self_attrs = attrs;
    f->self_class = k->id;
    f->bound[0] = true;
    uint64_t ret = 0;
    bool did_return = false;
    size_t mark = c->ntemps;
    int rc = py_exec_block(c, &fn->f->body, false, &ret, &did_return);
    py_temps_release(c, mark);
    int line = top_frame(c)->line; /* frames may have moved */
    if (did_return && ret)
        py_release(c, ret);
    if (py_pop_frame(c) && !rc)
        rc = -1;
    if (rc) {
        c->exc.nframes = 2;
        c->exc.frames[1].line = fn->line_base + line;
        snprintf(c->exc.frames[1].func, sizeof c->exc.frames[1].func, "__del__");
    }
    return rc;
}

static void run_final(py_ctx *c, const msgpack_sbuffer *params)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, params->data, params->size, NULL) == MSGPACK_UNPACK_SUCCESS &&
        up.data.type == MSGPACK_OBJECT_ARRAY && up.data.via.array.size == 3) {
        const msgpack_object *a = up.data.via.array.ptr;
        py_class *k = finalizing_class(c, &a[1]);
        py_exc saved = c->exc;
        if (k && method_of(k, "__del__") && run_del(c, k, &a[2]) && c->exc.status != EXIT_CONNECT)
            print_ignored(c, k);
        if (c->exc.status != EXIT_CONNECT)
            c->exc = saved;
    }
    msgpack_unpacked_destroy(&up);
}

void py_run_finals(py_ctx *c)
{
    while (c->nfinals) {
        msgpack_sbuffer params = c->finals[0].params;
        c->nfinals--;
        memmove(c->finals, c->finals + 1, c->nfinals * sizeof *c->finals);
        run_final(c, &params);
        msgpack_sbuffer_destroy(&params);
    }
}
