/* Namespaces and sessions: the global namespace shared by every client,
 * and per session a stack of frames (local scopes) and a multiset of
 * handles. This module is the heap's root set: it registers itself with
 * heap_set_roots, so neither the heap nor the collector knows sessions.
 *
 * Lookup goes innermost frame -> global. Binding goes to the innermost
 * frame, or to the global namespace when no frame is open or when asked. */
#ifndef HEAPD_NS_H
#define HEAPD_NS_H

#include "heap.h"

typedef struct hns hns;
typedef struct hsession hsession;

/* Namespaces over h, registered as its roots; sessions may open at most
 * max_frames frames (RecursionError beyond). */
hns *ns_new(heap *h, uint32_t max_frames);
/* Ends every session and unbinds every global name (dropping references). */
void ns_free(hns *ns);
void ns_set_max_frames(hns *ns, uint32_t max_frames);
heap *ns_heap(const hns *ns);

hsession *ns_session_new(hns *ns);
/* Pops the session's frames and drops its handles, then frees it. */
void ns_session_end(hns *ns, hsession *s);
uint64_t ns_session_id(const hsession *s);
uint32_t ns_session_count(const hns *ns);

/* Names are non-empty valid UTF-8 (ValueError otherwise); looking up any
 * such name is fine (NameError if unbound). */
int ns_check_name(const char *name, size_t len, herr *err);
/* A name to bind (one that passed ns_check_name, at the edge) must also
 * fit a name table: at most 65535 bytes. */
int ns_check_bindable(size_t len, herr *err);

/* An upper bound of the bytes binding a new name of len bytes would add
 * (for the memory limit check before a bind). */
size_t ns_bind_cost(hns *ns, hsession *s, size_t len, bool global);

/* Binds name to val, stealing the reference; a previous binding's
 * reference is dropped. global forces the global namespace. */
void ns_bind(hns *ns, hsession *s, const char *name, size_t len, hobj *val, bool global);
/* Python's `del name` in the innermost scope (or the global one):
 * NameError "name 'x' is not defined" if it has no such name. */
int ns_unbind(hns *ns, hsession *s, const char *name, size_t len, bool global, herr *err);
/* The object bound to name (innermost frame outward, then global),
 * borrowed; NULL if unbound. s may be NULL (global only). */
hobj *ns_lookup(hns *ns, hsession *s, const char *name, size_t len);
/* Like ns_lookup, with NameError set when unbound. */
int ns_resolve(hns *ns, hsession *s, const char *name, size_t len, hobj **out, herr *err);

/* Returns the new depth, or RecursionError at the frame limit. */
int ns_push_scope(hns *ns, hsession *s, herr *err);
/* Returns how many names went out of scope, or RuntimeError when no frame
 * is open. */
int ns_pop_scope(hns *ns, hsession *s, herr *err);
uint32_t ns_depth(const hsession *s);

typedef void (*ns_name_fn)(const char *name, size_t len, hobj *val, void *arg);
/* Calls fn for each name in the innermost frame (local) or the global
 * namespace, in table order (callers sort). */
void ns_foreach_name(hns *ns, hsession *s, bool local, ns_name_fn fn, void *arg);
size_t ns_count_names(hns *ns, hsession *s, bool local);
/* One step of an iteration over the names of the innermost frame (local)
 * or the global namespace, like Redis's SCAN: calls fn on the names of
 * some buckets, from cursor (start with 0), until about `count` entries
 * were looked at; returns the cursor to continue from, 0 when done. Every
 * name bound for the whole iteration is seen at least once, whatever is
 * bound or unbound meanwhile (cursor.h). */
uint64_t ns_scan(hns *ns, hsession *s, bool local, uint64_t cursor, uint64_t count, ns_name_fn fn,
                 void *arg);
/* Whether a scan of the global names now at cursor has passed the place
 * of name: bound, it would have been seen. False at cursor 0. */
bool ns_global_scanned(hns *ns, const char *name, size_t len, uint64_t cursor);

/* Adds a handle to o held by the session (stealing the reference). */
void ns_handle_add(hns *ns, hsession *s, hobj *o);
/* Releases one handle to o: ValueError if the session holds none. */
int ns_handle_release(hns *ns, hsession *s, hobj *o, herr *err);
/* Handles the session holds to o. */
uint32_t ns_handle_count(const hsession *s, const hobj *o);

#endif
