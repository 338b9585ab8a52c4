/* The tests heapctl bench runs: for each, the requests that prepare the
 * server, the rotation of requests measured, and the requests that leave the
 * server as it was found. Every name a test binds is global (bench
 * connections open no scope) and starts with "bench:". */
#ifndef HEAPCTL_BENCH_TESTS_H
#define HEAPCTL_BENCH_TESTS_H

#include "bench_req.h"

#include <stdio.h>

#define BENCH_PLAN_MAX 6

typedef struct bench_plan {
    const char *name;
    bench_req setup[BENCH_PLAN_MAX];
    size_t nsetup;
    bench_req rot[BENCH_PLAN_MAX]; /* a connection's k-th request is rot[k % nrot] */
    size_t nrot;
    bench_req chained[BENCH_PLAN_MAX]; /* what rot[i].then points to */
    size_t nchained;
    bench_req teardown[BENCH_PLAN_MAX];
    size_t nteardown;
} bench_plan;

/* The number of tests, and the name of the i-th in the default order. */
size_t bench_test_count(void);
const char *bench_test_name(size_t i);

/* Lists the tests, one "  name  description" line each. */
void bench_tests_help(FILE *out);

/* Builds test i's plan; data_size is the length of the str values (-d).
 * Returns 0, or -1 when out of memory (p is then empty). */
int bench_plan_build(bench_plan *p, size_t i, size_t data_size);
void bench_plan_free(bench_plan *p);

#endif
