#include "ns.h"
#include "hash.h"
#include "nametab.h"
#include "ns_priv.h"
#include "util.h"
#include "effects.h" /* the effect log's hook: global bindings */

#include <stdlib.h>
#include <string.h>

/* Memory of name tables and handles is charged to the heap (stats, limit):
 * callers note a table's size before a change and settle after it. */
static void settle(hns *ns, size_t before, size_t after)
{
    heap_account_ext(ns->h, (long)after - (long)before);
}

hns *ns_new(heap *h, uint32_t max_frames)
{
    hns *ns = xcalloc(1, sizeof *ns);
    ns->h = h;
    ns->max_frames = max_frames;
    ns->next_session_id = 1;
    nametab_init(&ns->global);
    heap_set_roots(h, &ns_roots_ops, ns);
    return ns;
}

static void drop_value(const char *name, size_t len, hobj *val, void *arg)
{
    (void)name, (void)len;
    heap_decref(arg, val);
}

void ns_free(hns *ns)
{
    if (!ns)
        return;
    while (ns->sessions)
        ns_session_end(ns, ns->sessions);
    settle(ns, nametab_bytes(&ns->global), 0);
    nametab_drain(&ns->global, drop_value, ns->h);
    nametab_destroy(&ns->global);
    heap_set_roots(ns->h, NULL, NULL);
    free(ns);
}

void ns_set_max_frames(hns *ns, uint32_t max_frames)
{
    ns->max_frames = max_frames;
}
heap *ns_heap(const hns *ns)
{
    return ns->h;
}
uint32_t ns_session_count(const hns *ns)
{
    return ns->nsessions;
}
uint64_t ns_session_id(const hsession *s)
{
    return s->id;
}
uint32_t ns_depth(const hsession *s)
{
    return s->depth;
}

/* --- closing: names and handles that go out of scope together ---------------
 *
 * A frame that closes (pop_scope, or its session ending) and a finished
 * session's handles leave the roots at once, but their references are
 * released by the heap's deferred queue in slices (heap_queue_holder), so
 * closing a frame of a million names stalls no one. Until released they
 * still count, as a dying container's items do. Small ones are released at
 * once, so counts are exact right after the request that closed them. */
#define NS_CLOSE_AT_ONCE 1024

struct closed_names {
    heap *h;
    nametab t;
    size_t pos;
};

static hobj *names_take(void *p)
{
    struct closed_names *c = p;
    size_t before = nametab_bytes(&c->t);
    hobj *o = nametab_take_next(&c->t, &c->pos);
    heap_account_ext(c->h, (long)nametab_bytes(&c->t) - (long)before);
    return o;
}

static void names_visit(void *p, hvisit_fn visit, void *arg)
{
    struct closed_names *c = p;
    struct ns_walk w = {visit, arg};
    nametab_foreach(&c->t, ns_visit_binding, &w);
}

static void names_destroy(void *p, heap *h)
{
    struct closed_names *c = p;
    heap_account_ext(h, -(long)nametab_bytes(&c->t));
    nametab_destroy(&c->t);
    free(c);
}

static const hholder_ops closed_names_ops = {names_take, names_visit, names_destroy};

/* Takes over the frame's table (leaving *f empty) and releases its names. */
static void close_frame(hns *ns, nametab *f)
{
    size_t n = nametab_count(f);
    if (n <= NS_CLOSE_AT_ONCE) {
        settle(ns, nametab_bytes(f), 0);
        nametab_drain(f, drop_value, ns->h);
        nametab_destroy(f);
        return;
    }
    struct closed_names *c = xcalloc(1, sizeof *c);
    c->h = ns->h;
    c->t = *f;
    nametab_init(f);
    heap_queue_holder(ns->h, &closed_names_ops, c, n);
}

struct closed_handles {
    heap *h;
    struct handle *tab;
    size_t cap, pos;
};

static hobj *handles_take(void *p)
{
    struct closed_handles *c = p;
    for (; c->pos < c->cap; c->pos++) {
        struct handle *e = &c->tab[c->pos];
        if (e->o && e->n) {
            e->n--;
            return e->o;
        }
    }
    return NULL;
}

static void handles_visit(void *p, hvisit_fn visit, void *arg)
{
    struct closed_handles *c = p;
    ns_visit_handles(c->tab, c->pos, c->cap, true, visit, arg);
}

static void handles_destroy(void *p, heap *h)
{
    struct closed_handles *c = p;
    heap_account_ext(h, -(long)(c->cap * sizeof *c->tab));
    free(c->tab);
    free(c);
}

static const hholder_ops closed_handles_ops = {handles_take, handles_visit, handles_destroy};

static void close_handles(hns *ns, hsession *s)
{
    size_t cap = s->handles ? s->hmask + 1 : 0;
    if (s->hcount <= NS_CLOSE_AT_ONCE) {
        for (size_t i = 0; i < cap; i++)
            for (uint32_t k = 0; k < s->handles[i].n; k++)
                heap_decref(ns->h, s->handles[i].o);
        settle(ns, cap * sizeof *s->handles, 0);
        free(s->handles);
    } else { /* O(1) here: the table goes whole to the deferred queue */
        struct closed_handles *c = xcalloc(1, sizeof *c);
        *c = (struct closed_handles){ns->h, s->handles, cap, 0};
        heap_queue_holder(ns->h, &closed_handles_ops, c, s->hrefs);
    }
    s->handles = NULL;
    s->hmask = s->hcount = 0;
    s->hrefs = 0;
}

hsession *ns_session_new(hns *ns)
{
    hsession *s = xcalloc(1, sizeof *s);
    s->id = ns->next_session_id++;
    s->next = ns->sessions;
    if (ns->sessions)
        ns->sessions->prev = s;
    ns->sessions = s;
    ns->nsessions++;
    return s;
}

void ns_session_end(hns *ns, hsession *s)
{
    ns_roots_forget_session(ns, s);
    while (s->depth)
        ns_pop_scope(ns, s, NULL);
    settle(ns, s->frames_cap * sizeof *s->frames, 0);
    free(s->frames);
    close_handles(ns, s);
    if (s->prev)
        s->prev->next = s->next;
    else
        ns->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    ns->nsessions--;
    free(s);
}

int ns_check_name(const char *name, size_t len, herr *err)
{
    if (len == 0)
        return herr_set(err, HE_VALUE, "name must not be empty");
    if (!utf8_valid(name, len))
        return herr_set(err, HE_VALUE, "name is not valid UTF-8");
    return 0;
}

int ns_check_bindable(size_t len, herr *err)
{
    if (len > NAMETAB_MAX_NAME)
        return herr_set(err, HE_VALUE, "name too long (%zu bytes; at most %d)", len,
                        NAMETAB_MAX_NAME);
    return 0;
}

static nametab *innermost(hns *ns, hsession *s, bool global)
{
    return (global || !s || !s->depth) ? &ns->global : &s->frames[s->depth - 1];
}

size_t ns_bind_cost(hns *ns, hsession *s, size_t len, bool global)
{
    return nametab_put_cost(innermost(ns, s, global), len);
}

void ns_bind(hns *ns, hsession *s, const char *name, size_t len, hobj *val, bool global)
{
    nametab *t = innermost(ns, s, global);
    size_t before = nametab_bytes(t);
    heap_root_barrier(ns->h, val);
    if (t == &ns->global) /* before the change (effects.h) */
        HEFFECT(ns->h, HEFF_BIND, .a = val, .name = name, .len = len);
    hobj *old = nametab_put(t, name, len, val);
    settle(ns, before, nametab_bytes(t));
    if (old)
        heap_decref(ns->h, old);
}

static int name_error(herr *err, const char *name, size_t len)
{
    return herr_set(err, HE_NAME, "name '%.*s' is not defined", (int)(len > 200 ? 200 : len), name);
}

int ns_unbind(hns *ns, hsession *s, const char *name, size_t len, bool global, herr *err)
{
    nametab *t = innermost(ns, s, global);
    size_t before = nametab_bytes(t);
    if (t == &ns->global && heap_effects_on(ns->h)) { /* before the change (effects.h) */
        if (!nametab_get(t, name, len))
            return name_error(err, name, len);
        heap_effect(ns->h, &(heffect){.kind = HEFF_UNBIND, .name = name, .len = len});
    }
    hobj *old = nametab_del(t, name, len); /* no second lookup when no hook listens */
    if (!old)
        return name_error(err, name, len);
    settle(ns, before, nametab_bytes(t));
    heap_decref(ns->h, old);
    return 0;
}

hobj *ns_lookup(hns *ns, hsession *s, const char *name, size_t len)
{
    for (uint32_t d = s ? s->depth : 0; d > 0; d--) {
        hobj *o = nametab_get(&s->frames[d - 1], name, len);
        if (o)
            return o;
    }
    return nametab_get(&ns->global, name, len);
}

int ns_resolve(hns *ns, hsession *s, const char *name, size_t len, hobj **out, herr *err)
{
    *out = ns_lookup(ns, s, name, len);
    return *out ? 0 : name_error(err, name, len);
}

int ns_push_scope(hns *ns, hsession *s, herr *err)
{
    if (s->depth >= ns->max_frames)
        return herr_set(err, HE_RECURSION, "maximum scope depth exceeded (limits.max_frames = %u)",
                        ns->max_frames);
    if (s->depth == s->frames_cap) {
        uint32_t cap = s->frames_cap ? s->frames_cap * 2 : 4;
        s->frames = xrealloc(s->frames, cap * sizeof *s->frames);
        settle(ns, s->frames_cap * sizeof *s->frames, cap * sizeof *s->frames);
        s->frames_cap = cap;
    }
    nametab_init(&s->frames[s->depth++]);
    return (int)s->depth;
}

int ns_pop_scope(hns *ns, hsession *s, herr *err)
{
    if (!s->depth)
        return herr_set(err, HE_RUNTIME, "no scope to pop");
    nametab *f = &s->frames[--s->depth];
    int n = (int)nametab_count(f);
    close_frame(ns, f);
    return n;
}

void ns_foreach_name(hns *ns, hsession *s, bool local, ns_name_fn fn, void *arg)
{
    if (local && (!s || !s->depth))
        return;
    nametab_foreach(local ? &s->frames[s->depth - 1] : &ns->global, fn, arg);
}

uint64_t ns_scan(hns *ns, hsession *s, bool local, uint64_t cursor, uint64_t count, ns_name_fn fn,
                 void *arg)
{
    if (local && (!s || !s->depth))
        return 0;
    const nametab *t = local ? &s->frames[s->depth - 1] : &ns->global;
    uint64_t work = 0, buckets = 0;
    do
        cursor = nametab_scan(t, cursor, fn, arg, &work);
    while (cursor && work < count && ++buckets < 10 * count);
    return cursor;
}

bool ns_global_scanned(hns *ns, const char *name, size_t len, uint64_t cursor)
{
    return nametab_scanned(&ns->global, name, len, cursor);
}

size_t ns_count_names(hns *ns, hsession *s, bool local)
{
    if (local)
        return (s && s->depth) ? nametab_count(&s->frames[s->depth - 1]) : 0;
    return nametab_count(&ns->global);
}

/* --- handles ------------------------------------------------------------ */

size_t ns_handle_home(const hsession *s, const hobj *o)
{
    return hash_ptr(o) & s->hmask;
}

/* The slot holding o, or the empty slot where it would go. */
static size_t handle_slot(const hsession *s, const hobj *o)
{
    size_t i = ns_handle_home(s, o);
    while (s->handles[i].o && s->handles[i].o != o)
        i = (i + 1) & s->hmask;
    return i;
}

static void handles_grow(hns *ns, hsession *s)
{
    struct handle *old = s->handles;
    size_t oldcap = old ? s->hmask + 1 : 0, cap = oldcap ? oldcap * 2 : 8;
    s->handles = xcalloc(cap, sizeof *s->handles);
    s->hmask = cap - 1;
    settle(ns, oldcap * sizeof *s->handles, cap * sizeof *s->handles);
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].o)
            s->handles[handle_slot(s, old[i].o)] = old[i];
    free(old);
}

void ns_handle_add(hns *ns, hsession *s, hobj *o)
{
    if (!s->handles || (s->hcount + 1) * 4 > (s->hmask + 1) * 3)
        handles_grow(ns, s);
    heap_root_barrier(ns->h, o);
    struct handle *e = &s->handles[handle_slot(s, o)];
    if (!e->o) {
        e->o = o;
        s->hcount++;
    }
    e->n++;
    s->hrefs++;
}

uint32_t ns_handle_count(const hsession *s, const hobj *o)
{
    return s->handles ? s->handles[handle_slot(s, o)].n : 0;
}

static void handle_remove_slot(hsession *s, size_t i)
{
    for (size_t j = (i + 1) & s->hmask; s->handles[j].o; j = (j + 1) & s->hmask) {
        size_t h = ns_handle_home(s, s->handles[j].o);
        if (((j - h) & s->hmask) >= ((j - i) & s->hmask)) {
            s->handles[i] = s->handles[j];
            i = j;
        }
    }
    s->handles[i] = (struct handle){0};
    s->hcount--;
}

int ns_handle_release(hns *ns, hsession *s, hobj *o, herr *err)
{
    size_t i = s->handles ? handle_slot(s, o) : 0;
    if (!s->handles || !s->handles[i].o)
        return herr_set(err, HE_VALUE, "this session holds no handle to that object");
    s->hrefs--;
    if (--s->handles[i].n == 0)
        handle_remove_slot(s, i);
    heap_decref(ns->h, o);
    return 0;
}
