/* The method table (methods.def) as data, for heapd's api_info and for
 * heapctl's commands, help and completion. */
#ifndef HEAPD_METHODS_H
#define HEAPD_METHODS_H

#include <stddef.h>
#include <stdint.h>

enum method_flags {
    MF_NOAUTH = 1, /* allowed before auth */
    MF_FREES = 2,  /* only frees: must work at the object and memory limits */
};

enum method_id {
#define METHOD(name, min, max, flags, params, help) METHOD_##name,
#include "methods.def"
#undef METHOD
    METHOD__COUNT
};

typedef struct method_info {
    const char *name;
    uint8_t min_args, max_args;
    unsigned flags;
    const char *params; /* "target [depth]" */
    const char *help;
} method_info;

extern const method_info method_table[METHOD__COUNT];

/* The id of a method name, or -1. O(1) on average (a hash of the names). */
int method_find(const char *name, size_t len);

#endif
