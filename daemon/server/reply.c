#include "reply.h"
#include "errors.h"
#include "pack.h"
#include "wire.h"

#include "mpscan.h"

void reply_pack_error_map(msgpack_packer *pk, int code, const char *msg)
{
    const char *type = herr_name(code) ? herr_name(code) : "RuntimeError";
    msgpack_pack_map(pk, 2);
    pack_cstr(pk, "type");
    pack_cstr(pk, type);
    pack_cstr(pk, "message");
    pack_cstr(pk, msg);
}

void reply_ok_begin(msgpack_packer *pk, uint32_t msgid)
{
    msgpack_pack_array(pk, 4);
    msgpack_pack_int(pk, MSG_RESPONSE);
    msgpack_pack_uint32(pk, msgid);
    msgpack_pack_nil(pk);
}

void reply_error(msgpack_packer *pk, uint32_t msgid, int code, const char *msg)
{
    msgpack_pack_array(pk, 4);
    msgpack_pack_int(pk, MSG_RESPONSE);
    msgpack_pack_uint32(pk, msgid);
    reply_pack_error_map(pk, code, msg);
    msgpack_pack_nil(pk);
}

void reply_error_notify(msgpack_packer *pk, int code, const char *msg)
{
    msgpack_pack_array(pk, 3);
    msgpack_pack_int(pk, MSG_NOTIFY);
    pack_cstr(pk, "error");
    msgpack_pack_array(pk, 1);
    reply_pack_error_map(pk, code, msg);
}

bool reply_is_whole_objects(const char *p, size_t len)
{
    while (len) {
        size_t used = 0;
        enum mpscan_result r = mpscan(p, len, len, MPSCAN_DEPTH_CAP, &used);
        if (r == MPSCAN_TOO_DEEP)
            return true; /* beyond what the scan follows */
        if (r != MPSCAN_OK)
            return false;
        p += used;
        len -= used;
    }
    return true;
}

bool reply_is_one_object(const char *p, size_t len)
{
    size_t used = 0;
    enum mpscan_result r = mpscan(p, len, len, MPSCAN_DEPTH_CAP, &used);
    /* a reply nested past what the scan follows cannot be checked here */
    return r == MPSCAN_TOO_DEEP || (r == MPSCAN_OK && used == len);
}
