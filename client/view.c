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

static void pack_scan_params(view_params *p, uint64_t cursor, int64_t count, const char *match)
{
    bool opts = count > 0 || match;
    view_params_begin(p, opts ? 3 : 2);
    msgpack_pack_str_with_body(&p->pk, "global", 6);
    msgpack_pack_uint64(&p->pk, cursor);
    if (!opts)
        return;
    msgpack_pack_map(&p->pk, (count > 0) + (match != NULL));
    if (count > 0) {
        msgpack_pack_str_with_body(&p->pk, "count", 5);
        msgpack_pack_int64(&p->pk, count);
    }
    if (match) {
        msgpack_pack_str_with_body(&p->pk, "match", 5);
        msgpack_pack_str_with_body(&p->pk, match, strlen(match));
    }
}

int view_scan_page(session *s, uint64_t *cursor, int64_t count, const char *match, char ***names,
                   size_t *n, size_t max)
{
    rpc_reply rep;
    view_params p;
    pack_scan_params(&p, *cursor, count, match);
    int rc = view_call(s, "scan", &p, &rep);
    if (rc)
        return rc;
    const msgpack_object *r = &rep.result;
    if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size != 2 ||
        r->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        r->via.array.ptr[1].type != MSGPACK_OBJECT_ARRAY) {
        session_error(s, "ProtocolError", "scan: unexpected answer");
        return EXIT_SERVER_ERROR;
    }
    *cursor = r->via.array.ptr[0].via.u64;
    const msgpack_object_array *a = &r->via.array.ptr[1].via.array;
    *names = realloc(*names, (*n + a->size + 1) * sizeof **names);
    if (!*names)
        abort();
    for (uint32_t i = 0; i < a->size && *n < max; i++)
        if (a->ptr[i].type == MSGPACK_OBJECT_STR)
            (*names)[(*n)++] = strndup(a->ptr[i].via.str.ptr, a->ptr[i].via.str.size);
    return EXIT_OK;
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
