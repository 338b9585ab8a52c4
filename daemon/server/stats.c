#include "stats.h"
#include "log.h"
#include "pack.h"
#include "elog.h"
#include "persist.h"
#include "server.h"
#include "util.h"
#include "version.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* gen0_count, gen0_threshold, ... for each generation: 7 keys each. */
static void pack_gen(msgpack_packer *pk, int i, const gc_gen_stats *g)
{
    static const char *const names[] = {"count",     "threshold",    "objects",       "collections",
                                        "collected", "max_pause_us", "total_pause_us"};
    const uint64_t v[] = {g->count,     g->threshold,    g->objects,       g->collections,
                          g->collected, g->max_pause_us, g->total_pause_us};
    char key[32];
    for (size_t k = 0; k < ARRAY_LEN(names); k++) {
        snprintf(key, sizeof key, "gen%d_%s", i, names[k]);
        pack_kv_u(pk, key, v[k]);
    }
}

uint64_t stats_rss_bytes(void)
{
    unsigned long long size, resident;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return n == 2 && page > 0 ? (uint64_t)resident * (uint64_t)page : 0;
}

void stats_human_bytes(char buf[16], uint64_t n)
{
    static const char units[] = "KMGTP";
    if (n < 1024) {
        snprintf(buf, 16, "%" PRIu64 "B", n);
        return;
    }
    double v = (double)n / 1024;
    int u = 0;
    while (v >= 1024 && u < 4)
        v /= 1024, u++;
    snprintf(buf, 16, "%.2f%c", v, units[u]);
}

void stats_pack_gc(msgpack_packer *pk, const gc_stats *st)
{
    msgpack_pack_map(pk, 18 + 7 * GC_GENERATIONS);
    pack_cstr(pk, "enabled");
    pack_bool(pk, st->enabled);
    pack_cstr(pk, "generational");
    pack_bool(pk, st->generational);
    pack_kv_s(pk, "phase", gc_phase_name(st->phase));
    pack_kv_i(pk, "young_collecting", st->young_running); /* its generation, or -1 */
    pack_kv_u(pk, "threshold", st->threshold);
    pack_kv_i(pk, "count", st->count);
    pack_kv_u(pk, "cycles", st->cycles);
    pack_kv_u(pk, "collected", st->collected);
    pack_kv_u(pk, "slices", st->slices);
    pack_kv_u(pk, "last_pause_us", st->last_pause_us);
    pack_kv_u(pk, "max_pause_us", st->max_pause_us);
    pack_kv_u(pk, "total_pause_us", st->total_pause_us);
    pack_kv_u(pk, "p99_pause_us", st->p99_pause_us);
    pack_kv_u(pk, "last_cycle_us", st->last_cycle_us);
    pack_kv_u(pk, "last_cycle_pause_us", st->last_cycle_pause_us);
    pack_kv_u(pk, "last_traced", st->last_traced);
    pack_kv_u(pk, "frozen", st->frozen);
    pack_kv_u(pk, "garbage", st->garbage);
    for (int i = 0; i < GC_GENERATIONS; i++)
        pack_gen(pk, i, &st->gen[i]);
}

static void sec_server(server *srv, msgpack_packer *pk)
{
    msgpack_pack_map(pk, 5);
    pack_kv_s(pk, "version", HEAPD_VERSION);
    pack_kv_u(pk, "pid", (uint64_t)getpid());
    pack_kv_u(pk, "uptime_s", (now_ns() - srv->start_ns) / 1000000000u);
    pack_kv_s(pk, "config_file", srv->cfg.source);
    pack_kv_s(pk, "intern", intern_policy_name(heap_cfg(srv->h)->intern));
}

static void sec_clients(server *srv, msgpack_packer *pk)
{
    msgpack_pack_map(pk, 8);
    pack_kv_u(pk, "connected", srv->nconns);
    pack_kv_u(pk, "total", srv->st.clients_total);
    pack_kv_u(pk, "rejected", srv->st.clients_rejected);
    pack_kv_u(pk, "slow_disconnected", srv->st.clients_slow);
    pack_kv_u(pk, "protocol_errors", srv->st.protocol_errors);
    pack_kv_u(pk, "auth_failures", srv->auth.failures);
    pack_kv_u(pk, "auth_disconnected", srv->auth.dropped);
    pack_kv_u(pk, "max_clients", srv->cfg.max_clients);
}

/* key and its "_human" twin; a limit of 0 reads "unlimited". */
static void pack_bytes(msgpack_packer *pk, const char *key, const char *human_key, uint64_t n,
                       bool limit)
{
    char human[16];
    stats_human_bytes(human, n);
    pack_kv_u(pk, key, n);
    pack_kv_s(pk, human_key, limit && n == 0 ? "unlimited" : human);
}

/* Numbers for programs, each byte count with a "_human" twin for people
 * (Redis's used_memory_human). bytes is what the heap accounts for (and
 * limits.max_memory_bytes counts); rss_bytes what the process holds. */
static void sec_memory(server *srv, msgpack_packer *pk)
{
    const heap_stats *st = heap_get_stats(srv->h);
    msgpack_pack_map(pk, 10);
    pack_bytes(pk, "bytes", "bytes_human", st->bytes, false);
    pack_bytes(pk, "peak_bytes", "peak_human", st->peak_bytes, false);
    pack_bytes(pk, "rss_bytes", "rss_human", stats_rss_bytes(), false);
    pack_kv_u(pk, "names_bytes", heap_ext_bytes(srv->h));
    pack_bytes(pk, "limit", "limit_human", srv->cfg.max_memory_bytes, true);
    pack_kv_u(pk, "max_objects", srv->cfg.max_objects);
}

static void sec_objects(server *srv, msgpack_packer *pk)
{
    const heap_stats *st = heap_get_stats(srv->h);
    msgpack_pack_map(pk, T__COUNT + 4);
    for (int t = 0; t < T__COUNT; t++)
        pack_kv_u(pk, htype_name((htype)t), heap_live(srv->h, (htype)t));
    pack_kv_u(pk, "live", heap_live_total(srv->h));
    pack_kv_u(pk, "allocated", st->allocated);
    pack_kv_u(pk, "freed", st->freed);
    pack_kv_u(pk, "global_names", ns_count_names(srv->ns, NULL, false));
}

static void sec_refcount(server *srv, msgpack_packer *pk)
{
    const heap_stats *st = heap_get_stats(srv->h);
    msgpack_pack_map(pk, 6);
    pack_kv_u(pk, "increments", st->increfs);
    pack_kv_u(pk, "decrements", st->decrefs);
    pack_kv_u(pk, "frees_by_refcount", st->frees_refcount);
    pack_kv_u(pk, "frees_by_gc", st->frees_gc);
    pack_kv_u(pk, "longest_cascade", st->longest_cascade);
    pack_kv_u(pk, "pending", st->pending);
}

static void sec_gc(server *srv, msgpack_packer *pk)
{
    gc_stats st;
    gc_get_stats(srv->h, &st);
    stats_pack_gc(pk, &st);
}

static void sec_commands(server *srv, msgpack_packer *pk)
{
    uint32_t n = 0;
    for (int i = 0; i < METHOD__COUNT; i++)
        n += srv->mst[i].calls > 0;
    msgpack_pack_map(pk, n);
    for (int i = 0; i < METHOD__COUNT; i++) {
        const method_stats *m = &srv->mst[i];
        if (!m->calls)
            continue;
        pack_cstr(pk, method_table[i].name);
        msgpack_pack_map(pk, 4);
        pack_kv_u(pk, "calls", m->calls);
        pack_kv_u(pk, "errors", m->errors);
        pack_kv_u(pk, "usec", m->nsec / 1000);
        pack_cstr(pk, "usec_per_call");
        msgpack_pack_double(pk, (double)m->nsec / 1000.0 / (double)m->calls);
    }
}

static void sec_persistence(server *srv, msgpack_packer *pk)
{
    persist_stats st;
    persist_get_stats(srv->persist, &st);
    /* the effect log's figures (elog.h), or just "log": nil when it is off */
    msgpack_pack_map(pk, 16 + (srv->elog ? ELOG_STATS_KEYS : 1));
    if (srv->elog) {
        int n;
        elog_pack_stats(srv->elog, pk, &n);
    } else {
        pack_kv_s(pk, "log", NULL);
    }
    pack_kv_s(pk, "path", srv->cfg.persistence_path);
    pack_kv_u(pk, "interval_s", srv->cfg.persistence_interval_s);
    pack_kv_u(pk, "saves", st.saves);
    pack_kv_u(pk, "failed_saves", st.failed_saves);
    pack_kv_u(pk, "in_progress", st.in_progress);
    pack_kv_s(pk, "last_status", st.last_status);
    pack_kv_s(pk, "last_error", st.last_error);
    pack_cstr(pk, "last_save_time"); /* unix time of the last good save; nil before one */
    if (st.last.saved_at)
        msgpack_pack_int64(pk, st.last.saved_at);
    else
        msgpack_pack_nil(pk);
    pack_kv_u(pk, "last_save_duration_us", st.last.duration_us);
    pack_kv_u(pk, "last_save_objects", st.last.objects);
    pack_kv_u(pk, "last_save_names", st.last.names);
    pack_kv_u(pk, "last_save_bytes", st.last.bytes);
    pack_kv_u(pk, "last_start_us", st.last_start_us);
    pack_kv_u(pk, "last_max_step_us", st.last_max_step_us);
    pack_kv_u(pk, "loaded_objects", st.loaded.objects);
    pack_kv_u(pk, "load_duration_us", st.loaded.duration_us);
}

/* SPEC §8: every limit is reported in stats. */
static void sec_limits(server *srv, msgpack_packer *pk)
{
    const heapd_config *c = &srv->cfg;
    msgpack_pack_map(pk, 7);
    pack_kv_u(pk, "max_clients", c->max_clients);
    pack_kv_u(pk, "max_message_bytes", c->max_message_bytes);
    pack_kv_u(pk, "max_depth", c->max_depth);
    pack_kv_u(pk, "max_frames", c->max_frames);
    pack_kv_u(pk, "max_objects", c->max_objects);
    pack_kv_u(pk, "max_memory_bytes", c->max_memory_bytes);
    pack_kv_u(pk, "max_output_bytes", c->max_output_bytes);
}

static const struct {
    const char *name;
    void (*pack)(server *, msgpack_packer *);
} sections[] = {
    {"server", sec_server},     {"clients", sec_clients},         {"memory", sec_memory},
    {"objects", sec_objects},   {"refcount", sec_refcount},       {"gc", sec_gc},
    {"commands", sec_commands}, {"persistence", sec_persistence}, {"limits", sec_limits},
};

int stats_pack(server *srv, msgpack_packer *pk, const char *section, size_t len)
{
    if (!section) {
        msgpack_pack_map(pk, ARRAY_LEN(sections));
        for (size_t i = 0; i < ARRAY_LEN(sections); i++) {
            pack_cstr(pk, sections[i].name);
            sections[i].pack(srv, pk);
        }
        return 0;
    }
    for (size_t i = 0; i < ARRAY_LEN(sections); i++)
        if (strlen(sections[i].name) == len && memcmp(sections[i].name, section, len) == 0) {
            sections[i].pack(srv, pk);
            return 0;
        }
    return -1;
}
