/* The namespaces' state, shared by ns.c (names, scopes, handles, closing)
 * and ns_roots.c (the roots, scanned incrementally). */
#ifndef HEAPD_NS_PRIV_H
#define HEAPD_NS_PRIV_H

#include "nametab.h"
#include "ns.h"

/* One session's handles: object -> how many the session holds. */
struct handle {
    hobj *o;
    uint32_t n;
};

struct hsession {
    hsession *prev, *next;
    uint64_t id;
    nametab *frames; /* frames[0] is the outermost */
    uint32_t depth, frames_cap;
    struct handle *handles; /* open addressing, backward-shift deletion */
    size_t hmask, hcount;
    uint64_t hrefs; /* the sum of the handles' counts */
};

/* Where the collector's incremental root scan is (ns_roots.c). Tables are
 * scanned by home bucket (cursor.h), so growth and deletions between
 * steps lose nothing; what is added after the scan began was shaded by
 * heap_root_barrier. Order: the global names, then each session of the
 * list from its head: its handles, then its frames from the outermost. */
enum root_stage { RS_GLOBAL, RS_SESSIONS, RS_DONE };
struct root_scan {
    bool active;
    enum root_stage stage;
    hsession *s;     /* RS_SESSIONS: the session being scanned */
    uint32_t part;   /* 0: its handles; 1 + d: its frame d */
    uint64_t cursor; /* in the current table; 0: not started */
};

struct hns {
    heap *h;
    nametab global;
    hsession *sessions;
    struct root_scan rs;
    uint32_t nsessions;
    uint32_t max_frames;
    uint64_t next_session_id;
};

/* A visit of the objects a name table or a handle table holds (ns_roots.c):
 * ns_visit_binding is a nametab_fn taking a struct ns_walk. */
struct ns_walk {
    hvisit_fn visit;
    void *arg;
};
void ns_visit_binding(const char *name, size_t len, hobj *val, void *arg);
/* The objects of handle slots [from, cap): once per count when each_count
 * (counting), else once per object (shading). */
void ns_visit_handles(const struct handle *tab, size_t from, size_t cap, bool each_count,
                      hvisit_fn visit, void *arg);

/* The root set's operations, for heap_set_roots (ns_roots.c). */
extern const hroots_ops ns_roots_ops;
/* The root scan moves off a session that is ending. */
void ns_roots_forget_session(hns *ns, hsession *s);

/* Slots of a handle table looked at in home-bucket order (cursor.h). */
size_t ns_handle_home(const hsession *s, const hobj *o);

#endif
