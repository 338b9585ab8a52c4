/* Error types of the heapd protocol: one list, expanded into the enum, the
 * names sent on the wire and the names heapctl prints (libuv's UV_ERRNO_MAP
 * idea). Functions across heapd return 0 on success or a negative HE_* code. */
#ifndef HEAPD_ERRORS_H
#define HEAPD_ERRORS_H

#include <stdarg.h>

#define HEAP_ERRORS(X)                                                                             \
    X(NAME, "NameError")                                                                           \
    X(KEY, "KeyError")                                                                             \
    X(INDEX, "IndexError")                                                                         \
    X(TYPE, "TypeError")                                                                           \
    X(VALUE, "ValueError")                                                                         \
    X(OVERFLOW, "OverflowError")                                                                   \
    X(REFERENCE, "ReferenceError")                                                                 \
    X(MEMORY, "MemoryError")                                                                       \
    X(RECURSION, "RecursionError")                                                                 \
    X(RUNTIME, "RuntimeError")                                                                     \
    X(AUTH, "AuthError")                                                                           \
    X(PROTOCOL, "ProtocolError")                                                                   \
    X(ATTRIBUTE, "AttributeError")

enum herr_code {
    HE_OK = 0,
#define X(code, name) HE_##code##_,
    HEAP_ERRORS(X)
#undef X
        HE__END
};

/* The public codes are negative so "return herr_set(...)" reads naturally. */
#define X(code, name) static const int HE_##code = -(HE_##code##_);
HEAP_ERRORS(X)
#undef X

#define HERR_MSG_MAX 240

/* An error with its Python-style message ("name 'x' is not defined"). */
typedef struct herr {
    int code;
    char msg[HERR_MSG_MAX];
} herr;

/* Records code and a printf-style message in err (which may be NULL) and
 * returns code, so callers can write `return herr_set(err, HE_KEY, ...)`. */
int herr_set(herr *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "NameError" for HE_NAME; NULL for 0 or an unknown code. */
const char *herr_name(int code);

/* The code for a type name ("KeyError" -> HE_KEY), or 0 if unknown. */
int herr_from_name(const char *name);

#endif
