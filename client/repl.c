/* The interactive prompt, on libedit's readline interface. */
#include "commands.h"
#include "py_run.h"
#include "script.h"

#include <editline/readline.h>
#include <stdlib.h>
#include <string.h>

enum { HISTORY_LINES = 1000 };

/* readline's completion hooks take no context: the session is here. */
static session *completing;

/* Candidates for the word being completed, gathered at state 0. */
static struct {
    char **items;
    size_t count, next;
} cands;

static void cands_clear(void)
{
    for (size_t i = 0; i < cands.count; i++)
        free(cands.items[i]);
    free(cands.items);
    cands.items = NULL;
    cands.count = cands.next = 0;
}

static void cands_add(const char *s, size_t n)
{
    char **items = realloc(cands.items, (cands.count + 1) * sizeof *items);
    if (!items)
        return;
    cands.items = items;
    char *copy = strndup(s, n);
    if (copy)
        cands.items[cands.count++] = copy;
}

/* Names bound in the session's innermost scope and in the global one. */
static void add_bound_names(void)
{
    static const char *const scopes[] = {"local", "global"};
    for (int k = 0; k < 2; k++) {
        rpc_reply rep;
        char err[600];
        if (rpc_call_str(completing->rpc, "names", scopes[k], &rep, err, sizeof err) || !rep.ok ||
            rep.result.type != MSGPACK_OBJECT_ARRAY)
            continue;
        for (uint32_t i = 0; i < rep.result.via.array.size; i++) {
            const msgpack_object *o = &rep.result.via.array.ptr[i];
            if (o->type == MSGPACK_OBJECT_STR)
                cands_add(o->via.str.ptr, o->via.str.size);
        }
    }
}

static char *next_candidate(const char *text, int state)
{
    if (state == 0) {
        cands.next = 0;
    }
    size_t n = strlen(text);
    while (cands.next < cands.count) {
        const char *c = cands.items[cands.next++];
        if (strncmp(c, text, n) == 0)
            return strdup(c);
    }
    return NULL;
}

/* The first word completes to a command, later ones to bound names. */
static char **complete(const char *text, int start, int end)
{
    (void)end;
    rl_attempted_completion_over = 1; /* never fall back to file names */
    cands_clear();
    if (strspn(rl_line_buffer, " \t") >= (size_t)start) {
        for (int i = 0; command_name(i); i++)
            cands_add(command_name(i), strlen(command_name(i)));
        cands_add("quit", 4);
    } else {
        add_bound_names();
    }
    return rl_completion_matches(text, next_candidate);
}

static char *history_path(void)
{
    const char *env = getenv("HEAPCTL_HISTFILE");
    if (env)
        return *env ? strdup(env) : NULL; /* empty: no history file */
    const char *home = getenv("HOME");
    if (!home)
        return NULL;
    size_t n = strlen(home) + sizeof "/.heapctl_history";
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/.heapctl_history", home);
    return p;
}

static void remember(const char *hist, const char *line)
{
    add_history(line);
    if (hist) { /* saved at once, so a killed session keeps its history */
        write_history(hist);
        history_truncate_file(hist, HISTORY_LINES);
    }
}

int repl_run(session *s)
{
    completing = s;
    rl_attempted_completion_function = complete;
    char *hist = history_path();
    using_history();
    if (hist)
        read_history(hist);
    int rc = EXIT_OK;
    char *line;
    py_unit u;
    py_unit_init(&u, true);
    while ((line = readline(py_unit_pending(&u) ? "... " : "heapd> ")) != NULL) {
        if (line[strspn(line, " \t")] != '\0')
            remember(hist, line);
        int r = py_unit_feed(&u, line, 1) ? EXIT_SERVER_ERROR : -1;
        free(line);
        while (r != -2 && r != EXIT_CONNECT && py_unit_ready(&u)) {
            int first;
            char *text = py_unit_take(&u, &first);
            /* each input is numbered from line 1, as in Python's REPL */
            r = text ? py_run_unit(s, text, 1, true) : -1;
            free(text);
        }
        if (r == -2)
            break;
        if (r == EXIT_CONNECT) {
            rc = r;
            break;
        }
    }
    py_unit_free(&u);
    cands_clear();
    free(hist);
    return rc;
}
