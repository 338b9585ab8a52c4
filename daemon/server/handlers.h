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

/* One key and its value, for the maps of stats and figures. */
static inline void pack_kv_u(msgpack_packer *pk, const char *k, uint64_t v)
{
    pack_cstr(pk, k);
    msgpack_pack_uint64(pk, v);
}

static inline void pack_kv_i(msgpack_packer *pk, const char *k, int64_t v)
{
    pack_cstr(pk, k);
    msgpack_pack_int64(pk, v);
}

/* A NULL string is packed as nil. */
static inline void pack_kv_s(msgpack_packer *pk, const char *k, const char *v)
{
    pack_cstr(pk, k);
    if (v)
        pack_cstr(pk, v);
    else
        msgpack_pack_nil(pk);
}

#define METHOD(name, min, max, flags, params, help) int m_##name(req *r);
#include "methods.def"
#undef METHOD

#endif
