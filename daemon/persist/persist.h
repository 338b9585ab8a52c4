/* Snapshots in the running server (SPEC §8, §14; snapshot.h has the file):
 * the load at start, `save` written in steps while the loop keeps serving
 * (snap_live.h; no fork), a save every persistence.interval_s or when the
 * effect log has grown, the final save at SIGTERM or shutdown, and the
 * figures for stats.
 *
 * A `save` request is answered when its save is durable: the connection
 * that sent it runs nothing else until then (its answers stay in order),
 * while every other connection is served. One background save runs at a
 * time; a `save` while one runs gets RuntimeError saying so. */
#ifndef HEAPD_PERSIST_H
#define HEAPD_PERSIST_H

#include "snapshot.h"

#include <msgpack.h>
#include <uv.h>

typedef struct persist persist;

/* How a save ended, for whoever waits on it (the server answers the
 * `save` requests it deferred): rc 0 with the figures in info, or an error
 * code and msg. run_more: the waiting connections may go on with the
 * requests that came meanwhile (false when heapd is stopping). */
typedef void (*persist_done_fn)(void *ctx, int rc, const char *path, const snap_info *info,
                                const char *msg, bool run_more);

typedef struct persist_setup {
    uv_loop_t *loop;
    heap *h;
    hns *ns;
    const char *path;    /* persistence.path, borrowed for p's life; NULL: off */
    uint64_t interval_s; /* persistence.interval_s; 0: no interval saves */
    persist_done_fn done;
    void *ctx;
    bool log_follows; /* the effect log's replay follows the load (elog.h) */
} persist_setup;

/* Sets up *out and, when a path is set, loads the snapshot there (a
 * missing file starts empty). Call before listening. Returns -1 with one
 * line in err if the snapshot cannot be loaded (the file is left as it
 * is); *out is set either way. */
int persist_init(persist **out, const persist_setup *ps, char *err, size_t errlen);

/* The server is stopping: no interval save starts from now on. */
void persist_stop(persist *p);

/* The answer to `save`: {path, objects, names, bytes, duration_us, saved_at}. */
void persist_pack_figures(msgpack_packer *pk, const char *path, const snap_info *info);

/* True when persistence.path is set. p may be NULL (off). */
bool persist_enabled(const persist *p);

/* `save`: starts the background save and returns 0 (the done callback
 * reports its end), or an error: snapshots off, a save already under way,
 * no writer thread. */
int persist_request_save(persist *p, herr *err);

/* The final save (SIGTERM, shutdown): ends a background save still under
 * way, then writes synchronously; `save` requests waiting get its answer.
 * 0, or the error (also logged). A no-op when off. */
int persist_final_save(persist *p, herr *err);

/* Ends a background save without saving (shutdown(False)); `save`
 * requests waiting get RuntimeError. */
void persist_cancel(persist *p);

/* Figures for the "persistence" stats section. */
typedef struct persist_stats {
    uint64_t saves, failed_saves, in_progress;
    uint64_t last_start_us;    /* the stall of starting the last background save */
    uint64_t last_max_step_us; /* its longest step */
    const char *last_status;   /* "never", "ok" or "err" */
    const char *last_error;    /* the last save's error, or NULL if it did not fail */
    snap_info last, loaded;    /* the last good save; the load at start */
} persist_stats;

/* p may be NULL (off): zeros and "never". */
void persist_get_stats(const persist *p, persist_stats *out);

struct elog;
/* The snapshot names this log segment as the one after it (0: none). */
uint64_t persist_loaded_log_seq(const persist *p);
/* From now on every save rotates the effect log l (elog.h) at its instant,
 * and the log growing past *max_bytes (read in place: the setting may
 * change at run time) since the last save starts one (0: never). p may be NULL or off. */
void persist_set_log(persist *p, struct elog *l, const uint64_t *max_bytes);
/* At each loop turn's end: a save when the log has grown past its limit. */
void persist_check_log_size(persist *p);

/* Closes its libuv handles (the server is stopping). */
void persist_close(persist *p);
/* Ends any child still running and frees p (after the loop has ended). */
void persist_free(persist *p);

#endif
