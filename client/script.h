/* Running commands from a script or a terminal, in one session. */
#ifndef HEAPCTL_SCRIPT_H
#define HEAPCTL_SCRIPT_H

#include "session.h"

#include <stdbool.h>
#include <stdio.h>

/* Runs `in`: commands and Python statements (py_run.h; a statement may
 * take several lines), named `name` in messages. Stops at the first
 * failing statement unless keep_going; returns the highest exit status
 * seen (a lost connection always stops). */
int script_run(session *s, FILE *in, const char *name, bool keep_going);

/* Runs one command line: split, then session_run. Returns its exit status,
 * or -1 for a line with no command. `quit` and `exit` return -2. */
int script_line(session *s, const char *line);

/* The interactive prompt: libedit line editing, history in
 * $HEAPCTL_HISTFILE or ~/.heapctl_history, completion of commands and of
 * the names bound in the session's scope and the global one, Python with
 * "... " continuation lines, Ctrl-C as KeyboardInterrupt, events shown as
 * they arrive. */
int repl_run(session *s);

#endif
