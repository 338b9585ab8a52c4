/* Calls in heapctl's Python: the built-ins (print, id, type, len, repr),
 * the functions of sys and gc, the container methods of heapd, and the
 * functions def made. What Python has and heapctl does not is a
 * NotImplementedError that says so, never a guess. */
#include "py_interp.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_none(pv *out)
{
    out->kind = V_VAL;
    out->w.size = 0;
    msgpack_sbuffer_write(&out->w, "\xc0", 1);
}

static void set_int(pv *out, int64_t i)
{
    out->kind = V_VAL;
    out->w.size = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->w, msgpack_sbuffer_write);
    msgpack_pack_int64(&pk, i);
}

/* The arguments of a call, evaluated in order; one that a later argument's
 * call could free is held meanwhile. */
typedef struct args {
    pv *v;
    size_t n;
} args;

static void args_free(args *a)
{
    for (size_t i = 0; i < a->n; i++)
        pv_free(&a->v[i]);
    free(a->v);
    a->v = NULL;
    a->n = 0;
}

static int eval_args(py_ctx *c, py_expr *const *items, size_t n, bool need_object, args *a)
{
    a->n = 0;
    if (!(a->v = calloc(n + 1, sizeof *a->v)))
        return py_raise(c, "MemoryError", "out of memory");
    for (size_t i = 0; i < n; i++) {
        pv_init(&a->v[a->n++]);
        if (py_eval(c, items[i], need_object, &a->v[i]))
            return -1;
        if (pv_ref_id(&a->v[i]))
            for (size_t k = i + 1; k < n; k++)
                if (py_expr_impure(items[k]))
                    if (py_pin(c, &a->v[i]))
                        return -1;
    }
    return 0;
}

static int want_args(py_ctx *c, const char *fname, size_t given, size_t min, size_t max)
{
    if (given >= min && given <= max)
        return 0;
    if (min == max && min == 0)
        return py_raise(c, "TypeError", "%s() takes no arguments (%zu given)", fname, given);
    if (min == max && min == 1)
        return py_raise(c, "TypeError", "%s() takes exactly one argument (%zu given)", fname,
                        given);
    if (min == max)
        return py_raise(c, "TypeError", "%s expected %zu arguments, got %zu", fname, min, given);
    return py_raise(c, "TypeError", "%s expected at most %zu arguments, got %zu", fname, max,
                    given);
}

/* method(targets and values...) -> the reply's result in out. kinds: 't'
 * a target parameter, 'v' a value parameter, one per argument. */
static int call_with(py_ctx *c, const char *method, pv *v, size_t n, const char *kinds, pv *out,
                     pv_kind result)
{
    py_params p;
    py_params_begin(&p, (uint32_t)n);
    rpc_reply rep;
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++)
        rc = kinds[i] == 't' ? py_target_param(c, &v[i], &p) : py_value_param(c, &v[i], &p);
    if (!rc)
        rc = py_call(c, method, &p.b, &rep);
    py_params_end(&p);
    if (!rc && out)
        pv_set_object(out, result, &rep.result);
    return rc;
}

/* ---- built-ins ---- */

static int builtin_print(py_ctx *c, args *a, pv *out)
{
    msgpack_sbuffer line;
    msgpack_sbuffer_init(&line);
    int rc = 0;
    for (size_t i = 0; !rc && i < a->n; i++) {
        if (i)
            msgpack_sbuffer_write(&line, " ", 1);
        rc = py_repr(c, &a->v[i], &line, true);
    }
    if (!rc) {
        fwrite(line.data, 1, line.size, stdout);
        putchar('\n');
        set_none(out);
    }
    msgpack_sbuffer_destroy(&line);
    return rc;
}

static int builtin_id(py_ctx *c, args *a, pv *out)
{
    uint64_t id;
    if (py_object_id(c, &a->v[0], &id))
        return -1;
    out->kind = V_VAL;
    out->w.size = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->w, msgpack_sbuffer_write);
    msgpack_pack_uint64(&pk, id);
    return 0;
}

/* Whether a type() answer names a built-in type (else a class's name). */
static bool builtin_type_name(const msgpack_object *name)
{
    for (int i = 0; i < WIRE_TYPE_COUNT; i++)
        if (name->via.str.size == strlen(wire_type_names[i]) &&
            !memcmp(name->via.str.ptr, wire_type_names[i], name->via.str.size))
            return true;
    return false;
}

/* type(x) of an instance: its class, the object (so type(x) is C). */
static int class_of_instance(py_ctx *c, pv *x, pv *out)
{
    py_params p;
    py_params_begin(&p, 2);
    rpc_reply rep;
    int rc = py_target_param(c, x, &p);
    py_params_str(&p, "__class__");
    if (!rc)
        rc = py_call(c, "getattr", &p.b, &rep);
    py_params_end(&p);
    if (!rc)
        pv_set_object(out, V_VAL, &rep.result);
    return rc;
}

static int builtin_type(py_ctx *c, args *a, pv *out)
{
    if (a->v[0].kind == V_TYPE) {
        snprintf(out->tname, sizeof out->tname, "type");
        out->kind = V_TYPE;
        return 0;
    }
    pv name;
    pv_init(&name);
    int rc = call_with(c, "type", a->v, 1, "t", &name, V_VAL);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (!rc &&
        (msgpack_unpack_next(&up, name.w.data, name.w.size, NULL) != MSGPACK_UNPACK_SUCCESS ||
         up.data.type != MSGPACK_OBJECT_STR))
        rc = py_raise(c, "RuntimeError", "heapd answered type() with a non-str");
    if (!rc && !builtin_type_name(&up.data)) {
        rc = class_of_instance(c, &a->v[0], out);
    } else if (!rc) {
        out->kind = V_TYPE;
        snprintf(out->tname, sizeof out->tname, "%.*s", (int)up.data.via.str.size,
                 up.data.via.str.ptr);
    }
    msgpack_unpacked_destroy(&up);
    pv_free(&name);
    return rc;
}

/* Whether v is the name of a built-in type (int, list, ...). */
static bool names_builtin_type(const pv *v)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    bool yes = false;
    if (v->kind == V_OBJ &&
        msgpack_unpack_next(&up, v->w.data, v->w.size, NULL) == MSGPACK_UNPACK_SUCCESS &&
        up.data.type == MSGPACK_OBJECT_EXT && up.data.via.ext.type == EXT_NAME) {
        msgpack_object name = {.type = MSGPACK_OBJECT_STR,
                               .via.str = {up.data.via.ext.size, up.data.via.ext.ptr}};
        yes = builtin_type_name(&name);
    }
    msgpack_unpacked_destroy(&up);
    return yes;
}

/* isinstance(x, C) for a class C of a class statement (or another
 * session's): x's class is C. No inheritance in heapctl's classes. */
static int builtin_isinstance(py_ctx *c, args *a, pv *out)
{
    uint64_t cls, id;
    if (names_builtin_type(&a->v[1]))
        return py_raise(c, "NotImplementedError",
                        "isinstance() is supported by heapctl for its classes only");
    if (py_object_id(c, &a->v[1], &cls) || py_object_id(c, &a->v[0], &id))
        return -1;
    if (strcmp(wire_id_type(cls), "type") != 0)
        return py_raise(c, "NotImplementedError",
                        "isinstance() is supported by heapctl for its classes only");
    bool yes = false;
    if (strcmp(wire_id_type(id), "object") == 0) {
        pv k;
        pv_init(&k);
        int rc = class_of_instance(c, &a->v[0], &k);
        yes = !rc && pv_ref_id(&k) == cls;
        pv_free(&k);
        if (rc)
            return -1;
    }
    msgpack_object o = {.type = MSGPACK_OBJECT_BOOLEAN, .via.boolean = yes};
    pv_set_object(out, V_VAL, &o);
    return 0;
}

static int builtin_repr(py_ctx *c, args *a, pv *out)
{
    msgpack_sbuffer text;
    msgpack_sbuffer_init(&text);
    int rc = py_repr(c, &a->v[0], &text, false);
    if (!rc) {
        out->kind = V_VAL;
        out->w.size = 0;
        msgpack_packer pk;
        msgpack_packer_init(&pk, &out->w, msgpack_sbuffer_write);
        msgpack_pack_str_with_body(&pk, text.data, text.size);
    }
    msgpack_sbuffer_destroy(&text);
    return rc;
}

static int builtin_len(py_ctx *c, args *a, pv *out)
{
    if (a->v[0].kind == V_KEYS) { /* len(d.keys()) */
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        int rc = msgpack_unpack_next(&up, a->v[0].w.data, a->v[0].w.size, NULL) ==
                             MSGPACK_UNPACK_SUCCESS &&
                         up.data.type == MSGPACK_OBJECT_ARRAY
                     ? (set_int(out, up.data.via.array.size), 0)
                     : py_raise(c, "RuntimeError", "bad dict_keys");
        msgpack_unpacked_destroy(&up);
        return rc;
    }
    return call_with(c, "len", a->v, 1, "t", out, V_VAL);
}

/* set(), list(), dict(), tuple() with no argument: an empty literal. */
static int builtin_empty(py_ctx *c, const char *name, args *a, pv *out)
{
    if (a->n)
        return py_raise(c, "NotImplementedError",
                        "%s() with an argument is not supported by heapctl; write a literal", name);
    static const char *const names[] = {"list", "dict", "tuple", "set"};
    static const char *const packed[] = {"\x90", "\x80", "\xd4\x02\x90", "\xd4\x03\x90"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0) {
            out->kind = V_LIT;
            out->w.size = 0;
            msgpack_sbuffer_write(&out->w, packed[i], strlen(packed[i]));
            return 0;
        }
    return -1;
}

typedef int (*builtin_fn)(py_ctx *c, args *a, pv *out);

static const struct builtin {
    const char *name;
    size_t min, max;
    bool need_object; /* the arguments' identity matters */
    builtin_fn run;
} builtins[] = {
    {"print", 0, (size_t)-1, false, builtin_print},
    {"id", 1, 1, true, builtin_id},
    {"type", 1, 1, false, builtin_type},
    {"len", 1, 1, false, builtin_len},
    {"repr", 1, 1, false, builtin_repr},
    {"isinstance", 2, 2, true, builtin_isinstance},
};

/* Python's built-in functions that heapctl does not have. */
static const char *const python_builtins[] = {
    "abs",    "all",        "any",          "ascii",       "bin",      "bool",    "bytearray",
    "bytes",  "callable",   "chr",          "classmethod", "compile",  "complex", "delattr",
    "dir",    "divmod",     "enumerate",    "eval",        "exec",     "filter",  "float",
    "format", "frozenset",  "getattr",      "globals",     "hasattr",  "hash",    "help",
    "hex",    "input",      "int",          "issubclass",  "iter",     "locals",  "map",
    "max",    "memoryview", "min",          "next",        "object",   "oct",     "open",
    "ord",    "pow",        "property",     "range",       "reversed", "round",   "setattr",
    "slice",  "sorted",     "staticmethod", "str",         "sum",      "super",   "vars",
    "zip",    "__import__", NULL,
};

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

enum { NOT_A_CALL = 1 }; /* not_callable: a weakref, which is callable */

/* r(): the referent of the weakref r, or None once it is gone. */
static int call_weakref(py_ctx *c, const py_expr *e, pv *out)
{
    if (e->nitems)
        return py_raise(c, "TypeError", "weakref() takes no arguments (%zu given)", e->nitems);
    pv r;
    pv_init(&r);
    pv_set_name(&r, e->name);
    int rc = call_with(c, "weakref_get", &r, 1, "t", out, V_VAL);
    pv_free(&r);
    return rc;
}

/* name(...) where name is neither a built-in nor a def: Python's error. */
static int not_callable(py_ctx *c, const char *name)
{
    py_params p;
    py_params_begin(&p, 1);
    py_params_str(&p, name);
    rpc_reply rep;
    int rc = py_call(c, "type", &p.b, &rep);
    py_params_end(&p);
    if (rc)
        return -1; /* NameError: name 'x' is not defined */
    if (rep.result.type == MSGPACK_OBJECT_STR && rep.result.via.str.size == 7 &&
        !memcmp(rep.result.via.str.ptr, "weakref", 7))
        return NOT_A_CALL;
    return py_raise(c, "TypeError", "'%.*s' object is not callable",
                    rep.result.type == MSGPACK_OBJECT_STR ? (int)rep.result.via.str.size : 6,
                    rep.result.type == MSGPACK_OBJECT_STR ? rep.result.via.str.ptr : "object");
}

int py_eval_call(py_ctx *c, const py_expr *e, bool need_object, pv *out)
{
    (void)need_object;
    py_fn *fn = py_find_fn(c, e->name);
    if (fn)
        return py_call_function(c, fn, e, out);
    bool done;
    int crc = py_class_call(c, e, out, &done);
    if (done)
        return crc;
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        const struct builtin *b = &builtins[i];
        if (strcmp(b->name, e->name) != 0)
            continue;
        args a = {NULL, 0};
        int rc = want_args(c, b->name, e->nitems, b->min, b->max);
        if (!rc)
            rc = eval_args(c, e->items, e->nitems, b->need_object, &a);
        if (!rc)
            rc = b->run(c, &a, out);
        args_free(&a);
        return rc;
    }
    if (!strcmp(e->name, "set") || !strcmp(e->name, "list") || !strcmp(e->name, "dict") ||
        !strcmp(e->name, "tuple")) {
        args a = {NULL, 0};
        return builtin_empty(c, e->name, (e->nitems ? (a.n = 1, &a) : &a), out);
    }
    if (in_list(python_builtins, e->name))
        return py_raise(c, "NotImplementedError", "the built-in %s() is not supported by heapctl",
                        e->name);
    int rc = not_callable(c, e->name);
    return rc == NOT_A_CALL ? call_weakref(c, e, out) : rc;
}

/* ---- modules: sys, gc, weakref ---- */

void py_note_imports(py_ctx *c, const py_stmt *s)
{
    for (size_t i = 0; i < s->ntargets; i++) {
        const char *m = s->targets[i]->name;
        if (strcmp(m, "sys") == 0)
            c->imported_sys = true;
        else if (strcmp(m, "gc") == 0)
            c->imported_gc = true;
        else if (strcmp(m, "weakref") == 0)
            c->imported_weakref = true;
    }
}

/* A list answer as the tuple Python's gc gives: (700, 10, 10). An older
 * heapd answers one int (no generations): shown as it is. */
static void list_as_tuple(pv *out)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, out->w.data, out->w.size, NULL) == MSGPACK_UNPACK_SUCCESS &&
        up.data.type == MSGPACK_OBJECT_ARRAY) {
        msgpack_sbuffer payload;
        msgpack_sbuffer_init(&payload);
        msgpack_sbuffer_write(&payload, out->w.data, out->w.size);
        out->w.size = 0;
        msgpack_packer pk;
        msgpack_packer_init(&pk, &out->w, msgpack_sbuffer_write);
        msgpack_pack_ext(&pk, payload.size, EXT_TUPLE);
        msgpack_pack_ext_body(&pk, payload.data, payload.size);
        msgpack_sbuffer_destroy(&payload);
    }
    msgpack_unpacked_destroy(&up);
}

static int gc_collect(py_ctx *c, args *a, pv *out)
{
    if (a->n == 0)
        return call_with(c, "gc_collect", NULL, 0, "", out, V_VAL);
    py_exc saved = c->exc;
    if (!call_with(c, "gc_collect", a->v, 1, "v", out, V_VAL))
        return 0;
    if (c->exc.status == EXIT_CONNECT || strcmp(c->exc.type, "TypeError") ||
        !strstr(c->exc.msg, "argument"))
        return -1;
    /* a heapd without generations: gc_collect() takes no generation */
    msgpack_sbuffer *w = &a->v[0].w;
    if (w->size == 1 && w->data[0] == 2) {
        c->exc = saved;
        return call_with(c, "gc_collect", NULL, 0, "", out, V_VAL);
    }
    return py_raise(c, "NotImplementedError",
                    "this heapd has no generations: only gc.collect() or gc.collect(2)");
}

static int gc_pass(py_ctx *c, const char *method, args *a, pv *out, bool tuple)
{
    if (call_with(c, method, a->v, a->n, "vvvv", out, V_VAL))
        return -1;
    if (tuple)
        list_as_tuple(out);
    return 0;
}

static int sys_getrefcount(py_ctx *c, args *a, pv *out)
{
    pv n;
    pv_init(&n);
    int rc = call_with(c, "refcount", a->v, 1, "t", &n, V_VAL);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (!rc && (msgpack_unpack_next(&up, n.w.data, n.w.size, NULL) != MSGPACK_UNPACK_SUCCESS ||
                up.data.type != MSGPACK_OBJECT_POSITIVE_INTEGER))
        rc = py_raise(c, "RuntimeError", "heapd answered refcount() with a non-int");
    /* CPython counts the reference its argument holds: the exact count + 1 */
    if (!rc)
        set_int(out, (int64_t)up.data.via.u64 + 1);
    msgpack_unpacked_destroy(&up);
    pv_free(&n);
    return rc;
}

static const struct modfn {
    const char *module, *name, *method;
    size_t min, max;
    /* 't' one target; 'v' values passed on; 'T' values, the list answer as
     * a tuple; 'h' one target, a new handle answered; 'w' a weak-valued dict */
    char kind;
} modfns[] = {
    {"sys", "getrefcount", "refcount", 1, 1, 't'},
    {"sys", "getsizeof", "getsizeof", 1, 1, 't'},
    {"gc", "collect", "gc_collect", 0, 1, 'c'},
    {"gc", "get_threshold", "gc_get_threshold", 0, 0, 'T'},
    {"gc", "set_threshold", "gc_set_threshold", 1, 3, 'v'},
    {"gc", "get_count", "gc_get_count", 0, 0, 'T'},
    {"gc", "enable", "gc_enable", 0, 0, 'v'},
    {"gc", "disable", "gc_disable", 0, 0, 'v'},
    {"gc", "isenabled", "gc_isenabled", 0, 0, 'v'},
    {"gc", "get_referrers", "gc_get_referrers", 1, 1, 't'},
    {"gc", "get_referents", "gc_get_referents", 1, 1, 't'},
    {"gc", "freeze", "gc_freeze", 0, 0, 'v'},
    {"weakref", "ref", "weakref", 1, 1, 'h'},
    {"weakref", "getweakrefcount", "weakref_count", 1, 1, 't'},
    {"weakref", "WeakValueDictionary", "new", 0, 0, 'w'},
};

/* weakref.ref(x) and WeakValueDictionary(): heapd answers a handle, held
 * until the statement ends as Python's stack holds the new object. */
static int new_handle(py_ctx *c, const struct modfn *f, args *a, pv *out)
{
    pv opts[2];
    pv_init(&opts[0]);
    pv_init(&opts[1]);
    int rc;
    if (f->kind == 'w') {
        opts[0].kind = V_LIT;
        msgpack_sbuffer_write(&opts[0].w, "\x80", 1);
        msgpack_sbuffer_write(&opts[1].w, "\x81\xabweak_values\xc3", 14);
        rc = call_with(c, f->method, opts, 2, "vv", out, V_VAL);
    } else {
        rc = call_with(c, f->method, a->v, 1, "t", out, V_VAL);
    }
    pv_free(&opts[0]);
    pv_free(&opts[1]);
    if (!rc && !pv_ref_id(out))
        rc = py_raise(c, "RuntimeError", "heapd answered %s() without a reference", f->method);
    return rc ? rc : py_temp_push(c, pv_ref_id(out));
}

static bool module_imported(py_ctx *c, const char *m)
{
    return (!strcmp(m, "sys") && c->imported_sys) || (!strcmp(m, "gc") && c->imported_gc) ||
           (!strcmp(m, "weakref") && c->imported_weakref);
}

static int run_modfn(py_ctx *c, const struct modfn *f, args *a, pv *out)
{
    int rc;
    if (!strcmp(f->name, "getrefcount"))
        rc = sys_getrefcount(c, a, out);
    else if (f->kind == 'c')
        rc = gc_collect(c, a, out);
    else if (f->kind == 't')
        rc = call_with(c, f->method, a->v, 1, "t", out, V_VAL);
    else if (f->kind == 'h' || f->kind == 'w')
        rc = new_handle(c, f, a, out);
    else
        rc = gc_pass(c, f->method, a, out, f->kind == 'T');
    /* void functions answer None, which the REPL does not print */
    return rc;
}

static int module_call(py_ctx *c, const py_expr *e, const char *module, pv *out)
{
    if (!module_imported(c, module))
        return py_raise(c, "NameError", "name '%s' is not defined", module);
    for (size_t i = 0; i < sizeof modfns / sizeof modfns[0]; i++) {
        const struct modfn *f = &modfns[i];
        if (strcmp(f->module, module) || strcmp(f->name, e->name))
            continue;
        char full[48];
        snprintf(full, sizeof full, "%s", f->name);
        args a = {NULL, 0};
        int rc = want_args(c, full, e->nitems - 1, f->min, f->max);
        if (!rc)
            rc = eval_args(c, e->items + 1, e->nitems - 1, f->kind == 't', &a);
        if (!rc)
            rc = run_modfn(c, f, &a, out);
        args_free(&a);
        return rc;
    }
    return py_raise(c, "NotImplementedError", "%s.%s() is not supported by heapctl", module,
                    e->name);
}

/* ---- methods of heapd's containers ---- */

static const struct method {
    const char *name;
    size_t min, max;
} methods[] = {
    {"append", 1, 1}, {"extend", 1, 1}, {"insert", 2, 2},  {"pop", 0, 1},  {"remove", 1, 1},
    {"clear", 0, 0},  {"add", 1, 1},    {"discard", 1, 1}, {"keys", 0, 0},
};

/* x.pop(k) whose result is kept: the object is held before it leaves the
 * container, as Python's stack holds it, and is the result (pop answers a
 * copy of the value). */
static int pop_object(py_ctx *c, args *a, pv *out)
{
    pv key, item;
    pv_init(&key);
    pv_init(&item);
    if (a->n > 1)
        msgpack_sbuffer_write(&key.w, a->v[1].w.data, a->v[1].w.size);
    else
        msgpack_sbuffer_write(&key.w, "\xff", 1); /* -1: the last item */
    key.kind = a->n > 1 ? a->v[1].kind : V_LIT;
    py_exc saved = c->exc;
    int rc = -1;
    if (!pv_ref_id(&a->v[0]) && a->v[0].kind == V_OBJ && py_pin(c, &a->v[0]))
        goto done;
    const char *type = wire_id_type(pv_ref_id(&a->v[0]));
    if (strcmp(type, "list") && strcmp(type, "dict")) {
        rc = call_with(c, "pop", a->v, a->n, "tv", out, V_VAL);
        goto done;
    }
    if (py_getitem(c, &a->v[0], &key, true, &item) || py_pin(c, &item)) {
        if (c->exc.status == EXIT_CONNECT)
            goto done;
        c->exc = saved; /* pop says what is wrong in its own words */
        rc = call_with(c, "pop", a->v, a->n, "tv", out, V_VAL);
        goto done;
    }
    rc = call_with(c, "pop", a->v, a->n, "tv", NULL, V_VAL);
    if (!rc) {
        out->kind = item.kind;
        out->w.size = 0;
        msgpack_sbuffer_write(&out->w, item.w.data, item.w.size);
    }
done:
    pv_free(&key);
    pv_free(&item);
    return rc;
}

static int container_method(py_ctx *c, const py_expr *e, const struct method *m, bool need_object,
                            pv *out)
{
    args a = {NULL, 0};
    int rc = want_args(c, m->name, e->nitems - 1, m->min, m->max);
    if (!rc && !strcmp(m->name, "pop") && e->nitems == 3)
        rc = py_raise(c, "NotImplementedError", "pop() with a default is not supported by heapctl");
    if (!rc)
        rc = eval_args(c, e->items, e->nitems, true, &a);
    if (rc) {
        args_free(&a);
        return -1;
    }
    static const char kinds[] = "tvv";
    if (!strcmp(m->name, "pop") && need_object)
        rc = pop_object(c, &a, out);
    else
        rc = call_with(c, m->name, a.v, a.n, kinds, out, V_VAL);
    if (!rc && !strcmp(m->name, "keys"))
        out->kind = V_KEYS;
    args_free(&a);
    return rc;
}

int py_eval_method(py_ctx *c, const py_expr *e, bool need_object, pv *out)
{
    const py_expr *obj = e->items[0];
    if (obj->kind == PE_NAME &&
        (!strcmp(obj->name, "sys") || !strcmp(obj->name, "gc") || !strcmp(obj->name, "weakref")))
        return module_call(c, e, obj->name, out);
    bool done;
    int rc = py_class_method(c, e, out, &done);
    if (done)
        return rc;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (!strcmp(methods[i].name, e->name))
            return container_method(c, e, &methods[i], need_object, out);
    return py_raise(c, "NotImplementedError",
                    "the method %s() is not supported by heapctl (it has append, extend, insert, "
                    "pop, remove, clear, add, discard and keys)",
                    e->name);
}
