/* Snapshots in the running server (persist.h). The background save is a
 * forked child: fork copies only page tables, the child sees the heap as it
 * was at that instant (copy-on-write) and writes it with snapshot_write,
 * which only reads. The child reports on a pipe and exits; the parent
 * learns of it by SIGCHLD (a libuv signal handle, so in the loop), reaps
 * it and answers the `save` requests waiting. */
#include "persist.h"
#include "effects.h"
#include "elog.h"
#include "log.h"
#include "pack.h"
#include "snapshot.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* What the child writes on the pipe: one write, below PIPE_BUF (atomic). */
struct child_report {
    int rc;
    snap_info info;
    char msg[HERR_MSG_MAX];
};

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
    bool stopping;    /* no more interval saves */
    const char *path; /* persistence.path (borrowed); NULL: snapshots off */
    uv_signal_t sigchld;
    uv_timer_t timer; /* persistence.interval_s */
    bool handles;     /* sigchld and timer are initialized */
    pid_t child;      /* the background save under way, or 0 */
    int report_fd;    /* the parent's end of its pipe */
    struct mark at_fork, saved;
    /* figures for stats */
    uint64_t saves, failures, last_fork_us;
    const char *last_status; /* "never", "ok", "err" */
    char last_error[HERR_MSG_MAX];
    snap_info last, loaded;
    /* the effect log, rotated at each save's instant (elog.h) */
    struct elog *log;
    const uint64_t *log_max_bytes; /* persistence.log_max_bytes, in place */
    uint64_t child_log_seq;        /* the segment the background save names */
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

/* --- the child ------------------------------------------------------------- */

/* Everything but stdio and the report pipe: the child must not keep
 * clients' sockets or the listeners open while it writes. */
static void close_fds_but(int keep)
{
    if (keep > 3)
        close_range(3, (unsigned)keep - 1, 0);
    if (close_range((unsigned)keep + 1, ~0u, 0) == 0)
        return;
    for (int fd = 3; fd < 65536; fd++)
        if (fd != keep)
            close(fd);
}

/* Never returns. It touches no libuv state: the signal handlers libuv
 * installed are reset first (they would write to the parent's signal
 * pipe), and it dies with the parent (PR_SET_PDEATHSIG), so a killed
 * heapd never leaves a writer behind. _exit: no atexit, no leak report. */
static _Noreturn void child_main(persist *p, int fd, pid_t parent)
{
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD};
    sigset_t none;
    for (size_t i = 0; i < ARRAY_LEN(sigs); i++)
        signal(sigs[i], SIG_DFL);
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(3);
    close_fds_but(fd);
    struct child_report rep = {0};
    herr err = {0};
    rep.rc = snapshot_write_log(p->h, p->ns, p->path, p->child_log_seq, &rep.info, &err);
    memcpy(rep.msg, err.msg, sizeof rep.msg);
    ssize_t n = write(fd, &rep, sizeof rep);
    _exit(rep.rc || n != (ssize_t)sizeof rep ? 1 : 0);
}

/* --- the background save, seen from the parent ------------------------------ */

static int start_child(persist *p, herr *err)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return herr_set(err, HE_RUNTIME, "cannot save: pipe: %s", strerror(errno));
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* no handler runs in the child before reset */
    pid_t parent = getpid();
    uint64_t t0 = now_ns();
    /* The log's segments split at the instant the child's image is taken. */
    p->child_log_seq = p->log ? elog_rotate(p->log) : 0;
    pid_t pid = fork();
    if (pid == 0)
        child_main(p, fds[1], parent);
    int e = errno;
    p->last_fork_us = (now_ns() - t0) / 1000;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return herr_set(err, HE_RUNTIME, "cannot save: fork: %s", strerror(e));
    }
    p->child = pid;
    p->report_fd = fds[0];
    p->at_fork = mark_now(p);
    log_info("background save started (pid %d; fork took %llu us)", (int)pid,
             (unsigned long long)p->last_fork_us);
    return 0;
}

/* The child's report, once it has exited with `status`. */
static int read_report(persist *p, int status, struct child_report *rep)
{
    ssize_t n;
    do
        n = read(p->report_fd, rep, sizeof *rep);
    while (n < 0 && errno == EINTR);
    close(p->report_fd);
    p->child = 0;
    if (n == (ssize_t)sizeof *rep)
        return rep->rc;
    if (WIFSIGNALED(status))
        snprintf(rep->msg, sizeof rep->msg, "the save process died of signal %d", WTERMSIG(status));
    else
        snprintf(rep->msg, sizeof rep->msg, "the save process exited with status %d",
                 WEXITSTATUS(status));
    return rep->rc = HE_RUNTIME;
}

static void on_sigchld(uv_signal_t *s, int signum)
{
    (void)signum;
    persist *p = s->data;
    int status;
    if (!p->child || waitpid(p->child, &status, WNOHANG) != p->child)
        return;
    struct child_report rep = {0};
    int rc = read_report(p, status, &rep);
    if (!rc)
        p->saved = p->at_fork;
    else
        remove_tmp(p->path); /* a writer that was killed left it */
    if (!rc && p->log)
        elog_drop_before(p->log, p->child_log_seq);
    record(p, rc, &rep.info, rep.msg);
    answer_waiters(p, rc, &rep.info, rep.msg, true);
}

/* Ends the background save at once (the final save replaces it). */
static void kill_child(persist *p)
{
    int status;
    if (!p->child)
        return;
    kill(p->child, SIGKILL);
    while (waitpid(p->child, &status, 0) < 0 && errno == EINTR)
        ;
    close(p->report_fd);
    p->child = 0;
    log_notice("background save stopped");
    remove_tmp(p->path);
}

int persist_request_save(persist *p, herr *err)
{
    if (!persist_enabled(p))
        return herr_set(err, HE_RUNTIME, "snapshots are off (persistence.path is not set)");
    if (p->child)
        return herr_set(err, HE_RUNTIME, "a save is already in progress (pid %d)", (int)p->child);
    int rc = start_child(p, err);
    return rc;
}

/* A save every persistence.interval_s, when the heap changed since the last
 * good one and none is under way. */
static void on_interval(uv_timer_t *t)
{
    persist *p = t->data;
    herr err;
    struct mark now = mark_now(p);
    if (p->child || p->stopping || memcmp(&now, &p->saved, sizeof now) == 0)
        return;
    if (start_child(p, &err))
        log_err("interval save: %s", err.msg);
}

int persist_final_save(persist *p, herr *err)
{
    if (!persist_enabled(p))
        return 0;
    kill_child(p);
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
    if (!p || !p->child)
        return;
    kill_child(p);
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
    uv_signal_init(ps->loop, &p->sigchld);
    uv_timer_init(ps->loop, &p->timer);
    p->sigchld.data = p->timer.data = p;
    p->handles = true;
    uv_signal_start(&p->sigchld, on_sigchld, SIGCHLD);
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
    if (!persist_enabled(p) || !p->log || !*p->log_max_bytes || p->child || p->stopping ||
        elog_bytes_since_rotate(p->log) < *p->log_max_bytes)
        return;
    log_info("the effect log grew past persistence.log_max_bytes: saving");
    if (start_child(p, &err))
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
    close_if_open((uv_handle_t *)&p->sigchld);
    close_if_open((uv_handle_t *)&p->timer);
}

void persist_free(persist *p)
{
    if (!p)
        return;
    kill_child(p);
    free(p);
}

void persist_get_stats(const persist *p, persist_stats *out)
{
    *out = (persist_stats){.last_status = "never"};
    if (!p)
        return;
    *out = (persist_stats){.saves = p->saves,
                           .failed_saves = p->failures,
                           .in_progress = p->child != 0,
                           .last_fork_us = p->last_fork_us,
                           .last_status = p->last_status,
                           .last_error = strcmp(p->last_status, "err") ? NULL : p->last_error,
                           .last = p->last,
                           .loaded = p->loaded};
}
