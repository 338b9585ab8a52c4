#include "watches.h"
#include "hash.h"
#include "util.h"

#include <assert.h>
#include <stdlib.h>

/* A table slot: an id and the first node of its watchers (0: empty). */
struct wslot {
    hid id;
    uint32_t first;
};

/* One watch. Free nodes are chained through id_next. */
struct wnode {
    hid id;
    void *owner;
    uint32_t *ohead;  /* the owner's list head */
    uint32_t id_next; /* the next watcher of the same id, in watch order */
    uint32_t o_prev, o_next;
};

void watches_init(watches *w)
{
    *w = (watches){0};
}

void watches_free(watches *w)
{
    free(w->slots);
    free(w->old);
    big_free(w->nodes, w->cap * sizeof *w->nodes);
    *w = (watches){0};
}

/* --- the table: id -> first watcher ---------------------------------------- */

/* The slot holding id, or the empty slot where it would go. */
static size_t slot_of(watches *w, hid id)
{
    size_t i = hash_mix(id) & w->mask;
    w->probes++;
    while (w->slots[i].first && w->slots[i].id != id) {
        i = (i + 1) & w->mask;
        w->probes++;
    }
    return i;
}

/* --- growing, a few entries at a time -------------------------------------
 *
 * After a growth the old table stays until every entry has moved: each
 * operation moves MOVE_STEP slots of it (enough to empty it long before
 * the new table needs to grow again), and an operation on an id still in
 * it moves that entry first, so every change happens in the new table. A
 * moved entry leaves a tombstone, never an empty slot, so the probe runs of
 * the old table stay whole for the lookups that still go there. */
#define MOVE_STEP 8
#define TOMB      UINT32_MAX

static void move_entry(watches *w, struct wslot *from)
{
    size_t j = slot_of(w, from->id);
    assert(!w->slots[j].first);
    w->slots[j] = *from;
    from->first = TOMB;
}

static void move_some(watches *w, size_t n)
{
    for (; w->old && n; n--) {
        struct wslot *s = &w->old[w->old_pos];
        if (s->first && s->first != TOMB)
            move_entry(w, s);
        if (++w->old_pos > w->old_mask) {
            free(w->old);
            w->old = NULL;
        }
    }
}

/* The old table's slot holding id, or NULL (a read: nothing moves). */
static struct wslot *old_find(const watches *w, hid id)
{
    if (!w->old)
        return NULL;
    for (size_t i = hash_mix(id) & w->old_mask; w->old[i].first; i = (i + 1) & w->old_mask)
        if (w->old[i].first != TOMB && w->old[i].id == id)
            return &w->old[i];
    return NULL;
}

/* The new table's slot for id (holding it, or empty where it would go),
 * after moving it there if it was still in the old one. */
static size_t find(watches *w, hid id)
{
    move_some(w, MOVE_STEP);
    struct wslot *s = old_find(w, id);
    if (s)
        move_entry(w, s);
    return slot_of(w, id);
}

static void table_grow(watches *w)
{
    move_some(w, SIZE_MAX); /* never two old tables (rare: moves outpace growth) */
    size_t oldcap = w->slots ? w->mask + 1 : 0, cap = oldcap ? oldcap * 2 : 64;
    w->old = w->slots;
    w->old_mask = w->mask;
    w->old_pos = 0;
    w->slots = xcalloc(cap, sizeof *w->slots);
    w->mask = cap - 1;
    if (!oldcap)
        w->old = NULL;
}

/* Empties slot i, shifting back the entries of its probe run. */
static void table_remove(watches *w, size_t i)
{
    for (size_t j = (i + 1) & w->mask; w->slots[j].first; j = (j + 1) & w->mask) {
        size_t home = hash_mix(w->slots[j].id) & w->mask;
        if (((j - home) & w->mask) >= ((j - i) & w->mask)) {
            w->slots[i] = w->slots[j];
            i = j;
        }
    }
    w->slots[i] = (struct wslot){0};
    w->nids--;
}

/* --- the pool ------------------------------------------------------------ */

static uint32_t node_new(watches *w)
{
    if (w->free_list) {
        uint32_t n = w->free_list;
        w->free_list = w->nodes[n].id_next;
        return n;
    }
    if (w->nnodes + 1 >= w->cap) { /* mremap: no copy of a big pool in one request */
        uint32_t cap = w->cap ? w->cap * 2 : 64;
        w->nodes = big_grow(w->nodes, w->cap * sizeof *w->nodes, cap * sizeof *w->nodes);
        w->cap = cap;
    }
    return ++w->nnodes; /* node 0 stays unused: it means "none" */
}

/* Unlinks node n from its owner's list and returns it to the pool (its id
 * list is the caller's business). */
static void node_drop(watches *w, uint32_t n)
{
    struct wnode *x = &w->nodes[n];
    if (x->o_prev)
        w->nodes[x->o_prev].o_next = x->o_next;
    else
        *x->ohead = x->o_next;
    if (x->o_next)
        w->nodes[x->o_next].o_prev = x->o_prev;
    x->id_next = w->free_list;
    w->free_list = n;
    w->count--;
}

/* --- watches ------------------------------------------------------------- */

bool watches_add(watches *w, hid id, void *owner, uint32_t *head)
{
    if (!w->slots || (w->nids + 1) * 2 > w->mask + 1)
        table_grow(w);
    size_t i = find(w, id);
    uint32_t *link = &w->slots[i].first;
    for (; *link; link = &w->nodes[*link].id_next)
        if (w->nodes[*link].owner == owner)
            return false;     /* already watched: one event, not two */
    uint32_t n = node_new(w); /* may move w->nodes, not w->slots */
    if (!w->slots[i].first)
        w->nids++;
    w->slots[i].id = id;
    w->nodes[n] = (struct wnode){.id = id, .owner = owner, .ohead = head, .o_next = *head};
    if (*head)
        w->nodes[*head].o_prev = n;
    *head = n;
    /* append to the id's list: link pointed into the old pool if it moved */
    link = &w->slots[i].first;
    while (*link)
        link = &w->nodes[*link].id_next;
    *link = n;
    w->count++;
    return true;
}

bool watches_remove(watches *w, hid id, const void *owner)
{
    if (!w->count)
        return false;
    size_t i = find(w, id);
    for (uint32_t *link = &w->slots[i].first; *link; link = &w->nodes[*link].id_next) {
        uint32_t n = *link;
        if (w->nodes[n].owner != owner)
            continue;
        *link = w->nodes[n].id_next;
        node_drop(w, n);
        if (!w->slots[i].first)
            table_remove(w, i);
        return true;
    }
    return false;
}

size_t watches_fire(watches *w, hid id, watch_fire_fn fn, void *arg)
{
    if (!w->count)
        return 0;
    size_t i = find(w, id), told = 0;
    if (!w->slots[i].first)
        return 0;
    uint32_t n = w->slots[i].first;
    table_remove(w, i);
    while (n) {
        uint32_t next = w->nodes[n].id_next;
        fn(w->nodes[n].owner, arg);
        node_drop(w, n);
        told++;
        n = next;
    }
    return told;
}

/* Removes node n from its id's list, found through the table. */
static void unlink_from_id(watches *w, uint32_t n)
{
    size_t i = find(w, w->nodes[n].id);
    uint32_t *link = &w->slots[i].first;
    while (*link != n)
        link = &w->nodes[*link].id_next;
    *link = w->nodes[n].id_next;
    if (!w->slots[i].first)
        table_remove(w, i);
}

void watches_drop_owner(watches *w, uint32_t *head)
{
    while (*head) {
        uint32_t n = *head;
        unlink_from_id(w, n);
        node_drop(w, n); /* advances *head */
    }
}

size_t watches_count(const watches *w)
{
    return w->count;
}

size_t watches_of(const watches *w, hid id)
{
    if (!w->count)
        return 0;
    size_t i = hash_mix(id) & w->mask, k = 0;
    while (w->slots[i].first && w->slots[i].id != id)
        i = (i + 1) & w->mask;
    const struct wslot *old = old_find(w, id);
    for (uint32_t n = old ? old->first : w->slots[i].first; n; n = w->nodes[n].id_next)
        k++;
    return k;
}
