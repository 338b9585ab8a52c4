/* Which root holds an object: the first link of why_alive's chain
 * (paths.h finds the rest). The heap's search sees roots only as objects
 * (heap_visit_roots); the namespaces know their names. */
#ifndef HEAPD_NS_WHY_H
#define HEAPD_NS_WHY_H

#include "ns.h"

typedef enum { NS_ROOT_GLOBAL, NS_ROOT_LOCAL, NS_ROOT_HANDLE } ns_root_kind;

typedef struct ns_root {
    ns_root_kind kind;
    uint64_t session; /* LOCAL and HANDLE: the session's number */
    uint32_t depth;   /* LOCAL: the frame, 1 for the outermost (push_scope's answer) */
    const char *name; /* GLOBAL and LOCAL: borrowed from the name table, valid
                         until the namespaces change */
    size_t len;
} ns_root;

/* A root that references o directly: a global name first, then, session by
 * session, a name of its frames (innermost first), then one of its handles.
 * false when no root does. O(roots). */
bool ns_root_of(hns *ns, hobj *o, ns_root *out);

#endif
