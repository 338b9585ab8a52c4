#include "testlib.h"
#include "pylit.h"

#include <stdio.h>
#include <stdlib.h>
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
    if (rc != MSGPACK_UNPACK_SUCCESS)
        fail_msg("test literal %s did not unpack", lit);
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
    if (!o)
        fail_msg("name %s is not bound", name);
    return o;
}

uint32_t tw_refcount(tworld *w, const char *name)
{
    return tw_get(w, name)->refcnt;
}

int tw_try_build_obj(tworld *w, const msgpack_object *obj, hobj **out, herr *err)
{
    return lit_build(w->h, obj, resolve, w, out, err);
}

uint64_t tw_scaled(uint64_t n, uint64_t min)
{
    const char *env = getenv("HEAPD_TEST_SCALE");
    unsigned long long div = env && *env ? strtoull(env, NULL, 10) : 1;
    uint64_t v = n / (div ? div : 1);
    return v < min ? min : v;
}

struct snap_fill {
    tsnap *s;
    size_t i;
};

static void snap_one(hobj *o, void *arg)
{
    struct snap_fill *f = arg;
    f->s->ids[f->i] = hobj_id(o);
    f->s->counts[f->i] = o->refcnt;
    f->i++;
}

tsnap *tsnap_take(heap *h)
{
    tsnap *s = test_calloc(1, sizeof *s);
    s->st = *heap_get_stats(h);
    for (int t = 0; t < T__COUNT; t++)
        s->live[t] = heap_live(h, (htype)t);
    s->n = heap_live_total(h);
    s->ids = test_calloc(s->n + 1, sizeof *s->ids);
    s->counts = test_calloc(s->n + 1, sizeof *s->counts);
    struct snap_fill f = {s, 0};
    heap_foreach(h, T__COUNT, snap_one, &f);
    assert_int_equal(f.i, s->n);
    return s;
}

static void snap_free(tsnap *s)
{
    test_free(s->ids);
    test_free(s->counts);
    test_free(s);
}

/* Every heap_stats field, by name (a field added later is still compared,
 * by the memcmp in snap_diff, if not named). */
static const struct {
    const char *name;
    size_t off;
} stat_fields[] = {
    {"allocated", offsetof(heap_stats, allocated)},
    {"freed", offsetof(heap_stats, freed)},
    {"bytes", offsetof(heap_stats, bytes)},
    {"peak_bytes", offsetof(heap_stats, peak_bytes)},
    {"increfs", offsetof(heap_stats, increfs)},
    {"decrefs", offsetof(heap_stats, decrefs)},
    {"frees_refcount", offsetof(heap_stats, frees_refcount)},
    {"frees_gc", offsetof(heap_stats, frees_gc)},
    {"cascade", offsetof(heap_stats, cascade)},
    {"longest_cascade", offsetof(heap_stats, longest_cascade)},
    {"pending", offsetof(heap_stats, pending)},
};

static uint64_t stat_at(const heap_stats *st, size_t off)
{
    uint64_t v;
    memcpy(&v, (const char *)st + off, sizeof v);
    return v;
}

/* The first difference between h and s, written to msg; false if none. */
static bool snap_diff(heap *h, const tsnap *s, char *msg, size_t size)
{
    const heap_stats *st = heap_get_stats(h);
    for (size_t i = 0; i < sizeof stat_fields / sizeof stat_fields[0]; i++) {
        uint64_t was = stat_at(&s->st, stat_fields[i].off), now = stat_at(st, stat_fields[i].off);
        if (was != now)
            return snprintf(msg, size, "stats.%s changed: %llu -> %llu", stat_fields[i].name,
                            (unsigned long long)was, (unsigned long long)now),
                   true;
    }
    if (memcmp(st, &s->st, sizeof *st) != 0)
        return snprintf(msg, size, "a stats field changed"), true;
    for (int t = 0; t < T__COUNT; t++)
        if (heap_live(h, (htype)t) != s->live[t])
            return snprintf(msg, size, "live %s changed: %llu -> %llu", htype_name((htype)t),
                            (unsigned long long)s->live[t],
                            (unsigned long long)heap_live(h, (htype)t)),
                   true;
    for (size_t i = 0; i < s->n; i++) {
        hobj *o = heap_lookup(h, s->ids[i]);
        if (!o)
            return snprintf(msg, size, "object @%llu was freed", (unsigned long long)s->ids[i]),
                   true;
        if (o->refcnt != s->counts[i])
            return snprintf(msg, size, "%s @%llu: refcount %u -> %u", htype_name(o->type),
                            (unsigned long long)s->ids[i], s->counts[i], o->refcnt),
                   true;
    }
    if (heap_live_total(h) != s->n)
        return snprintf(msg, size, "live objects %zu -> %llu", s->n,
                        (unsigned long long)heap_live_total(h)),
               true;
    return false;
}

void tsnap_assert_same(heap *h, tsnap *s)
{
    char msg[200];
    bool differs = snap_diff(h, s, msg, sizeof msg);
    snap_free(s);
    if (differs)
        fail_msg("heap changed: %s", msg);
}
