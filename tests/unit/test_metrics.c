/* The Prometheus text writer (server/prom.h) and the collector's pause
 * histogram that the metrics export (gc.h: gc_pause_histogram). */
#include "testlib.h"

#include "gc.h"
#include "heap.h"
#include "heap_priv.h"
#include "prom.h"

#include <string.h>

static void seconds_are_exact_decimals(void **state)
{
    (void)state;
    static const struct {
        uint64_t ns;
        const char *text;
    } cases[] = {
        {0, "0"},
        {1, "0.000000001"},
        {10000, "0.00001"},
        {25000, "0.000025"},
        {1000000, "0.001"},
        {1500000000, "1.5"},
        {2000000000, "2"},
        {10000000000, "10"},
        {12345678901, "12.345678901"},
        {UINT64_MAX, "18446744073.709551615"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[32];
        prom_fmt_seconds(buf, cases[i].ns);
        assert_string_equal(buf, cases[i].text);
    }
}

static void families_and_samples(void **state)
{
    (void)state;
    prom p;
    prom_init(&p);
    prom_gauge(&p, "heapd_clients", "Connected clients.", 3);
    prom_counter(&p, "heapd_x_total", "A \\ backslash\nand a newline.", UINT64_MAX);
    prom_family(&p, "heapd_objects", "gauge", "By type.");
    prom_u64(&p, "heapd_objects", "type", "NoneType", 1);
    prom_u64(&p, "heapd_objects", "type", "a\"b\\c\nd", 2);
    prom_seconds(&p, "heapd_s_total", "method", "ping", 1500);
    assert_string_equal(p.data, "# HELP heapd_clients Connected clients.\n"
                                "# TYPE heapd_clients gauge\n"
                                "heapd_clients 3\n"
                                "# HELP heapd_x_total A \\\\ backslash\\nand a newline.\n"
                                "# TYPE heapd_x_total counter\n"
                                "heapd_x_total 18446744073709551615\n"
                                "# HELP heapd_objects By type.\n"
                                "# TYPE heapd_objects gauge\n"
                                "heapd_objects{type=\"NoneType\"} 1\n"
                                "heapd_objects{type=\"a\\\"b\\\\c\\nd\"} 2\n"
                                "heapd_s_total{method=\"ping\"} 0.0000015\n");
    assert_int_equal(p.len, strlen(p.data));
    prom_free(&p);
    assert_null(p.data);
}

static void histogram_lines(void **state)
{
    (void)state;
    static const uint64_t bounds[2] = {10, 1000000};
    static const uint64_t counts[3] = {1, 4, 5};
    prom p;
    prom_init(&p);
    prom_histogram(&p, "heapd_h_seconds", "H.", bounds, counts, 2, 2500000000);
    assert_string_equal(p.data, "# HELP heapd_h_seconds H.\n"
                                "# TYPE heapd_h_seconds histogram\n"
                                "heapd_h_seconds_bucket{le=\"0.00001\"} 1\n"
                                "heapd_h_seconds_bucket{le=\"1\"} 4\n"
                                "heapd_h_seconds_bucket{le=\"+Inf\"} 5\n"
                                "heapd_h_seconds_sum 2.5\n"
                                "heapd_h_seconds_count 5\n");
    prom_free(&p);
}

static void big_output_grows(void **state)
{
    (void)state;
    prom p;
    prom_init(&p);
    for (int i = 0; i < 10000; i++)
        prom_u64(&p, "heapd_n", "i", "v", (uint64_t)i);
    assert_int_equal(p.len, strlen(p.data));
    assert_true(p.cap > p.len);
    assert_non_null(strstr(p.data, "heapd_n{i=\"v\"} 9999\n"));
    prom_free(&p);
}

/* Bounds are inclusive (Prometheus's le), and the buckets increase. */
static void pause_buckets(void **state)
{
    (void)state;
    for (int i = 1; i < GC_PAUSE_BUCKETS; i++)
        assert_true(gc_pause_bounds_us[i - 1] < gc_pause_bounds_us[i]);
    gc_pause_hist ph = {0};
    gc_pause_hist_add(&ph, 0);
    gc_pause_hist_add(&ph, gc_pause_bounds_us[0] * 1000);     /* on the bound: in */
    gc_pause_hist_add(&ph, gc_pause_bounds_us[0] * 1000 + 1); /* just past: the next */
    gc_pause_hist_add(&ph, gc_pause_bounds_us[GC_PAUSE_BUCKETS - 1] * 1000 + 1); /* +Inf */
    assert_int_equal(ph.counts[0], 2);
    assert_int_equal(ph.counts[1], 1);
    assert_int_equal(ph.counts[GC_PAUSE_BUCKETS], 1);
    assert_int_equal(ph.sum_ns, 2 * gc_pause_bounds_us[0] * 1000 + 1 +
                                    gc_pause_bounds_us[GC_PAUSE_BUCKETS - 1] * 1000 + 1);
}

/* Every slice the collector runs is one observation, cumulative. */
static void every_slice_is_counted(void **state)
{
    (void)state;
    tworld *w = tw_new(INTERN_PYTHON);
    heap *h = w->h;
    for (int i = 0; i < 20; i++)
        tw_bind(w, "x", "[[1, [2]], {'k': [3]}, (4, [5])]");
    for (int i = 0; i < 50; i++)
        gc_step_work(h, 3);
    gc_collect(h);
    gc_stats st;
    gc_get_stats(h, &st);
    uint64_t counts[GC_PAUSE_BUCKETS + 1], sum_ns;
    gc_pause_histogram(h, counts, &sum_ns);
    assert_true(st.slices >= 50); /* gc_collect is a request's work, not a slice */
    assert_int_equal(counts[GC_PAUSE_BUCKETS], st.slices);
    for (int i = 1; i <= GC_PAUSE_BUCKETS; i++)
        assert_true(counts[i - 1] <= counts[i]);
    assert_true(sum_ns / 1000 >= st.total_pause_us);
    assert_true(sum_ns / 1000 <= st.total_pause_us + st.slices);
    tw_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seconds_are_exact_decimals),
        cmocka_unit_test(families_and_samples),
        cmocka_unit_test(histogram_lines),
        cmocka_unit_test(big_output_grows),
        cmocka_unit_test(pause_buckets),
        cmocka_unit_test(every_slice_is_counted),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
