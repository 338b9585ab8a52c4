/* heapctl graph: the part of the heap around some objects, as Graphviz.
 * graph.c asks the server (what the targets reach, or --back what refers
 * to them, up to --depth hops and --max-nodes objects); graph_dot.c writes
 * the picture (DOT, or SVG/PNG through Graphviz's dot). */
#ifndef HEAPCTL_GRAPH_H
#define HEAPCTL_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct gnode {
    uint64_t id;
    const char *type; /* from the id (wire_id_type) */
    uint32_t refcount;
    char *value;   /* a scalar's repr, cut short; NULL for a container */
    int64_t len;   /* a container's, -1 unknown */
    int level;     /* hops from a target */
    bool frontier; /* a container with references not drawn */
} gnode;

typedef struct gedge {
    size_t from, to; /* node indexes */
    char *label;     /* index, dict key, or "" */
} gedge;

typedef struct gname {
    char *name;
    size_t node;
} gname;

typedef struct graph {
    gnode *nodes;
    size_t n, cap;
    gedge *edges;
    size_t ne, ecap;
    gname *names;
    size_t nn, ncap;
    bool truncated; /* max_nodes stopped the walk */
    size_t max_nodes;
} graph;

/* The index of the node with this id, or -1. */
long graph_find(const graph *g, uint64_t id);
void graph_free(graph *g);

/* Writes g as DOT. */
void graph_write_dot(const graph *g, FILE *out, bool back);
/* Writes g to path: .dot as DOT, .svg or .png through Graphviz's dot. When
 * dot is missing, writes the DOT next to path (its extension replaced by
 * .dot) and says so on stderr. Returns 0, or 1 when path could not be
 * written as asked (the reason on stderr). */
int graph_render(const graph *g, const char *path, bool back);

#endif
