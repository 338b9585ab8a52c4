/* A snapshot's output: section files, the writer thread, the assembly
 * (snap_out.h). */
#include "snap_out.h"
#include "crc32c.h"
#include "snap_fmt.h"
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FLUSH_BYTES (256u << 10) /* a section's buffer is handed over at this size */
#define BUF_BYTES   (512u << 10) /* ... and has room for this much */
#define POOL        16           /* buffers kept for reuse */
#define COPY_BYTES  (4u << 20)   /* the assembly's copy size */

struct job {
    struct job *next;
    int sec; /* -1: the assembly, data holding head and tail */
    char *data;
    size_t len, tlen;
    size_t cap; /* BUF_BYTES: a pool buffer, back to the pool once written */
};

struct section {
    msgpack_sbuffer buf;
    msgpack_packer pk;
    int fd;
    char *path;
    uint32_t crc; /* of what its file holds, kept as it is written */
    uint64_t len;
};

struct snap_out {
    char *path, *tmp;
    struct section sec[SEC__COUNT];
    bool threaded, placed, removed;
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
    /* the thread's own until done */
    int error;           /* the first errno, else 0 */
    const char *failed;  /* what failed */
    const char *subject; /* the file it failed on */
    uint64_t bytes;
};

/* --- files ----------------------------------------------------------------- */

static void write_all(snap_out *o, int fd, const char *p, size_t n, const char *file)
{
    while (n && !o->error) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            o->error = k < 0 ? errno : EIO;
            o->failed = "cannot write", o->subject = file;
        } else {
            p += k, n -= (size_t)k;
        }
    }
}

static char *section_path(const char *tmp, int k)
{
    size_t n = strlen(tmp) + 8;
    char *p = xmalloc(n);
    snprintf(p, n, "%s.%d", tmp, k);
    return p;
}

void snap_out_remove_leftovers(const char *path)
{
    char *tmp = snapshot_tmp_path(path);
    for (int k = 0; k < SEC__COUNT; k++) {
        char *p = section_path(tmp, k);
        unlink(p);
        free(p);
    }
    free(tmp);
}

/* --- the assembly ------------------------------------------------------------ */

/* Appends a section's file to the snapshot: the kernel copies it
 * (copy_file_range; read and write where it cannot), a few megabytes at a
 * time with a yield between, so the copy leaves the loop its core; the
 * checksum was kept as the section was written. */
static void copy_section(snap_out *o, int out, uint32_t *crc, struct section *s, char *buf)
{
    if (s->fd < 0)
        return; /* nothing was written to it */
    *crc = crc32c_combine(*crc, s->crc, s->len);
    off_t off = 0;
    bool kernel = true;
    while ((uint64_t)off < s->len && !o->error) {
        size_t want =
            s->len - (uint64_t)off < COPY_BYTES ? (size_t)(s->len - (uint64_t)off) : COPY_BYTES;
        ssize_t n = kernel ? copy_file_range(s->fd, &off, out, NULL, want, 0) : -1;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 && kernel && off == 0) {
            kernel = false; /* not on this file system: copy by hand */
            continue;
        }
        if (!kernel) {
            n = pread(s->fd, buf, want, off);
            if (n > 0)
                write_all(o, out, buf, (size_t)n, o->tmp), off += n;
        }
        if (n <= 0) {
            o->error = n < 0 ? errno : EIO, o->failed = "cannot copy", o->subject = s->path;
            return;
        }
        sched_yield();
    }
    o->bytes += s->len;
}

static void put(snap_out *o, int fd, uint32_t *crc, const void *p, size_t n)
{
    *crc = crc32c(*crc, p, n);
    write_all(o, fd, p, n, o->tmp);
    o->bytes += n;
}

static void fail_on(snap_out *o, const char *what, const char *file)
{
    if (!o->error)
        o->error = errno ? errno : EIO, o->failed = what, o->subject = file;
}

/* Empties the file fd names a few megabytes at a time. Dropping a file of
 * a hundred megabytes from the page cache in one unlink or rename holds
 * the kernel's page locks for tens of milliseconds, which stalls the
 * loop's socket reads on a small machine; in pieces, it does not. */
#define DROP_STEP (4u << 20)

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

/* Closes and removes the section files (on the writer's side). */
static void remove_sections(snap_out *o)
{
    for (int k = 0; k < SEC__COUNT; k++) {
        struct section *s = &o->sec[k];
        drop_gently(s->fd);
        if (s->fd >= 0)
            close(s->fd);
        s->fd = -1;
        unlink(s->path);
    }
    o->removed = true;
}

static void assemble(snap_out *o, const struct job *j)
{
    int fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        fail_on(o, "cannot create", o->tmp);
        return;
    }
    uint32_t crc = 0;
    char *buf = xmalloc(COPY_BYTES);
    put(o, fd, &crc, j->data, j->len - j->tlen);
    for (int k = 0; k < SEC__COUNT && !o->error; k++)
        copy_section(o, fd, &crc, &o->sec[k], buf);
    free(buf);
    put(o, fd, &crc, j->data + j->len - j->tlen, j->tlen);
    unsigned char c[SNAP_CRC_LEN];
    be32_put(c, crc);
    write_all(o, fd, (const char *)c, sizeof c, o->tmp);
    o->bytes += sizeof c;
    if (!o->error && fsync(fd) != 0)
        fail_on(o, "cannot fsync", o->tmp);
    if (close(fd) != 0)
        fail_on(o, "cannot close", o->tmp);
    int old = open(o->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW); /* dropped after, gently */
    if (!o->error && rename(o->tmp, o->path) != 0)
        fail_on(o, "cannot rename the snapshot to", o->path);
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
        o->error = e, o->failed = "cannot fsync the directory of", o->subject = o->path;
}

/* A section's file is made on its first write, on the writer's side: the
 * loop never waits for a file system. */
static void section_write(snap_out *o, struct section *s, const char *p, size_t n)
{
    if (s->fd < 0 && !o->error) {
        s->fd = open(s->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (s->fd < 0)
            fail_on(o, "cannot create", s->path);
    }
    if (s->fd < 0)
        return;
    write_all(o, s->fd, p, n, s->path);
    s->crc = crc32c(s->crc, p, n);
    s->len += n;
}

/* The section buffers go round between the loop and the writer, so no
 * buffer is allocated or freed while a save runs: with malloc's large
 * buffers, each would be an mmap or munmap, whose lock the writer's page
 * faults hold, and the loop would wait for it. */
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

static void buffer_reset(msgpack_sbuffer *b, char *data)
{
    b->data = data, b->size = 0, b->alloc = BUF_BYTES;
}

static void run_job(snap_out *o, struct job *j)
{
    if (j->sec >= 0)
        section_write(o, &o->sec[j->sec], j->data, j->len);
    else
        assemble(o, j), remove_sections(o);
    give_buffer(o, j->data, j->cap);
    free(j);
}

/* --- the thread ------------------------------------------------------------ */

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
    /* Behind the loop for the CPU: on a machine of two cores the copying
     * and checksumming must not delay a client's answer. (Linux: a
     * thread's nice value is its own. SCHED_IDLE was worse: preempted
     * while it held a lock the loop then needed.) */
    (void)!setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    while ((j = next_job(o))) {
        bool last = j->sec < 0;
        size_t len = j->len;
        run_job(o, j);
        pthread_mutex_lock(&o->mu);
        o->backlog -= len;
        pthread_mutex_unlock(&o->mu);
        if (last) {
            o->done(o->ctx);
            break;
        }
    }
    return NULL;
}

static void submit(snap_out *o, int sec, char *data, size_t len, size_t tlen, size_t cap)
{
    struct job *j = xmalloc(sizeof *j);
    *j = (struct job){NULL, sec, data, len, tlen, cap};
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

/* --- the API ----------------------------------------------------------------- */

snap_out *snap_out_open(const char *path, bool threaded, void (*done)(void *ctx), void *ctx,
                        herr *err)
{
    snap_out *o = xcalloc(1, sizeof *o);
    o->path = xstrndup(path, strlen(path));
    o->tmp = snapshot_tmp_path(path);
    o->threaded = false, o->done = done, o->ctx = ctx;
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
    for (int k = 0; k < SEC__COUNT; k++)
        o->sec[k].fd = -1;
    for (int k = 0; k < SEC__COUNT; k++) {
        struct section *s = &o->sec[k];
        s->path = section_path(o->tmp, k);
        buffer_reset(&s->buf, xmalloc(BUF_BYTES));
        msgpack_packer_init(&s->pk, &s->buf, msgpack_sbuffer_write);
    }
    if (threaded && pthread_create(&o->thread, NULL, writer_main, o) != 0) {
        herr_set(err, HE_RUNTIME, "cannot start the snapshot's writer thread");
        snap_out_close(o);
        return NULL;
    }
    o->threaded = threaded;
    return o;
}

msgpack_packer *snap_out_pk(snap_out *o, enum snap_section s)
{
    return &o->sec[s].pk;
}

/* Hands the section's buffer over; more: the section goes on, in a
 * buffer from the pool. */
static void flush(snap_out *o, enum snap_section k, bool more)
{
    struct section *s = &o->sec[k];
    if (!s->buf.size)
        return;
    char *data = s->buf.data;
    size_t len = s->buf.size, cap = s->buf.alloc; /* BUF_BYTES unless a record outgrew it */
    if (more)
        buffer_reset(&s->buf, take_buffer(o));
    else
        s->buf = (msgpack_sbuffer){0};
    submit(o, k, data, len, 0, cap);
}

void snap_out_maybe_flush(snap_out *o, enum snap_section s)
{
    if (o->sec[s].buf.size >= FLUSH_BYTES)
        flush(o, s, true);
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
    for (int k = 0; k < SEC__COUNT; k++)
        flush(o, (enum snap_section)k, false);
    char *data = xmalloc(hlen + tlen);
    memcpy(data, head, hlen);
    memcpy(data + hlen, tail, tlen);
    submit(o, -1, data, hlen + tlen, tlen, 0);
}

int snap_out_result(snap_out *o, uint64_t *bytes, herr *err)
{
    *bytes = o->bytes;
    if (!o->error)
        return 0;
    return herr_set(err, HE_RUNTIME, "%s %.150s: %s", o->failed, o->subject, strerror(o->error));
}

void snap_out_close(snap_out *o)
{
    if (o->threaded) {
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
    while (o->nspare)
        free(o->spare[--o->nspare]);
    for (int k = 0; k < SEC__COUNT; k++) {
        struct section *s = &o->sec[k];
        msgpack_sbuffer_destroy(&s->buf);
    }
    if (!o->removed)
        remove_sections(o); /* a save abandoned before its assembly */
    for (int k = 0; k < SEC__COUNT; k++)
        free(o->sec[k].path);
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
