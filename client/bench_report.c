/* heapctl bench's figures and progress line. */
#include "bench_report.h"

#include <stdlib.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

/* Nearest rank: the ceil(p/100 * n)-th smallest (1-based). */
static uint64_t percentile(const uint64_t *sorted, uint64_t n, unsigned p)
{
    uint64_t rank = (p * n + 99) / 100;
    return sorted[rank ? rank - 1 : 0];
}

void bench_summarize(uint64_t *lat_ns, uint64_t n, uint64_t elapsed_ns, bench_summary *s)
{
    qsort(lat_ns, n, sizeof *lat_ns, cmp_u64);
    double sum = 0;
    for (uint64_t i = 0; i < n; i++)
        sum += (double)lat_ns[i];
    *s = (bench_summary){
        .requests = n,
        .rps = (double)n * 1e9 / (double)(elapsed_ns ? elapsed_ns : 1),
        .avg_ms = sum / (double)n / 1e6,
        .min_ms = ms(lat_ns[0]),
        .p50_ms = ms(percentile(lat_ns, n, 50)),
        .p95_ms = ms(percentile(lat_ns, n, 95)),
        .p99_ms = ms(percentile(lat_ns, n, 99)),
        .max_ms = ms(lat_ns[n - 1]),
    };
}

void bench_report_line(FILE *out, const char *test, const bench_summary *s)
{
    fprintf(out, "%s: %.2f requests per second, p50=%.3f msec, p99=%.3f msec, max=%.3f msec\n",
            test, s->rps, s->p50_ms, s->p99_ms, s->max_ms);
}

void bench_report_csv_header(FILE *out)
{
    fputs("\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\","
          "\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n",
          out);
}

void bench_report_csv(FILE *out, const char *test, const bench_summary *s)
{
    fprintf(out, "\"%s\",\"%.2f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\"\n", test,
            s->rps, s->avg_ms, s->min_ms, s->p50_ms, s->p95_ms, s->p99_ms, s->max_ms);
}

void bench_progress_start(bench_progress *p, FILE *out, const char *test, uint64_t total,
                          uint64_t now_ns)
{
    *p = (bench_progress){
        .out = out, .test = test, .total = total, .start_ns = now_ns, .last_ns = now_ns};
}

static double per_second(uint64_t count, uint64_t ns)
{
    return ns ? (double)count * 1e9 / (double)ns : 0.0;
}

void bench_progress_tick(void *progress, uint64_t done, uint64_t now_ns)
{
    bench_progress *p = progress;
    double rps = per_second(done - p->last_done, now_ns - p->last_ns);
    double overall = per_second(done, now_ns - p->start_ns);
    unsigned pct = p->total ? (unsigned)(done * 100 / p->total) : 100;
    int w =
        fprintf(p->out, "\r%s: rps=%.1f (overall: %.1f), %u%% done", p->test, rps, overall, pct);
    if (w < p->width) /* blank the tail of a longer line */
        fprintf(p->out, "%*s", p->width - w, "");
    if (w > p->width)
        p->width = w;
    fflush(p->out);
    p->last_done = done;
    p->last_ns = now_ns;
}

void bench_progress_clear(bench_progress *p)
{
    if (p->width > 0) {
        fprintf(p->out, "\r%*s\r", p->width, "");
        fflush(p->out);
    }
    p->width = 0;
}
