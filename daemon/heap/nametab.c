#include "nametab.h"
#include "cursor.h"
#include "hash.h"
#include "util.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Packed so a typical short name ("user:1234") fits malloc's 32-byte chunk:
 * memory per binding is what the name benchmark measures against Redis. */
struct __attribute__((packed)) nentry {
    hobj *val;
    uint32_t hash; /* low bits of the seeded name hash */
    uint16_t len;  /* names are at most NAMETAB_MAX_NAME bytes */
    char name[];   /* not NUL-terminated */
};

#define ENTRY_BYTES(len) (offsetof(struct nentry, name) + (len))

void nametab_init(nametab *t)
{
    memset(t, 0, sizeof *t);
}

void nametab_destroy(nametab *t)
{
    /* an emptied table (a closed frame, drained) frees no entry: no walk */
    for (size_t i = 0; t->count && t->slots && i <= t->mask; i++)
        free(t->slots[i]);
    free(t->slots);
    nametab_init(t);
}

static uint32_t name_hash(const char *name, size_t len)
{
    return (uint32_t)hash_bytes(name, len);
}
static size_t home(const nametab *t, uint32_t hash)
{
    return hash_mix(hash) & t->mask;
}

/* The slot holding name, or the empty slot where it would go. */
static size_t find_slot(const nametab *t, const char *name, size_t len, uint32_t hash)
{
    size_t i = home(t, hash);
    for (struct nentry *e; (e = t->slots[i]); i = (i + 1) & t->mask)
        if (e->hash == hash && e->len == len && memcmp(e->name, name, len) == 0)
            break;
    return i;
}

hobj *nametab_get(const nametab *t, const char *name, size_t len)
{
    if (!t->count)
        return NULL;
    struct nentry *e = t->slots[find_slot(t, name, len, name_hash(name, len))];
    return e ? e->val : NULL;
}

static void grow(nametab *t)
{
    struct nentry **old = t->slots;
    size_t oldcap = old ? t->mask + 1 : 0, cap = oldcap ? oldcap * 2 : 8;
    t->slots = xcalloc(cap, sizeof *t->slots);
    t->mask = cap - 1;
    t->bytes += (cap - oldcap) * sizeof *t->slots;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i])
            continue;
        size_t j = home(t, old[i]->hash);
        while (t->slots[j])
            j = (j + 1) & t->mask;
        t->slots[j] = old[i];
    }
    free(old);
}

hobj *nametab_put(nametab *t, const char *name, size_t len, hobj *val)
{
    if (!t->slots || (t->count + 1) * 4 > (t->mask + 1) * 3)
        grow(t);
    uint32_t hash = name_hash(name, len);
    size_t i = find_slot(t, name, len, hash);
    struct nentry *e = t->slots[i];
    if (e) {
        hobj *old = e->val;
        e->val = val;
        return old;
    }
    assert(len <= NAMETAB_MAX_NAME);
    e = xmalloc(ENTRY_BYTES(len));
    e->val = val;
    e->hash = hash;
    e->len = (uint16_t)len;
    memcpy(e->name, name, len);
    t->bytes += ENTRY_BYTES(len);
    t->slots[i] = e;
    t->count++;
    return NULL;
}

/* Empties slot i and shifts back the entries after it whose home allows. */
static void remove_slot(nametab *t, size_t i)
{
    for (size_t j = (i + 1) & t->mask; t->slots[j]; j = (j + 1) & t->mask) {
        size_t h = home(t, t->slots[j]->hash);
        if (((j - h) & t->mask) >= ((j - i) & t->mask)) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i] = NULL;
    t->count--;
}

hobj *nametab_del(nametab *t, const char *name, size_t len)
{
    if (!t->count)
        return NULL;
    size_t i = find_slot(t, name, len, name_hash(name, len));
    struct nentry *e = t->slots[i];
    if (!e)
        return NULL;
    hobj *val = e->val;
    t->bytes -= ENTRY_BYTES(e->len);
    free(e);
    remove_slot(t, i);
    return val;
}

/* Empties slot i of a table being torn down, without the backward shift
 * (no lookup follows); the entry is the caller's to free. */
static struct nentry *unlink_slot(nametab *t, size_t i)
{
    struct nentry *e = t->slots[i];
    t->slots[i] = NULL;
    t->count--;
    t->bytes -= ENTRY_BYTES(e->len);
    return e;
}

void nametab_drain(nametab *t, nametab_fn fn, void *arg)
{
    for (size_t i = 0; t->slots && i <= t->mask; i++) {
        if (!t->slots[i])
            continue;
        struct nentry *e = unlink_slot(t, i);
        fn(e->name, e->len, e->val, arg);
        free(e);
    }
}

hobj *nametab_take_next(nametab *t, size_t *pos)
{
    for (; t->slots && *pos <= t->mask; ++*pos) {
        if (!t->slots[*pos])
            continue;
        struct nentry *e = unlink_slot(t, *pos);
        hobj *val = e->val;
        free(e);
        return val;
    }
    return NULL;
}

void nametab_foreach(const nametab *t, nametab_fn fn, void *arg)
{
    for (size_t i = 0; t->slots && i <= t->mask; i++)
        if (t->slots[i])
            fn(t->slots[i]->name, t->slots[i]->len, t->slots[i]->val, arg);
}

size_t nametab_bytes(const nametab *t)
{
    return t->bytes;
}

size_t nametab_put_cost(const nametab *t, size_t len)
{
    bool grows = !t->slots || (t->count + 1) * 4 > (t->mask + 1) * 3;
    size_t oldcap = t->slots ? t->mask + 1 : 0;
    return ENTRY_BYTES(len) + (grows ? (oldcap ? oldcap : 8) * sizeof *t->slots : 0);
}

size_t nametab_scan(const nametab *t, size_t cursor, nametab_fn fn, void *arg, uint64_t *work)
{
    if (!t->count)
        return 0;
    size_t b = cursor & t->mask;
    for (size_t i = b; t->slots[i]; i = (i + 1) & t->mask) {
        struct nentry *e = t->slots[i];
        if (home(t, e->hash) == b)
            fn(e->name, e->len, e->val, arg);
        ++*work;
    }
    ++*work;
    return cursor_next(cursor, t->mask);
}

bool nametab_scanned(const nametab *t, const char *name, size_t len, size_t cursor)
{
    return t->slots && cursor_passed(home(t, name_hash(name, len)), cursor, t->mask);
}

void nametab_foreach_scanned(const nametab *t, size_t cursor, nametab_fn fn, void *arg)
{
    for (size_t i = 0; t->slots && i <= t->mask; i++) {
        struct nentry *e = t->slots[i];
        if (e && cursor_passed(home(t, e->hash), cursor, t->mask))
            fn(e->name, e->len, e->val, arg);
    }
}
