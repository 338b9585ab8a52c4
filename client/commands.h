/* heapctl's own commands, run in the client rather than sent as one
 * method: `help`, `stats` (which formats the answer for people and can
 * --watch) and `scan` (which walks every page). Every other command is a method of
 * proto/methods.def. */
#ifndef HEAPCTL_COMMANDS_H
#define HEAPCTL_COMMANDS_H

#include "session.h"

typedef struct command {
    const char *name;
    int (*run)(session *s, int argc, char **argv); /* argv[0] is the name */
    const char *usage;
    const char *help;
} command;

/* The local command of that name, or NULL. */
const command *command_find(const char *name);

/* The i-th name heapctl completes as a command (methods, then local ones),
 * or NULL past the end. */
const char *command_name(int i);

/* `heapctl help [COMMAND]` (also used by the REPL). */
int help_command(session *s, int argc, char **argv);

/* `heapctl scan [global|local] [CURSOR] [--match GLOB] [--count N]`. */
int scan_command(session *s, int argc, char **argv);

/* `heapctl why TARGET`: why_alive's chain for people (why.c). */
int why_command(session *s, int argc, char **argv);

/* `heapctl graph [TARGET...] [--depth N] [--back] [--max-nodes N] [-o FILE]`:
 * Graphviz pictures of the heap (graph.c). */
int graph_command(session *s, int argc, char **argv);

/* `heapctl top [N] [--samples S] [--match GLOB]`: the global names holding
 * the most memory (top.c). */
int top_command(session *s, int argc, char **argv);

/* `heapctl stats [SECTION] [--json] [--watch SECONDS]`. */
int stats_command(session *s, int argc, char **argv);

#endif
