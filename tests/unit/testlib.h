/* Helpers for the unit tests: a heap with namespaces and one session, and
 * literals written in Python syntax (proto/pylit.h) built on it. */
#ifndef HEAPD_TESTLIB_H
#define HEAPD_TESTLIB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
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

/* Builds an already decoded msgpack value in w's session (lit_build with
 * w's resolver): for values pylit cannot write (bad UTF-8, odd exts). */
int tw_try_build_obj(tworld *w, const msgpack_object *obj, hobj **out, herr *err);

/* n divided by HEAPD_TEST_SCALE (default 1; `make valgrind` sets it), but
 * never below min: heavy tests shrink under slow tools. */
uint64_t tw_scaled(uint64_t n, uint64_t min);

/* The heap's observable state: every stats field, the live count of each
 * type, and the id and refcount of every live object. */
typedef struct tsnap {
    heap_stats st;
    uint64_t live[T__COUNT];
    size_t n;
    hid *ids;
    uint32_t *counts;
} tsnap;

/* A snapshot of h (free it with tsnap_assert_same). */
tsnap *tsnap_take(heap *h);
/* Fails the test naming the first difference between h and the snapshot
 * (a stats field, a live count, an object born, freed or recounted);
 * frees the snapshot. */
void tsnap_assert_same(heap *h, tsnap *snap);

/* heap_check must fail with RuntimeError and a message containing word. */
#define assert_check_fails(h, word)                                                                \
    do {                                                                                           \
        herr e_ = {0};                                                                             \
        int rc_ = heap_check((h), NULL, &e_);                                                      \
        if (rc_ != HE_RUNTIME)                                                                     \
            fail_msg("heap_check returned %d, not RuntimeError", rc_);                             \
        if (!strstr(e_.msg, (word)))                                                               \
            fail_msg("heap_check message \"%s\" lacks \"%s\"", e_.msg, (word));                    \
    } while (0)

#define assert_check_ok(h)                                                                         \
    do {                                                                                           \
        herr e_ = {0};                                                                             \
        int rc_ = heap_check((h), NULL, &e_);                                                      \
        if (rc_)                                                                                   \
            fail_msg("heap_check: %s", e_.msg);                                                    \
    } while (0)

#endif
