/* Expressions and statements of heapctl's Python, translated to heapd's
 * methods (the mapping is described in py_interp.h). */
#include "py_interp.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool py_expr_impure(const py_expr *e)
{
    if (e->kind == PE_CALL || e->kind == PE_METHOD)
        return true;
    for (size_t i = 0; i < e->nitems; i++)
        if (py_expr_impure(e->items[i]))
            return true;
    return false;
}

/* Whether any of items[from..] may change the heap. */
static bool impure_after(const py_expr *const *items, size_t n, size_t from)
{
    for (size_t i = from; i < n; i++)
        if (py_expr_impure(items[i]))
            return true;
    return false;
}

/* An operand that a later one may free (by a call) is held meanwhile, as
 * Python's stack holds it. Only references need it: a name is looked up
 * when the request is sent, a literal is built then. */
static int hold_if_needed(py_ctx *c, pv *v, const py_expr *const *items, size_t n, size_t next)
{
    if (pv_ref_id(v) && impure_after(items, n, next))
        return py_pin(c, v);
    return 0;
}

/* ---- names ---- */

static py_frame *top_frame(py_ctx *c)
{
    return c->nframes ? &c->frames[c->nframes - 1] : NULL;
}

static int local_index(const py_frame *f, const char *name)
{
    for (size_t i = 0; i < f->fn->f->nlocals; i++)
        if (strcmp(f->fn->f->locals[i], name) == 0)
            return (int)i;
    return -1;
}

/* heapd looks a name up through every open frame, Python through the
 * function's own and then the global one: the two agree unless a calling
 * function has a local of that name, which heapctl then refuses rather
 * than answer with the caller's object. */
static int check_name(py_ctx *c, const char *name)
{
    py_frame *f = top_frame(c);
    if (!f)
        return 0;
    int i = local_index(f, name);
    if (i >= 0)
        return f->bound[i] ? 0
                           : py_raise(c, "UnboundLocalError",
                                      "cannot access local variable '%s' where it is not "
                                      "associated with a value",
                                      name);
    for (size_t k = 0; k + 1 < c->nframes; k++) {
        int j = local_index(&c->frames[k], name);
        if (j >= 0 && c->frames[k].bound[j])
            return py_raise(c, "NotImplementedError",
                            "heapctl cannot reach the global '%s' from %s(): the calling "
                            "function %s() has a local of that name, and heapd resolves names "
                            "through every open frame",
                            name, f->fn->f->name, c->frames[k].fn->f->name);
    }
    return 0;
}

static int eval_name(py_ctx *c, const py_expr *e, pv *out)
{
    py_frame *f = top_frame(c);
    if (f && f->self_attrs && f->fn->f->nparams && !strcmp(e->name, f->fn->f->params[0]))
        return py_raise(c, "NotImplementedError",
                        "heapctl runs __del__ after heapd freed the instance: it can read "
                        "self's attributes (self.NAME), not use self");
    if (!top_frame(c) || local_index(top_frame(c), e->name) < 0) {
        if (py_find_fn(c, e->name))
            return py_raise(
                c, "NotImplementedError",
                "'%s' is a function of heapctl's; it can be called, not used as a value", e->name);
    }
    if (check_name(c, e->name))
        return -1;
    pv_set_name(out, e->name);
    return 0;
}

/* ---- literals ---- */

static int eval_items_into(py_ctx *c, const py_expr *e, msgpack_sbuffer *body)
{
    for (size_t i = 0; i < e->nitems; i++) {
        pv v;
        pv_init(&v);
        int rc = py_eval(c, e->items[i], true, &v);
        if (!rc)
            rc = hold_if_needed(c, &v, (const py_expr *const *)e->items, e->nitems, i + 1);
        if (!rc && (v.kind == V_TYPE || v.kind == V_KEYS))
            rc = py_raise(c, "NotImplementedError", "heapctl cannot store a %s in a container",
                          v.kind == V_TYPE ? "type object" : "dict_keys view");
        if (!rc)
            msgpack_sbuffer_write(body, v.w.data, v.w.size);
        pv_free(&v);
        if (rc)
            return -1;
    }
    return 0;
}

/* A display ([...], (...), {...}) as one literal: its items inline, so
 * the server builds it in the request that uses it. */
static int eval_display(py_ctx *c, const py_expr *e, pv *out)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    int rc = eval_items_into(c, e, &body);
    out->kind = V_LIT;
    out->w.size = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->w, msgpack_sbuffer_write);
    if (!rc && e->kind == PE_LIST) {
        msgpack_pack_array(&pk, (uint32_t)e->nitems);
    } else if (!rc && e->kind == PE_DICT) {
        msgpack_pack_map(&pk, (uint32_t)e->nitems / 2);
    } else if (!rc) {
        msgpack_sbuffer payload;
        msgpack_sbuffer_init(&payload);
        msgpack_packer ppk;
        msgpack_packer_init(&ppk, &payload, msgpack_sbuffer_write);
        msgpack_pack_array(&ppk, (uint32_t)e->nitems);
        msgpack_sbuffer_write(&payload, body.data, body.size);
        msgpack_pack_ext(&pk, payload.size, e->kind == PE_TUPLE ? EXT_TUPLE : EXT_SET);
        msgpack_pack_ext_body(&pk, payload.data, payload.size);
        msgpack_sbuffer_destroy(&payload);
        body.size = 0;
    }
    if (!rc)
        msgpack_sbuffer_write(&out->w, body.data, body.size);
    msgpack_sbuffer_destroy(&body);
    return rc;
}

/* ---- x[k] ---- */

/* The object at index i of the list or tuple target, or the value of key
 * in the dict target, as a reference: getitem answers scalars as values,
 * and binding a value would make another object. gc_get_referents lists a
 * list's items in order and a dict's keys and values in turn. */
static int item_object(py_ctx *c, pv *target, const msgpack_object *key, pv *out)
{
    py_params p;
    rpc_reply rep;
    const char *type = wire_id_type(pv_ref_id(target));
    long index = -1;
    if (strcmp(type, "dict") == 0) {
        py_params_begin(&p, 1);
        py_params_raw(&p, &target->w);
        int rc = py_call(c, "keys", &p.b, &rep);
        py_params_end(&p);
        if (rc || rep.result.type != MSGPACK_OBJECT_ARRAY)
            return -1;
        for (uint32_t i = 0; i < rep.result.via.array.size && index < 0; i++)
            if (py_values_equal(&rep.result.via.array.ptr[i], key))
                index = 2 * (long)i + 1;
    } else if (key->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
               key->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        index = (long)key->via.i64;
    } else if (key->type == MSGPACK_OBJECT_BOOLEAN) {
        index = key->via.boolean;
    }
    py_params_begin(&p, 1);
    py_params_raw(&p, &target->w);
    int rc = py_call(c, "gc_get_referents", &p.b, &rep);
    py_params_end(&p);
    if (rc || rep.result.type != MSGPACK_OBJECT_ARRAY)
        return -1;
    long n = (long)rep.result.via.array.size;
    if (strcmp(type, "dict") != 0 && index < 0)
        index += n;
    if (index < 0 || index >= n)
        return py_raise(c, "RuntimeError", "the container changed while heapctl read it");
    pv_set_object(out, V_VAL, &rep.result.via.array.ptr[index]);
    return 0;
}

int py_getitem(py_ctx *c, pv *target, pv *key, bool need_object, pv *out)
{
    py_params p;
    py_params_begin(&p, 2);
    rpc_reply rep;
    int rc = py_target_param(c, target, &p);
    if (!rc)
        rc = py_value_param(c, key, &p);
    if (!rc)
        rc = py_call(c, "getitem", &p.b, &rep);
    py_params_end(&p);
    if (rc)
        return -1;
    bool scalar = rep.result.type != MSGPACK_OBJECT_EXT;
    pv_set_object(out, V_VAL, &rep.result);
    if (!scalar || !need_object)
        return 0;
    /* the object itself: through a reference to the container */
    if (!pv_ref_id(target) && target->kind == V_OBJ && py_pin(c, target))
        return -1;
    const char *type = wire_id_type(pv_ref_id(target));
    if (strcmp(type, "list") && strcmp(type, "tuple") && strcmp(type, "dict"))
        return 0; /* str and bytes items are new objects in Python too */
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    rc = -1;
    if (msgpack_unpack_next(&up, key->w.data, key->w.size, NULL) == MSGPACK_UNPACK_SUCCESS)
        rc = item_object(c, target, &up.data, out);
    msgpack_unpacked_destroy(&up);
    return rc;
}

static int eval_subscript(py_ctx *c, const py_expr *e, bool need_object, pv *out)
{
    pv target, key;
    pv_init(&target);
    pv_init(&key);
    int rc = py_eval(c, e->items[0], true, &target);
    if (!rc)
        rc = hold_if_needed(c, &target, (const py_expr *const *)e->items, 2, 1);
    if (!rc)
        rc = py_eval(c, e->items[1], false, &key);
    if (!rc && pv_ref_id(&key) == 0 && key.kind == V_OBJ) {
        msgpack_sbuffer kv; /* a key is looked up by value */
        msgpack_sbuffer_init(&kv);
        rc = py_value_of(c, &key, &kv);
        key.w.size = 0;
        msgpack_sbuffer_write(&key.w, kv.data, kv.size);
        key.kind = V_VAL;
        msgpack_sbuffer_destroy(&kv);
    }
    if (!rc)
        rc = py_getitem(c, &target, &key, need_object, out);
    pv_free(&target);
    pv_free(&key);
    return rc;
}

/* ---- comparisons ---- */

static int call_bool(py_ctx *c, const char *method, pv *a, pv *b, bool b_is_target, bool *res)
{
    py_params p;
    py_params_begin(&p, 2);
    rpc_reply rep;
    int rc = py_target_param(c, a, &p);
    if (!rc)
        rc = b_is_target ? py_target_param(c, b, &p) : py_value_param(c, b, &p);
    if (!rc)
        rc = py_call(c, method, &p.b, &rep);
    py_params_end(&p);
    if (!rc && rep.result.type != MSGPACK_OBJECT_BOOLEAN)
        rc = py_raise(c, "RuntimeError", "heapd answered %s() with a non-bool", method);
    if (!rc)
        *res = rep.result.via.boolean;
    return rc;
}

static int values_equal(py_ctx *c, pv *a, pv *b, bool *res)
{
    if (a->kind == V_TYPE || b->kind == V_TYPE) {
        *res = a->kind == b->kind && strcmp(a->tname, b->tname) == 0;
        return 0;
    }
    msgpack_sbuffer va, vb;
    msgpack_sbuffer_init(&va);
    msgpack_sbuffer_init(&vb);
    int rc = py_value_of(c, a, &va);
    if (!rc)
        rc = py_value_of(c, b, &vb);
    msgpack_unpacked ua, ub;
    msgpack_unpacked_init(&ua);
    msgpack_unpacked_init(&ub);
    if (!rc && (msgpack_unpack_next(&ua, va.data, va.size, NULL) != MSGPACK_UNPACK_SUCCESS ||
                msgpack_unpack_next(&ub, vb.data, vb.size, NULL) != MSGPACK_UNPACK_SUCCESS))
        rc = py_raise(c, "RuntimeError", "heapctl could not read a value");
    if (!rc)
        *res = py_values_equal(&ua.data, &ub.data) && a->kind != V_KEYS && b->kind != V_KEYS;
    msgpack_unpacked_destroy(&ua);
    msgpack_unpacked_destroy(&ub);
    msgpack_sbuffer_destroy(&va);
    msgpack_sbuffer_destroy(&vb);
    return rc;
}

static int eval_compare(py_ctx *c, const py_expr *e, pv *out)
{
    pv a, b;
    pv_init(&a);
    pv_init(&b);
    bool res = false, is = e->cmp == PC_IS || e->cmp == PC_IS_NOT;
    int rc = py_eval(c, e->items[0], true, &a);
    if (!rc)
        rc = hold_if_needed(c, &a, (const py_expr *const *)e->items, 2, 1);
    if (!rc)
        rc = py_eval(c, e->items[1], true, &b);
    if (!rc && is && (a.kind == V_TYPE || b.kind == V_TYPE))
        rc = values_equal(c, &a, &b, &res); /* type(x) is type(y): one object per type */
    else if (!rc && is)
        rc = call_bool(c, "is", &a, &b, true, &res);
    else if (!rc && (e->cmp == PC_IN || e->cmp == PC_NOT_IN))
        rc = call_bool(c, "contains", &b, &a, false, &res);
    else if (!rc)
        rc = values_equal(c, &a, &b, &res);
    if (!rc) {
        bool negate = e->cmp == PC_IS_NOT || e->cmp == PC_NOT_IN || e->cmp == PC_NE;
        msgpack_object o = {.type = MSGPACK_OBJECT_BOOLEAN, .via.boolean = res != negate};
        pv_set_object(out, V_VAL, &o);
    }
    pv_free(&a);
    pv_free(&b);
    return rc;
}

int py_eval(py_ctx *c, const py_expr *e, bool need_object, pv *out)
{
    switch (e->kind) {
    case PE_CONST:
        out->kind = V_LIT;
        out->w.size = 0;
        msgpack_sbuffer_write(&out->w, e->lit.data, e->lit.size);
        return 0;
    case PE_NAME:
        return eval_name(c, e, out);
    case PE_LIST:
    case PE_TUPLE:
    case PE_SET:
    case PE_DICT:
        return eval_display(c, e, out);
    case PE_SUBSCRIPT:
        return eval_subscript(c, e, need_object, out);
    case PE_CALL:
        return py_eval_call(c, e, need_object, out);
    case PE_METHOD:
        return py_eval_method(c, e, need_object, out);
    case PE_COMPARE:
        return eval_compare(c, e, out);
    case PE_ATTR:
        return py_eval_attr(c, e, out);
    }
    return py_raise(c, "SystemError", "unknown expression");
}
