/* Prometheus's text format (prom.h). */
#include "prom.h"
#include "util.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void prom_init(prom *p)
{
    *p = (prom){0};
}

void prom_free(prom *p)
{
    free(p->data);
    *p = (prom){0};
}

static void reserve(prom *p, size_t more)
{
    if (p->len + more + 1 <= p->cap)
        return;
    size_t cap = p->cap ? p->cap : 4096;
    while (cap < p->len + more + 1)
        cap *= 2;
    p->data = xrealloc(p->data, cap);
    p->cap = cap;
}

static void put(prom *p, const char *s, size_t n)
{
    reserve(p, n);
    memcpy(p->data + p->len, s, n);
    p->len += n;
    p->data[p->len] = '\0';
}

static void puts_(prom *p, const char *s)
{
    put(p, s, strlen(s));
}

void prom_append(prom *p, const char *text)
{
    puts_(p, text);
}

/* s with backslash and newline escaped, and the double quote too when in
 * a label value (the format's two escaping rules). */
static void put_escaped(prom *p, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            puts_(p, "\\\\");
        else if (*s == '\n')
            puts_(p, "\\n");
        else if (*s == '"' && quote)
            puts_(p, "\\\"");
        else
            put(p, s, 1);
    }
}

void prom_family(prom *p, const char *name, const char *type, const char *help)
{
    puts_(p, "# HELP ");
    puts_(p, name);
    puts_(p, " ");
    put_escaped(p, help, 0);
    puts_(p, "\n# TYPE ");
    puts_(p, name);
    puts_(p, " ");
    puts_(p, type);
    puts_(p, "\n");
}

static void sample(prom *p, const char *name, const char *label, const char *value, const char *num)
{
    puts_(p, name);
    if (label) {
        puts_(p, "{");
        puts_(p, label);
        puts_(p, "=\"");
        put_escaped(p, value, 1);
        puts_(p, "\"}");
    }
    puts_(p, " ");
    puts_(p, num);
    puts_(p, "\n");
}

void prom_u64(prom *p, const char *name, const char *label, const char *value, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%" PRIu64, v);
    sample(p, name, label, value, num);
}

void prom_fmt_seconds(char buf[32], uint64_t ns)
{
    int n = snprintf(buf, 32, "%" PRIu64 ".%09" PRIu64, ns / 1000000000u, ns % 1000000000u);
    while (buf[n - 1] == '0') /* "1.500000000" -> "1.5", "2.000000000" -> "2." */
        buf[--n] = '\0';
    if (buf[n - 1] == '.')
        buf[--n] = '\0';
}

void prom_seconds(prom *p, const char *name, const char *label, const char *value, uint64_t ns)
{
    char num[32];
    prom_fmt_seconds(num, ns);
    sample(p, name, label, value, num);
}

void prom_gauge(prom *p, const char *name, const char *help, uint64_t v)
{
    prom_family(p, name, "gauge", help);
    prom_u64(p, name, NULL, NULL, v);
}

void prom_counter(prom *p, const char *name, const char *help, uint64_t v)
{
    prom_family(p, name, "counter", help);
    prom_u64(p, name, NULL, NULL, v);
}

void prom_histogram(prom *p, const char *name, const char *help, const uint64_t *bounds_us,
                    const uint64_t *cumulative, size_t n, uint64_t sum_ns)
{
    char sub[128], le[32];
    prom_family(p, name, "histogram", help);
    snprintf(sub, sizeof sub, "%s_bucket", name);
    for (size_t i = 0; i < n; i++) {
        prom_fmt_seconds(le, bounds_us[i] * 1000);
        prom_u64(p, sub, "le", le, cumulative[i]);
    }
    prom_u64(p, sub, "le", "+Inf", cumulative[n]);
    snprintf(sub, sizeof sub, "%s_sum", name);
    prom_seconds(p, sub, NULL, NULL, sum_ns);
    snprintf(sub, sizeof sub, "%s_count", name);
    prom_u64(p, sub, NULL, NULL, cumulative[n]);
}
