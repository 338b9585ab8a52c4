/* Names and scopes: bind, unbind, lookup, names, push_scope, pop_scope. */
#include "encode.h"
#include "handlers.h"
#include "glob.h"
#include "literal.h"

#include <stdlib.h>
#include <string.h>

int m_bind(req *r)
{
    const char *name;
    size_t len;
    bool global;
    hobj *val;
    int rc = arg_name(r, 0, &name, &len);
    if (!rc)
        rc = ns_check_bindable(len, r->err);
    if (!rc)
        rc = arg_scope_opts(r, 2, &global);
    if (!rc)
        rc = heap_check_room(r->h, 0, ns_bind_cost(r->ns, r->s, len, global), r->err);
    if (!rc)
        rc = arg_value(r, 1, &val);
    if (rc)
        return rc;
    ns_bind(r->ns, r->s, name, len, val, global);
    enc_ref(r->out, val); /* still alive: the binding holds it */
    return 0;
}

int m_unbind(req *r)
{
    const char *name;
    size_t len;
    bool global;
    int rc = arg_name(r, 0, &name, &len);
    if (!rc)
        rc = arg_scope_opts(r, 1, &global);
    if (!rc)
        rc = ns_unbind(r->ns, r->s, name, len, global, r->err);
    if (!rc)
        msgpack_pack_nil(r->out);
    return rc;
}

int m_lookup(req *r)
{
    hobj *o;
    const char *name;
    size_t len;
    int rc = arg_name(r, 0, &name, &len);
    if (!rc)
        rc = ns_resolve(r->ns, r->s, name, len, &o, r->err);
    if (!rc)
        enc_ref(r->out, o);
    return rc;
}

struct name {
    const char *p;
    size_t len;
};

struct name_list {
    struct name *v;
    size_t n;
};

static void collect_name(const char *name, size_t len, hobj *val, void *arg)
{
    (void)val;
    struct name_list *l = arg;
    l->v[l->n++] = (struct name){name, len};
}

/* Byte order, as Python's sorted() orders str by code point (UTF-8 keeps
 * that order); names may hold NUL, so no strcmp. */
static int cmp_names(const void *a, const void *b)
{
    const struct name *x = a, *y = b;
    int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int parse_scope(req *r, bool *local)
{
    const char *scope;
    size_t len;
    int rc = arg_str(r, 0, &scope, &len);
    if (rc)
        return rc;
    bool g = arg_is_str(&r->args[0], "global");
    if (!g && !arg_is_str(&r->args[0], "local"))
        return herr_set(r->err, HE_VALUE, "%s() scope must be \"local\" or \"global\"",
                        req_method(r));
    *local = !g;
    return 0;
}

int m_names(req *r)
{
    /* no argument: the innermost scope, which is global when no frame is open */
    bool local = ns_depth(r->s) > 0;
    int rc = r->nargs > 0 ? parse_scope(r, &local) : 0;
    if (rc)
        return rc;
    size_t n = ns_count_names(r->ns, r->s, local);
    struct name_list l = {xcalloc(n + 1, sizeof *l.v), 0};
    ns_foreach_name(r->ns, r->s, local, collect_name, &l);
    qsort(l.v, l.n, sizeof *l.v, cmp_names);
    msgpack_pack_array(r->out, l.n);
    for (size_t i = 0; i < l.n; i++) {
        msgpack_pack_str(r->out, l.v[i].len);
        msgpack_pack_str_body(r->out, l.v[i].p, l.v[i].len);
    }
    free(l.v);
    return 0;
}

/* --- scan: names a page at a time ----------------------------------------- */

#define SCAN_COUNT_DEFAULT 100
#define SCAN_COUNT_MAX     100000 /* bounds one step's work */

struct scan_opts {
    const char *match; /* NULL: every name */
    size_t match_len;
    uint64_t count;
};

static int scan_option(req *r, const msgpack_object *k, const msgpack_object *v,
                       struct scan_opts *o)
{
    if (arg_is_str(k, "match")) {
        if (v->type != MSGPACK_OBJECT_STR)
            return herr_set(r->err, HE_TYPE, "scan() match must be a str");
        o->match = v->via.str.ptr;
        o->match_len = v->via.str.size;
        return 0;
    }
    if (!arg_is_str(k, "count"))
        return herr_set(r->err, HE_VALUE, "scan(): unknown option (\"match\", \"count\")");
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 < 1 || v->via.u64 > SCAN_COUNT_MAX)
        return herr_set(r->err, HE_VALUE, "scan() count must be an int from 1 to %d",
                        SCAN_COUNT_MAX);
    o->count = v->via.u64;
    return 0;
}

static int scan_opts_parse(req *r, uint32_t i, struct scan_opts *o)
{
    *o = (struct scan_opts){.count = SCAN_COUNT_DEFAULT};
    if (i >= r->nargs || r->args[i].type == MSGPACK_OBJECT_NIL)
        return 0;
    if (r->args[i].type != MSGPACK_OBJECT_MAP)
        return herr_set(r->err, HE_TYPE, "scan() argument %u must be an opts map", i + 1);
    const msgpack_object_map *m = &r->args[i].via.map;
    int rc = 0;
    for (uint32_t k = 0; !rc && k < m->size; k++)
        rc = scan_option(r, &m->ptr[k].key, &m->ptr[k].val, o);
    return rc;
}

struct scan_page {
    const struct scan_opts *o;
    struct name_list l;
    size_t cap;
};

static void scan_collect(const char *name, size_t len, hobj *val, void *arg)
{
    (void)val;
    struct scan_page *p = arg;
    if (p->o->match && !glob_match(p->o->match, p->o->match_len, name, len))
        return;
    if (p->l.n == p->cap)
        p->l.v = xrealloc(p->l.v, (p->cap = p->cap * 2 + 16) * sizeof *p->l.v);
    p->l.v[p->l.n++] = (struct name){name, len};
}

/* scan(scope, cursor, [opts]) -> [next_cursor, [names]] (Redis's SCAN). */
int m_scan(req *r)
{
    bool local;
    int64_t cursor;
    struct scan_opts o;
    int rc = parse_scope(r, &local);
    if (!rc)
        rc = arg_int(r, 1, &cursor);
    if (!rc && cursor < 0)
        rc = herr_set(r->err, HE_VALUE, "scan() cursor must not be negative");
    if (!rc)
        rc = scan_opts_parse(r, 2, &o);
    if (rc)
        return rc;
    struct scan_page p = {.o = &o};
    uint64_t next = ns_scan(r->ns, r->s, local, (uint64_t)cursor, o.count, scan_collect, &p);
    msgpack_pack_array(r->out, 2);
    msgpack_pack_uint64(r->out, next);
    msgpack_pack_array(r->out, p.l.n);
    for (size_t i = 0; i < p.l.n; i++) {
        msgpack_pack_str(r->out, p.l.v[i].len);
        msgpack_pack_str_body(r->out, p.l.v[i].p, p.l.v[i].len);
    }
    free(p.l.v);
    return 0;
}

int m_push_scope(req *r)
{
    int rc = ns_push_scope(r->ns, r->s, r->err);
    if (rc < 0)
        return rc;
    msgpack_pack_int(r->out, rc);
    return 0;
}

int m_pop_scope(req *r)
{
    int rc = ns_pop_scope(r->ns, r->s, r->err);
    if (rc < 0)
        return rc;
    msgpack_pack_int(r->out, rc);
    return 0;
}
