#include "py_run.h"
#include "args.h"
#include "commands.h"
#include "methods.h"
#include "py_interp.h"
#include "py_parse.h"
#include "script.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

static bool command_shape(const char *text);
static bool py_is_command_line(const char *line);

/* ---- units of input ---- */

void py_unit_init(py_unit *u, bool interactive)
{
    *u = (py_unit){.interactive = interactive};
}

void py_unit_free(py_unit *u)
{
    free(u->text);
    free(u->held);
    *u = (py_unit){0};
}

static bool blank(const char *line)
{
    line += strspn(line, " \t\r\f");
    return *line == '\0' || *line == '#';
}

static int append_line(py_unit *u, const char *line, int lineno)
{
    size_t n = strlen(line);
    if (u->len + n + 2 > u->cap) {
        size_t cap = (u->len + n + 2) * 2;
        char *t = realloc(u->text, cap);
        if (!t)
            return -1;
        u->text = t;
        u->cap = cap;
    }
    if (u->len == 0)
        u->first_line = lineno;
    else
        u->text[u->len++] = '\n';
    memcpy(u->text + u->len, line, n + 1);
    u->len += n;
    return 0;
}

bool py_unit_pending(const py_unit *u)
{
    return u->len > 0;
}

bool py_unit_ready(const py_unit *u)
{
    return u->ready;
}

int py_unit_feed(py_unit *u, const char *line, int lineno)
{
    if (u->len == 0 && blank(line))
        return 0; /* nothing to run, and nothing pending */
    bool brackets = u->len && py_needs_more(u->text, true);
    bool block = u->len && !brackets && py_needs_more(u->text, false);
    if (block && !u->interactive && !blank(line) && !strchr(" \t", line[0])) {
        /* a line at the left margin ends the block and starts the next */
        free(u->held);
        if (!(u->held = strdup(line)))
            return -1;
        u->held_line = lineno;
        u->ready = true;
        return 0;
    }
    if (block && u->interactive && blank(line)) {
        u->ready = true;
        return 0;
    }
    bool starts = u->len == 0;
    if (append_line(u, line, lineno))
        return -1;
    /* a command is one line, whatever brackets it leaves open */
    u->ready = (starts && py_is_command_line(line)) || !py_needs_more(u->text, false);
    return 0;
}

char *py_unit_take(py_unit *u, int *first_line)
{
    if (u->len == 0)
        return NULL;
    char *text = u->text;
    *first_line = u->first_line;
    u->text = NULL;
    u->len = u->cap = 0;
    u->ready = false;
    if (u->held) {
        char *held = u->held;
        u->held = NULL;
        py_unit_feed(u, held, u->held_line);
        free(held);
    }
    return text;
}

void py_unit_cancel(py_unit *u)
{
    u->len = 0;
    u->ready = false;
    free(u->held);
    u->held = NULL;
}

/* ---- errors, printed as Python prints them ---- */

static const char *source_name(const session *s)
{
    return s->file ? s->file : "<stdin>";
}

/* The n-th line (1-based) of text, and its length. */
static const char *nth_line(const char *text, int n, size_t *len)
{
    for (int i = 1; i < n && text; i++) {
        text = strchr(text, '\n');
        if (text)
            text++;
    }
    if (!text)
        text = "";
    *len = strcspn(text, "\n");
    return text;
}

static void print_syntax_error(const session *s, const char *text, int line, const py_error *e)
{
    size_t len;
    const char *l = nth_line(text, e->line, &len);
    size_t indent = strspn(l, " \t");
    size_t col = e->col < indent ? 0 : e->col - indent;
    size_t width = e->col + e->len > len ? (len > e->col ? len - e->col : 1) : e->len;
    fflush(stdout);
    fprintf(stderr, "  File \"%s\", line %d\n", source_name(s), line + e->line - 1);
    fprintf(stderr, "    %.*s\n    %*s", (int)(len - indent), l + indent,
            (int)utf8_count(l + indent, col), "");
    for (size_t i = 0; i < (size_t)utf8_count(l + e->col, width) || i == 0; i++)
        fputc('^', stderr);
    fprintf(stderr, "\n%s: %s\n", e->type, e->msg);
}

static void print_exception(const session *s, const py_exc *e)
{
    fflush(stdout);
    if (e->status == EXIT_CONNECT) {
        fprintf(stderr, "ConnectionError: %s\n", e->msg);
        return;
    }
    fputs("Traceback (most recent call last):\n", stderr);
    fprintf(stderr, "  File \"%s\", line %d, in <module>\n", source_name(s), e->frames[0].line);
    for (int i = 1; i < e->nframes; i++)
        fprintf(stderr, "  File \"%s\", line %d, in %s\n", source_name(s), e->frames[i].line,
                e->frames[i].func);
    fprintf(stderr, "%s: %s\n", e->type, e->msg);
}

/* ---- the interpreter of a session ---- */

static py_ctx *ctx_of(session *s)
{
    if (!s->py && (s->py = calloc(1, sizeof *s->py)))
        s->py->s = s;
    return s->py;
}

void py_session_end(session *s)
{
    py_ctx *c = s->py;
    if (!c)
        return;
    py_forget_all(c);
    py_forget_classes(c);
    py_temps_release(c, 0);
    free(c->temps);
    free(c->frames);
    free(c);
    s->py = NULL;
}

static int exec_python(session *s, const py_block *b, int line, bool echo)
{
    py_ctx *c = ctx_of(s);
    if (!c) {
        session_error(s, "MemoryError", "out of memory");
        return EXIT_SERVER_ERROR;
    }
    c->line_base = line - 1;
    c->exc.nframes = 0;
    uint64_t ret;
    bool did_return;
    size_t mark = c->ntemps;
    int rc = py_exec_block(c, b, echo, &ret, &did_return);
    py_temps_release(c, mark);
    fflush(stdout);
    if (!rc)
        return EXIT_OK;
    if (c->exc.nframes < 1)
        c->exc.nframes = 1;
    print_exception(s, &c->exc);
    return c->exc.status;
}

/* ---- command or Python ---- */

static bool is_command(const char *word)
{
    return command_find(word) || method_find(word, strlen(word)) >= 0;
}

/* The first word of a one-line unit, if it is a command's name. */
static bool first_word_command(const char *text, char *word, size_t size)
{
    if (strchr(text, '\n'))
        return false;
    text += strspn(text, " \t");
    size_t n = strcspn(text, " \t");
    if (n == 0 || n >= size)
        return false;
    memcpy(word, text, n);
    word[n] = '\0';
    return is_command(word) || !strcmp(word, "quit") || !strcmp(word, "exit");
}

/* `stats` alone parses as Python (a name) but means the command. */
static bool lone_word(const py_block *b, const char *word)
{
    return b->n == 1 && b->v[0]->kind == PS_EXPR && b->v[0]->value->kind == PE_NAME &&
           strcmp(b->v[0]->value->name, word) == 0;
}

/* A command's shape: its name, a space, and an argument (`get [1]`,
 * `refcount (1,)`, `bind x 1`), where Python would go on with an operator
 * (`get = 1`, `keys[0]`, `len(x)`, `pop is None`). */
static bool command_shape(const char *text)
{
    char word[64];
    if (!first_word_command(text, word, sizeof word))
        return false;
    const char *rest = text + strspn(text, " \t") + strlen(word);
    if (*rest != ' ' && *rest != '\t')
        return false;
    rest += strspn(rest, " \t");
    if (*rest == '\0' || strchr("=!<>.,;:+-*/%&|^@)]}", *rest))
        return *rest == '-' && rest[1] >= '0' && rest[1] <= '9'; /* bind x -1 */
    static const char *const ops[] = {"is", "in", "not", "if", "and", "or", NULL};
    for (const char *const *o = ops; *o; o++) {
        size_t n = strlen(*o);
        if (!strncmp(rest, *o, n) &&
            !(rest[n] == '_' || (rest[n] >= 'a' && rest[n] <= 'z') ||
              (rest[n] >= 'A' && rest[n] <= 'Z') || (rest[n] >= '0' && rest[n] <= '9')))
            return false;
    }
    return true;
}

static bool py_is_command_line(const char *line)
{
    return command_shape(line);
}

int py_run_unit(session *s, const char *text, int line, bool echo)
{
    char word[64];
    bool command = first_word_command(text, word, sizeof word);
    py_block b;
    py_error e;
    int rc;
    if (command_shape(text))
        return script_line(s, text);
    if (py_parse(text, &b, &e) == 0) {
        if (command && lone_word(&b, word))
            rc = script_line(s, text);
        else if (b.n == 0)
            rc = -1;
        else
            rc = exec_python(s, &b, line, echo);
        py_block_free(&b);
        return rc;
    }
    if (command)
        return script_line(s, text);
    print_syntax_error(s, text, line, &e);
    return strcmp(e.type, "OverflowError") == 0 ? EXIT_SERVER_ERROR : EXIT_USAGE;
}
