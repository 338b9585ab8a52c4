/* Helpers of heapctl's heap views (view.h). */
#include "view.h"
#include "args.h"
#include "format.h"
#include "methods.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

void view_params_begin(view_params *p, uint32_t n)
{
    msgpack_sbuffer_init(&p->b);
    msgpack_packer_init(&p->pk, &p->b, msgpack_sbuffer_write);
    msgpack_pack_array(&p->pk, n);
}

int view_call(session *s, const char *method, view_params *p, rpc_reply *rep)
{
    char err[600];
    int rc = rpc_call_packed(s->rpc, method, p->b.data, p->b.size, rep, err, sizeof err);
    msgpack_sbuffer_destroy(&p->b);
    return session_answer(s, rc, err, rep);
}

void view_pack_ref(msgpack_packer *pk, uint64_t id)
{
    char be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (char)(id >> (56 - 8 * i));
    msgpack_pack_ext(pk, 8, EXT_REF);
    msgpack_pack_ext_body(pk, be, 8);
}

bool view_ref_id(const msgpack_object *o, uint64_t *id)
{
    if (o->type != MSGPACK_OBJECT_EXT || o->via.ext.type != EXT_REF || o->via.ext.size != 8)
        return false;
    *id = 0;
    for (int i = 0; i < 8; i++)
        *id = *id << 8 | (uint8_t)o->via.ext.ptr[i];
    return true;
}

int view_call_id(session *s, const char *method, uint64_t id, rpc_reply *rep)
{
    view_params p;
    view_params_begin(&p, 1);
    view_pack_ref(&p.pk, id);
    return view_call(s, method, &p, rep);
}

int view_call_id_int(session *s, const char *method, uint64_t id, int64_t n, rpc_reply *rep)
{
    view_params p;
    view_params_begin(&p, 2);
    view_pack_ref(&p.pk, id);
    msgpack_pack_int64(&p.pk, n);
    return view_call(s, method, &p, rep);
}

int view_pack_target(session *s, const char *word, view_params *p)
{
    msgpack_sbuffer one;
    arg_error ae;
    char *argv[1] = {(char *)word};
    msgpack_sbuffer_init(&one);
    /* `type` takes one target: its packing is the command line's */
    if (args_pack(&method_table[METHOD_type], 1, argv, &one, &ae)) {
        msgpack_sbuffer_destroy(&one);
        session_syntax_error(s, word, ae.col, ae.msg);
        return EXIT_USAGE;
    }
    /* drop the one-item array's header (one byte: 0x91) */
    msgpack_sbuffer_write(&p->b, one.data + 1, one.size - 1);
    msgpack_sbuffer_destroy(&one);
    return EXIT_OK;
}

char *view_repr(const msgpack_object *o, size_t max)
{
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    fmt_repr(&b, o);
    size_t n = b.size;
    if (max && n > max) { /* cut on a UTF-8 boundary */
        n = max - 3;
        while (n > 0 && ((unsigned char)b.data[n] & 0xC0) == 0x80)
            n--;
    }
    char *s = malloc(n + 4);
    if (!s)
        abort();
    memcpy(s, b.data, n);
    strcpy(s + n, n < b.size ? "..." : "");
    msgpack_sbuffer_destroy(&b);
    return s;
}
