/* Small msgpack packers shared by the codec, the server and persistence:
 * a bool, a C string, and the key/value pairs of stats-like maps. */
#ifndef HEAPD_PACK_H
#define HEAPD_PACK_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
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

#endif
