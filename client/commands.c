#include "commands.h"
#include "methods.h"

#include <stdio.h>
#include <string.h>

static const command local_commands[] = {
    {"help", help_command, "help [COMMAND]", "list the commands, or show one"},
    {"stats", stats_command, "stats [SECTION] [--json] [--watch SECONDS]",
     "server statistics for people; --watch refreshes a live line"},
    {"scan", scan_command, "scan [global|local] [CURSOR] [--match GLOB] [--count N]",
     "every name of a scope, a page at a time (one step with CURSOR)"},
    {"why", why_command, "why TARGET",
     "the shortest chain of references from a root to TARGET (why_alive; O(heap))"},
    {"graph", graph_command, "graph [TARGET...] [--depth N] [--back] [--max-nodes N] [-o FILE]",
     "Graphviz picture of what TARGETs (all global names) reach, or --back what refers to them"},
    {"top", top_command, "top [N] [--samples S] [--match GLOB]",
     "the N (10) global names holding the most memory, counting what each reaches"},
};
enum { LOCAL_COUNT = sizeof local_commands / sizeof local_commands[0] };

/* bench needs its own connections, so it runs from the command line only. */
static const char bench_usage[] =
    "bench [-c CLIENTS] [-n REQUESTS] [-P PIPELINE] [-t TESTS] [-d SIZE]";
static const char bench_help[] = "measure the server like redis-benchmark (command line only)";

const command *command_find(const char *name)
{
    for (int i = 0; i < LOCAL_COUNT; i++)
        if (strcmp(local_commands[i].name, name) == 0)
            return &local_commands[i];
    return NULL;
}

/* A local command that shares a method's name (scan) is listed once. */
const char *command_name(int i)
{
    if (i < METHOD__COUNT)
        return method_table[i].name;
    int want = i - METHOD__COUNT;
    for (int k = 0; k < LOCAL_COUNT; k++) {
        if (method_find(local_commands[k].name, strlen(local_commands[k].name)) >= 0)
            continue;
        if (want-- == 0)
            return local_commands[k].name;
    }
    return NULL;
}

static void help_line(const char *name, const char *params, const char *help)
{
    char usage[96];
    snprintf(usage, sizeof usage, "%s%s%s", name, *params ? " " : "", params);
    printf("  %-36s %s\n", usage, help);
}

static int help_one(session *s, const char *name)
{
    const command *c = command_find(name);
    int id = method_find(name, strlen(name));
    if (c) {
        printf("%s\n    %s\n", c->usage, c->help);
    } else if (id >= 0) {
        const method_info *m = &method_table[id];
        printf("%s%s%s\n    %s\n", m->name, *m->params ? " " : "", m->params, m->help);
    } else if (strcmp(name, "bench") == 0) {
        printf("%s\n    %s\n", bench_usage, bench_help);
    } else {
        session_error(s, "UsageError", "unknown command '%s' (`help` lists them)", name);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

int help_command(session *s, int argc, char **argv)
{
    if (argc > 2) {
        session_error(s, "UsageError", "help takes at most one command");
        return EXIT_USAGE;
    }
    if (argc == 2)
        return help_one(s, argv[1]);
    puts("Commands (each method of the server, with the same name):");
    for (int i = 0; i < METHOD__COUNT; i++)
        help_line(method_table[i].name, method_table[i].params, method_table[i].help);
    puts("heapctl's own:");
    for (int i = 0; i < LOCAL_COUNT; i++)
        printf("  %-36s %s\n", local_commands[i].usage, local_commands[i].help);
    printf("  %-36s %s\n", bench_usage, bench_help);
    puts("Values are Python literals, plus $name and @id; see heapctl --help.");
    return EXIT_OK;
}
