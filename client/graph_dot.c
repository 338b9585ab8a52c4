/* graph_write_dot and graph_render (graph.h): a picture in the style of
 * Python Tutor's diagrams. Names are plain text in a "names" box with an
 * arrow to their object; objects are boxes with their type, a short value
 * (or length) and their refcount; references are arrows labelled with the
 * list index or dict key; a container whose references were not all drawn
 * (--depth, --max-nodes) has a dashed border. */
#include "graph.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* A DOT string's body: quotes and backslashes escaped, so no label can
 * end the string or use Graphviz's \N-style escapes. */
static void put_escaped(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        if (*s == '\n')
            fputs("\\n", out);
        else
            fputc(*s, out);
    }
}

static void write_node(FILE *out, const gnode *n)
{
    fprintf(out, "    o%llu [label=\"%s", (unsigned long long)n->id, n->type);
    if (n->value) {
        fputs("\\n", out);
        put_escaped(out, n->value);
    } else if (n->len >= 0) {
        fprintf(out, " (len %lld)", (long long)n->len);
    }
    fprintf(out, "\\nrefcount %u\\n@%llu\"", n->refcount, (unsigned long long)n->id);
    fputs(n->value ? ", style=\"rounded,filled\", fillcolor=\"#fff8dc\""
                   : ", style=filled, fillcolor=\"#e8f0ff\"",
          out);
    if (n->frontier)
        fputs(", style=\"dashed,filled\"", out);
    fputs("];\n", out);
}

static void write_names(const graph *g, FILE *out, bool back)
{
    if (!g->nn)
        return;
    fprintf(out,
            "    subgraph cluster_names {\n        label=\"%s\"; style=rounded; "
            "color=gray50;\n",
            back ? "targets" : "names");
    for (size_t i = 0; i < g->nn; i++) {
        fprintf(out, "        name%zu [shape=plaintext, label=\"", i);
        put_escaped(out, g->names[i].name);
        fputs("\"];\n", out);
    }
    fputs("    }\n", out);
}

void graph_write_dot(const graph *g, FILE *out, bool back)
{
    fputs("digraph heap {\n"
          "    graph [rankdir=LR, fontname=\"Helvetica\", fontsize=11];\n"
          "    node [shape=box, fontname=\"Helvetica\", fontsize=11];\n"
          "    edge [fontname=\"Helvetica\", fontsize=10];\n",
          out);
    if (g->truncated)
        fprintf(out, "    // truncated at %zu objects (--max-nodes)\n", g->max_nodes);
    write_names(g, out, back);
    for (size_t i = 0; i < g->n; i++)
        write_node(out, &g->nodes[i]);
    for (size_t i = 0; i < g->nn; i++)
        fprintf(out, "    name%zu -> o%llu;\n", i,
                (unsigned long long)g->nodes[g->names[i].node].id);
    for (size_t i = 0; i < g->ne; i++) {
        const gedge *e = &g->edges[i];
        fprintf(out, "    o%llu -> o%llu", (unsigned long long)g->nodes[e->from].id,
                (unsigned long long)g->nodes[e->to].id);
        if (*e->label) {
            fputs(" [label=\"", out);
            put_escaped(out, e->label);
            fputs("\"]", out);
        }
        fputs(";\n", out);
    }
    fputs("}\n", out);
}

static int write_file(const graph *g, const char *path, bool back)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "heapctl: graph: %s: %s\n", path, strerror(errno));
        return 1;
    }
    graph_write_dot(g, f, back);
    if (fclose(f) != 0) {
        fprintf(stderr, "heapctl: graph: %s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

/* path with its extension replaced by .dot (malloc'd). */
static char *dot_path(const char *path)
{
    const char *dot = strrchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    char *p = malloc(n + 5);
    if (!p)
        abort();
    memcpy(p, path, n);
    strcpy(p + n, ".dot");
    return p;
}

static int no_dot(const graph *g, const char *path, bool back)
{
    char *alt = dot_path(path);
    int rc = write_file(g, alt, back);
    if (!rc)
        fprintf(stderr,
                "heapctl: graph: Graphviz's dot is not installed, so %s was not made; wrote "
                "%s instead (install graphviz, then: dot -T%s -o %s %s)\n",
                path, alt, strrchr(path, '.') + 1, path, alt);
    free(alt);
    return 1;
}

/* dot -Tfmt -o path, fed the DOT on its standard input. */
static int run_dot(const graph *g, const char *path, const char *fmt, bool back)
{
    int fds[2];
    if (pipe(fds) != 0) {
        fprintf(stderr, "heapctl: graph: pipe: %s\n", strerror(errno));
        return 1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], STDIN_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    char tflag[16];
    snprintf(tflag, sizeof tflag, "-T%s", fmt);
    char *argv[] = {"dot", tflag, "-o", (char *)path, NULL};
    pid_t pid;
    int err = posix_spawnp(&pid, "dot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[0]);
    if (err) {
        close(fds[1]);
        return err == ENOENT ? no_dot(g, path, back)
                             : (fprintf(stderr, "heapctl: graph: dot: %s\n", strerror(err)), 1);
    }
    /* dot may die before reading it all: a write error, not a SIGPIPE */
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    FILE *in = fdopen(fds[1], "w");
    if (in) {
        graph_write_dot(g, in, back);
        fclose(in);
    } else {
        close(fds[1]); /* dot reads nothing and fails: reported below */
    }
    signal(SIGPIPE, old);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "heapctl: graph: dot failed making %s\n", path);
        return 1;
    }
    return 0;
}

int graph_render(const graph *g, const char *path, bool back)
{
    const char *ext = strrchr(path, '.');
    if (ext && strcmp(ext, ".dot") == 0)
        return write_file(g, path, back);
    return run_dot(g, path, ext + 1, back);
}
