/* The namespaces as the heap's root set: every binding of the global
 * namespace and of every open frame, and every session handle. The
 * collector scans them in slices (ns_priv.h, struct root_scan), so a cycle
 * over 5 million names never stops the loop for more than a slice. */
#include "cursor.h"
#include "ns_priv.h"

void ns_visit_binding(const char *name, size_t len, hobj *val, void *arg)
{
    (void)name, (void)len;
    struct ns_walk *w = arg;
    w->visit(val, w->arg);
}

void ns_visit_handles(const struct handle *tab, size_t from, size_t cap, bool each_count,
                      hvisit_fn visit, void *arg)
{
    for (size_t i = from; i < cap; i++)
        for (uint32_t k = 0; tab[i].o && k < (each_count ? tab[i].n : 1u); k++)
            visit(tab[i].o, arg);
}

static void visit_handles(const hsession *s, hvisit_fn visit, void *arg, bool each_count)
{
    if (s->handles)
        ns_visit_handles(s->handles, 0, s->hmask + 1, each_count, visit, arg);
}

static void visit_session(const hsession *s, struct ns_walk *w, bool each_count)
{
    visit_handles(s, w->visit, w->arg, each_count);
    for (uint32_t d = 0; d < s->depth; d++)
        nametab_foreach(&s->frames[d], ns_visit_binding, w);
}

static void visit_all(void *ctx, hvisit_fn visit, void *arg)
{
    hns *ns = ctx;
    struct ns_walk w = {visit, arg};
    nametab_foreach(&ns->global, ns_visit_binding, &w);
    for (hsession *s = ns->sessions; s; s = s->next)
        visit_session(s, &w, true);
}

/* --- the incremental scan ------------------------------------------------ */

static void scan_begin(void *ctx)
{
    hns *ns = ctx;
    ns->rs = (struct root_scan){.active = true, .stage = RS_GLOBAL};
}

/* One home bucket of a handle table; the next cursor, 0 when done. */
static uint64_t handles_scan(const hsession *s, uint64_t cursor, struct ns_walk *w, uint64_t *work)
{
    if (!s->hcount)
        return 0;
    size_t b = cursor & s->hmask;
    for (size_t i = b; s->handles[i].o; i = (i + 1) & s->hmask) {
        if (ns_handle_home(s, s->handles[i].o) == b)
            w->visit(s->handles[i].o, w->arg);
        ++*work;
    }
    ++*work;
    return cursor_next(cursor, s->hmask);
}

/* Moves the scan to the next part: a session's next frame, or the next
 * session. */
static void next_part(struct root_scan *rs)
{
    rs->cursor = 0;
    rs->part++;
}

static void next_session(struct root_scan *rs)
{
    rs->s = rs->s->next;
    rs->part = 0;
    rs->cursor = 0;
}

static void step_session(struct root_scan *rs, struct ns_walk *w, uint64_t *work)
{
    hsession *s = rs->s;
    if (rs->part == 0) {
        if (!(rs->cursor = handles_scan(s, rs->cursor, w, work)))
            next_part(rs);
        return;
    }
    uint32_t d = rs->part - 1;
    if (d >= s->depth) { /* past its innermost frame, or the frame was closed */
        next_session(rs);
        return;
    }
    if (!(rs->cursor = nametab_scan(&s->frames[d], rs->cursor, ns_visit_binding, w, work)))
        next_part(rs);
}

static bool scan_step(void *ctx, hvisit_fn visit, void *arg, uint64_t max, uint64_t *work)
{
    hns *ns = ctx;
    struct root_scan *rs = &ns->rs;
    struct ns_walk w = {visit, arg};
    uint64_t start = *work;
    while (rs->active && *work - start < max) {
        switch (rs->stage) {
        case RS_GLOBAL:
            rs->cursor = nametab_scan(&ns->global, rs->cursor, ns_visit_binding, &w, work);
            if (!rs->cursor) {
                rs->stage = RS_SESSIONS;
                rs->s = ns->sessions;
                rs->part = 0;
            }
            break;
        case RS_SESSIONS:
            if (rs->s)
                step_session(rs, &w, work);
            else
                rs->stage = RS_DONE;
            break;
        case RS_DONE:
            rs->active = false;
            break;
        }
    }
    return !rs->active;
}

void ns_roots_forget_session(hns *ns, hsession *s)
{
    if (ns->rs.active && ns->rs.stage == RS_SESSIONS && ns->rs.s == s)
        next_session(&ns->rs);
}

/* --- what the scan has passed, for the checker ----------------------------- */

/* The session being scanned: the parts before the cursor's. Sessions
 * before it in the list were scanned, or opened after the scan began (so
 * every root they hold was shaded by the barrier): all of theirs count. */
static void visit_current(const struct root_scan *rs, struct ns_walk *w)
{
    const hsession *s = rs->s;
    if (rs->part == 0) {
        for (size_t i = 0; s->handles && rs->cursor && i <= s->hmask; i++)
            if (s->handles[i].o &&
                cursor_passed(ns_handle_home(s, s->handles[i].o), rs->cursor, s->hmask))
                w->visit(s->handles[i].o, w->arg);
        return;
    }
    visit_handles(s, w->visit, w->arg, false);
    for (uint32_t d = 0; d + 1 < rs->part && d < s->depth; d++)
        nametab_foreach(&s->frames[d], ns_visit_binding, w);
    uint32_t d = rs->part - 1;
    if (d < s->depth && rs->cursor)
        nametab_foreach_scanned(&s->frames[d], rs->cursor, ns_visit_binding, w);
}

static void visit_scanned(void *ctx, hvisit_fn visit, void *arg)
{
    hns *ns = ctx;
    const struct root_scan *rs = &ns->rs;
    struct ns_walk w = {visit, arg};
    if (!rs->active || rs->stage == RS_DONE) {
        visit_all(ctx, visit, arg);
        return;
    }
    if (rs->stage == RS_GLOBAL) {
        if (rs->cursor)
            nametab_foreach_scanned(&ns->global, rs->cursor, ns_visit_binding, &w);
        return;
    }
    nametab_foreach(&ns->global, ns_visit_binding, &w);
    for (hsession *s = ns->sessions; s && s != rs->s; s = s->next)
        visit_session(s, &w, false);
    if (rs->s)
        visit_current(rs, &w);
}

const hroots_ops ns_roots_ops = {visit_all, scan_begin, scan_step, visit_scanned};
