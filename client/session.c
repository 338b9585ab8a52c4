#include "session.h"
#include "args.h"
#include "commands.h"
#include "format.h"
#include "methods.h"
#include "mpscan.h"
#include "py_run.h"
#include "utf8.h"
#include "wire.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* {"error": {"type": T, "message": M[, "file": F, "line": L][, "column": C]}}
 * on one line of stderr: --json's errors, for programs (stdout keeps to
 * results). column is 0 when there is none. */
static void json_error(const session *s, const char *type, const char *msg, size_t column)
{
    cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddStringToObject(e, "message", msg);
    if (s && s->file) {
        cJSON_AddStringToObject(e, "file", s->file);
        cJSON_AddNumberToObject(e, "line", (double)s->line);
    }
    if (column)
        cJSON_AddNumberToObject(e, "column", (double)column);
    char *text = cJSON_PrintUnformatted(root);
    fprintf(stderr, "%s\n", text ? text : "{\"error\": {\"type\": \"MemoryError\"}}");
    free(text);
    cJSON_Delete(root);
}

static void text_error(const session *s, const char *type, const char *msg)
{
    if (s && s->file)
        fprintf(stderr, "%s:%ld: ", s->file, s->line);
    fprintf(stderr, "%s: %s\n", type, msg);
}

void session_error(const session *s, const char *type, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fflush(stdout); /* keep stdout and stderr in order on a terminal */
    if (s && s->json)
        json_error(s, type, msg, 0);
    else
        text_error(s, type, msg);
}

static void print_json(const msgpack_object *o)
{
    cJSON *j = fmt_json(o);
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    puts(text ? text : "null");
    free(text);
    cJSON_Delete(j);
}

void session_print(const session *s, const msgpack_object *result)
{
    if (s->json)
        return print_json(result);
    if (s->raw && (result->type == MSGPACK_OBJECT_STR || result->type == MSGPACK_OBJECT_BIN)) {
        if (result->via.str.size) /* an empty str's ptr may be NULL */
            fwrite(result->via.str.ptr, 1, result->via.str.size, stdout);
        putchar('\n');
        return;
    }
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    fmt_repr(&b, result);
    fwrite(b.data, 1, b.size, stdout);
    putchar('\n');
    msgpack_sbuffer_destroy(&b);
}

void session_print_event(void *ctx, const msgpack_object *method, const msgpack_object *params)
{
    session *s = ctx;
    if (py_take_event(s, method, params))
        return; /* a finalize event: heapctl runs the class's __del__ */
    if (s->json) {
        msgpack_object_kv kv[2] = {
            {.key = {.type = MSGPACK_OBJECT_STR, .via.str = {5, "event"}}, .val = *method},
            {.key = {.type = MSGPACK_OBJECT_STR, .via.str = {6, "params"}}, .val = *params},
        };
        msgpack_object ev = {.type = MSGPACK_OBJECT_MAP, .via.map = {2, kv}};
        return print_json(&ev);
    }
    fputs("event ", stdout);
    if (method->type == MSGPACK_OBJECT_STR)
        fwrite(method->via.str.ptr, 1, method->via.str.size, stdout);
    putchar(' ');
    session_print(s, params);
}

/* The character column of a 1-based byte column of UTF-8 text. */
static size_t char_column(const char *text, size_t col)
{
    return 1 + utf8_count(text, col > 1 ? strnlen(text, col - 1) : 0);
}

void session_syntax_error(const session *s, const char *text, size_t col, const char *msg)
{
    col = char_column(text, col);
    fflush(stdout);
    if (s && s->json)
        return json_error(s, "SyntaxError", msg, col);
    fprintf(stderr, "  %s\n  %*s^\n", text, (int)(col - 1), "");
    session_error(s, "SyntaxError", "%s (column %zu)", msg, col);
}

/* A bad argument: a syntax error pointing at it, or (an int past 64 bits)
 * the OverflowError heapd would answer. */
static int arg_failed(const session *s, const char *text, size_t col, const arg_error *e)
{
    if (e->overflow) {
        session_error(s, "OverflowError", "%s", e->msg);
        return EXIT_SERVER_ERROR;
    }
    session_syntax_error(s, text, col, e->msg);
    return EXIT_USAGE;
}

static int call_method(session *s, const method_info *m, int argc, char **argv, const char *text,
                       const size_t *starts)
{
    msgpack_sbuffer params;
    msgpack_sbuffer_init(&params);
    arg_error ae;
    if (args_pack(m, argc, argv, &params, &ae)) {
        msgpack_sbuffer_destroy(&params);
        if (text) /* point into the whole line */
            return arg_failed(s, text, starts[ae.index + 1] + ae.col, &ae);
        return arg_failed(s, argv[ae.index], ae.col, &ae);
    }
    /* The envelope is one level: msgpack-c would refuse the message, and
     * heapd close the connection, past WIRE_MSGPACK_MAX_DEPTH in all. */
    size_t used;
    if (mpscan(params.data, params.size, params.size, WIRE_MSGPACK_MAX_DEPTH - 1, &used) ==
        MPSCAN_TOO_DEEP) {
        msgpack_sbuffer_destroy(&params);
        session_error(s, "RecursionError",
                      "arguments nested deeper than %d levels in one request (msgpack-c's limit); "
                      "build the value with several commands",
                      WIRE_MSGPACK_MAX_DEPTH - 2);
        return EXIT_SERVER_ERROR;
    }
    rpc_reply rep;
    char err[600];
    int rc = rpc_call_packed(s->rpc, m->name, params.data, params.size, &rep, err, sizeof err);
    msgpack_sbuffer_destroy(&params);
    rc = session_answer(s, rc, err, &rep);
    if (!rc)
        session_print(s, &rep.result);
    return rc;
}

int session_answer(const session *s, int rc, const char *err, const rpc_reply *rep)
{
    if (rc) {
        session_error(s, "ConnectionError", "%s", err);
        return EXIT_CONNECT;
    }
    if (!rep->ok) {
        session_error(s, rep->etype, "%s", rep->emsg);
        return EXIT_SERVER_ERROR;
    }
    return EXIT_OK;
}

int session_run(session *s, int count, char **words, const char *text, const size_t *starts)
{
    const char *cmd = words[0];
    const command *local = command_find(cmd);
    if (local)
        return local->run(s, count, words);
    int id = method_find(cmd, strlen(cmd));
    if (id < 0) {
        session_error(s, "UsageError", "unknown command '%s' (`help` lists them)", cmd);
        return EXIT_USAGE;
    }
    return call_method(s, &method_table[id], count - 1, words + 1, text, starts);
}
