#include "methods.h"

#include <string.h>

const method_info method_table[METHOD__COUNT] = {
#define METHOD(name, min, max, flags, params, help) {#name, min, max, flags, params, help},
#include "methods.def"
#undef METHOD
};

/* An open-addressing index of the names, built on first use: the request
 * path looks a method up per request, so no linear scan of ~55 strcmps. */
#define INDEX_SIZE 256 /* a power of two, well over 2 * METHOD__COUNT */

static int16_t index_slots[INDEX_SIZE];
static int index_built;

static uint32_t name_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static void build_index(void)
{
    memset(index_slots, 0xff, sizeof index_slots); /* -1: empty */
    for (int m = 0; m < METHOD__COUNT; m++) {
        const char *n = method_table[m].name;
        uint32_t i = name_hash(n, strlen(n)) & (INDEX_SIZE - 1);
        while (index_slots[i] >= 0)
            i = (i + 1) & (INDEX_SIZE - 1);
        index_slots[i] = (int16_t)m;
    }
    index_built = 1;
}

int method_find(const char *name, size_t len)
{
    if (!index_built)
        build_index();
    for (uint32_t i = name_hash(name, len) & (INDEX_SIZE - 1);; i = (i + 1) & (INDEX_SIZE - 1)) {
        int m = index_slots[i];
        if (m < 0)
            return -1;
        const char *n = method_table[m].name;
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return m;
    }
}
