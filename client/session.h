/* One heapctl session: the connection plus how results are shown. The
 * one-shot command, a script and the REPL all run their commands here, so
 * they parse, call and print the same way. */
#ifndef HEAPCTL_SESSION_H
#define HEAPCTL_SESSION_H

#include "rpc.h"

#include <stdbool.h>
#include <stdio.h>

/* heapctl's exit statuses (SPEC §6). */
enum {
    EXIT_OK = 0,
    EXIT_SERVER_ERROR = 1, /* the server answered an error */
    EXIT_USAGE = 2,        /* usage or syntax */
    EXIT_CONNECT = 3,      /* could not connect, or the connection failed */
};

typedef struct session {
    rpc *rpc;
    bool json; /* print results as JSON */
    bool raw;  /* print a str or bytes result as its bare contents */
    /* Where a command came from, for messages: file name and line, or NULL
     * for the command line. */
    const char *file;
    long line;
    struct py_ctx *py; /* heapctl's Python (py_run.h), made on first use */
} session;

/* Runs one command (words[0]) with its arguments. `text` is the line the
 * words came from and `starts` their offsets in it (both NULL for the
 * command line), so a syntax error can point at its column. Prints the
 * result on stdout or the error on stderr; returns an exit status. */
int session_run(session *s, int count, char **words, const char *text, const size_t *starts);

/* Prints an error "TypeError: message" on stderr, located when s->file;
 * with s->json, one line {"error": {"type": ..., "message": ...}} instead. */
void session_error(const session *s, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Shows a syntax error in text at a 1-based byte column: the text, a caret
 * under the character there, and the message. */
void session_syntax_error(const session *s, const char *text, size_t col, const char *msg);

/* The exit status of a call's outcome, its failure printed: rc is what
 * rpc_call* returned and err its message; EXIT_OK when rep holds a result. */
int session_answer(const session *s, int rc, const char *err, const rpc_reply *rep);

/* Prints the result value as the session shows results. */
void session_print(const session *s, const msgpack_object *result);

/* Shows server notifications (events) on stdout. */
void session_print_event(void *s, const msgpack_object *method, const msgpack_object *params);

#endif
