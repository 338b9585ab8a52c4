/* Values of heapctl's Python: what a request carries for them, the
 * handles that keep them alive, and how they print and compare. */
#include "format.h"
#include "py_interp.h"
#include "wire.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pv_init(pv *v)
{
    v->kind = V_VAL;
    msgpack_sbuffer_init(&v->w);
    v->tname[0] = '\0';
}

void pv_free(pv *v)
{
    msgpack_sbuffer_destroy(&v->w);
    pv_init(v);
}

static void pv_reset(pv *v, pv_kind kind)
{
    v->w.size = 0;
    v->kind = kind;
}

void pv_set_ref(pv *v, uint64_t id)
{
    pv_reset(v, V_OBJ);
    unsigned char be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (unsigned char)(id >> (56 - 8 * i));
    msgpack_packer pk;
    msgpack_packer_init(&pk, &v->w, msgpack_sbuffer_write);
    msgpack_pack_ext(&pk, 8, EXT_REF);
    msgpack_pack_ext_body(&pk, be, 8);
}

void pv_set_name(pv *v, const char *name)
{
    pv_reset(v, V_OBJ);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &v->w, msgpack_sbuffer_write);
    msgpack_pack_ext(&pk, strlen(name), EXT_NAME);
    msgpack_pack_ext_body(&pk, name, strlen(name));
}

void pv_set_object(pv *v, pv_kind kind, const msgpack_object *o)
{
    pv_reset(v, kind);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &v->w, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *o);
    if (kind == V_VAL && o->type == MSGPACK_OBJECT_EXT && o->via.ext.type == EXT_REF)
        v->kind = V_OBJ;
}

static uint64_t ext_ref_id(const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_EXT || o->via.ext.type != EXT_REF || o->via.ext.size != 8)
        return 0;
    uint64_t id = 0;
    for (int i = 0; i < 8; i++)
        id = id << 8 | (unsigned char)o->via.ext.ptr[i];
    return id;
}

uint64_t pv_ref_id(const pv *v)
{
    /* fixext 8: d7 01 + 8 bytes */
    if (v->kind != V_OBJ || v->w.size != 10 || (unsigned char)v->w.data[0] != 0xd7 ||
        v->w.data[1] != EXT_REF)
        return 0;
    uint64_t id = 0;
    for (int i = 0; i < 8; i++)
        id = id << 8 | (unsigned char)v->w.data[2 + i];
    return id;
}

int py_raise(py_ctx *c, const char *type, const char *fmt, ...)
{
    snprintf(c->exc.type, sizeof c->exc.type, "%s", type);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->exc.msg, sizeof c->exc.msg, fmt, ap);
    va_end(ap);
    c->exc.status = EXIT_SERVER_ERROR;
    c->exc.nframes = 0;
    return -1;
}

/* heapd answers a method on the wrong type with a TypeError "'dict' object
 * has no attribute 'append'"; Python raises AttributeError. */
static const char *python_type(const rpc_reply *rep)
{
    if (strcmp(rep->etype, "TypeError") == 0 && strstr(rep->emsg, "has no attribute"))
        return "AttributeError";
    return rep->etype;
}

/* Finalize events came with the reply: their __del__ run now, before the
 * caller reads the reply, which is kept meanwhile (the finalizers' own
 * calls reuse the connection's buffer). */
static void run_finals_keeping(py_ctx *c, rpc_reply *rep)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    if (rep->ok)
        msgpack_pack_object(&pk, rep->result);
    rpc_reply saved = *rep;
    py_run_finals(c);
    *rep = saved;
    if (!rep->ok) {
        msgpack_sbuffer_destroy(&buf);
        return;
    }
    if (c->kept_init) {
        msgpack_unpacked_destroy(&c->kept);
        msgpack_sbuffer_destroy(&c->kept_buf);
    }
    c->kept_buf = buf;
    msgpack_unpacked_init(&c->kept);
    c->kept_init = true;
    if (msgpack_unpack_next(&c->kept, buf.data, buf.size, NULL) == MSGPACK_UNPACK_SUCCESS)
        rep->result = c->kept.data;
}

int py_call(py_ctx *c, const char *method, const msgpack_sbuffer *params, rpc_reply *rep)
{
    char err[600];
    if (rpc_call_packed(c->s->rpc, method, params->data, params->size, rep, err, sizeof err)) {
        py_raise(c, "ConnectionError", "%s", err);
        c->exc.status = EXIT_CONNECT;
        return -1;
    }
    if (c->nfinals)
        run_finals_keeping(c, rep);
    if (!rep->ok)
        return py_raise(c, python_type(rep), "%s", rep->emsg);
    return 0;
}

void py_params_begin(py_params *p, uint32_t n)
{
    msgpack_sbuffer_init(&p->b);
    msgpack_packer_init(&p->pk, &p->b, msgpack_sbuffer_write);
    msgpack_pack_array(&p->pk, n);
}

void py_params_raw(py_params *p, const msgpack_sbuffer *value)
{
    msgpack_sbuffer_write(&p->b, value->data, value->size);
}

void py_params_str(py_params *p, const char *s)
{
    msgpack_pack_str_with_body(&p->pk, s, strlen(s));
}

void py_params_end(py_params *p)
{
    msgpack_sbuffer_destroy(&p->b);
}

int py_value_param(py_ctx *c, const pv *v, py_params *p)
{
    if (v->kind == V_TYPE)
        return py_raise(c, "NotImplementedError",
                        "heapctl cannot send a type object (<class '%s'>) to heapd", v->tname);
    py_params_raw(p, &v->w);
    return 0;
}

static bool top_is_str(const pv *v)
{
    if (v->w.size == 0)
        return false;
    unsigned char b = (unsigned char)v->w.data[0];
    return (b >= 0xa0 && b <= 0xbf) || b == 0xd9 || b == 0xda || b == 0xdb;
}

int py_target_param(py_ctx *c, pv *v, py_params *p)
{
    if ((v->kind == V_LIT || v->kind == V_VAL || v->kind == V_KEYS) && top_is_str(v) &&
        py_pin(c, v))
        return -1;
    return py_value_param(c, v, p);
}

int py_temp_push(py_ctx *c, uint64_t id)
{
    if (c->ntemps == c->captemps) {
        size_t cap = c->captemps ? 2 * c->captemps : 16;
        uint64_t *t = realloc(c->temps, cap * sizeof *t);
        if (!t) {
            py_release(c, id);
            return py_raise(c, "MemoryError", "out of memory");
        }
        c->temps = t;
        c->captemps = cap;
    }
    c->temps[c->ntemps++] = id;
    return 0;
}

int py_release(py_ctx *c, uint64_t id)
{
    pv r;
    pv_init(&r);
    pv_set_ref(&r, id);
    py_params p;
    py_params_begin(&p, 1);
    py_params_raw(&p, &r.w);
    rpc_reply rep;
    py_exc saved = c->exc; /* releasing must not hide the exception being raised */
    int rc = py_call(c, "release", &p.b, &rep);
    if (rc && c->exc.status != EXIT_CONNECT)
        c->exc = saved;
    py_params_end(&p);
    pv_free(&r);
    return rc;
}

void py_temps_release(py_ctx *c, size_t mark)
{
    while (c->ntemps > mark)
        py_release(c, c->temps[--c->ntemps]);
}

int py_hold(py_ctx *c, const pv *v, uint64_t *id)
{
    py_params p;
    py_params_begin(&p, 1);
    rpc_reply rep;
    int rc = py_value_param(c, v, &p);
    if (!rc)
        rc = py_call(c, "new", &p.b, &rep);
    py_params_end(&p);
    if (!rc && !(*id = ext_ref_id(&rep.result)))
        rc = py_raise(c, "RuntimeError", "heapd answered new() without a reference");
    return rc;
}

int py_pin(py_ctx *c, pv *v)
{
    uint64_t id;
    if (py_hold(c, v, &id) || py_temp_push(c, id))
        return -1;
    pv_set_ref(v, id);
    return 0;
}

/* A literal with no ext inside is its own value; anything else is asked. */
static bool plain_value(const pv *v)
{
    if (v->kind == V_VAL || v->kind == V_KEYS)
        return true;
    if (v->kind != V_LIT)
        return false;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    bool plain = msgpack_unpack_next(&up, v->w.data, v->w.size, NULL) == MSGPACK_UNPACK_SUCCESS &&
                 up.data.type != MSGPACK_OBJECT_EXT && up.data.type != MSGPACK_OBJECT_ARRAY &&
                 up.data.type != MSGPACK_OBJECT_MAP;
    msgpack_unpacked_destroy(&up);
    return plain;
}

int py_value_of(py_ctx *c, pv *v, msgpack_sbuffer *out)
{
    if (plain_value(v)) {
        msgpack_sbuffer_write(out, v->w.data, v->w.size);
        return 0;
    }
    py_params p;
    py_params_begin(&p, 1);
    rpc_reply rep;
    int rc = py_target_param(c, v, &p);
    if (!rc)
        rc = py_call(c, "get", &p.b, &rep);
    py_params_end(&p);
    if (!rc) {
        msgpack_packer pk;
        msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
        msgpack_pack_object(&pk, rep.result);
    }
    return rc;
}

/* ---- repr ---- */

static void put(msgpack_sbuffer *out, const char *s)
{
    msgpack_sbuffer_write(out, s, strlen(s));
}

static void repr_items(msgpack_sbuffer *out, const msgpack_object *v, uint32_t n, bool cycles)
{
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            put(out, ", ");
        py_repr_value(out, &v[i], false, cycles);
    }
}

static bool unpack_ext_array(msgpack_unpacked *up, const msgpack_object *o);

/* py_repr's interpreter, for the names of classes (getattr __name__),
 * and the id of the instance it prints, if the value is one: an instance
 * inside a container comes without its id. */
static py_ctx *repr_ctx;
static uint64_t repr_instance_id;

/* The name of the class ref (an ext 1): appended to out. */
static void put_class_name(msgpack_sbuffer *out, const msgpack_object *ref)
{
    py_params p;
    py_params_begin(&p, 2);
    msgpack_pack_object(&p.pk, *ref);
    py_params_str(&p, "__name__");
    rpc_reply rep;
    py_exc saved = repr_ctx->exc;
    if (py_call(repr_ctx, "getattr", &p.b, &rep) == 0 && rep.result.type == MSGPACK_OBJECT_STR)
        msgpack_sbuffer_write(out, rep.result.via.str.ptr, rep.result.via.str.size);
    else
        put(out, "?");
    if (repr_ctx->exc.status != EXIT_CONNECT)
        repr_ctx->exc = saved;
    py_params_end(&p);
}

/* <__main__.Employee object at @ID>, as Python prints an instance (with
 * heapd's id for its address). */
static void repr_instance(msgpack_sbuffer *out, const msgpack_object_ext *e)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    put(out, "<__main__.");
    if (repr_ctx &&
        unpack_ext_array(&up, &(msgpack_object){.type = MSGPACK_OBJECT_EXT, .via.ext = *e}) &&
        up.data.via.array.size == 2)
        put_class_name(out, &up.data.via.array.ptr[0]);
    else
        put(out, "?");
    char at[40];
    if (repr_instance_id)
        snprintf(at, sizeof at, " object at @%" PRIu64 ">", repr_instance_id);
    else
        snprintf(at, sizeof at, " object at @?>");
    put(out, at);
    repr_instance_id = 0;
    msgpack_unpacked_destroy(&up);
}

static void repr_ext(msgpack_sbuffer *out, const msgpack_object_ext *e, bool cycles)
{
    if (e->type == EXT_INSTANCE)
        return repr_instance(out, e);
    if (e->type == EXT_TUPLE || e->type == EXT_SET) {
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        if (msgpack_unpack_next(&up, e->ptr, e->size, NULL) == MSGPACK_UNPACK_SUCCESS &&
            up.data.type == MSGPACK_OBJECT_ARRAY) {
            const msgpack_object_array *a = &up.data.via.array;
            bool tuple = e->type == EXT_TUPLE;
            if (!tuple && a->size == 0) {
                put(out, "set()");
            } else {
                put(out, tuple ? "(" : "{");
                repr_items(out, a->ptr, a->size, cycles);
                put(out, tuple ? (a->size == 1 ? ",)" : ")") : "}");
            }
        }
        msgpack_unpacked_destroy(&up);
        return;
    }
    msgpack_object o = {.type = MSGPACK_OBJECT_EXT, .via.ext = *e};
    uint64_t id = ext_ref_id(&o);
    /* get answers a container already on the path (a cycle) as a
     * reference: Python prints the same place as [...] or {...} */
    const char *type = id && cycles ? wire_id_type(id) : "";
    if (id && repr_ctx && strcmp(wire_id_type(id), "type") == 0) {
        put(out, "<class '__main__.");
        put_class_name(out, &o);
        put(out, "'>");
    } else if (strcmp(type, "list") == 0)
        put(out, "[...]");
    else if (strcmp(type, "dict") == 0)
        put(out, "{...}");
    else
        fmt_repr(out, &o);
}

void py_repr_value(msgpack_sbuffer *out, const msgpack_object *o, bool as_str, bool cycles)
{
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
        if (as_str) {
            msgpack_sbuffer_write(out, o->via.str.ptr, o->via.str.size);
            return;
        }
        return fmt_quoted(out, o->via.str.ptr, o->via.str.size, false);
    case MSGPACK_OBJECT_ARRAY:
        put(out, "[");
        repr_items(out, o->via.array.ptr, o->via.array.size, cycles);
        return put(out, "]");
    case MSGPACK_OBJECT_MAP:
        put(out, "{");
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if (i)
                put(out, ", ");
            py_repr_value(out, &o->via.map.ptr[i].key, false, cycles);
            put(out, ": ");
            py_repr_value(out, &o->via.map.ptr[i].val, false, cycles);
        }
        return put(out, "}");
    case MSGPACK_OBJECT_EXT:
        return repr_ext(out, &o->via.ext, cycles);
    default:
        return fmt_repr(out, o);
    }
}

int py_repr(py_ctx *c, pv *v, msgpack_sbuffer *out, bool as_str)
{
    if (v->kind == V_TYPE) {
        put(out, "<class '");
        put(out, v->tname);
        put(out, "'>");
        return 0;
    }
    msgpack_sbuffer val;
    msgpack_sbuffer_init(&val);
    int rc = py_value_of(c, v, &val);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (!rc && msgpack_unpack_next(&up, val.data, val.size, NULL) == MSGPACK_UNPACK_SUCCESS) {
        repr_ctx = c;
        repr_instance_id = 0;
        if (up.data.type == MSGPACK_OBJECT_EXT && up.data.via.ext.type == EXT_INSTANCE)
            rc = py_object_id(c, v, &repr_instance_id);
        if (v->kind == V_KEYS)
            put(out, "dict_keys(");
        py_repr_value(out, &up.data, as_str, !plain_value(v));
        if (v->kind == V_KEYS)
            put(out, ")");
        repr_ctx = NULL;
    }
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&val);
    return rc;
}

/* ---- == ---- */

static bool numeric(const msgpack_object *o, double *d, bool *is_int, int64_t *i, uint64_t *u)
{
    switch (o->type) {
    case MSGPACK_OBJECT_BOOLEAN:
        *is_int = true, *i = o->via.boolean, *u = (uint64_t)*i, *d = (double)*i;
        return true;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *is_int = true, *u = o->via.u64, *i = (int64_t)o->via.u64, *d = (double)o->via.u64;
        return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *is_int = true, *i = o->via.i64, *u = 0, *d = (double)o->via.i64;
        return true;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        *is_int = false, *d = o->via.f64;
        return true;
    default:
        return false;
    }
}

static bool numbers_equal(const msgpack_object *a, const msgpack_object *b, bool *known)
{
    double da, db;
    bool ia, ib;
    int64_t xa, xb;
    uint64_t ua, ub;
    *known = numeric(a, &da, &ia, &xa, &ua) && numeric(b, &db, &ib, &xb, &ub);
    if (!*known)
        return false;
    if (ia && ib) {
        bool na = a->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
        bool nb = b->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
        return na == nb && (na ? xa == xb : ua == ub);
    }
    return da == db; /* an int past 2^53 against a float: close enough for heapd's values */
}

static bool unpack_ext_array(msgpack_unpacked *up, const msgpack_object *o)
{
    return msgpack_unpack_next(up, o->via.ext.ptr, o->via.ext.size, NULL) ==
               MSGPACK_UNPACK_SUCCESS &&
           up->data.type == MSGPACK_OBJECT_ARRAY;
}

static bool arrays_equal(const msgpack_object_array *a, const msgpack_object_array *b)
{
    if (a->size != b->size)
        return false;
    for (uint32_t i = 0; i < a->size; i++)
        if (!py_values_equal(&a->ptr[i], &b->ptr[i]))
            return false;
    return true;
}

/* Sets: every member of a in b (sizes equal, members unique). */
static bool members_equal(const msgpack_object_array *a, const msgpack_object_array *b)
{
    if (a->size != b->size)
        return false;
    for (uint32_t i = 0; i < a->size; i++) {
        bool found = false;
        for (uint32_t j = 0; j < b->size && !found; j++)
            found = py_values_equal(&a->ptr[i], &b->ptr[j]);
        if (!found)
            return false;
    }
    return true;
}

/* Dicts: the same keys with equal values, in any order. */
static bool maps_equal(const msgpack_object_map *a, const msgpack_object_map *b)
{
    if (a->size != b->size)
        return false;
    for (uint32_t i = 0; i < a->size; i++) {
        bool found = false;
        for (uint32_t j = 0; j < b->size && !found; j++)
            found = py_values_equal(&a->ptr[i].key, &b->ptr[j].key) &&
                    py_values_equal(&a->ptr[i].val, &b->ptr[j].val);
        if (!found)
            return false;
    }
    return true;
}

static bool exts_equal(const msgpack_object *a, const msgpack_object *b)
{
    if (a->via.ext.type != b->via.ext.type)
        return false;
    if (a->via.ext.type == EXT_REF)
        return ext_ref_id(a) == ext_ref_id(b);
    msgpack_unpacked ua, ub;
    msgpack_unpacked_init(&ua);
    msgpack_unpacked_init(&ub);
    bool eq = false;
    if (unpack_ext_array(&ua, a) && unpack_ext_array(&ub, b))
        eq = a->via.ext.type == EXT_TUPLE ? arrays_equal(&ua.data.via.array, &ub.data.via.array)
                                          : members_equal(&ua.data.via.array, &ub.data.via.array);
    msgpack_unpacked_destroy(&ua);
    msgpack_unpacked_destroy(&ub);
    return eq;
}

bool py_values_equal(const msgpack_object *a, const msgpack_object *b)
{
    bool known;
    bool eq = numbers_equal(a, b, &known);
    if (known)
        return eq;
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case MSGPACK_OBJECT_NIL:
        return true;
    case MSGPACK_OBJECT_STR:
    case MSGPACK_OBJECT_BIN:
        return a->via.str.size == b->via.str.size &&
               (a->via.str.size == 0 || !memcmp(a->via.str.ptr, b->via.str.ptr, a->via.str.size));
    case MSGPACK_OBJECT_ARRAY:
        return arrays_equal(&a->via.array, &b->via.array);
    case MSGPACK_OBJECT_MAP:
        return maps_equal(&a->via.map, &b->via.map);
    case MSGPACK_OBJECT_EXT:
        return exts_equal(a, b);
    default:
        return false;
    }
}
