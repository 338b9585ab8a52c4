/* heapctl speaks Python (SPEC §11): the way in from the REPL, scripts and
 * `heapctl -c`. A unit of input is a complete statement (a line, or the
 * lines of a def, or lines joined by open brackets or a backslash); it is
 * a command of heapctl's (bind x 26) when its first word is a command and
 * it does not parse as Python, or when it is that one word alone (stats,
 * push_scope); otherwise it is Python. */
#ifndef HEAPCTL_PY_RUN_H
#define HEAPCTL_PY_RUN_H

#include "session.h"

#include <stdbool.h>
#include <stdio.h>

/* The interpreter state of a session: functions def made (with their
 * defaults held on the server) and imports. Created on first use. */
void py_session_end(session *s);

/* A server notification for heapctl's Python: a finalize event of a class
 * with __del__ is queued, to run its __del__ (before the answer of the
 * request that freed the instance is used). Returns whether it took it. */
bool py_take_event(session *s, const msgpack_object *method, const msgpack_object *params);

/* Runs one complete unit of input, `text` (lines separated by '\n'), that
 * starts at line `line` of its source. echo: print the repr of expression
 * statements (the REPL). Returns an exit status, -1 for nothing run, -2
 * for quit/exit. */
int py_run_unit(session *s, const char *text, int line, bool echo);

/* Gathers lines into units: feed each line (without its '\n'), then take
 * units while one is ready. interactive: a blank line ends a block (as in
 * Python's REPL); otherwise a line that is not indented does, and starts
 * the next unit. */
typedef struct py_unit {
    char *text;
    size_t len, cap;
    int first_line;
    bool interactive, ready;
    char *held; /* a line that ended a block, starting the next unit */
    int held_line;
} py_unit;

void py_unit_init(py_unit *u, bool interactive);
void py_unit_free(py_unit *u);
/* Adds a line. Returns 0, or -1 out of memory. */
int py_unit_feed(py_unit *u, const char *line, int lineno);
/* Whether a unit is complete. */
bool py_unit_ready(const py_unit *u);
/* Whether lines are pending (the REPL's "... " prompt). */
bool py_unit_pending(const py_unit *u);
/* Takes the ready unit (at end of input: whatever is pending; NULL if
 * nothing is), which the caller frees; *first_line gets its first line. */
char *py_unit_take(py_unit *u, int *first_line);
/* Drops what is pending (Ctrl-C in the REPL). */
void py_unit_cancel(py_unit *u);

#endif
