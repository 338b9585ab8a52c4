/* heapctl bench's engine: one thread, one libuv loop over N connections,
 * each keeping up to P requests in flight. Requests are copied from
 * pre-encoded templates with the msgid patched; the answers of a read are
 * framed with mpscan and decoded into one reused zone, and the requests they
 * free up leave in one write per connection. */
#ifndef HEAPCTL_BENCH_NET_H
#define HEAPCTL_BENCH_NET_H

#include "bench_req.h"
#include "endpoint.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bench_net bench_net;

/* One phase: requests sent round the rotation on the first nconns
 * connections until `requests` are spent (a request's cost is taken from
 * the budget when it is sent), then every answer awaited. */
typedef struct bench_phase {
    const bench_req *rot;
    size_t nrot;
    unsigned nconns;
    unsigned pipeline;
    uint64_t requests;
    uint64_t *lat_ns; /* room for `requests` latencies, or NULL */
    /* Called when the phase starts and every tick_ms while it runs, if set. */
    void (*tick)(void *arg, uint64_t done, uint64_t now_ns);
    void *tick_arg;
    unsigned tick_ms;
} bench_phase;

typedef struct bench_result {
    uint64_t done; /* answers received (= latencies recorded) */
    uint64_t start_ns, end_ns;
    bool failed;
    char error[320]; /* why, when failed: the first error */
} bench_result;

/* Connects nconns connections to ep. Returns NULL when one cannot connect,
 * with the reason in err. */
bench_net *bench_net_open(const endpoint *ep, unsigned nconns, char *err, size_t errlen);

/* Runs a phase to its end. After a failure (an error answer, a connection
 * lost, an answer that makes no sense) no new request is started, but the
 * ones in flight are still awaited. Returns 0, or -1 with res->error. */
int bench_net_run(bench_net *net, const bench_phase *ph, bench_result *res);

/* Closes every connection and frees net; NULL is allowed. */
void bench_net_close(bench_net *net);

#endif
