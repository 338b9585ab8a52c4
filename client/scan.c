/* heapctl scan: every name of a scope, a page at a time, as redis-cli
 * --scan walks SCAN: the server is never asked for all names at once
 * (`names` is O(n) in one request). `scan SCOPE CURSOR` is one raw step. */
#include "commands.h"
#include "format.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

static int scan_usage(session *s, const char *msg)
{
    session_error(s, "UsageError",
                  "%s; usage: scan [global|local] [CURSOR] [--match GLOB] [--count N]", msg);
    return EXIT_USAGE;
}

struct scan_args {
    const char *scope, *match;
    long long cursor; /* -1: iterate to the end */
    long count;
};

static int parse(session *s, int argc, char **argv, struct scan_args *a)
{
    *a = (struct scan_args){"global", NULL, -1, 0};
    bool have_scope = false;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (strcmp(argv[i], "--match") == 0 && i + 1 < argc) {
            a->match = argv[++i];
        } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            a->count = strtol(argv[++i], &end, 10);
            if (*end || a->count < 1)
                return scan_usage(s, "--count needs a positive number");
        } else if (!have_scope && argv[i][0] != '-' && !(argv[i][0] >= '0' && argv[i][0] <= '9')) {
            a->scope = argv[i];
            have_scope = true;
        } else if (a->cursor < 0 && argv[i][0] >= '0' && argv[i][0] <= '9') {
            a->cursor = strtoll(argv[i], &end, 10);
            if (*end)
                return scan_usage(s, "the cursor must be a number");
        } else {
            return scan_usage(s, "unexpected argument");
        }
    }
    return EXIT_OK;
}

static void pack_params(msgpack_packer *pk, const struct scan_args *a, uint64_t cursor)
{
    msgpack_pack_array(pk, 3);
    msgpack_pack_str_with_body(pk, a->scope, strlen(a->scope));
    msgpack_pack_uint64(pk, cursor);
    msgpack_pack_map(pk, (a->match != NULL) + (a->count > 0));
    if (a->match) {
        msgpack_pack_str_with_body(pk, "match", 5);
        msgpack_pack_str_with_body(pk, a->match, strlen(a->match));
    }
    if (a->count > 0) {
        msgpack_pack_str_with_body(pk, "count", 5);
        msgpack_pack_int64(pk, a->count);
    }
}

/* One step: its answer [next_cursor, names] in rep, checked for shape. */
static int step(session *s, const struct scan_args *a, uint64_t cursor, rpc_reply *rep)
{
    msgpack_sbuffer b;
    msgpack_packer pk;
    char err[600];
    msgpack_sbuffer_init(&b);
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    pack_params(&pk, a, cursor);
    int rc = rpc_call_packed(s->rpc, "scan", b.data, b.size, rep, err, sizeof err);
    msgpack_sbuffer_destroy(&b);
    if ((rc = session_answer(s, rc, err, rep)))
        return rc;
    const msgpack_object *r = &rep->result;
    if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size != 2 ||
        r->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        r->via.array.ptr[1].type != MSGPACK_OBJECT_ARRAY) {
        session_error(s, "ProtocolError", "scan: unexpected answer");
        return EXIT_SERVER_ERROR;
    }
    return EXIT_OK;
}

/* A name per line: its text as it is, or a JSON string with --json. */
static void print_names(const session *s, const msgpack_object_array *names)
{
    for (uint32_t i = 0; i < names->size; i++) {
        const msgpack_object *n = &names->ptr[i];
        if (s->json || n->type != MSGPACK_OBJECT_STR)
            session_print(s, n);
        else
            printf("%.*s\n", (int)n->via.str.size, n->via.str.ptr);
    }
}

int scan_command(session *s, int argc, char **argv)
{
    struct scan_args a;
    int rc = parse(s, argc, argv, &a);
    if (rc)
        return rc;
    rpc_reply rep;
    if (a.cursor >= 0) { /* one raw step: [next_cursor, names] */
        rc = step(s, &a, (uint64_t)a.cursor, &rep);
        if (!rc)
            session_print(s, &rep.result);
        return rc;
    }
    uint64_t cursor = 0;
    do {
        rc = step(s, &a, cursor, &rep);
        if (rc)
            return rc;
        cursor = rep.result.via.array.ptr[0].via.u64;
        print_names(s, &rep.result.via.array.ptr[1].via.array);
    } while (cursor);
    return EXIT_OK;
}
