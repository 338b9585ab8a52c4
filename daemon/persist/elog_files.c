/* The effect log's segment files: finding them, replaying them in order
 * (elog_replay.h), naming and removing them. No libuv. */
#include "elog_files.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ULL(x) ((unsigned long long)(x))

char *elog_segment_path(const char *base, uint64_t seq)
{
    size_t n = strlen(base) + ELOG_SEQ_DIGITS + 24;
    char *p = xmalloc(n);
    snprintf(p, n, "%s.%0*llu", base, ELOG_SEQ_DIGITS, ULL(seq));
    return p;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* "<base>.<digits>" with exactly ELOG_SEQ_DIGITS or more digits. */
static bool seq_of(const char *name, const char *prefix, size_t plen, uint64_t *seq)
{
    if (strncmp(name, prefix, plen) != 0 || name[plen] != '.')
        return false;
    const char *d = name + plen + 1;
    size_t n = strlen(d);
    if (n < ELOG_SEQ_DIGITS || n > 19)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i] < '0' || d[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(d[i] - '0');
    }
    *seq = v;
    return v > 0;
}

int elog_list_segments(const char *base, uint64_t **seqs, size_t *n, herr *err)
{
    const char *slash = strrchr(base, '/');
    char *dir =
        slash ? xstrndup(base, slash == base ? 1 : (size_t)(slash - base)) : xstrndup(".", 1);
    const char *prefix = slash ? slash + 1 : base;
    size_t plen = strlen(prefix), cap = 0;
    *seqs = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        free(dir);
        if (e == ENOENT)
            return 0;
        return herr_set(err, HE_RUNTIME, "cannot list the log's directory: %s", strerror(e));
    }
    struct dirent *de;
    uint64_t seq;
    while ((de = readdir(d)))
        if (seq_of(de->d_name, prefix, plen, &seq)) {
            if (*n == cap)
                *seqs = xrealloc(*seqs, (cap = cap ? cap * 2 : 16) * sizeof **seqs);
            (*seqs)[(*n)++] = seq;
        }
    closedir(d);
    free(dir);
    if (*n)
        qsort(*seqs, *n, sizeof **seqs, cmp_u64);
    return 0;
}

static int replay_file(elog_replay *r, const char *path, uint64_t seq, bool last, size_t *valid,
                       size_t *len, herr *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return herr_set(err, HE_RUNTIME, "%.200s: cannot read: %s", path, strerror(e));
    }
    *len = (size_t)st.st_size;
    if (last && *len < ELOG_HEADER_LEN) {
        close(fd);
        *valid = 0;
        log_warn("%s: dropped as a torn tail: %zu bytes, shorter than a segment header (a crash "
                 "as the segment was being created; nothing in it was acknowledged)",
                 path, *len);
        return 0;
    }
    void *p = *len ? mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (p == MAP_FAILED)
        return herr_set(err, HE_RUNTIME, "%.200s: cannot map: %s", path, strerror(errno));
    if (p)
        madvise(p, *len, MADV_SEQUENTIAL);
    int rc = elog_replay_segment(r, path, p ? p : (const void *)"", *len, seq, last, valid, err);
    if (p)
        munmap(p, *len);
    return rc;
}

int elog_replay_all(elog_replay *r, const char *base, uint64_t start_seq, elog_tail *tail,
                    herr *err)
{
    uint64_t *seqs;
    size_t n, first = 0;
    int rc = elog_list_segments(base, &seqs, &n, err);
    if (rc)
        return rc;
    while (first < n && seqs[first] < start_seq)
        first++; /* covered by the snapshot */
    *tail = (elog_tail){.seq = start_seq ? start_seq : 1, .covered_below = start_seq};
    if (first < n && start_seq && seqs[first] != start_seq)
        rc = herr_set(err, HE_RUNTIME,
                      "the snapshot is followed by log segment %llu, but the first one there is "
                      "%llu",
                      ULL(start_seq), ULL(seqs[first]));
    for (size_t i = first; i < n && !rc; i++) {
        if (i > first && seqs[i] != seqs[i - 1] + 1) {
            rc = herr_set(err, HE_RUNTIME, "log segment %llu is missing (before %llu)",
                          ULL(seqs[i - 1] + 1), ULL(seqs[i]));
            break;
        }
        char *path = elog_segment_path(base, seqs[i]);
        *tail = (elog_tail){.seq = seqs[i], .exists = true, .covered_below = start_seq};
        rc = replay_file(r, path, seqs[i], i + 1 == n, &tail->valid_len, &tail->len, err);
        free(path);
        /* a last segment shorter than its header (only a last one is let
         * through) holds nothing: it is made again, header first */
        if (!rc && tail->len < ELOG_HEADER_LEN)
            tail->exists = false;
    }
    free(seqs);
    return rc;
}

void elog_remove_below(const char *base, uint64_t seq)
{
    uint64_t *seqs;
    size_t n;
    herr err;
    if (elog_list_segments(base, &seqs, &n, &err))
        return;
    for (size_t i = 0; i < n && seqs[i] < seq; i++) {
        char *path = elog_segment_path(base, seqs[i]);
        if (unlink(path) == 0)
            log_info("removed %s: the snapshot covers it", path);
        free(path);
    }
    free(seqs);
}
