/* The tests of heapctl bench, as data: each builds its requests once. */
#include "bench_tests.h"

#include <stdarg.h>

enum part { SETUP, ROT, CHAINED, TEARDOWN };

/* Appends a request to one part of the plan; returns it, or NULL. */
static bench_req *add(bench_plan *p, enum part part, const char *method, const char *fmt, ...)
{
    bench_req *arr[] = {p->setup, p->rot, p->chained, p->teardown};
    size_t *count[] = {&p->nsetup, &p->nrot, &p->nchained, &p->nteardown};
    if (*count[part] == BENCH_PLAN_MAX)
        return NULL;
    bench_req *r = &arr[part][*count[part]];
    va_list ap;
    va_start(ap, fmt);
    int rc = bench_req_makev(r, method, fmt, ap);
    va_end(ap);
    if (rc != 0)
        return NULL;
    (*count[part])++;
    return r;
}

/* Every name a test binds is unbound at its end. */
#define UNBIND(p, name) add(p, TEARDOWN, "unbind", "s", name)

static int build_ping(bench_plan *p, size_t d)
{
    (void)d;
    return add(p, ROT, "ping", "") ? 0 : -1;
}

static int build_bind(bench_plan *p, size_t d)
{
    (void)d;
    return add(p, ROT, "bind", "si", "bench:bind", 26) && UNBIND(p, "bench:bind") ? 0 : -1;
}

static int build_bind_str(bench_plan *p, size_t d)
{
    return add(p, ROT, "bind", "sx", "bench:bind_str", d) && UNBIND(p, "bench:bind_str") ? 0 : -1;
}

static int build_get(bench_plan *p, size_t d)
{
    return add(p, SETUP, "bind", "sx", "bench:get", d) && add(p, ROT, "get", "s", "bench:get") &&
                   UNBIND(p, "bench:get")
               ? 0
               : -1;
}

static int build_append(bench_plan *p, size_t d)
{
    (void)d;
    return add(p, SETUP, "bind", "sL", "bench:append") &&
                   add(p, ROT, "append", "si", "bench:append", 26) && UNBIND(p, "bench:append")
               ? 0
               : -1;
}

static int build_setitem(bench_plan *p, size_t d)
{
    (void)d;
    return add(p, SETUP, "bind", "sD", "bench:setitem", "field", 0) &&
                   add(p, ROT, "setitem", "ssi", "bench:setitem", "field", 26) &&
                   UNBIND(p, "bench:setitem")
               ? 0
               : -1;
}

static int build_getitem(bench_plan *p, size_t d)
{
    (void)d;
    return add(p, SETUP, "bind", "sD", "bench:getitem", "field", 26) &&
                   add(p, ROT, "getitem", "ss", "bench:getitem", "field") &&
                   UNBIND(p, "bench:getitem")
               ? 0
               : -1;
}

/* new answers a ref held as a handle of the session; its release can only
 * be sent once that answer is in, so each slot alternates the two. new
 * reserves the budget for both, so every handle is released. */
static int build_new_release(bench_plan *p, size_t d)
{
    (void)d;
    bench_req *new_req = add(p, ROT, "new", "L");
    bench_req *release = add(p, CHAINED, "release", "R");
    if (!new_req || !release)
        return -1;
    new_req->cost = 2;
    new_req->then = release;
    release->cost = 0;
    return 0;
}

/* A connection's requests run in order, so each pop follows that
 * connection's own append: the list never underflows and stays short. */
static int build_mixed(bench_plan *p, size_t d)
{
    (void)d;
    const char *key = "bench:mixed:key", *list = "bench:mixed:list", *dict = "bench:mixed:dict";
    return add(p, SETUP, "bind", "si", key, 26) && add(p, SETUP, "bind", "sL", list) &&
                   add(p, SETUP, "bind", "sD", dict, "field", 26) &&
                   add(p, ROT, "bind", "si", key, 26) && add(p, ROT, "get", "s", key) &&
                   add(p, ROT, "append", "si", list, 26) &&
                   add(p, ROT, "setitem", "ssi", dict, "field", 26) &&
                   add(p, ROT, "getitem", "ss", dict, "field") && add(p, ROT, "pop", "s", list) &&
                   UNBIND(p, key) && UNBIND(p, list) && UNBIND(p, dict)
               ? 0
               : -1;
}

typedef struct test_def {
    const char *name;
    const char *help;
    int (*build)(bench_plan *p, size_t data_size);
} test_def;

static const test_def tests[] = {
    {"ping", "ping()", build_ping},
    {"bind", "bind('bench:bind', 26): rebinds a name to a small int", build_bind},
    {"bind_str", "bind('bench:bind_str', 'xx..'): a str of -d bytes", build_bind_str},
    {"get", "get('bench:get'): a str of -d bytes", build_get},
    {"append", "append('bench:append', 26) to a list", build_append},
    {"setitem", "setitem('bench:setitem', 'field', 26) on a dict", build_setitem},
    {"getitem", "getitem('bench:getitem', 'field') on a dict", build_getitem},
    {"new_release", "new([]) then release(ref) of its answer; both count", build_new_release},
    {"mixed", "bind, get, append, setitem, getitem, pop in turn", build_mixed},
};

size_t bench_test_count(void)
{
    return sizeof tests / sizeof tests[0];
}

const char *bench_test_name(size_t i)
{
    return tests[i].name;
}

void bench_tests_help(FILE *out)
{
    for (size_t i = 0; i < bench_test_count(); i++)
        fprintf(out, "  %-12s %s\n", tests[i].name, tests[i].help);
}

int bench_plan_build(bench_plan *p, size_t i, size_t data_size)
{
    *p = (bench_plan){.name = tests[i].name};
    if (tests[i].build(p, data_size) == 0)
        return 0;
    bench_plan_free(p);
    return -1;
}

void bench_plan_free(bench_plan *p)
{
    bench_req *arr[] = {p->setup, p->rot, p->chained, p->teardown};
    size_t count[] = {p->nsetup, p->nrot, p->nchained, p->nteardown};
    for (size_t part = 0; part < 4; part++)
        for (size_t j = 0; j < count[part]; j++)
            bench_req_free(&arr[part][j]);
    *p = (bench_plan){0};
}
