#include "testlib.h"
#include "pylit.h"

#include <string.h>

tworld *tw_new(intern_policy policy)
{
    tworld *w = test_calloc(1, sizeof *w);
    heap_config cfg = {.intern = policy, .max_depth = HEAP_DEFAULT_MAX_DEPTH};
    w->h = heap_new(&cfg);
    w->ns = ns_new(w->h, 1000);
    w->s = ns_session_new(w->ns);
    return w;
}

void tw_free(tworld *w)
{
    tw_check(w);
    ns_free(w->ns);
    heap_drain_all(w->h);
    heap_free(w->h);
    test_free(w);
}

void tw_check(tworld *w)
{
    heap_drain_all(w->h);
    assert_check_ok(w->h);
}

msgpack_object tw_msgpack(const char *lit, msgpack_zone *zone)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pylit_error perr;
    if (pylit_parse(lit, strlen(lit), &sb, &perr))
        fail_msg("test literal %s: column %zu: %s", lit, perr.col, perr.msg);
    /* the zone owns copies of strings only if they are copied: keep the
     * buffer alive by copying it into the zone */
    char *copy = msgpack_zone_malloc(zone, sb.size ? sb.size : 1);
    memcpy(copy, sb.data, sb.size);
    size_t off = 0;
    msgpack_object obj;
    int rc = msgpack_unpack(copy, sb.size, &off, zone, &obj);
    msgpack_sbuffer_destroy(&sb);
    if (rc != MSGPACK_UNPACK_SUCCESS) fail_msg("test literal %s did not unpack", lit);
    return obj;
}

static int resolve(void *ctx, const char *name, size_t len, hobj **out, herr *err)
{
    tworld *w = ctx;
    return ns_resolve(w->ns, w->s, name, len, out, err);
}

int tw_try_build(tworld *w, const char *lit, hobj **out, herr *err)
{
    msgpack_zone *zone = msgpack_zone_new(1024);
    msgpack_object obj = tw_msgpack(lit, zone);
    int rc = lit_build(w->h, &obj, resolve, w, out, err);
    msgpack_zone_free(zone);
    return rc;
}

hobj *tw_build(tworld *w, const char *lit)
{
    hobj *o = NULL;
    herr err = {0};
    if (tw_try_build(w, lit, &o, &err))
        fail_msg("building %s: %s: %s", lit, herr_name(err.code), err.msg);
    return o;
}

void tw_bind(tworld *w, const char *name, const char *lit)
{
    ns_bind(w->ns, w->s, name, strlen(name), tw_build(w, lit), false);
}

hobj *tw_get(tworld *w, const char *name)
{
    hobj *o = ns_lookup(w->ns, w->s, name, strlen(name));
    if (!o) fail_msg("name %s is not bound", name);
    return o;
}

uint32_t tw_refcount(tworld *w, const char *name)
{
    return tw_get(w, name)->refcnt;
}
