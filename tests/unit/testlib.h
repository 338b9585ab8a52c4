/* Helpers for the unit tests: a heap with namespaces and one session, and
 * literals written in Python syntax (proto/pylit.h) built on it. */
#ifndef HEAPD_TESTLIB_H
#define HEAPD_TESTLIB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
/* cmocka needs the three above first */
#include <cmocka.h>

#include "check.h"
#include "cont.h"
#include "heap.h"
#include "literal.h"
#include "ns.h"

typedef struct tworld {
    heap *h;
    hns *ns;
    hsession *s;
} tworld;

/* A heap (policy given) with namespaces and one open session. */
tworld *tw_new(intern_policy policy);
/* Ends the session, frees namespaces and heap; asserts heap_check first. */
void tw_free(tworld *w);

/* Builds a Python literal ("[26, $E]") in w's session. Returns 0 and a new
 * reference in *out, or the error code with err filled. The literal must
 * parse (the test fails otherwise). */
int tw_try_build(tworld *w, const char *lit, hobj **out, herr *err);
/* tw_try_build that must succeed. */
hobj *tw_build(tworld *w, const char *lit);
/* name = literal, in the innermost scope. */
void tw_bind(tworld *w, const char *name, const char *lit);
/* The object bound to name (borrowed); fails the test when unbound. */
hobj *tw_get(tworld *w, const char *name);
uint32_t tw_refcount(tworld *w, const char *name);
/* Drains the deferred queue and asserts heap_check passes. */
void tw_check(tworld *w);

/* A literal as msgpack, unpacked into zone (for tests of the decoder). */
msgpack_object tw_msgpack(const char *lit, msgpack_zone *zone);

#define assert_check_ok(h)                                                                         \
    do {                                                                                           \
        herr e_ = {0};                                                                             \
        int rc_ = heap_check((h), NULL, &e_);                                                      \
        if (rc_) fail_msg("heap_check: %s", e_.msg);                                               \
    } while (0)

#endif
