/* Session: hello, ping, auth, api_info. */
#include "conn.h"
#include "handlers.h"
#include "server.h"
#include "version.h"
#include "wire.h"

#include <string.h>

/* hello's opts: {"ref_handles": bool}. An unknown option is a ValueError,
 * as bind's are; a value of the wrong type a TypeError. */
static int hello_opts(req *r, bool *ref_handles)
{
    *ref_handles = conn_ref_handles(r->conn);
    if (r->nargs == 0 || r->args[0].type == MSGPACK_OBJECT_NIL)
        return 0;
    const msgpack_object *a = &r->args[0];
    if (a->type != MSGPACK_OBJECT_MAP)
        return herr_set(r->err, HE_TYPE, "hello() argument 1 must be an opts map");
    for (uint32_t k = 0; k < a->via.map.size; k++) {
        const msgpack_object *key = &a->via.map.ptr[k].key, *val = &a->via.map.ptr[k].val;
        if (!arg_is_str(key, "ref_handles") && key->type == MSGPACK_OBJECT_STR)
            return herr_set(r->err, HE_VALUE, "hello(): unknown option '%.*s'",
                            (int)(key->via.str.size > 40 ? 40 : key->via.str.size),
                            key->via.str.ptr);
        if (!arg_is_str(key, "ref_handles"))
            return herr_set(r->err, HE_VALUE, "hello(): unknown option");
        if (val->type != MSGPACK_OBJECT_BOOLEAN)
            return herr_set(r->err, HE_TYPE, "hello(): ref_handles must be a bool");
        *ref_handles = val->via.boolean;
    }
    return 0;
}

int m_hello(req *r)
{
    bool ref_handles;
    int rc = hello_opts(r, &ref_handles);
    if (rc)
        return rc;
    conn_set_ref_handles(r->conn, ref_handles);
    msgpack_pack_map(r->out, ref_handles ? 5 : 4);
    pack_cstr(r->out, "server");
    pack_cstr(r->out, "heapd");
    pack_cstr(r->out, "version");
    pack_cstr(r->out, HEAPD_VERSION);
    pack_cstr(r->out, "protocol");
    msgpack_pack_int(r->out, 1);
    pack_cstr(r->out, "session");
    msgpack_pack_uint64(r->out, ns_session_id(r->s));
    if (ref_handles) {
        pack_cstr(r->out, "ref_handles");
        msgpack_pack_true(r->out);
    }
    return 0;
}

int m_ping(req *r)
{
    if (r->nargs == 0) {
        pack_cstr(r->out, "pong");
        return 0;
    }
    /* echoed as it came, once it passes the rules every value does (valid
     * UTF-8, ints that fit, well-formed exts): heapd never sends what it
     * would refuse. Its refs are the answer's, handles in ref-handle mode. */
    return arg_echo_value(r, 0);
}

int m_auth(req *r)
{
    const char *tok;
    size_t len;
    int rc = arg_str(r, 0, &tok, &len);
    if (rc)
        return rc;
    if (!r->srv->lis.token)
        return herr_set(r->err, HE_AUTH, "no auth token is configured");
    if (!listeners_token_matches(&r->srv->lis, tok, len)) /* answered late: authlimit.h */
        return authlimit_failed(r->srv, r->conn, !r->notify);
    conn_set_authed(r->conn);
    msgpack_pack_true(r->out);
    return 0;
}

static void pack_methods(msgpack_packer *pk)
{
    msgpack_pack_array(pk, METHOD__COUNT);
    for (int i = 0; i < METHOD__COUNT; i++) {
        const method_info *m = &method_table[i];
        msgpack_pack_map(pk, 5);
        pack_cstr(pk, "name");
        pack_cstr(pk, m->name);
        pack_cstr(pk, "params");
        pack_cstr(pk, m->params);
        pack_cstr(pk, "min_args");
        msgpack_pack_int(pk, m->min_args);
        pack_cstr(pk, "max_args");
        msgpack_pack_int(pk, m->max_args);
        pack_cstr(pk, "help");
        pack_cstr(pk, m->help);
    }
}

int m_api_info(req *r)
{
    static const struct {
        const char *name;
        int code;
    } exts[] = {{"ref", EXT_REF},
                {"tuple", EXT_TUPLE},
                {"set", EXT_SET},
                {"name", EXT_NAME},
                {"instance", EXT_INSTANCE}};
    msgpack_pack_map(r->out, 3);
    pack_cstr(r->out, "methods");
    pack_methods(r->out);
    pack_cstr(r->out, "errors");
    msgpack_pack_array(r->out, HE__END - 1);
    for (int i = 1; i < HE__END; i++)
        pack_cstr(r->out, herr_name(-i));
    pack_cstr(r->out, "ext");
    msgpack_pack_map(r->out, ARRAY_LEN(exts));
    for (size_t i = 0; i < ARRAY_LEN(exts); i++) {
        pack_cstr(r->out, exts[i].name);
        msgpack_pack_int(r->out, exts[i].code);
    }
    return 0;
}
