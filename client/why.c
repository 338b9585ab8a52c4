/* heapctl why TARGET: why_alive's chain, one line for people:
 *   global 'x' -> list @ID [2] -> dict @ID ['k'] -> int 26
 * (--json prints the server's answer as it is). */
#include "commands.h"
#include "view.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int why_usage(session *s, const char *msg)
{
    session_error(s, "UsageError", "%s; usage: why TARGET", msg);
    return EXIT_USAGE;
}

/* The Python type of a value get answers as itself (not a ref). */
static const char *scalar_type(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return "NoneType";
    case MSGPACK_OBJECT_BOOLEAN:
        return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "int";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "float";
    case MSGPACK_OBJECT_STR:
        return "str";
    case MSGPACK_OBJECT_BIN:
        return "bytes";
    default:
        return "object";
    }
}

/* "list @ID" for a container, "int 26" for a value: asked before the
 * chain, since an answer lasts until the next call only. */
static int describe_target(session *s, const char *word, char **out)
{
    rpc_reply rep;
    view_params p;
    view_params_begin(&p, 2);
    int rc = view_pack_target(s, word, &p);
    if (rc) {
        msgpack_sbuffer_destroy(&p.b);
        return rc;
    }
    msgpack_pack_int64(&p.pk, 0);
    if ((rc = view_call(s, "get", &p, &rep)))
        return rc;
    uint64_t id;
    char *v = view_ref_id(&rep.result, &id) ? NULL : view_repr(&rep.result, 60);
    size_t n = (v ? strlen(v) : 24) + 32;
    *out = malloc(n);
    if (!*out)
        abort();
    if (v)
        snprintf(*out, n, "%s %s", scalar_type(&rep.result), v);
    else
        snprintf(*out, n, "%s @%llu", wire_id_type(id), (unsigned long long)id);
    free(v);
    return EXIT_OK;
}

static bool is_str(const msgpack_object *o, const char *s)
{
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
           memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

static bool is_uint(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
}

/* global 'x' | local 'x' (session 3, frame 2) | handle (session 3) */
static bool print_root(const msgpack_object *r)
{
    if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size < 2)
        return false;
    const msgpack_object *a = r->via.array.ptr;
    uint32_t n = r->via.array.size;
    char *name = NULL;
    if (is_str(&a[0], "global") && n == 2 && a[1].type == MSGPACK_OBJECT_STR) {
        name = view_repr(&a[1], 0);
        printf("global %s", name);
    } else if (is_str(&a[0], "local") && n == 4 && is_uint(&a[1]) && is_uint(&a[2]) &&
               a[3].type == MSGPACK_OBJECT_STR) {
        name = view_repr(&a[3], 0);
        printf("local %s (session %llu, frame %llu)", name, (unsigned long long)a[1].via.u64,
               (unsigned long long)a[2].via.u64);
    } else if (is_str(&a[0], "handle") && n == 2 && is_uint(&a[1])) {
        printf("handle (session %llu)", (unsigned long long)a[1].via.u64);
    } else {
        return false;
    }
    free(name);
    return true;
}

/* list @ID [2] | dict @ID ['k'] | dict @ID key (1, 2) | set @ID {'m'} */
static bool print_step(const msgpack_object *st)
{
    uint64_t id;
    if (st->type != MSGPACK_OBJECT_ARRAY || st->via.array.size < 2 ||
        !view_ref_id(&st->via.array.ptr[0], &id))
        return false;
    const char *type = wire_id_type(id);
    char *k = view_repr(&st->via.array.ptr[1], 60);
    printf(" -> %s @%llu ", type, (unsigned long long)id);
    if (st->via.array.size == 2)
        printf("[%s]", k);
    else if (strcmp(type, "set") == 0)
        printf("{%s}", k);
    else
        printf("key %s", k);
    free(k);
    return true;
}

static int print_chain(session *s, const msgpack_object *chain, const char *target)
{
    if (chain->type != MSGPACK_OBJECT_ARRAY || chain->via.array.size < 1)
        goto bad;
    if (!print_root(&chain->via.array.ptr[0]))
        goto bad;
    for (uint32_t i = 1; i < chain->via.array.size; i++)
        if (!print_step(&chain->via.array.ptr[i]))
            goto bad;
    printf(" -> %s\n", target);
    return EXIT_OK;
bad:
    putchar('\n');
    session_error(s, "ProtocolError", "why_alive: unexpected answer");
    return EXIT_SERVER_ERROR;
}

int why_command(session *s, int argc, char **argv)
{
    if (argc != 2)
        return why_usage(s, argc < 2 ? "a target is needed" : "one target only");
    char *target = NULL;
    int rc = s->json ? EXIT_OK : describe_target(s, argv[1], &target);
    view_params p;
    rpc_reply rep;
    if (!rc) {
        view_params_begin(&p, 1);
        if ((rc = view_pack_target(s, argv[1], &p)))
            msgpack_sbuffer_destroy(&p.b);
    }
    if (!rc)
        rc = view_call(s, "why_alive", &p, &rep);
    if (!rc && s->json)
        session_print(s, &rep.result);
    else if (!rc && rep.result.type == MSGPACK_OBJECT_NIL)
        printf("no root reaches %s: it is garbage the collector has not freed yet\n", target);
    else if (!rc)
        rc = print_chain(s, &rep.result, target);
    free(target);
    return rc;
}
