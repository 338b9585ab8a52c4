/* heapctl stats: the server's statistics as INFO-style text, as JSON, or
 * as a live line refreshed every few seconds (like redis-cli --stat). */
#include "commands.h"
#include "format.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Settings where 0 means no limit (SPEC §7), wherever stats shows them. */
static const char *const unlimited_keys[] = {"limit", "max_objects", "max_memory_bytes"};

static bool key_is(const msgpack_object *k, const char *name)
{
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(name) &&
           memcmp(k->via.str.ptr, name, k->via.str.size) == 0;
}

static bool zero_means_unlimited(const msgpack_object *key, const msgpack_object *v)
{
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 != 0)
        return false;
    for (size_t i = 0; i < sizeof unlimited_keys / sizeof unlimited_keys[0]; i++)
        if (key_is(key, unlimited_keys[i]))
            return true;
    return false;
}

/* A value for people: str bare, a float to two decimals (usec_per_call
 * 1.58, not 1.5826666666666667: --json keeps every digit), else repr. */
static void put_plain(msgpack_sbuffer *b, const msgpack_object *v)
{
    if (v->type == MSGPACK_OBJECT_STR) {
        msgpack_sbuffer_write(b, v->via.str.ptr, v->via.str.size);
    } else if (v->type == MSGPACK_OBJECT_FLOAT64 || v->type == MSGPACK_OBJECT_FLOAT32) {
        char buf[64];
        int n = snprintf(buf, sizeof buf, "%.2f", v->via.f64);
        msgpack_sbuffer_write(b, buf, n > 0 && (size_t)n < sizeof buf ? (size_t)n : 0);
    } else {
        fmt_repr(b, v);
    }
}

static void put_value(msgpack_sbuffer *b, const msgpack_object *key, const msgpack_object *v)
{
    if (zero_means_unlimited(key, v))
        msgpack_sbuffer_write(b, "unlimited", 9);
    else
        put_plain(b, v);
}

/* "calls=3,errors=0,usec=12": a nested map on one line, as Redis prints
 * cmdstat lines. */
static void put_inline_map(msgpack_sbuffer *b, const msgpack_object_map *m)
{
    for (uint32_t i = 0; i < m->size; i++) {
        if (i)
            msgpack_sbuffer_write(b, ",", 1);
        put_plain(b, &m->ptr[i].key);
        msgpack_sbuffer_write(b, "=", 1);
        put_value(b, &m->ptr[i].key, &m->ptr[i].val);
    }
}

static void print_entries(const msgpack_object_map *m)
{
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    for (uint32_t i = 0; i < m->size; i++) {
        b.size = 0;
        put_plain(&b, &m->ptr[i].key);
        msgpack_sbuffer_write(&b, ":", 1);
        const msgpack_object *v = &m->ptr[i].val;
        if (v->type == MSGPACK_OBJECT_MAP)
            put_inline_map(&b, &v->via.map);
        else
            put_value(&b, &m->ptr[i].key, v);
        printf("%.*s\n", (int)b.size, b.data);
    }
    msgpack_sbuffer_destroy(&b);
}

/* All sections: "# name" then its entries; one section: its entries. */
static void print_stats(const msgpack_object *r, bool all)
{
    if (r->type != MSGPACK_OBJECT_MAP)
        return;
    if (!all)
        return print_entries(&r->via.map);
    for (uint32_t i = 0; i < r->via.map.size; i++) {
        const msgpack_object_kv *sec = &r->via.map.ptr[i];
        if (sec->key.type != MSGPACK_OBJECT_STR || sec->val.type != MSGPACK_OBJECT_MAP)
            continue;
        printf("%s# %.*s\n", i ? "\n" : "", (int)sec->key.via.str.size, sec->key.via.str.ptr);
        print_entries(&sec->val.via.map);
    }
}

static uint64_t get_u(const msgpack_object *map, const char *section, const char *key)
{
    const msgpack_object *v = fmt_map_get(fmt_map_get(map, section), key);
    return v && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? v->via.u64 : 0;
}

/* Every call the server has answered: the sum over the commands section. */
static uint64_t total_calls(const msgpack_object *stats)
{
    const msgpack_object *cmds = fmt_map_get(stats, "commands");
    uint64_t sum = 0;
    for (uint32_t i = 0; cmds && cmds->type == MSGPACK_OBJECT_MAP && i < cmds->via.map.size; i++) {
        const msgpack_object *c = fmt_map_get(&cmds->via.map.ptr[i].val, "calls");
        sum += c && c->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? c->via.u64 : 0;
    }
    return sum;
}

static void human_bytes(char *buf, size_t size, uint64_t n)
{
    static const char units[] = "BKMGT";
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4)
        v /= 1024, u++;
    snprintf(buf, size, u ? "%.2f%c" : "%.0f%c", v, units[u]);
}

static void watch_header(void)
{
    printf("%-12s %-10s %-8s %-10s %-10s %-8s %s\n", "objects", "memory", "clients", "ops/s",
           "gc phase", "cycles", "pause last/p99/max us");
}

static void watch_line(const msgpack_object *st, uint64_t calls, uint64_t prev, double secs)
{
    char mem[16], ops[24];
    human_bytes(mem, sizeof mem, get_u(st, "memory", "bytes"));
    snprintf(ops, sizeof ops, "%.0f", prev ? (double)(calls - prev) / secs : 0.0);
    const msgpack_object *phase = fmt_map_get(fmt_map_get(st, "gc"), "phase");
    printf("%-12" PRIu64 " %-10s %-8" PRIu64 " %-10s %-10.*s %-8" PRIu64 " %" PRIu64 "/%" PRIu64
           "/%" PRIu64 "\n",
           get_u(st, "objects", "live"), mem, get_u(st, "clients", "connected"), ops,
           phase && phase->type == MSGPACK_OBJECT_STR ? (int)phase->via.str.size : 1,
           phase && phase->type == MSGPACK_OBJECT_STR ? phase->via.str.ptr : "?",
           get_u(st, "gc", "cycles"), get_u(st, "gc", "last_pause_us"),
           get_u(st, "gc", "p99_pause_us"), get_u(st, "gc", "max_pause_us"));
    fflush(stdout);
}

static int call_stats(session *s, const char *section, rpc_reply *rep)
{
    char err[600];
    int rc = section ? rpc_call_str(s->rpc, "stats", section, rep, err, sizeof err)
                     : rpc_call0(s->rpc, "stats", rep, err, sizeof err);
    return session_answer(s, rc, err, rep);
}

static void print_json_line(session *s, const msgpack_object *v)
{
    session tmp = *s;
    tmp.json = true;
    session_print(&tmp, v);
    fflush(stdout);
}

/* Until interrupted (or the connection fails): a line every `secs`,
 * with a header every 20 lines, as redis-cli --stat does; with --json,
 * what `stats [SECTION] --json` prints, once a tick: JSON lines. */
static int watch(session *s, const char *section, double secs, bool json)
{
    uint64_t prev = 0;
    for (unsigned n = 0;; n++) {
        rpc_reply rep;
        int rc = call_stats(s, json ? section : NULL, &rep);
        if (rc)
            return rc;
        if (json) {
            print_json_line(s, &rep.result);
        } else {
            if (n % 20 == 0)
                watch_header();
            uint64_t calls = total_calls(&rep.result);
            watch_line(&rep.result, calls, prev, secs);
            prev = calls;
        }
        struct timespec ts = {(time_t)secs, (long)((secs - floor(secs)) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static int stats_usage(session *s, const char *msg)
{
    session_error(s, "UsageError", "%s; usage: stats [SECTION] [--json] [--watch SECONDS]", msg);
    return EXIT_USAGE;
}

int stats_command(session *s, int argc, char **argv)
{
    const char *section = NULL;
    double secs = 0;
    bool json = s->json;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--watch") == 0) {
            char *end = NULL;
            secs = i + 1 < argc ? strtod(argv[++i], &end) : 0;
            if (!end || *end || !(secs > 0 && secs <= 86400))
                return stats_usage(s, "--watch needs a number of seconds");
        } else if (!section && argv[i][0] != '-') {
            section = argv[i];
        } else {
            return stats_usage(s, "unexpected argument");
        }
    }
    if (secs > 0 && section && !json)
        return stats_usage(s, "--watch shows a SECTION with --json only");
    if (secs > 0)
        return watch(s, section, secs, json);
    rpc_reply rep;
    int rc = call_stats(s, section, &rep);
    if (rc)
        return rc;
    if (json) {
        print_json_line(s, &rep.result);
    } else {
        print_stats(&rep.result, section == NULL);
    }
    return EXIT_OK;
}
