/* A snapshot's output: one file, its writer thread (snap_out.h). */
#include "snap_out.h"
#include "crc32c.h"
#include "snap_fmt.h"
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_BYTES (256u << 10) /* the buffer is handed over at this size */
#define BUF_BYTES   (512u << 10) /* ... and has room for this much */
#define POOL        16           /* buffers kept for reuse */
#define DROP_STEP   (4u << 20)   /* see drop_gently */
#define RATE        (128u << 20) /* bytes per second, at most: see pace */
#define SYNC_STEP   (8u << 20)   /* writeback is started every this many bytes */

struct job {
    struct job *next;
    char *data;
    size_t len;
    size_t tlen; /* the last job: the tail's length (data holds head, then tail) */
    size_t cap;  /* BUF_BYTES: a pool buffer, back to the pool once written */
    bool last;
};

struct snap_out {
    char *path, *tmp;
    size_t head_len;
    msgpack_sbuffer buf;
    msgpack_packer pk;
    bool threaded, placed;
    void (*done)(void *ctx);
    void *ctx;
    /* shared with the thread, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    struct job *head, *tail;
    char *spare[POOL]; /* written buffers for the loop to fill again */
    int nspare;
    uint64_t backlog;
    bool stop;
    atomic_bool through; /* the thread has called done: it touches o no more */
    /* the writer's own until done */
    int fd;
    uint32_t crc;  /* of the body: everything after the head */
    uint64_t body; /* its length */
    int error;     /* the first errno, else 0 */
    const char *failed, *subject;
    uint64_t t0;     /* the first write, for pace */
    uint64_t synced; /* body bytes whose writeback was started */
};

/* --- the file ---------------------------------------------------------------- */

static void fail_on(snap_out *o, const char *what, const char *file, int e)
{
    if (!o->error)
        o->error = e ? e : EIO, o->failed = what, o->subject = file;
}

static void write_all(snap_out *o, const char *p, size_t n)
{
    while (n && !o->error) {
        ssize_t k = write(o->fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            fail_on(o, "cannot write", o->tmp, k < 0 ? errno : EIO);
        else
            p += k, n -= (size_t)k;
    }
}

/* Writes at most RATE bytes a second, and starts the writeback as it
 * goes. On a small virtual machine a burst of a few hundred megabytes of
 * writes (any process's, buffered or direct) held the other threads 10-30
 * ms here, a client's answer included; paced, it did not. A snapshot of
 * ten million objects (150 MB) takes about 1.2 s. */
static void pace(snap_out *o)
{
    if (o->body - o->synced >= SYNC_STEP) {
        sync_file_range(o->fd, (off_t)(o->head_len + o->synced), (off_t)(o->body - o->synced),
                        SYNC_FILE_RANGE_WRITE);
        o->synced = o->body;
    }
    if (!o->threaded)
        return; /* a synchronous save: heapd waits for it anyway */
    uint64_t due = o->t0 + o->body * 1000000000ull / RATE, now = now_ns();
    if (due > now) {
        struct timespec ts = {(time_t)((due - now) / 1000000000ull),
                              (long)((due - now) % 1000000000ull)};
        nanosleep(&ts, NULL);
    }
}

/* The file is made on the first write, on the writer's side (the loop
 * never waits for a file system), with room left for the head. */
static void body_write(snap_out *o, const char *p, size_t n)
{
    if (o->fd < 0 && !o->error) {
        o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (o->fd < 0)
            fail_on(o, "cannot create", o->tmp, errno);
        else if (lseek(o->fd, (off_t)o->head_len, SEEK_SET) < 0)
            fail_on(o, "cannot write", o->tmp, errno);
        o->t0 = now_ns();
    }
    write_all(o, p, n);
    o->crc = crc32c(o->crc, p, n);
    o->body += n;
    if (!o->error)
        pace(o);
}

/* Empties the file fd names a few megabytes at a time. Dropping a file of
 * a hundred megabytes from the page cache in one unlink or rename holds
 * the kernel's page locks for tens of milliseconds, which stalls the
 * loop's socket reads on a small machine; in pieces, it does not. */
static void drop_gently(int fd)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return;
    for (off_t size = st.st_size; size > 0;) {
        size = size > (off_t)DROP_STEP ? size - (off_t)DROP_STEP : 0;
        if (ftruncate(fd, size) != 0)
            return;
        sched_yield();
    }
}

/* Puts the head in its place, the tail and the checksum at the end, and
 * the file in place of path, durably. */
static void finish(snap_out *o, const struct job *j)
{
    size_t hlen = j->len - j->tlen;
    body_write(o, j->data + hlen, j->tlen);
    uint32_t crc = crc32c_combine(crc32c(0, j->data, hlen), o->crc, o->body);
    unsigned char c[SNAP_CRC_LEN];
    be32_put(c, crc);
    write_all(o, (const char *)c, sizeof c);
    if (!o->error && hlen != o->head_len)
        fail_on(o, "a header of another length for", o->tmp, EINVAL);
    if (!o->error && pwrite(o->fd, j->data, hlen, 0) != (ssize_t)hlen)
        fail_on(o, "cannot write", o->tmp, errno);
    if (!o->error && fsync(o->fd) != 0)
        fail_on(o, "cannot fsync", o->tmp, errno);
    if (o->fd >= 0 && close(o->fd) != 0)
        fail_on(o, "cannot close", o->tmp, errno);
    o->fd = -1;
    int old = open(o->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW); /* dropped after, gently */
    if (!o->error && rename(o->tmp, o->path) != 0)
        fail_on(o, "cannot rename the snapshot to", o->path, errno);
    if (old >= 0) {
        if (!o->error)
            drop_gently(old); /* the previous snapshot, no longer named */
        close(old);
    }
    if (o->error)
        return;
    o->placed = true;
    int e = fsync_dir_of(o->path);
    if (e)
        fail_on(o, "cannot fsync the directory of", o->path, e);
}

/* --- buffers ------------------------------------------------------------------- */

/* The buffers go round between the loop and the writer, so no buffer is
 * allocated or freed while a save runs: with malloc's large buffers, each
 * would be an mmap or munmap, whose lock the writer's page faults hold,
 * and the loop would wait for it. */
static char *take_buffer(snap_out *o)
{
    pthread_mutex_lock(&o->mu);
    char *p = o->nspare ? o->spare[--o->nspare] : NULL;
    pthread_mutex_unlock(&o->mu);
    return p ? p : xmalloc(BUF_BYTES);
}

static void give_buffer(snap_out *o, char *p, size_t cap)
{
    pthread_mutex_lock(&o->mu);
    bool kept = cap == BUF_BYTES && o->nspare < POOL;
    if (kept)
        o->spare[o->nspare++] = p;
    pthread_mutex_unlock(&o->mu);
    if (!kept)
        free(p);
}

static void free_pool(snap_out *o)
{
    pthread_mutex_lock(&o->mu);
    while (o->nspare)
        free(o->spare[--o->nspare]);
    pthread_mutex_unlock(&o->mu);
}

static void buffer_reset(msgpack_sbuffer *b, char *data)
{
    b->data = data, b->size = 0, b->alloc = BUF_BYTES;
}

static void run_job(snap_out *o, struct job *j)
{
    if (j->last)
        finish(o, j);
    else
        body_write(o, j->data, j->len);
    give_buffer(o, j->data, j->cap);
    free(j);
}

/* --- the thread ------------------------------------------------------------------- */

static struct job *next_job(snap_out *o)
{
    pthread_mutex_lock(&o->mu);
    while (!o->head && !o->stop)
        pthread_cond_wait(&o->cv, &o->mu);
    struct job *j = o->stop ? NULL : o->head;
    if (j) {
        o->head = j->next;
        if (!o->head)
            o->tail = NULL;
    }
    pthread_mutex_unlock(&o->mu);
    return j;
}

static void *writer_main(void *arg)
{
    snap_out *o = arg;
    struct job *j;
    /* Behind the loop for the CPU: on a machine of two cores, writing and
     * checksumming must not delay a client's answer. (Linux: a thread's
     * nice value is its own. SCHED_IDLE was worse: preempted while it
     * held a lock the loop then needed.) */
    (void)!setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    while ((j = next_job(o))) {
        bool last = j->last;
        size_t len = j->len;
        run_job(o, j);
        pthread_mutex_lock(&o->mu);
        o->backlog -= len;
        pthread_mutex_unlock(&o->mu);
        if (last) {
            free_pool(o); /* here: freeing megabytes on the loop took milliseconds */
            void (*done)(void *ctx) = o->done, *ctx = o->ctx;
            atomic_store(&o->through, true); /* o may be freed from now on */
            done(ctx);
            break;
        }
    }
    return NULL;
}

static void submit(snap_out *o, char *data, size_t len, size_t cap, size_t tlen, bool last)
{
    struct job *j = xmalloc(sizeof *j);
    *j = (struct job){NULL, data, len, tlen, cap, last};
    if (!o->threaded) {
        run_job(o, j);
        return;
    }
    pthread_mutex_lock(&o->mu);
    if (o->tail)
        o->tail->next = j;
    else
        o->head = j;
    o->tail = j;
    o->backlog += len;
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

/* Hands the buffer over; more: the records go on, in a buffer from the
 * pool. */
static void flush(snap_out *o, bool more)
{
    if (!o->buf.size)
        return;
    char *data = o->buf.data;
    size_t len = o->buf.size, cap = o->buf.alloc; /* BUF_BYTES unless a record outgrew it */
    if (more)
        buffer_reset(&o->buf, take_buffer(o));
    else
        o->buf = (msgpack_sbuffer){0};
    submit(o, data, len, cap, 0, false);
}

/* --- the API ----------------------------------------------------------------------- */

/* Writer threads through with their saves, not joined yet (the loop's
 * own: one thread uses this). */
static pthread_t reap[8];
static size_t nreap;

void snap_out_reap(void)
{
    while (nreap)
        pthread_join(reap[--nreap], NULL);
}

snap_out *snap_out_open(const char *path, size_t head_len, bool threaded, void (*done)(void *ctx),
                        void *ctx, herr *err)
{
    snap_out *o = xcalloc(1, sizeof *o);
    o->path = xstrndup(path, strlen(path));
    o->tmp = snapshot_tmp_path(path);
    o->head_len = head_len, o->done = done, o->ctx = ctx, o->fd = -1;
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
    buffer_reset(&o->buf, xmalloc(BUF_BYTES));
    msgpack_packer_init(&o->pk, &o->buf, msgpack_sbuffer_write);
    if (threaded && pthread_create(&o->thread, NULL, writer_main, o) != 0) {
        herr_set(err, HE_RUNTIME, "cannot start the snapshot's writer thread");
        snap_out_close(o);
        return NULL;
    }
    o->threaded = threaded;
    return o;
}

msgpack_packer *snap_out_pk(snap_out *o)
{
    return &o->pk;
}

void snap_out_maybe_flush(snap_out *o)
{
    if (o->buf.size >= FLUSH_BYTES)
        flush(o, true);
}

uint64_t snap_out_backlog(snap_out *o)
{
    pthread_mutex_lock(&o->mu);
    uint64_t n = o->backlog;
    pthread_mutex_unlock(&o->mu);
    return n;
}

void snap_out_finish(snap_out *o, const void *head, size_t hlen, const void *tail, size_t tlen)
{
    flush(o, false);
    char *data = xmalloc(hlen + tlen);
    memcpy(data, head, hlen);
    memcpy(data + hlen, tail, tlen);
    submit(o, data, hlen + tlen, 0, tlen, true);
}

bool snap_out_through(snap_out *o)
{
    return atomic_load(&o->through);
}

int snap_out_result(snap_out *o, uint64_t *bytes, herr *err)
{
    *bytes = o->head_len + o->body + SNAP_CRC_LEN;
    if (!o->error)
        return 0;
    return herr_set(err, HE_RUNTIME, "%s %.150s: %s", o->failed, o->subject, strerror(o->error));
}

void snap_out_close(snap_out *o)
{
    /* A thread through with its save only has to return: the loop does not
     * wait for that now (a thread behind the loop for the CPU can take
     * milliseconds to be scheduled again), snap_out_reap joins it later.
     * One still writing is stopped. */
    if (o->threaded && atomic_load(&o->through)) {
        if (nreap == ARRAY_LEN(reap))
            snap_out_reap();
        reap[nreap++] = o->thread;
    } else if (o->threaded) {
        pthread_mutex_lock(&o->mu);
        o->stop = true;
        pthread_cond_signal(&o->cv);
        pthread_mutex_unlock(&o->mu);
        pthread_join(o->thread, NULL);
    }
    for (struct job *j = o->head, *next; j; j = next) {
        next = j->next;
        free(j->data);
        free(j);
    }
    free_pool(o); /* (a thread through has emptied it) */
    msgpack_sbuffer_destroy(&o->buf);
    if (o->fd >= 0) {
        drop_gently(o->fd); /* an abandoned save's file */
        close(o->fd);
    }
    if (!o->placed)
        unlink(o->tmp);
    pthread_mutex_destroy(&o->mu);
    pthread_cond_destroy(&o->cv);
    free(o->path);
    free(o->tmp);
    free(o);
}

char *snapshot_tmp_path(const char *path)
{
    size_t n = strlen(path);
    char *tmp = xmalloc(n + 5);
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    return tmp;
}
