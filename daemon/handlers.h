/* The method handlers, one per row of proto/methods.def (m_<name>), grouped
 * by area in m_*.c. See request.h for the contract every handler keeps. */
#ifndef HEAPD_HANDLERS_H
#define HEAPD_HANDLERS_H

#include "request.h"
#include "util.h"

#include <string.h>

static inline void pack_bool(msgpack_packer *pk, bool b)
{
    if (b)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

static inline void pack_cstr(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

#define METHOD(name, min, max, flags, params, help) int m_##name(req *r);
#include "methods.def"
#undef METHOD

#endif
