/* Snapshots in the running server (persist.h). A background save is a
 * snap_live (snap_live.h): it observes the heap from its start, the loop
 * runs its walk one step (at most gc.slice_us) per timer tick, and its
 * writer thread writes, assembles and fsyncs the file, then wakes the loop
 * (an async handle) to answer the `save` requests waiting. No fork. */
#include "persist.h"
#include "effects.h"
#include "elog.h"
#include "gc.h"
#include "log.h"
#include "pack.h"
#include "snap_live.h"
#include "snap_out.h"
#include "snapshot.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STEP_EVERY_MS 1 /* a step of the walk per tick; the loop serves in between */

/* The heap counters that move with every change to what a snapshot holds
 * (a binding, a store or removal in a container, a new object). */
struct mark {
    uint64_t allocated, increfs, decrefs;
};

struct persist {
    heap *h;
    hns *ns;
    persist_done_fn done; /* tells the server a save ended */
    void *done_ctx;
    bool stopping;     /* no more interval saves */
    const char *path;  /* persistence.path (borrowed); NULL: snapshots off */
    uv_timer_t timer;  /* persistence.interval_s */
    uv_timer_t step;   /* the background save's walk */
    uv_async_t woken;  /* its writer thread is through */
    bool handles;      /* the three above are initialized */
    snap_live *live;   /* the background save under way, or NULL */
    bool start_wanted; /* a save waits for the collector's sweep to end */
    struct mark at_start, saved;
    /* figures for stats */
    uint64_t saves, failures, last_start_us, last_max_step_us;
    const char *last_status; /* "never", "ok", "err" */
    char last_error[HERR_MSG_MAX];
    snap_info last, loaded;
    /* the effect log, rotated at each save's instant (elog.h) */
    struct elog *log;
    const uint64_t *log_max_bytes; /* persistence.log_max_bytes, in place */
    uint64_t live_log_seq;         /* the segment the background save names */
    bool log_follows;
};

/* --- the answer to `save`, and the figures ----------------------------------- */

void persist_pack_figures(msgpack_packer *pk, const char *path, const snap_info *in)
{
    msgpack_pack_map(pk, 6);
    pack_kv_s(pk, "path", path);
    pack_kv_u(pk, "objects", in->objects);
    pack_kv_u(pk, "names", in->names);
    pack_kv_u(pk, "bytes", in->bytes);
    pack_kv_u(pk, "duration_us", in->duration_us);
    pack_kv_i(pk, "saved_at", in->saved_at);
}

/* Tells the server, which answers the `save` requests waiting. */
static void answer_waiters(persist *p, int rc, const snap_info *info, const char *msg,
                           bool run_more)
{
    if (p->done)
        p->done(p->done_ctx, rc, p->path, info, msg, run_more);
}

static struct mark mark_now(const persist *p)
{
    const heap_stats *st = heap_get_stats(p->h);
    return (struct mark){st->allocated, st->increfs, st->decrefs};
}

static void record(persist *p, int rc, const snap_info *info, const char *msg)
{
    p->saves++;
    if (rc) {
        p->failures++;
        p->last_status = "err";
        snprintf(p->last_error, sizeof p->last_error, "%s", msg);
        log_err("save to %s failed: %s", p->path, msg);
        return;
    }
    p->last_status = "ok";
    p->last = *info;
    log_info("saved %s: %llu objects, %llu global names, %llu bytes, %llu ms", p->path,
             (unsigned long long)info->objects, (unsigned long long)info->names,
             (unsigned long long)info->bytes, (unsigned long long)info->duration_us / 1000);
}

/* The temporary file of a save that was killed is never read: drop it. */
static void remove_tmp(const char *path)
{
    char *tmp = snapshot_tmp_path(path);
    if (unlink(tmp) == 0)
        log_notice("removed %s, left by an unfinished save", tmp);
    free(tmp);
}

/* --- the background save ---------------------------------------------------- */

/* On the writer thread: the file is in place or failed. */
static void on_written(void *ctx)
{
    persist *p = ctx;
    uv_async_send(&p->woken);
}

static bool busy(const persist *p)
{
    return p->live || p->start_wanted;
}

static void on_step(uv_timer_t *t);

static int begin_save(persist *p, herr *err)
{
    snap_out_reap(); /* the last save's writer, long returned */
    uint64_t t0 = now_ns();
    /* The log's segments split at the save's instant. */
    p->live_log_seq = p->log ? elog_rotate(p->log) : 0;
    p->live = snap_live_start(p->h, p->ns, p->path, p->live_log_seq, true, on_written, p, err);
    if (!p->live)
        return HE_RUNTIME;
    p->at_start = mark_now(p);
    uv_timer_start(&p->step, on_step, 0, STEP_EVERY_MS);
    p->last_start_us = (now_ns() - t0) / 1000;
    log_info("background save started (%llu us)", (unsigned long long)p->last_start_us);
    return 0;
}

/* A save's instant waits while the full collection sweeps: garbage it has
 * emptied may then be held by garbage it has not reached, a state that is
 * the sweep's alone and that no file should hold. The wait drives the
 * sweep on, a slice per tick (automatic collection may be off). */
static void begin_when_swept(persist *p)
{
    uint64_t slice_us = gc_get_config(p->h)->slice_us;
    if (gc_get_phase(p->h) == GC_SWEEP && gc_step(p->h, slice_us) == GC_SWEEP)
        return;
    p->start_wanted = false;
    herr err = {0};
    int rc = begin_save(p, &err);
    if (rc) {
        uv_timer_stop(&p->step);
        record(p, rc, NULL, err.msg);
        answer_waiters(p, rc, NULL, err.msg, true);
    }
}

static void on_step(uv_timer_t *t)
{
    persist *p = t->data;
    if (p->start_wanted)
        begin_when_swept(p);
    else if (p->live && snap_live_step(p->live, gc_get_config(p->h)->slice_us * 1000))
        uv_timer_stop(&p->step); /* the writer thread finishes */
}

static int start_save(persist *p, herr *err)
{
    if (gc_get_phase(p->h) != GC_SWEEP)
        return begin_save(p, err);
    p->start_wanted = true;
    uv_timer_start(&p->step, on_step, 0, STEP_EVERY_MS);
    return 0;
}

static void end_live(persist *p)
{
    p->last_max_step_us = snap_live_max_step_ns(p->live) / 1000;
    uv_timer_stop(&p->step);
    snap_live_close(p->live);
    p->live = NULL;
}

static void on_woken(uv_async_t *a)
{
    persist *p = a->data;
    if (!p->live || !snap_live_written(p->live))
        return; /* a wake-up from a save cancelled since */
    snap_info info = {0};
    herr err = {0};
    int rc = snap_live_result(p->live, &info, &err);
    end_live(p);
    if (!rc)
        p->saved = p->at_start;
    if (!rc && p->log)
        elog_drop_before(p->log, p->live_log_seq);
    record(p, rc, &info, err.msg);
    answer_waiters(p, rc, &info, err.msg, true);
}

/* Ends the background save at once (the final save replaces it). */
static void cancel_live(persist *p)
{
    if (p->start_wanted) {
        p->start_wanted = false;
        uv_timer_stop(&p->step);
        log_notice("background save stopped before it started");
    }
    if (!p->live)
        return;
    end_live(p); /* closing removes its temporary files */
    log_notice("background save stopped");
}

int persist_request_save(persist *p, herr *err)
{
    if (!persist_enabled(p))
        return herr_set(err, HE_RUNTIME, "snapshots are off (persistence.path is not set)");
    if (busy(p))
        return herr_set(err, HE_RUNTIME, "a save is already in progress");
    return start_save(p, err);
}

/* A save every persistence.interval_s, when the heap changed since the last
 * good one and none is under way. */
static void on_interval(uv_timer_t *t)
{
    persist *p = t->data;
    herr err;
    struct mark now = mark_now(p);
    if (busy(p) || p->stopping || memcmp(&now, &p->saved, sizeof now) == 0)
        return;
    if (start_save(p, &err))
        log_err("interval save: %s", err.msg);
}

int persist_final_save(persist *p, herr *err)
{
    if (!persist_enabled(p))
        return 0;
    cancel_live(p);
    snap_info info = {0};
    herr local = {0};
    uint64_t seq = p->log ? elog_rotate(p->log) : 0;
    int rc = snapshot_write_log(p->h, p->ns, p->path, seq, &info, &local);
    if (!rc && p->log)
        elog_drop_before(p->log, seq);
    record(p, rc, &info, local.msg);
    if (!rc)
        p->saved = mark_now(p);
    answer_waiters(p, rc, &info, local.msg, false);
    if (rc && err)
        *err = local;
    return rc;
}

void persist_cancel(persist *p)
{
    if (!p || !busy(p))
        return;
    cancel_live(p);
    answer_waiters(p, HE_RUNTIME, NULL, "the save was cancelled: shutdown without saving", false);
}

/* --- life -------------------------------------------------------------------- */

bool persist_enabled(const persist *p)
{
    return p && p->path;
}

static int load(persist *p, char *err, size_t errlen)
{
    herr e = {0};
    if (p->log_follows)
        elog_defer_frees_for_load(p->h); /* sessions' objects wait for the replay */
    int rc = snapshot_load(p->h, p->ns, p->path, &p->loaded, &e);
    if (rc && rc != SNAP_MISSING)
        heap_set_defer_frees(p->h, false);
    if (rc == SNAP_MISSING) {
        log_info("no snapshot at %s: starting with an empty heap", p->path);
    } else if (rc) {
        snprintf(err, errlen, "snapshot %.120s: %s; the file was left as it is", p->path, e.msg);
        return -1;
    } else {
        log_info("loaded %s: %llu objects, %llu global names, %llu bytes, %llu ms", p->path,
                 (unsigned long long)p->loaded.objects, (unsigned long long)p->loaded.names,
                 (unsigned long long)p->loaded.bytes,
                 (unsigned long long)p->loaded.duration_us / 1000);
    }
    herr room;
    if (heap_check_room(p->h, 0, 0, &room))
        log_warn("the snapshot is over a limit: %s; new objects fail with MemoryError until "
                 "enough are freed",
                 room.msg);
    remove_tmp(p->path);
    p->saved = mark_now(p); /* nothing to save until something changes */
    return 0;
}

int persist_init(persist **out, const persist_setup *ps, char *err, size_t errlen)
{
    persist *p = xcalloc(1, sizeof *p);
    *out = p;
    p->h = ps->h;
    p->ns = ps->ns;
    p->done = ps->done;
    p->done_ctx = ps->ctx;
    p->path = ps->path;
    p->log_follows = ps->log_follows;
    p->last_status = "never";
    if (!p->path)
        return 0;
    uv_timer_init(ps->loop, &p->timer);
    uv_timer_init(ps->loop, &p->step);
    uv_async_init(ps->loop, &p->woken, on_woken);
    p->timer.data = p->step.data = p->woken.data = p;
    p->handles = true;
    uint64_t every_ms = ps->interval_s * 1000;
    if (every_ms)
        uv_timer_start(&p->timer, on_interval, every_ms, every_ms);
    return load(p, err, errlen);
}

uint64_t persist_loaded_log_seq(const persist *p)
{
    return p ? p->loaded.log_seq : 0;
}

void persist_set_log(persist *p, struct elog *l, const uint64_t *max_bytes)
{
    if (!persist_enabled(p))
        return;
    p->log = l;
    p->log_max_bytes = max_bytes;
}

void persist_check_log_size(persist *p)
{
    herr err;
    if (!persist_enabled(p) || !p->log || !*p->log_max_bytes || busy(p) || p->stopping ||
        elog_bytes_since_rotate(p->log) < *p->log_max_bytes)
        return;
    log_info("the effect log grew past persistence.log_max_bytes: saving");
    if (start_save(p, &err))
        log_err("log size save: %s", err.msg);
}

void persist_stop(persist *p)
{
    if (p)
        p->stopping = true;
}

static void close_if_open(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void persist_close(persist *p)
{
    if (!p || !p->handles)
        return;
    cancel_live(p);
    snap_out_reap(); /* no writer calls done (the async handle) after this */
    close_if_open((uv_handle_t *)&p->timer);
    close_if_open((uv_handle_t *)&p->step);
    close_if_open((uv_handle_t *)&p->woken);
}

void persist_free(persist *p)
{
    if (!p)
        return;
    if (p->live) { /* the loop has ended: no timer to stop */
        snap_live_close(p->live);
        p->live = NULL;
    }
    snap_out_reap();
    free(p);
}

void persist_get_stats(const persist *p, persist_stats *out)
{
    *out = (persist_stats){.last_status = "never"};
    if (!p)
        return;
    *out = (persist_stats){.saves = p->saves,
                           .failed_saves = p->failures,
                           .in_progress = busy(p),
                           .last_start_us = p->last_start_us,
                           .last_max_step_us = p->last_max_step_us,
                           .last_status = p->last_status,
                           .last_error = strcmp(p->last_status, "err") ? NULL : p->last_error,
                           .last = p->last,
                           .loaded = p->loaded};
}
