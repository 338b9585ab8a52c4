/* The effect log's writer (elog.h): the hook that encodes effects on the
 * loop thread, the block handed over at each turn's end, and the writer
 * thread that writes and fsyncs, off the loop.
 *
 * Threads. The loop thread owns `cur` (the turn's records), sealed_lsn and
 * released_lsn. The writer thread owns the file (fd, seq). Between them,
 * under mu: the task queue (blocks, rotations, removals, in order) and
 * durable_lsn with the figures. The writer wakes the loop with an async. */
#include "elog.h"
#include "crc32c.h"
#include "effects.h"
#include "elog_files.h"
#include "elog_replay.h"
#include "log.h"
#include "pack.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EVERYSEC_NS 1000000000ull
#define RETRY_NS    100000000ull /* a failed write is retried this often */

enum task_kind { TASK_BLOCK, TASK_ROTATE, TASK_DROP };

struct task {
    struct task *next;
    enum task_kind kind;
    uint64_t lsn, seq; /* the block's lsn; the segment to rotate to or drop below */
    size_t len;
    unsigned char *data; /* a block: header and records */
};

struct elog {
    /* the loop thread's */
    uv_loop_t *loop;
    heap *h;
    char *path;
    int mode;
    uint32_t intern;
    ebuf cur;            /* records of this turn, after ELOG_BLOCK_HDR bytes of room */
    uint64_t sealed_lsn; /* the last block handed to the writer */
    uint64_t released_lsn;
    uint64_t records, blocks, bytes_since_rotate, seq_loop;
    uv_async_t async;
    bool closed;
    elog_release_fn release;
    void *ctx;
    /* shared, under mu */
    uv_mutex_t mu;
    uv_cond_t cv;
    struct task *head, *tail;
    bool exit;
    uint64_t durable_lsn;
    uint64_t fsyncs, fsync_last_us, fsync_max_us, fsync_total_us, write_errors;
    uint64_t file_bytes;
    /* the writer thread's */
    uv_thread_t thread;
    int fd;
    uint64_t seq;
    uint64_t written_lsn, synced_lsn, last_sync_ns;
};

/* --- the writer thread ---------------------------------------------------------- */

static void write_all(elog *l, const unsigned char *p, size_t n)
{
    bool logged = false;
    while (n) {
        ssize_t k = write(l->fd, p, n);
        if (k > 0) {
            p += k, n -= (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        /* No answer that depends on these bytes leaves until they are
         * written: retry (ENOSPC clears when an operator frees space). */
        if (!logged)
            log_err("effect log: write failed: %s; retrying, answers wait",
                    k < 0 ? strerror(errno) : "no progress");
        logged = true;
        uv_mutex_lock(&l->mu);
        l->write_errors++;
        uv_mutex_unlock(&l->mu);
        uv_sleep((unsigned)(RETRY_NS / 1000000));
    }
}

static void do_sync(elog *l)
{
    uint64_t t0 = now_ns();
    if (fdatasync(l->fd) != 0)
        log_err("effect log: fdatasync failed: %s", strerror(errno));
    uint64_t us = (now_ns() - t0) / 1000;
    l->last_sync_ns = now_ns();
    l->synced_lsn = l->written_lsn;
    uv_mutex_lock(&l->mu);
    l->fsyncs++;
    l->fsync_last_us = us;
    l->fsync_total_us += us;
    if (us > l->fsync_max_us)
        l->fsync_max_us = us;
    uv_mutex_unlock(&l->mu);
}

/* A new segment, its header written and durable, its name in the directory. */
static int create_segment(const char *base, uint64_t seq, uint32_t intern, char *err, size_t errlen)
{
    char *path = elog_segment_path(base, seq);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    unsigned char hdr[ELOG_HEADER_LEN];
    elog_segment_header(hdr, intern, seq);
    if (fd < 0 || write(fd, hdr, sizeof hdr) != (ssize_t)sizeof hdr || fdatasync(fd) != 0 ||
        fsync_dir_of(path) != 0) {
        snprintf(err, errlen, "cannot create log segment %.200s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(path);
        return -1;
    }
    free(path);
    return fd;
}

static void rotate_file(elog *l, uint64_t seq)
{
    char err[300];
    if (l->written_lsn > l->synced_lsn || l->mode != ELOG_NO)
        do_sync(l); /* the old segment is whole on disk before the new one begins */
    int fd = -1;
    while ((fd = create_segment(l->path, seq, l->intern, err, sizeof err)) < 0) {
        log_err("effect log: %s; retrying", err);
        uv_sleep((unsigned)(RETRY_NS / 1000000));
    }
    close(l->fd);
    l->fd = fd;
    l->seq = seq;
    uv_mutex_lock(&l->mu);
    l->file_bytes = ELOG_HEADER_LEN;
    uv_mutex_unlock(&l->mu);
}

/* Runs a batch of tasks in order; frees them. */
static void run_tasks(elog *l, struct task *t)
{
    while (t) {
        struct task *next = t->next;
        if (t->kind == TASK_BLOCK) {
            write_all(l, t->data, t->len);
            l->written_lsn = t->lsn;
            uv_mutex_lock(&l->mu);
            l->file_bytes += t->len;
            uv_mutex_unlock(&l->mu);
        } else if (t->kind == TASK_ROTATE) {
            rotate_file(l, t->seq);
        } else {
            elog_remove_below(l->path, t->seq);
        }
        free(t->data);
        free(t);
        t = next;
    }
}

static bool sync_due(const elog *l)
{
    return l->mode == ELOG_EVERYSEC && l->written_lsn > l->synced_lsn &&
           now_ns() - l->last_sync_ns >= EVERYSEC_NS;
}

/* Makes what is written durable as the mode says, then tells the loop. */
static void after_batch(elog *l)
{
    if (l->mode == ELOG_ALWAYS || sync_due(l))
        do_sync(l);
    uint64_t durable = l->mode == ELOG_ALWAYS ? l->synced_lsn : l->written_lsn;
    uv_mutex_lock(&l->mu);
    l->durable_lsn = durable;
    uv_mutex_unlock(&l->mu);
    uv_async_send(&l->async);
}

static void writer_main(void *arg)
{
    elog *l = arg;
    uv_mutex_lock(&l->mu);
    for (;;) {
        while (!l->head && !l->exit) {
            if (l->mode == ELOG_EVERYSEC && l->written_lsn > l->synced_lsn) {
                /* dirty: sync within a second even if nothing more comes */
                if (uv_cond_timedwait(&l->cv, &l->mu, EVERYSEC_NS) == UV_ETIMEDOUT && !l->head) {
                    uv_mutex_unlock(&l->mu);
                    do_sync(l);
                    uv_mutex_lock(&l->mu);
                }
            } else {
                uv_cond_wait(&l->cv, &l->mu);
            }
        }
        if (!l->head && l->exit)
            break;
        struct task *t = l->head;
        l->head = l->tail = NULL;
        uv_mutex_unlock(&l->mu);
        run_tasks(l, t);
        after_batch(l);
        uv_mutex_lock(&l->mu);
    }
    uv_mutex_unlock(&l->mu);
    if (l->written_lsn > l->synced_lsn || l->mode != ELOG_NO)
        do_sync(l); /* stopping: everything durable, whatever the mode */
    uv_mutex_lock(&l->mu);
    l->durable_lsn = l->written_lsn;
    uv_mutex_unlock(&l->mu);
}

/* --- the loop thread -------------------------------------------------------------- */

static void push_task(elog *l, struct task *t)
{
    uv_mutex_lock(&l->mu);
    if (l->tail)
        l->tail->next = t;
    else
        l->head = t;
    l->tail = t;
    uv_cond_signal(&l->cv);
    uv_mutex_unlock(&l->mu);
}

/* Room for the block's header, filled when it is sealed. */
static void begin_block(elog *l)
{
    if (l->cur.len)
        return;
    ebuf_reserve(&l->cur, ELOG_BLOCK_HDR + 64);
    l->cur.len = ELOG_BLOCK_HDR;
}

static void on_effect(void *ctx, const heffect *e)
{
    elog *l = ctx;
    begin_block(l);
    elog_encode(&l->cur, e);
    l->records++;
}

/* The turn's records become a block; the buffer goes with it. */
static void seal(elog *l)
{
    if (l->cur.len == 0)
        return;
    unsigned char *p = l->cur.p;
    size_t n = l->cur.len - ELOG_BLOCK_HDR;
    uint64_t lsn = ++l->sealed_lsn;
    elog_be32(p, (uint32_t)n);
    elog_be64(p + 8, lsn);
    elog_be32(p + 4, crc32c(0, p + 8, 8 + n));
    struct task *t = xcalloc(1, sizeof *t);
    *t = (struct task){.kind = TASK_BLOCK, .lsn = lsn, .len = l->cur.len, .data = p};
    l->cur = (ebuf){0};
    l->blocks++;
    l->bytes_since_rotate += t->len;
    push_task(l, t);
}

void elog_turn_end(elog *l)
{
    if (l && !l->closed)
        seal(l);
}

uint64_t elog_hold_lsn(const elog *l)
{
    if (!l)
        return 0;
    if (l->cur.len)
        return l->sealed_lsn + 1;
    return l->sealed_lsn > l->released_lsn ? l->sealed_lsn : 0;
}

uint64_t elog_rotate(elog *l)
{
    seal(l);
    struct task *t = xcalloc(1, sizeof *t);
    *t = (struct task){.kind = TASK_ROTATE, .seq = ++l->seq_loop};
    l->bytes_since_rotate = 0;
    push_task(l, t);
    return l->seq_loop;
}

void elog_drop_before(elog *l, uint64_t seq)
{
    if (!l || l->closed)
        return;
    struct task *t = xcalloc(1, sizeof *t);
    *t = (struct task){.kind = TASK_DROP, .seq = seq};
    push_task(l, t);
}

uint64_t elog_bytes_since_rotate(const elog *l)
{
    return l ? l->bytes_since_rotate : 0;
}

static void on_async(uv_async_t *a)
{
    elog *l = a->data;
    uv_mutex_lock(&l->mu);
    uint64_t d = l->durable_lsn;
    uv_mutex_unlock(&l->mu);
    if (d > l->released_lsn) {
        l->released_lsn = d;
        if (l->release)
            l->release(l->ctx, d);
    }
}

void elog_defer_frees_for_load(heap *h)
{
    heap_set_defer_frees(h, true);
}

/* --- opening: replay, the tail, the writer ------------------------------------------ */

static int replay(elog *l, const elog_setup *s, elog_tail *tail, char *err, size_t errlen)
{
    elog_replay r;
    herr e = {0};
    elog_replay_begin(&r, s->h, s->ns);
    uint64_t t0 = now_ns();
    int rc = elog_replay_all(&r, s->path, s->start_seq, tail, &e);
    elog_replay_end(&r);
    if (rc) {
        snprintf(err, errlen, "effect log: %s; the files were left as they are", e.msg);
        return -1;
    }
    l->sealed_lsn = l->released_lsn = r.last_lsn;
    if (r.blocks)
        log_info("replayed %s: %llu blocks, %llu records, %llu bytes, %llu ms", s->path,
                 (unsigned long long)r.blocks, (unsigned long long)r.records,
                 (unsigned long long)r.bytes, (unsigned long long)(now_ns() - t0) / 1000000);
    return 0;
}

/* The last segment for appending: its torn tail cut off, or a new one. */
static int open_tail(elog *l, const elog_tail *t, char *err, size_t errlen)
{
    l->seq = l->seq_loop = t->seq;
    if (!t->exists)
        return (l->fd = create_segment(l->path, t->seq, l->intern, err, errlen)) < 0 ? -1 : 0;
    char *path = elog_segment_path(l->path, t->seq);
    l->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    int rc = l->fd < 0 ? -1 : 0;
    if (!rc && t->valid_len < t->len &&
        (ftruncate(l->fd, (off_t)t->valid_len) != 0 || fdatasync(l->fd) != 0))
        rc = -1;
    if (rc)
        snprintf(err, errlen, "cannot open log segment %.200s: %s", path, strerror(errno));
    free(path);
    l->file_bytes = t->valid_len;
    return rc;
}

/* Every session ended with the restart: the record says so and the sweep
 * frees what only they held, here and in any replay (effects.h). */
static void sessions_end(elog *l)
{
    begin_block(l);
    l->cur.p[l->cur.len++] = ELOG_SESSIONS_END;
    l->records++;
    uint64_t n = heap_sweep_zombies(l->h);
    if (n)
        log_info("freed %llu objects only sessions held before the restart", (unsigned long long)n);
}

int elog_open(elog **out, const elog_setup *s, char *err, size_t errlen)
{
    elog *l = xcalloc(1, sizeof *l);
    *out = l;
    *l = (elog){.loop = s->loop,
                .h = s->h,
                .path = xstrndup(s->path, strlen(s->path)),
                .mode = s->fsync,
                .intern = (uint32_t)heap_cfg(s->h)->intern,
                .release = s->release,
                .ctx = s->ctx,
                .fd = -1,
                .closed = true};
    elog_tail tail;
    if (replay(l, s, &tail, err, errlen) || open_tail(l, &tail, err, errlen)) {
        heap_set_defer_frees(s->h, false);
        return -1;
    }
    sessions_end(l);
    if (tail.covered_below)
        elog_remove_below(l->path, tail.covered_below);
    uv_mutex_init(&l->mu);
    uv_cond_init(&l->cv);
    uv_async_init(s->loop, &l->async, on_async);
    l->async.data = l;
    l->last_sync_ns = now_ns();
    l->closed = false;
    uv_thread_create(&l->thread, writer_main, l);
    heap_set_effect_hook(l->h, on_effect, l);
    seal(l);
    return 0;
}

void elog_close(elog *l)
{
    if (!l || l->closed)
        return;
    heap_set_effect_hook(l->h, NULL, NULL);
    seal(l);
    uv_mutex_lock(&l->mu);
    l->exit = true;
    uv_cond_signal(&l->cv);
    uv_mutex_unlock(&l->mu);
    uv_thread_join(&l->thread);
    l->closed = true;
    close(l->fd);
    l->fd = -1;
    on_async(&l->async); /* every held answer goes */
    uv_close((uv_handle_t *)&l->async, NULL);
}

void elog_free(elog *l)
{
    if (!l)
        return;
    if (l->fd >= 0)
        close(l->fd);
    if (l->async.loop) { /* the writer was started */
        uv_mutex_destroy(&l->mu);
        uv_cond_destroy(&l->cv);
    }
    for (struct task *t = l->head, *n; t; t = n) {
        n = t->next;
        free(t->data);
        free(t);
    }
    ebuf_free(&l->cur);
    free(l->path);
    free(l);
}

void elog_pack_stats(const elog *l, msgpack_packer *pk, int *nkeys)
{
    elog *m = (elog *)l;
    uv_mutex_lock(&m->mu);
    pack_kv_s(pk, "log", l->path);
    pack_kv_s(pk, "log_fsync",
              l->mode == ELOG_ALWAYS ? "always"
              : l->mode == ELOG_NO   ? "no"
                                     : "everysec");
    pack_kv_u(pk, "log_segment", l->seq_loop);
    pack_kv_u(pk, "log_size", l->file_bytes);
    pack_kv_u(pk, "log_records", l->records);
    pack_kv_u(pk, "log_blocks", l->blocks);
    pack_kv_u(pk, "log_bytes_since_snapshot", l->bytes_since_rotate);
    pack_kv_u(pk, "log_fsyncs", l->fsyncs);
    pack_kv_u(pk, "log_last_fsync_us", l->fsync_last_us);
    pack_kv_u(pk, "log_max_fsync_us", l->fsync_max_us);
    pack_kv_u(pk, "log_total_fsync_us", l->fsync_total_us);
    pack_kv_u(pk, "log_write_errors", l->write_errors);
    uv_mutex_unlock(&m->mu);
    *nkeys = ELOG_STATS_KEYS;
}
