#include "cont.h"
#include "hash.h"
#include "util.h"
#include "effects.h" /* the effect log's hook: HEFFECT(...) before each change */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The list, dict or set that makes o unhashable: for a tuple, found by
 * descending into its first unhashable item (a loop, not a recursion). */
static hobj *unhashable_part(hobj *o)
{
    uint64_t ignored;
    while (o->type == T_TUPLE) {
        htuple *t = AS_TUPLE(o);
        uint32_t i = 0;
        while (i < t->len && obj_hash(t->items[i], &ignored))
            i++;
        if (i == t->len)
            break;
        o = t->items[i];
    }
    return o;
}

int cont_hash(hobj *key, uint64_t *hash, herr *err)
{
    if (obj_hash(key, hash))
        return 0;
    return herr_set(err, HE_TYPE, "unhashable type: '%s'", htype_name(unhashable_part(key)->type));
}

/* List growth as CPython's list_resize: about 1/8 over, so appends are
 * amortized O(1) without doubling the memory of big lists. */
static uint32_t list_new_cap(uint32_t cap, uint32_t need)
{
    if (need <= cap)
        return cap;
    uint64_t c = (uint64_t)need + (need >> 3) + (need < 9 ? 3 : 6);
    return c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
}

size_t cont_list_grow_bytes(const hobj *list, uint32_t extra)
{
    const hlist *l = AS_LIST(list);
    uint64_t need = (uint64_t)l->len + extra;
    if (need > UINT32_MAX)
        return SIZE_MAX;
    return (list_new_cap(l->cap, (uint32_t)need) - l->cap) * sizeof(hobj *);
}

void cont_list_set_cap(heap *h, hobj *list, uint32_t cap)
{
    hlist *l = AS_LIST(list);
    assert(cap >= l->len);
    if (cap == l->cap)
        return;
    l->items = xrealloc(l->items, cap * sizeof(hobj *));
    heap_account(h, (long)cap * (long)sizeof(hobj *) - (long)l->cap * (long)sizeof(hobj *));
    l->cap = cap;
}

void cont_list_reserve(heap *h, hobj *list, uint32_t extra)
{
    hlist *l = AS_LIST(list);
    cont_list_set_cap(h, list, list_new_cap(l->cap, l->len + extra));
}

void cont_list_append(heap *h, hobj *list, hobj *item)
{
    hlist *l = AS_LIST(list);
    assert(l->len < l->cap);
    HEFFECT(h, HEFF_APPEND, .o = list, .a = item);
    heap_store_barrier(h, list, item);
    l->items[l->len++] = item;
}

int cont_index(const hobj *seq, int64_t index, uint32_t *out, herr *err)
{
    int64_t len = AS_LIST(seq)->len;
    if (index < 0)
        index += len;
    if (index < 0 || index >= len)
        return herr_set(err, HE_INDEX, "%s index out of range", htype_name(seq->type));
    *out = (uint32_t)index;
    return 0;
}

void cont_list_set(heap *h, hobj *list, uint32_t i, hobj *item)
{
    hlist *l = AS_LIST(list);
    hobj *old = l->items[i];
    HEFFECT(h, HEFF_LSET, .o = list, .a = item, .i = i);
    heap_store_barrier(h, list, item);
    l->items[i] = item;
    heap_decref(h, old); /* after the store: the list is whole if this frees */
}

hobj *cont_list_take(heap *h, hobj *list, uint32_t i)
{
    hlist *l = AS_LIST(list);
    hobj *o = l->items[i];
    HEFFECT(h, HEFF_LDEL, .o = list, .i = i);
    memmove(&l->items[i], &l->items[i + 1], (l->len - i - 1) * sizeof(hobj *));
    l->len--;
    heap_note_shift(h, list, i, -1);
    return o;
}

void cont_list_insert(heap *h, hobj *list, int64_t index, hobj *item)
{
    hlist *l = AS_LIST(list);
    int64_t len = l->len;
    if (index < 0)
        index = index + len < 0 ? 0 : index + len;
    if (index > len)
        index = len;
    assert(l->len < l->cap);
    HEFFECT(h, HEFF_INSERT, .o = list, .a = item, .i = (uint64_t)index);
    memmove(&l->items[index + 1], &l->items[index], (size_t)(len - index) * sizeof(hobj *));
    heap_note_shift(h, list, (uint32_t)index, +1);
    heap_store_barrier(h, list, item);
    l->items[index] = item;
    l->len++;
}

size_t cont_table_grow_bytes(const hobj *d, uint32_t extra)
{
    return htab_bytes_for(AS_DICT(d), extra) - htab_bytes(AS_DICT(d)->tb);
}

void cont_table_reserve(heap *h, hobj *d, uint32_t extra)
{
    htab_block *before = AS_DICT(d)->tb;
    heap_snap_touch(h, d); /* its entries may move */
    heap_account(h, htab_reserve(AS_DICT(d), extra));
    if (AS_DICT(d)->tb != before)
        heap_note_rebuild(h, d); /* entries moved: a piecewise scan restarts */
}

hobj *cont_dict_get(const hobj *d, hobj *key, uint64_t hash)
{
    int64_t pos = htab_find(AS_DICT(d), key, hash);
    return pos == HTAB_NONE ? NULL : htab_entry(AS_DICT(d), pos)->val;
}

void cont_dict_set(heap *h, hobj *d, hobj *key, uint64_t hash, hobj *val)
{
    hdict *t = AS_DICT(d);
    int64_t pos = htab_find(t, key, hash);
    HEFFECT(h, HEFF_DSET, .o = d, .a = key, .b = val);
    heap_store_barrier(h, d, val);
    if (pos != HTAB_NONE) {
        hentry *e = htab_entry(t, pos);
        hobj *old = e->val;
        e->val = val;
        heap_decref(h, key);
        heap_decref(h, old);
        return;
    }
    heap_store_barrier(h, d, key);
    htab_insert_new(t, key, hash, val);
}

int cont_dict_pop(heap *h, hobj *d, hobj *key, uint64_t hash, hobj **val, herr *err)
{
    hdict *t = AS_DICT(d);
    int64_t pos = htab_find(t, key, hash);
    if (pos == HTAB_NONE)
        return herr_set(err, HE_KEY, "key not found");
    hentry *e = htab_entry(t, pos);
    hobj *k = e->key, *v = e->val;
    HEFFECT(h, HEFF_DDEL, .o = d, .a = key);
    htab_delete_at(t, pos);
    heap_decref(h, k);
    if (val)
        *val = v;
    else
        heap_decref(h, v);
    return 0;
}

bool cont_set_add(heap *h, hobj *s, hobj *key, uint64_t hash)
{
    hdict *t = AS_DICT(s);
    if (htab_find(t, key, hash) != HTAB_NONE) {
        heap_decref(h, key);
        return false;
    }
    HEFFECT(h, HEFF_SADD, .o = s, .a = key); /* only now: it is really added */
    heap_store_barrier(h, s, key);
    htab_insert_new(t, key, hash, NULL);
    return true;
}

bool cont_set_discard(heap *h, hobj *s, hobj *key, uint64_t hash)
{
    hdict *t = AS_DICT(s);
    int64_t pos = htab_find(t, key, hash);
    if (pos == HTAB_NONE)
        return false;
    hobj *k = htab_entry(t, pos)->key;
    HEFFECT(h, HEFF_SDEL, .o = s, .a = key);
    htab_delete_at(t, pos);
    heap_decref(h, k);
    return true;
}

bool cont_table_contains(const hobj *d, hobj *key, uint64_t hash)
{
    return htab_find(AS_DICT(d), key, hash) != HTAB_NONE;
}

void cont_clear(heap *h, hobj *o)
{
    heap_clear_container(h, o);
}
