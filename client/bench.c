/* heapctl bench: options, and each test's setup, measured run, teardown
 * and report. */
#include "bench.h"
#include "bench_net.h"
#include "bench_report.h"
#include "bench_tests.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define MAX_TESTS   32
#define PROGRESS_MS 250

typedef struct bench_opts {
    unsigned clients, pipeline;
    uint64_t requests;
    size_t data_size;
    bool run[MAX_TESTS]; /* by index in the default order */
    bool csv, quiet;
} bench_opts;

static void help(FILE *out)
{
    fputs("usage: heapctl [connection options] bench [-c CLIENTS] [-n REQUESTS] [-P PIPELINE]\n"
          "                                          [-t TESTS] [-d SIZE] [-q] [--csv]\n"
          "\n"
          "Measures heapd as redis-benchmark measures Redis: CLIENTS connections each keep\n"
          "PIPELINE requests in flight until REQUESTS have been answered, for each test.\n"
          "Each test prints its requests per second and its p50, p99 and max latency\n"
          "(from a request's write to its answer's read).\n"
          "\n"
          "  -c CLIENTS   connections (default 50)\n"
          "  -n REQUESTS  requests per test, across all connections (default 100000)\n"
          "  -P PIPELINE  requests in flight per connection (default 1)\n"
          "  -t TESTS     comma-separated tests to run (default: all), in the order below\n"
          "  -d SIZE      bytes in the str values of bind_str and get (default 3)\n"
          "  -q           no progress line (it is shown only when stderr is a terminal)\n"
          "  --csv        CSV, with the columns of redis-benchmark --csv\n"
          "  --help       this help\n"
          "\n"
          "Tests:\n",
          out);
    bench_tests_help(out);
    fputs("\nThe names the tests bind are global and start with \"bench:\"; each test\n"
          "unbinds them when it ends. Exit status: 0 done, 1 the server answered an\n"
          "error, 2 usage, 3 could not connect.\n",
          out);
}

static int usage_error(const char *fmt, const char *arg)
{
    fputs("heapctl bench: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'heapctl bench --help'.\n", stderr);
    return 2;
}

/* A whole decimal number in [min, max], or false. */
static bool parse_num(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || errno || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static int parse_tests(const char *list, bench_opts *o)
{
    memset(o->run, 0, sizeof o->run);
    const char *p = list;
    for (;;) {
        size_t len = strcspn(p, ",");
        size_t i = 0;
        while (i < bench_test_count() &&
               (strlen(bench_test_name(i)) != len || memcmp(bench_test_name(i), p, len) != 0))
            i++;
        if (i == bench_test_count())
            return usage_error("unknown test in -t '%s' (the tests are listed by --help)", list);
        o->run[i] = true;
        if (!p[len])
            return 0;
        p += len + 1;
    }
}

/* Sets one option from its value; returns 0 or 2. */
static int set_option(char opt, const char *val, bench_opts *o)
{
    uint64_t v = 0;
    static const struct {
        char opt;
        uint64_t min, max;
        const char *what;
    } nums[] = {
        {'c', 1, 10000, "-c CLIENTS must be a number from 1 to 10000, not '%s'"},
        {'n', 1, 100000000, "-n REQUESTS must be a number from 1 to 100000000, not '%s'"},
        {'P', 1, 10000, "-P PIPELINE must be a number from 1 to 10000, not '%s'"},
        {'d', 0, 1 << 20, "-d SIZE must be a number from 0 to 1048576, not '%s'"},
    };
    if (opt == 't')
        return parse_tests(val, o);
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (nums[i].opt != opt)
            continue;
        if (!parse_num(val, nums[i].min, nums[i].max, &v))
            return usage_error(nums[i].what, val);
        if (opt == 'c')
            o->clients = (unsigned)v;
        else if (opt == 'n')
            o->requests = v;
        else if (opt == 'P')
            o->pipeline = (unsigned)v;
        else
            o->data_size = (size_t)v;
    }
    return 0;
}

/* Returns -1 to go on, else the exit status (0 after --help). */
static int parse_opts(int argc, char **argv, bench_opts *o)
{
    *o = (bench_opts){.clients = 50, .pipeline = 1, .requests = 100000, .data_size = 3};
    for (size_t i = 0; i < bench_test_count(); i++)
        o->run[i] = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0) {
            help(stdout);
            return 0;
        } else if (strcmp(a, "--csv") == 0) {
            o->csv = true;
        } else if (strcmp(a, "-q") == 0) {
            o->quiet = true;
        } else if (a[0] == '-' && a[1] && strchr("cnPtd", a[1])) {
            const char *val = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
            if (!val)
                return usage_error("option '%s' needs a value", a);
            int rc = set_option(a[1], val, o);
            if (rc)
                return rc;
        } else {
            return usage_error("unknown option '%s'", a);
        }
    }
    return -1;
}

/* Sends reqs in order on connection 0 and waits for every answer. */
static int run_script(bench_net *net, const bench_req *reqs, size_t n, bench_result *res)
{
    bench_phase ph = {.rot = reqs, .nrot = n, .nconns = 1, .pipeline = (unsigned)n, .requests = n};
    return n ? bench_net_run(net, &ph, res) : 0;
}

static int fail_test(const char *test, const bench_result *res)
{
    fprintf(stderr, "heapctl bench: %s: %s\n", test, res->error);
    return 1;
}

/* The measured part of a test: figures printed, or 1. */
static int measure(bench_net *net, const bench_opts *o, const bench_plan *p, uint64_t *lat)
{
    bench_progress progress;
    bench_phase ph = {.rot = p->rot,
                      .nrot = p->nrot,
                      .nconns = o->clients,
                      .pipeline = o->pipeline,
                      .requests = o->requests,
                      .lat_ns = lat};
    bench_result res;
    if (!o->quiet && isatty(STDERR_FILENO)) {
        bench_progress_start(&progress, stderr, p->name, o->requests, uv_hrtime());
        ph.tick = bench_progress_tick;
        ph.tick_arg = &progress;
        ph.tick_ms = PROGRESS_MS;
    }
    int rc = bench_net_run(net, &ph, &res);
    if (ph.tick)
        bench_progress_clear(&progress);
    if (rc != 0)
        return fail_test(p->name, &res);
    if (res.done == 0) {
        fprintf(stderr, "heapctl bench: %s: -n %llu is less than one round of this test\n", p->name,
                (unsigned long long)o->requests);
        return 2;
    }
    bench_summary s;
    bench_summarize(lat, res.done, res.end_ns - res.start_ns, &s);
    if (o->csv)
        bench_report_csv(stdout, p->name, &s);
    else
        bench_report_line(stdout, p->name, &s);
    fflush(stdout);
    return 0;
}

/* One test: setup, measure, teardown (also after a failed measure, so that
 * the server is left as found). */
static int run_test(bench_net *net, const bench_opts *o, size_t i)
{
    bench_plan p;
    uint64_t *lat = malloc(o->requests * sizeof *lat);
    if (!lat || bench_plan_build(&p, i, o->data_size) != 0) {
        fprintf(stderr, "heapctl bench: %s: out of memory\n", bench_test_name(i));
        free(lat);
        return 1;
    }
    bench_result res;
    int rc = run_script(net, p.setup, p.nsetup, &res) ? fail_test(p.name, &res)
                                                      : measure(net, o, &p, lat);
    if (run_script(net, p.teardown, p.nteardown, &res) != 0 && rc == 0)
        rc = fail_test(p.name, &res); /* else the first error is the one to tell */
    bench_plan_free(&p);
    free(lat);
    return rc;
}

/* With a token, each connection authenticates first. */
static int authenticate(bench_net *net, const endpoint *ep, unsigned clients)
{
    bench_req auth;
    bench_result res;
    if (!ep->token)
        return 0;
    if (bench_req_make(&auth, "auth", "s", ep->token) != 0) {
        fputs("heapctl bench: out of memory\n", stderr);
        return 1;
    }
    bench_phase ph = {
        .rot = &auth, .nrot = 1, .nconns = clients, .pipeline = 1, .requests = clients};
    int rc = bench_net_run(net, &ph, &res);
    bench_req_free(&auth);
    return rc ? fail_test("auth", &res) : 0;
}

int bench_main(const endpoint *ep, int argc, char **argv)
{
    bench_opts o;
    char err[400];
    assert(bench_test_count() <= MAX_TESTS);
    int rc = parse_opts(argc, argv, &o);
    if (rc >= 0)
        return rc;
    /* A write to a connection the server closed must fail with EPIPE (and
     * be reported), not kill heapctl. */
    void (*old_sigpipe)(int) = signal(SIGPIPE, SIG_IGN);
    bench_net *net = bench_net_open(ep, o.clients, err, sizeof err);
    if (!net) {
        fprintf(stderr, "heapctl bench: %s\n", err);
        rc = 3;
    } else {
        rc = authenticate(net, ep, o.clients);
        if (rc == 0 && o.csv)
            bench_report_csv_header(stdout);
        for (size_t i = 0; i < bench_test_count() && rc == 0; i++)
            if (o.run[i])
                rc = run_test(net, &o, i);
        bench_net_close(net);
    }
    signal(SIGPIPE, old_sigpipe);
    return rc;
}
