/* heapctl bench: a redis-benchmark for heapd. */
#ifndef HEAPCTL_BENCH_H
#define HEAPCTL_BENCH_H

#include "endpoint.h"

/* Runs `heapctl bench [options]`; argv[0] is "bench". Returns heapctl's exit
 * status: 0 done, 1 the server answered an error, 2 usage, 3 could not
 * connect. */
int bench_main(const endpoint *ep, int argc, char **argv);

#endif
