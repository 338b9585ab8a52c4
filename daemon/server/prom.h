/* Prometheus's text exposition format (version 0.0.4), written into a
 * growing buffer: a family's HELP and TYPE lines, then its samples. Values
 * are integers, or seconds from an exact count of nanoseconds, so nothing
 * passes through a double and a scrape reads back what heapd counted.
 * Knows nothing of heapd: metrics.c says what is exported. */
#ifndef HEAPD_PROM_H
#define HEAPD_PROM_H

#include <stddef.h>
#include <stdint.h>

typedef struct prom {
    char *data; /* NUL-terminated text, owned; NULL until something is written */
    size_t len, cap;
} prom;

void prom_init(prom *p);
void prom_free(prom *p);

/* Appends text as it is. */
void prom_append(prom *p, const char *text);

/* "# HELP name help" and "# TYPE name type" (gauge, counter, histogram);
 * help is escaped as the format asks (backslash, newline). */
void prom_family(prom *p, const char *name, const char *type, const char *help);

/* One sample, "name v" or, when label is not NULL, name{label="value"} v
 * with value escaped (backslash, double quote, newline). */
void prom_u64(prom *p, const char *name, const char *label, const char *value, uint64_t v);
/* The same with v nanoseconds written as exact decimal seconds. */
void prom_seconds(prom *p, const char *name, const char *label, const char *value, uint64_t ns);

/* A family of one unlabelled sample. */
void prom_gauge(prom *p, const char *name, const char *help, uint64_t v);
void prom_counter(prom *p, const char *name, const char *help, uint64_t v);

/* A histogram in seconds: its family, name_bucket{le="..."} for each of
 * the n bounds (µs, increasing) with cumulative[i] and then le="+Inf" with
 * cumulative[n] (every observation), name_sum (sum_ns) and name_count. */
void prom_histogram(prom *p, const char *name, const char *help, const uint64_t *bounds_us,
                    const uint64_t *cumulative, size_t n, uint64_t sum_ns);

/* ns as decimal seconds: "0", "0.000025", "1.5", "12"; buf of 32 bytes. */
void prom_fmt_seconds(char buf[32], uint64_t ns);

#endif
