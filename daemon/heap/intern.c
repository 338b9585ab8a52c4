#include "intern.h"
#include "hash.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void itab_init(itab *t)
{
    memset(t, 0, sizeof *t);
}

void itab_destroy(itab *t)
{
    free(t->slots);
    itab_init(t);
}

size_t itab_bytes(const itab *t)
{
    return t->slots ? (t->mask + 1) * sizeof(hobj *) : 0;
}

static size_t home(const itab *t, uint64_t hash)
{
    return hash_mix(hash) & t->mask;
}

static hobj *find_probe(const itab *t, hobj *probe, uint64_t hash)
{
    if (!t->slots)
        return NULL;
    for (size_t i = home(t, hash);; i = (i + 1) & t->mask) {
        hobj *o = t->slots[i];
        if (!o)
            return NULL;
        if (value_same(o, probe))
            return o;
    }
}

hobj *itab_find(const itab *t, hobj *probe)
{
    return find_probe(t, probe, value_hash(probe));
}

hobj *itab_find_str(const itab *t, htype type, const char *data, size_t len)
{
    hstr s = {.h = {.type = type}, .len = (uint32_t)len, .data = (char *)data};
    return find_probe(t, &s.h, value_hash(&s.h));
}

hobj *itab_find_num(const itab *t, htype type, const void *value8)
{
    hint n = {.h = {.type = type}};
    memcpy(&n.v, value8, 8);
    return find_probe(t, &n.h, value_hash(&n.h));
}

static void put(itab *t, hobj *o)
{
    size_t i = home(t, value_hash(o));
    while (t->slots[i])
        i = (i + 1) & t->mask;
    t->slots[i] = o;
}

static void grow(itab *t)
{
    hobj **old = t->slots;
    size_t oldcap = t->slots ? t->mask + 1 : 0, cap = oldcap ? oldcap * 2 : 64;
    t->slots = xcalloc(cap, sizeof *t->slots);
    t->mask = cap - 1;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i])
            put(t, old[i]);
    free(old);
}

void itab_add(itab *t, hobj *o)
{
    if (!t->slots || (t->count + 1) * 4 > (t->mask + 1) * 3)
        grow(t);
    put(t, o);
    t->count++;
}

void itab_remove(itab *t, hobj *o)
{
    size_t i = home(t, value_hash(o));
    while (t->slots[i] != o)
        i = (i + 1) & t->mask;
    /* Backward shift: pull later members of the run into the hole when
     * their home slot does not lie cyclically in (hole, j]. */
    for (size_t j = (i + 1) & t->mask; t->slots[j]; j = (j + 1) & t->mask) {
        size_t h = home(t, value_hash(t->slots[j]));
        if (((j - h) & t->mask) >= ((j - i) & t->mask)) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i] = NULL;
    t->count--;
}
