/* heapctl bench's figures: requests per second and exact latency
 * percentiles of a test, printed like redis-benchmark (a line, or --csv
 * with redis-benchmark --csv's columns), and the progress line. */
#ifndef HEAPCTL_BENCH_REPORT_H
#define HEAPCTL_BENCH_REPORT_H

#include <stdint.h>
#include <stdio.h>

typedef struct bench_summary {
    uint64_t requests;
    double rps;
    double avg_ms, min_ms, p50_ms, p95_ms, p99_ms, max_ms;
} bench_summary;

/* The figures of n answers (n > 0) in elapsed_ns; sorts lat_ns in place.
 * A percentile p is the nearest-rank one: the smallest latency that at
 * least p% of the requests did not exceed. */
void bench_summarize(uint64_t *lat_ns, uint64_t n, uint64_t elapsed_ns, bench_summary *s);

/* "test: R requests per second, p50=X msec, p99=Y msec, max=Z msec" */
void bench_report_line(FILE *out, const char *test, const bench_summary *s);
void bench_report_csv_header(FILE *out);
void bench_report_csv(FILE *out, const char *test, const bench_summary *s);

/* The progress line ("test: rps=R (overall: O), NN% done"), rewritten in
 * place with \r. Pass bench_progress_tick and a bench_progress as a phase's
 * tick; clear it before printing the result. */
typedef struct bench_progress {
    FILE *out;
    const char *test;
    uint64_t total, start_ns;
    uint64_t last_done, last_ns;
    int width; /* of the last line written, to blank it */
} bench_progress;

void bench_progress_start(bench_progress *p, FILE *out, const char *test, uint64_t total,
                          uint64_t now_ns);
void bench_progress_tick(void *progress, uint64_t done, uint64_t now_ns);
void bench_progress_clear(bench_progress *p);

#endif
