/* heapctl graph [TARGET...] [--depth N] [--back] [--max-nodes N] [-o FILE]
 *
 * Gathers the picture with ordinary requests, each bounded: lookup for the
 * names (scan pages them when no target is given), gc_get_referents (or
 * gc_get_referrers with --back, which is O(heap) per object, as Python's
 * gc.get_referrers) for the references, refcount and get for the labels.
 * The walk is breadth first and stops at --depth hops (3) and --max-nodes
 * objects (200), saying so when it is cut short. The heap may change
 * between requests: the picture is of each object when it was asked. */
#include "commands.h"
#include "graph.h"
#include "view.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#define GRAPH_DEPTH_DEFAULT 3
#define GRAPH_MAX_DEFAULT   200
#define GRAPH_MAX_MAX       5000
#define LABEL_MAX           24 /* characters of a value or key shown */

struct graph_args {
    char **targets;
    int ntargets;
    long depth, max_nodes;
    bool back;
    const char *out;
};

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    *cap = *cap ? *cap * 2 : 16;
    p = realloc(p, *cap * size);
    if (!p)
        abort();
    return p;
}

long graph_find(const graph *g, uint64_t id)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->nodes[i].id == id)
            return (long)i;
    return -1;
}

void graph_free(graph *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->nodes[i].value);
    for (size_t i = 0; i < g->ne; i++)
        free(g->edges[i].label);
    for (size_t i = 0; i < g->nn; i++)
        free(g->names[i].name);
    free(g->nodes);
    free(g->edges);
    free(g->names);
}

/* The node of id, added at level when new; -1 when the cap is reached. */
static long add_node(graph *g, uint64_t id, int level)
{
    long i = graph_find(g, id);
    if (i >= 0)
        return i;
    if (g->n >= g->max_nodes) {
        g->truncated = true;
        return -1;
    }
    g->nodes = grow(g->nodes, &g->cap, g->n, sizeof *g->nodes);
    g->nodes[g->n] = (gnode){id, wire_id_type(id), 0, NULL, -1, level, false};
    return (long)g->n++;
}

static void add_edge(graph *g, size_t from, size_t to, char *label)
{
    g->edges = grow(g->edges, &g->ecap, g->ne, sizeof *g->edges);
    g->edges[g->ne++] = (gedge){from, to, label};
}

static void add_name(graph *g, const char *name, size_t node)
{
    g->names = grow(g->names, &g->ncap, g->nn, sizeof *g->names);
    g->names[g->nn++] = (gname){strdup(name), node};
}

/* --- one container's references ------------------------------------------ */

struct refs {
    uint64_t *ids;
    char **labels; /* one per id */
    size_t n;
};

static void refs_free(struct refs *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->labels[i]);
    free(r->ids);
    free(r->labels);
    *r = (struct refs){0};
}

static char *label_index(size_t i)
{
    char b[24];
    snprintf(b, sizeof b, "%zu", i);
    return strdup(b);
}

/* The ids of the answer's refs, all of them, or false. */
static bool copy_ids(const msgpack_object *a, struct refs *r)
{
    if (a->type != MSGPACK_OBJECT_ARRAY)
        return false;
    r->n = a->via.array.size;
    r->ids = calloc(r->n + 1, sizeof *r->ids);
    r->labels = calloc(r->n + 1, sizeof *r->labels);
    if (!r->ids || !r->labels)
        abort();
    for (size_t i = 0; i < r->n; i++)
        if (!view_ref_id(&a->via.array.ptr[i], &r->ids[i]))
            return false;
    return true;
}

/* A dict's referents are key, value, key, value...: keep the values,
 * labelled with their keys as get(d, 1) shows them. */
static int dict_refs(session *s, uint64_t id, struct refs *r)
{
    rpc_reply rep;
    int rc = view_call_id_int(s, "get", id, 1, &rep);
    if (rc)
        return rc;
    const msgpack_object *m = &rep.result;
    size_t pairs = r->n / 2;
    bool match = m->type == MSGPACK_OBJECT_MAP && m->via.map.size == pairs;
    for (size_t i = 0; i < pairs; i++) {
        r->ids[i] = r->ids[2 * i + 1];
        /* the dict changed between the two requests: keys unknown */
        r->labels[i] = match ? view_repr(&m->via.map.ptr[i].key, LABEL_MAX) : strdup("?");
    }
    for (size_t i = pairs; i < r->n; i++)
        r->labels[i] = NULL;
    r->n = pairs;
    return EXIT_OK;
}

static int container_refs(session *s, const gnode *node, struct refs *r)
{
    rpc_reply rep;
    *r = (struct refs){0};
    int rc = view_call_id(s, "gc_get_referents", node->id, &rep);
    if (rc)
        return rc;
    if (!copy_ids(&rep.result, r)) {
        refs_free(r);
        session_error(s, "ProtocolError", "gc_get_referents: unexpected answer");
        return EXIT_SERVER_ERROR;
    }
    if (strcmp(node->type, "dict") == 0)
        return dict_refs(s, node->id, r);
    bool seq = strcmp(node->type, "list") == 0 || strcmp(node->type, "tuple") == 0;
    for (size_t i = 0; i < r->n; i++)
        r->labels[i] = seq ? label_index(i) : strdup("");
    return EXIT_OK;
}

static bool is_container(const gnode *n)
{
    return strcmp(n->type, "list") == 0 || strcmp(n->type, "tuple") == 0 ||
           strcmp(n->type, "dict") == 0 || strcmp(n->type, "set") == 0;
}

/* --- walking ----------------------------------------------------------- */

/* Forward: the objects node i refers to, one hop further. */
static int step_forward(session *s, graph *g, size_t i)
{
    struct refs r;
    int rc = container_refs(s, &g->nodes[i], &r);
    for (size_t k = 0; !rc && k < r.n; k++)
        add_node(g, r.ids[k], g->nodes[i].level + 1);
    refs_free(&r);
    return rc;
}

/* Back: the containers referring to node i (O(heap) on the server). */
static int step_back(session *s, graph *g, size_t i)
{
    rpc_reply rep;
    struct refs r = {0};
    int rc = view_call_id(s, "gc_get_referrers", g->nodes[i].id, &rep);
    if (!rc && !copy_ids(&rep.result, &r)) {
        session_error(s, "ProtocolError", "gc_get_referrers: unexpected answer");
        rc = EXIT_SERVER_ERROR;
    }
    for (size_t k = 0; !rc && k < r.n; k++)
        add_node(g, r.ids[k], g->nodes[i].level + 1);
    refs_free(&r);
    return rc;
}

/* Every reference between two drawn objects becomes an arrow; a container
 * with a reference to an object not drawn is a frontier. */
static int draw_edges(session *s, graph *g, size_t i)
{
    struct refs r;
    int rc = container_refs(s, &g->nodes[i], &r);
    for (size_t k = 0; !rc && k < r.n; k++) {
        long to = graph_find(g, r.ids[k]);
        if (to < 0) {
            g->nodes[i].frontier = true;
            continue;
        }
        add_edge(g, i, (size_t)to, r.labels[k]);
        r.labels[k] = NULL;
    }
    g->nodes[i].len = (int64_t)r.n;
    refs_free(&r);
    return rc;
}

/* refcount, and a scalar's value (get answers it as itself). */
static int describe(session *s, gnode *n)
{
    rpc_reply rep;
    int rc = view_call_id(s, "refcount", n->id, &rep);
    if (rc)
        return rc;
    if (rep.result.type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        session_error(s, "ProtocolError", "refcount: unexpected answer");
        return EXIT_SERVER_ERROR;
    }
    n->refcount = (uint32_t)rep.result.via.u64;
    if ((rc = view_call_id_int(s, "get", n->id, 0, &rep)))
        return rc;
    uint64_t id;
    if (!view_ref_id(&rep.result, &id))
        n->value = view_repr(&rep.result, LABEL_MAX);
    return EXIT_OK;
}

static int walk(session *s, graph *g, const struct graph_args *a)
{
    int rc = EXIT_OK;
    /* breadth first: nodes are added in order of level */
    for (size_t i = 0; !rc && i < g->n; i++) {
        if (g->nodes[i].level >= a->depth)
            continue;
        if (a->back)
            rc = step_back(s, g, i);
        else if (is_container(&g->nodes[i]))
            rc = step_forward(s, g, i);
    }
    for (size_t i = 0; !rc && i < g->n; i++)
        rc = describe(s, &g->nodes[i]);
    for (size_t i = 0; !rc && i < g->n; i++)
        if (is_container(&g->nodes[i]))
            rc = draw_edges(s, g, i);
    return rc;
}

/* --- the targets ----------------------------------------------------------- */

/* A name's object, drawn with the name beside it. */
static int add_named(session *s, graph *g, const char *name)
{
    rpc_reply rep;
    view_params p;
    view_params_begin(&p, 1);
    msgpack_pack_str_with_body(&p.pk, name, strlen(name));
    int rc = view_call(s, "lookup", &p, &rep);
    uint64_t id;
    if (rc)
        return rc;
    if (!view_ref_id(&rep.result, &id)) {
        session_error(s, "ProtocolError", "lookup: unexpected answer");
        return EXIT_SERVER_ERROR;
    }
    long i = add_node(g, id, 0);
    if (i >= 0)
        add_name(g, name, (size_t)i);
    return EXIT_OK;
}

/* NAME, $NAME or @ID. */
static int add_target(session *s, graph *g, const char *t)
{
    if (t[0] == '@') {
        char *end;
        unsigned long long id = strtoull(t + 1, &end, 10);
        if (!t[1] || *end) {
            session_error(s, "UsageError", "graph: bad id '%s'", t);
            return EXIT_USAGE;
        }
        /* an id that resolves to nothing fails here, clearly */
        rpc_reply rep;
        int rc = view_call_id(s, "type", id, &rep);
        if (!rc)
            add_node(g, id, 0);
        return rc;
    }
    return add_named(s, g, t[0] == '$' ? t + 1 : t);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every global name, sorted, a scan page at a time; at most max_nodes of
 * them (more could not be drawn). */
static int add_globals(session *s, graph *g)
{
    uint64_t cursor = 0;
    char **names = NULL;
    size_t n = 0;
    int rc;
    do
        rc = view_scan_page(s, &cursor, 0, NULL, &names, &n, g->max_nodes + 1);
    while (!rc && cursor && n <= g->max_nodes);
    if (n > g->max_nodes)
        g->truncated = true;
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; !rc && i < n && i < g->max_nodes; i++)
        rc = add_named(s, g, names[i]);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* --- the command ----------------------------------------------------------- */

static int graph_usage(session *s, const char *msg)
{
    session_error(s, "UsageError",
                  "%s; usage: graph [TARGET...] [--depth N] [--back] [--max-nodes N] "
                  "[-o FILE.{dot,svg,png}]",
                  msg);
    return EXIT_USAGE;
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool good_output(const char *path)
{
    const char *ext = strrchr(path, '.');
    return ext && (!strcmp(ext, ".dot") || !strcmp(ext, ".svg") || !strcmp(ext, ".png"));
}

static int parse(session *s, int argc, char **argv, struct graph_args *a)
{
    *a = (struct graph_args){.targets = calloc((size_t)argc, sizeof(char *)),
                             .depth = GRAPH_DEPTH_DEFAULT,
                             .max_nodes = GRAPH_MAX_DEFAULT};
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        bool more = i + 1 < argc;
        if (!strcmp(w, "--back"))
            a->back = true;
        else if (!strcmp(w, "--depth") && more && parse_long(argv[i + 1], 0, 100, &a->depth))
            i++;
        else if (!strcmp(w, "--max-nodes") && more &&
                 parse_long(argv[i + 1], 1, GRAPH_MAX_MAX, &a->max_nodes))
            i++;
        else if ((!strcmp(w, "-o") || !strcmp(w, "--output")) && more && good_output(argv[i + 1]))
            a->out = argv[++i];
        else if (w[0] == '-')
            return graph_usage(s, "bad option (--depth 0..100, --max-nodes 1..5000, "
                                  "-o FILE ending in .dot, .svg or .png)");
        else if (w[0] == '@' || w[0] == '$' || w[0] == '_' || (w[0] & 0x80) ||
                 (w[0] >= 'A' && w[0] <= 'Z') || (w[0] >= 'a' && w[0] <= 'z'))
            a->targets[a->ntargets++] = argv[i];
        else
            return graph_usage(s, "a target is a name, $name or @id");
    }
    if (a->back && !a->ntargets)
        return graph_usage(s, "--back needs a target");
    return EXIT_OK;
}

int graph_command(session *s, int argc, char **argv)
{
    struct graph_args a;
    graph g = {0};
    int rc = parse(s, argc, argv, &a);
    g.max_nodes = (size_t)a.max_nodes;
    for (int i = 0; !rc && i < a.ntargets; i++)
        rc = add_target(s, &g, a.targets[i]);
    if (!rc && !a.ntargets)
        rc = add_globals(s, &g);
    if (!rc)
        rc = walk(s, &g, &a);
    if (!rc && g.truncated)
        fprintf(stderr, "heapctl: graph: truncated at %zu objects (--max-nodes)\n", g.max_nodes);
    if (!rc && a.out)
        rc = graph_render(&g, a.out, a.back);
    else if (!rc)
        graph_write_dot(&g, stdout, a.back);
    graph_free(&g);
    free(a.targets);
    return rc;
}
