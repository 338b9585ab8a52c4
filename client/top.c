/* heapctl top [N] [--samples S] [--match GLOB]: the global names holding
 * the most memory, counting what each reaches (redis-cli --memkeys). The
 * names come a scan page at a time and each size from one memory_usage
 * request, bounded on the server (max_objects): the server never stalls,
 * however many names or objects there are. A size memory_usage had to
 * estimate is marked '~'. */
#include "commands.h"
#include "view.h"

#include <stdlib.h>
#include <string.h>

#define TOP_DEFAULT 10
#define TOP_MAX     10000

struct top_row {
    char *name;
    uint64_t bytes, objects;
    bool exact;
};

struct top {
    struct top_row *rows; /* the best n so far, biggest first */
    size_t n, want;
    uint64_t names, estimated;
    long samples; /* -1: the server's default */
    const char *match;
};

static int top_usage(session *s, const char *msg)
{
    session_error(s, "UsageError", "%s; usage: top [N] [--samples S] [--match GLOB]", msg);
    return EXIT_USAGE;
}

/* Keeps the row if it is among the `want` biggest (insertion: want is small). */
static void keep(struct top *t, struct top_row row)
{
    size_t i = t->n;
    if (i == t->want && (i == 0 || t->rows[i - 1].bytes >= row.bytes)) {
        free(row.name);
        return;
    }
    if (i == t->want)
        free(t->rows[--i].name);
    else
        t->n++;
    for (; i > 0 && t->rows[i - 1].bytes < row.bytes; i--)
        t->rows[i] = t->rows[i - 1];
    t->rows[i] = row;
}

static bool get_u64(const msgpack_object *m, const char *key, uint64_t *out)
{
    for (uint32_t i = 0; m->type == MSGPACK_OBJECT_MAP && i < m->via.map.size; i++) {
        const msgpack_object_kv *kv = &m->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(key) &&
            !memcmp(kv->key.via.str.ptr, key, kv->key.via.str.size)) {
            if (kv->val.type == MSGPACK_OBJECT_BOOLEAN)
                *out = kv->val.via.boolean;
            else if (kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                *out = kv->val.via.u64;
            else
                return false;
            return true;
        }
    }
    return false;
}

/* memory_usage(name, {samples}); a name unbound since the scan is skipped. */
static int measure(session *s, struct top *t, const char *name)
{
    rpc_reply rep;
    view_params p;
    view_params_begin(&p, t->samples >= 0 ? 2 : 1);
    msgpack_pack_str_with_body(&p.pk, name, strlen(name));
    if (t->samples >= 0) {
        msgpack_pack_map(&p.pk, 1);
        msgpack_pack_str_with_body(&p.pk, "samples", 7);
        msgpack_pack_int64(&p.pk, t->samples);
    }
    char err[600];
    int rc = rpc_call_packed(s->rpc, "memory_usage", p.b.data, p.b.size, &rep, err, sizeof err);
    msgpack_sbuffer_destroy(&p.b);
    if (!rc && !rep.ok && strcmp(rep.etype, "NameError") == 0)
        return EXIT_OK;
    if ((rc = session_answer(s, rc, err, &rep)))
        return rc;
    struct top_row row = {strdup(name), 0, 0, true};
    uint64_t exact = 0;
    if (!get_u64(&rep.result, "bytes", &row.bytes) ||
        !get_u64(&rep.result, "objects", &row.objects) || !get_u64(&rep.result, "exact", &exact)) {
        free(row.name);
        session_error(s, "ProtocolError", "memory_usage: unexpected answer");
        return EXIT_SERVER_ERROR;
    }
    row.exact = exact;
    t->names++;
    t->estimated += !row.exact;
    keep(t, row);
    return EXIT_OK;
}

/* One scan page: its names copied (each measure replaces the answer). */
static int page(session *s, struct top *t, uint64_t *cursor)
{
    char **names = NULL;
    size_t n = 0;
    int rc = view_scan_page(s, cursor, 500, t->match, &names, &n, SIZE_MAX);
    for (size_t i = 0; !rc && i < n; i++)
        rc = measure(s, t, names[i]);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static void print_json(const session *s, const struct top *t)
{
    msgpack_sbuffer b;
    msgpack_packer pk;
    msgpack_sbuffer_init(&b);
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, t->n);
    for (size_t i = 0; i < t->n; i++) {
        msgpack_pack_map(&pk, 4);
        msgpack_pack_str_with_body(&pk, "name", 4);
        msgpack_pack_str_with_body(&pk, t->rows[i].name, strlen(t->rows[i].name));
        msgpack_pack_str_with_body(&pk, "bytes", 5);
        msgpack_pack_uint64(&pk, t->rows[i].bytes);
        msgpack_pack_str_with_body(&pk, "objects", 7);
        msgpack_pack_uint64(&pk, t->rows[i].objects);
        msgpack_pack_str_with_body(&pk, "exact", 5);
        t->rows[i].exact ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, b.data, b.size, NULL) == MSGPACK_UNPACK_SUCCESS)
        session_print(s, &up.data);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&b);
}

static void print_table(const struct top *t)
{
    printf("%14s %10s  %s\n", "BYTES", "OBJECTS", "NAME");
    for (size_t i = 0; i < t->n; i++) {
        const struct top_row *r = &t->rows[i];
        printf("%s%13llu %10llu  %s\n", r->exact ? " " : "~", (unsigned long long)r->bytes,
               (unsigned long long)r->objects, r->name);
    }
    printf("%llu names", (unsigned long long)t->names);
    if (t->estimated)
        printf("; ~ %llu sizes estimated (each name's walk is bounded: memory_usage sampled "
               "past max_objects)",
               (unsigned long long)t->estimated);
    putchar('\n');
}

static int parse(session *s, int argc, char **argv, struct top *t)
{
    *t = (struct top){.want = TOP_DEFAULT, .samples = -1};
    bool have_n = false;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (!strcmp(argv[i], "--samples") && i + 1 < argc) {
            t->samples = strtol(argv[++i], &end, 10);
            if (!*argv[i] || *end || t->samples < 0 || t->samples > 10000)
                return top_usage(s, "--samples needs a number from 0 to 10000");
        } else if (!strcmp(argv[i], "--match") && i + 1 < argc) {
            t->match = argv[++i];
        } else if (!have_n && argv[i][0] >= '0' && argv[i][0] <= '9') {
            long n = strtol(argv[i], &end, 10);
            if (*end || n < 1 || n > TOP_MAX)
                return top_usage(s, "N must be from 1 to 10000");
            t->want = (size_t)n;
            have_n = true;
        } else {
            return top_usage(s, "unexpected argument");
        }
    }
    t->rows = calloc(t->want + 1, sizeof *t->rows);
    return t->rows ? EXIT_OK : (abort(), 0);
}

int top_command(session *s, int argc, char **argv)
{
    struct top t;
    int rc = parse(s, argc, argv, &t);
    uint64_t cursor = 0;
    do {
        rc = rc ? rc : page(s, &t, &cursor);
    } while (!rc && cursor);
    if (!rc && s->json)
        print_json(s, &t);
    else if (!rc)
        print_table(&t);
    for (size_t i = 0; i < t.n; i++)
        free(t.rows[i].name);
    free(t.rows);
    return rc;
}
