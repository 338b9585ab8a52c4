/* The inside of heapctl's Python: values, the interpreter's state and the
 * calls the evaluator (py_eval.c), the built-ins (py_builtins.c) and the
 * values module (py_value.c) share. Not for other modules: py_run.h is the
 * way in.
 *
 * How Python maps onto heapd. A value is the msgpack a request would carry
 * for it (pv): an existing object is a reference (ext 1, an id) or a name
 * (ext 4); a literal is sent inline, so the server builds it in the request
 * that uses it and nothing is left behind; a value the server answered (a
 * scalar item, a popped value) is sent back as a value. Where Python keeps
 * an object alive on its stack (a returned value, an argument while the
 * parameters are bound, a default argument), heapctl holds a session
 * handle (`new`) and releases it when Python would drop the reference. */
#ifndef HEAPCTL_PY_INTERP_H
#define HEAPCTL_PY_INTERP_H

#include "py_ast.h"
#include "session.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum pv_kind {
    V_OBJ,  /* w: ext 1 or ext 4, an existing object */
    V_LIT,  /* w: a literal; sending it builds new objects (interned ones reused) */
    V_VAL,  /* w: a value the server answered; sending it builds a copy */
    V_TYPE, /* a type object: tname */
    V_KEYS, /* dict.keys(): w holds the keys as a list */
} pv_kind;

typedef struct pv {
    pv_kind kind;
    msgpack_sbuffer w;
    char tname[80];
} pv;

void pv_init(pv *v);
void pv_free(pv *v);
void pv_set_ref(pv *v, uint64_t id);
void pv_set_name(pv *v, const char *name);
void pv_set_object(pv *v, pv_kind kind, const msgpack_object *o); /* copies o */

/* The object a V_OBJ ext 1 value refers to, or 0. */
uint64_t pv_ref_id(const pv *v);

/* An exception being raised: Python's type and message, and where. */
typedef struct py_exc {
    char type[32];
    char msg[600];
    int status; /* the exit status it stands for: 1, or 3 for a lost connection */
    int nframes;
    struct {
        int line;
        char func[64];
    } frames[8]; /* innermost last, from the first function entered */
} py_exc;

/* A function defined by def, with its defaults held as handles. */
typedef struct py_fn {
    py_func *f;
    const char *cls;    /* a method: its class's name (for messages); else NULL */
    uint64_t *defaults; /* handle ids, one per default */
    int line_base;      /* line of the source its def came from, minus 1 */
    char *file;
} py_fn;

/* A call being run: its function and which of its locals are bound. */
typedef struct py_frame {
    py_fn *fn;
    bool *bound; /* parallel to fn->f->locals */
    int line;    /* the statement running, for tracebacks */
    /* __del__ run for a finalize event: self is gone from the server, its
     * last attributes are this map (self_attrs), of class self_class */
    const msgpack_object *self_attrs;
    uint64_t self_class;
} py_frame;

/* A class made by a class statement: its object on the server (held as a
 * handle as long as the session) and its methods, run in the client. */
typedef struct py_class {
    char *name;
    uint64_t id;
    py_fn **methods;
    size_t nmethods;
    bool has_del;
} py_class;

/* A finalize event waiting to run its __del__: the event's params. */
typedef struct py_final {
    msgpack_sbuffer params;
} py_final;

typedef struct py_ctx {
    session *s;
    py_fn **fns;
    size_t nfns;
    py_frame *frames;
    size_t nframes;
    uint64_t *temps; /* handles held until the statement ends */
    size_t ntemps, captemps;
    bool imported_sys, imported_gc, imported_weakref;
    py_class **classes;
    size_t nclasses;
    bool finalize_subscribed;
    py_final *finals; /* finalize events not yet run, oldest first */
    size_t nfinals;
    /* a reply kept across the finalizers run before its caller reads it */
    msgpack_sbuffer kept_buf;
    msgpack_unpacked kept;
    bool kept_init;
    int line_base; /* the line the source being run starts at, minus 1 */
    py_exc exc;
} py_ctx;

/* Sets the exception (printf-style message). Returns -1. */
int py_raise(py_ctx *c, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Calls method with params (a packed array of n items). On success the
 * reply's result is in rep (valid until the next call); else the server's
 * error (or the lost connection) is raised. */
int py_call(py_ctx *c, const char *method, const msgpack_sbuffer *params, rpc_reply *rep);

/* A params array being packed. */
typedef struct py_params {
    msgpack_sbuffer b;
    msgpack_packer pk;
} py_params;
void py_params_begin(py_params *p, uint32_t n);
void py_params_raw(py_params *p, const msgpack_sbuffer *value);
void py_params_str(py_params *p, const char *s);
void py_params_end(py_params *p);

/* The bytes to send v as a value parameter, or -1 (a type object). */
int py_value_param(py_ctx *c, const pv *v, py_params *p);
/* The bytes to send v as a target parameter: a str value is first held as
 * a handle (a str target is a name on the wire). */
int py_target_param(py_ctx *c, pv *v, py_params *p);

/* Holds v as a statement handle (new) and makes v that reference. */
int py_pin(py_ctx *c, pv *v);
/* A handle on v's object not tied to a statement (a default, a return
 * value); *id gets the handle's id. */
int py_hold(py_ctx *c, const pv *v, uint64_t *id);
int py_temp_push(py_ctx *c, uint64_t id);
void py_temps_release(py_ctx *c, size_t mark);
int py_release(py_ctx *c, uint64_t id);

/* v's value, expanded (get), into out (which the caller destroys). */
int py_value_of(py_ctx *c, pv *v, msgpack_sbuffer *out);

/* repr() and str() of v, appended to out. */
int py_repr(py_ctx *c, pv *v, msgpack_sbuffer *out, bool as_str);
/* repr of a value (msgpack) as Python prints it. cycles: the value is a
 * get answer, whose references are containers already on the path. */
void py_repr_value(msgpack_sbuffer *out, const msgpack_object *o, bool as_str, bool cycles);
/* Python's == between two values; refs compare by identity. */
bool py_values_equal(const msgpack_object *a, const msgpack_object *b);

/* Expressions. need_object: the result's identity matters (it is bound,
 * stored, passed, compared with is), so a scalar item of a container comes
 * back as the object in the container rather than its value. */
int py_eval(py_ctx *c, const py_expr *e, bool need_object, pv *out);
/* Whether evaluating e may change the heap (a call): operands evaluated
 * before it are held meanwhile. */
bool py_expr_impure(const py_expr *e);

/* Calls: built-ins and client functions (PE_CALL), methods and module
 * functions (PE_METHOD). */
int py_eval_call(py_ctx *c, const py_expr *e, bool need_object, pv *out);
int py_eval_method(py_ctx *c, const py_expr *e, bool need_object, pv *out);
int py_call_function(py_ctx *c, py_fn *fn, const py_expr *call, pv *out);
py_fn *py_find_fn(py_ctx *c, const char *name);

/* Calls fn with args, handles the call takes over (released once the
 * parameters are bound, or on failure). */
int py_call_held(py_ctx *c, py_fn *fn, uint64_t *args, size_t nargs, pv *out);
/* Evaluates the expressions as handles into ids (released on failure). */
int py_hold_args(py_ctx *c, py_expr *const *items, size_t n, uint64_t *ids);
/* Binds name to v in the current frame (or the global scope). */
int py_bind_name(py_ctx *c, const char *name, const pv *v);
/* Opens and closes a frame for fn (push_scope, pop_scope). */
int py_push_frame(py_ctx *c, py_fn *fn);
int py_pop_frame(py_ctx *c);
/* A function object for def's func, its defaults evaluated and held. */
py_fn *py_fn_make(py_ctx *c, py_func *f);
void py_fn_free(py_ctx *c, py_fn *fn);

/* Classes (py_class.c): the class statement; NAME(args) when NAME is a
 * class of the session's (*done false when it is not); obj.m(args) for a
 * method of a class (*done false when it is not one); x.name; the targets
 * x.name = v and del x.name; finalize events. */
int py_exec_class(py_ctx *c, const py_stmt *s);
int py_class_call(py_ctx *c, const py_expr *e, pv *out, bool *done);
int py_class_method(py_ctx *c, const py_expr *e, pv *out, bool *done);
int py_eval_attr(py_ctx *c, const py_expr *e, pv *out);
int py_set_attr(py_ctx *c, const py_expr *t, const pv *v);
int py_del_attr(py_ctx *c, const py_expr *t);
/* The class statement's object whose id is this, or NULL. */
py_class *py_class_by_id(py_ctx *c, uint64_t id);
/* Runs the __del__ of queued finalize events (py_call does, after a reply). */
void py_run_finals(py_ctx *c);
void py_forget_classes(py_ctx *c);
/* The id of the object v is (a name: looked up). */
int py_object_id(py_ctx *c, pv *v, uint64_t *id);

/* x[k] where the caller evaluated x and k: need_object as py_eval. */
int py_getitem(py_ctx *c, pv *target, pv *key, bool need_object, pv *out);

/* Runs a block's statements (a function body when in a frame). echo: print
 * the repr of expression statements. *returned gets a return's handle. */
int py_exec_block(py_ctx *c, const py_block *b, bool echo, uint64_t *returned, bool *did_return);

/* import sys / gc / weakref: the module's name becomes usable. */
void py_note_imports(py_ctx *c, const py_stmt *s);
/* Drops every function def made, and the defaults they hold. */
void py_forget_all(py_ctx *c);

#endif
