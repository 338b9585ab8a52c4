/* What heapd exports to Prometheus (metrics.h): the stats of SPEC §4 as
 * metric families. Names follow Prometheus's conventions: the heapd_
 * prefix, base units (seconds, bytes) in the name, counters ending in
 * _total, one family per quantity with labels for its parts (an object
 * type, a method). Every method is exported, called or not, so a series
 * does not appear out of nowhere on its first call. */
#include "metrics.h"
#include "gc.h"
#include "persist.h"
#include "server.h"
#include "stats.h"
#include "util.h"
#include "version.h"

static void server_families(server *srv, prom *p)
{
    prom_family(p, "heapd_build_info", "gauge", "heapd's version, as a label; always 1.");
    prom_u64(p, "heapd_build_info", "version", HEAPD_VERSION, 1);
    /* start time rather than uptime: Prometheus computes the rest */
    prom_gauge(p, "heapd_start_time_seconds", "When heapd started, in unix time.",
               srv->met.started_at);
}

static void object_families(server *srv, prom *p)
{
    const heap_stats *st = heap_get_stats(srv->h);
    prom_family(p, "heapd_objects", "gauge", "Live objects, by type.");
    for (int t = 0; t < T__COUNT; t++)
        prom_u64(p, "heapd_objects", "type", htype_name((htype)t), heap_live(srv->h, (htype)t));
    prom_counter(p, "heapd_objects_allocated_total", "Objects created since start.", st->allocated);
    prom_counter(p, "heapd_objects_freed_total", "Objects freed since start.", st->freed);
    prom_gauge(p, "heapd_global_names", "Names bound in the global namespace.",
               ns_count_names(srv->ns, NULL, false));
    prom_counter(p, "heapd_refcount_increments_total", "Reference count increments.", st->increfs);
    prom_counter(p, "heapd_refcount_decrements_total", "Reference count decrements.", st->decrefs);
    prom_gauge(p, "heapd_refcount_pending", "References waiting in the deferred-free queue.",
               st->pending);
}

static void memory_families(server *srv, prom *p)
{
    const heap_stats *st = heap_get_stats(srv->h);
    prom_gauge(p, "heapd_memory_used_bytes",
               "Memory of the objects, names and handles (what limits.max_memory_bytes counts).",
               st->bytes);
    prom_gauge(p, "heapd_memory_peak_bytes", "The most heapd_memory_used_bytes has been.",
               st->peak_bytes);
    prom_gauge(p, "heapd_memory_limit_bytes", "limits.max_memory_bytes (0: unlimited).",
               srv->cfg.max_memory_bytes);
    prom_gauge(p, "heapd_resident_memory_bytes", "The process's resident set size.",
               stats_rss_bytes());
}

static void client_families(server *srv, prom *p)
{
    prom_gauge(p, "heapd_clients", "Connected clients.", srv->nconns);
    prom_gauge(p, "heapd_clients_max", "limits.max_clients.", srv->cfg.max_clients);
    prom_counter(p, "heapd_connections_total", "Connections accepted since start.",
                 srv->st.clients_total);
    prom_counter(p, "heapd_connections_rejected_total",
                 "Connections refused for limits.max_clients.", srv->st.clients_rejected);
    prom_counter(p, "heapd_slow_clients_disconnected_total",
                 "Clients disconnected for not reading their answers.", srv->st.clients_slow);
    prom_counter(p, "heapd_protocol_errors_total", "Messages refused as not msgpack-RPC.",
                 srv->st.protocol_errors);
    prom_counter(p, "heapd_auth_failures_total", "Wrong auth tokens.", srv->auth.failures);
    prom_counter(p, "heapd_events_sent_total", "Events sent to subscribed sessions.",
                 srv->st.events_sent);
    prom_counter(p, "heapd_metrics_scrapes_total", "GET /metrics answered (this one included).",
                 srv->met.scrapes + 1);
    prom_counter(p, "heapd_metrics_refused_total",
                 "Metrics connections closed at once: too many were open.", srv->met.refused);
}

/* One family per figure, each with a sample per method. */
static void command_families(server *srv, prom *p)
{
    prom_family(p, "heapd_commands_total", "counter", "Requests answered, by method.");
    for (int i = 0; i < METHOD__COUNT; i++)
        prom_u64(p, "heapd_commands_total", "method", method_table[i].name, srv->mst[i].calls);
    prom_family(p, "heapd_command_errors_total", "counter",
                "Requests answered with an error, by method.");
    for (int i = 0; i < METHOD__COUNT; i++)
        prom_u64(p, "heapd_command_errors_total", "method", method_table[i].name,
                 srv->mst[i].errors);
    prom_family(p, "heapd_command_seconds_total", "counter",
                "Time spent running requests, by method.");
    for (int i = 0; i < METHOD__COUNT; i++)
        prom_seconds(p, "heapd_command_seconds_total", "method", method_table[i].name,
                     srv->mst[i].nsec);
}

static void gc_families(server *srv, prom *p)
{
    gc_stats st;
    gc_get_stats(srv->h, &st);
    prom_gauge(p, "heapd_gc_enabled", "1 when the collector runs by itself (gc.enabled).",
               st.enabled);
    prom_family(p, "heapd_gc_phase", "gauge", "The collector's phase: 1 for the current one.");
    for (gc_phase ph = GC_IDLE; ph <= GC_SWEEP; ph++)
        prom_u64(p, "heapd_gc_phase", "phase", gc_phase_name(ph), st.phase == ph);
    prom_counter(p, "heapd_gc_cycles_total", "Collection cycles completed.", st.cycles);
    prom_counter(p, "heapd_gc_collected_total", "Unreachable containers the collector reclaimed.",
                 st.collected);
    prom_counter(p, "heapd_gc_slices_total", "Collector slices run.", st.slices);
    prom_family(p, "heapd_gc_last_cycle_seconds", "gauge",
                "The last cycle's duration, from start to end, slices and gaps.");
    prom_seconds(p, "heapd_gc_last_cycle_seconds", NULL, NULL, st.last_cycle_us * 1000);
    uint64_t counts[GC_PAUSE_BUCKETS + 1], sum_ns;
    gc_pause_histogram(srv->h, counts, &sum_ns);
    prom_histogram(p, "heapd_gc_pause_seconds", "The time each collector slice held the loop.",
                   gc_pause_bounds_us, counts, GC_PAUSE_BUCKETS, sum_ns);
}

static void persistence_families(server *srv, prom *p)
{
    persist_stats st;
    persist_get_stats(srv->persist, &st);
    prom_counter(p, "heapd_persistence_saves_total", "Snapshots written.", st.saves);
    prom_counter(p, "heapd_persistence_failed_saves_total", "Snapshots that failed.",
                 st.failed_saves);
    prom_gauge(p, "heapd_persistence_in_progress", "1 while a snapshot is being written.",
               st.in_progress);
    prom_gauge(p, "heapd_persistence_last_save_timestamp_seconds",
               "When the last good snapshot was written, in unix time (0: never).",
               st.last.saved_at > 0 ? (uint64_t)st.last.saved_at : 0);
    prom_family(p, "heapd_persistence_last_save_duration_seconds", "gauge",
                "How long the last good snapshot took.");
    prom_seconds(p, "heapd_persistence_last_save_duration_seconds", NULL, NULL,
                 st.last.duration_us * 1000);
    prom_gauge(p, "heapd_persistence_last_save_objects", "Objects in the last good snapshot.",
               st.last.objects);
    prom_gauge(p, "heapd_persistence_last_save_bytes", "Size of the last good snapshot.",
               st.last.bytes);
}

void metrics_render(server *srv, prom *p)
{
    server_families(srv, p);
    object_families(srv, p);
    memory_families(srv, p);
    client_families(srv, p);
    command_families(srv, p);
    gc_families(srv, p);
    persistence_families(srv, p);
}
