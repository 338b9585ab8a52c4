#include "script.h"
#include "args.h"
#include "py_run.h"

#include <stdlib.h>
#include <string.h>

int script_line(session *s, const char *line)
{
    line_words w;
    arg_error e;
    if (line_split(line, &w, &e)) {
        session_syntax_error(s, line, e.col, e.msg);
        return EXIT_USAGE;
    }
    int rc = -1;
    if (w.count > 0 && (strcmp(w.words[0], "quit") == 0 || strcmp(w.words[0], "exit") == 0))
        rc = -2;
    else if (w.count > 0)
        rc = session_run(s, w.count, w.words, line, w.starts);
    line_words_free(&w);
    return rc;
}

/* Runs the units that are ready; returns whether to stop, *worst the
 * highest exit status seen. */
static bool run_ready(session *s, py_unit *u, bool keep_going, int *worst)
{
    while (py_unit_ready(u)) {
        int first;
        char *text = py_unit_take(u, &first);
        if (!text)
            return false;
        s->line = first;
        int rc = py_run_unit(s, text, first, false);
        free(text);
        if (rc == -2)
            return true;
        if (rc > *worst)
            *worst = rc;
        if (rc == EXIT_CONNECT || (rc > 0 && !keep_going))
            return true;
    }
    return false;
}

int script_run(session *s, FILE *in, const char *name, bool keep_going)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int worst = EXIT_OK, lineno = 0;
    bool stop = false;
    py_unit u;
    py_unit_init(&u, false);
    s->file = name;
    s->line = 0;
    while (!stop && (n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (py_unit_feed(&u, line, lineno)) {
            session_error(s, "MemoryError", "out of memory");
            worst = EXIT_SERVER_ERROR;
            break;
        }
        stop = run_ready(s, &u, keep_going, &worst);
    }
    /* end of input ends a block, and what is left is run (an open bracket
     * there is Python's SyntaxError) */
    while (!stop && py_unit_pending(&u)) {
        u.ready = true;
        stop = run_ready(s, &u, keep_going, &worst);
    }
    py_unit_free(&u);
    free(line);
    fflush(stdout);
    return worst;
}
