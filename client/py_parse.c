#include "py_parse.h"
#include "pylit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nesting of brackets and calls; deeper input is refused, not recursed. */
enum { MAX_NEST = 200 };

typedef struct parser {
    py_tokens t;
    size_t pos;
    int nest;
    py_func *func; /* the def being parsed, or NULL at the top level */
    bool in_class; /* a class body is being parsed */
    py_error *err;
} parser;

static const py_tok *cur(parser *p)
{
    return &p->t.v[p->pos];
}

static bool at(parser *p, const char *s)
{
    return py_tok_is(&p->t, cur(p), s);
}

static bool take(parser *p, const char *s)
{
    if (!at(p, s))
        return false;
    p->pos++;
    return true;
}

static py_span span_of(const py_tok *t)
{
    return (py_span){t->line, t->col, t->len ? t->len : 1};
}

static int fail_at(parser *p, const py_tok *t, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_at(parser *p, const py_tok *t, const char *type, const char *fmt, ...)
{
    p->err->line = t->line;
    p->err->col = t->col;
    p->err->len = t->len ? t->len : 1;
    snprintf(p->err->type, sizeof p->err->type, "%s", type);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

#define SYNTAX(p, t, ...) fail_at(p, t, "SyntaxError", __VA_ARGS__)

static char *tok_text(parser *p, const py_tok *t)
{
    return strndup(p->t.src + t->start, t->len);
}

static int expect(parser *p, const char *s)
{
    if (take(p, s))
        return 0;
    const py_tok *t = cur(p);
    if (t->kind == PT_NEWLINE || t->kind == PT_END)
        return SYNTAX(p, t, "expected '%s'", s);
    return SYNTAX(p, t, "invalid syntax (expected '%s')", s);
}

static py_expr *new_expr(py_expr_kind kind, const py_tok *t)
{
    py_expr *e = calloc(1, sizeof *e);
    if (e) {
        e->kind = kind;
        e->span = span_of(t);
    }
    return e;
}

static int add_item(py_expr *e, py_expr *item)
{
    py_expr **v = realloc(e->items, (e->nitems + 1) * sizeof *v);
    if (!v) {
        py_expr_free(item);
        return -1;
    }
    e->items = v;
    e->items[e->nitems++] = item;
    return 0;
}

/* ---- what is not supported, named ---- */

static const char *const unsupported_ops[][2] = {
    {"+", "the '+' operator is"},
    {"-", "the '-' operator is"},
    {"*", "the '*' operator is"},
    {"/", "the '/' operator is"},
    {"//", "the '//' operator is"},
    {"%", "the '%' operator is"},
    {"**", "the '**' operator is"},
    {"@", "the '@' operator is"},
    {"&", "the '&' operator is"},
    {"|", "the '|' operator is"},
    {"^", "the '^' operator is"},
    {"<<", "the '<<' operator is"},
    {">>", "the '>>' operator is"},
    {"<", "the '<' comparison is"},
    {">", "the '>' comparison is"},
    {"<=", "the '<=' comparison is"},
    {">=", "the '>=' comparison is"},
    {"and", "the 'and' operator is"},
    {"or", "the 'or' operator is"},
    {"if", "conditional expressions are"},
    {":=", "assignment expressions (':=') are"},
    {"for", "comprehensions are"},
    {"...", "Ellipsis is"},
    {NULL, NULL},
};

/* After an operand: an operator of Python's that the subset lacks. */
static int check_unsupported_op(parser *p)
{
    for (size_t i = 0; unsupported_ops[i][0]; i++)
        if (at(p, unsupported_ops[i][0]))
            return SYNTAX(p, cur(p), "%s not supported by heapctl", unsupported_ops[i][1]);
    const py_tok *t = cur(p);
    if (t->kind == PT_OP && t->len == 2 && p->t.src[t->start + 1] == '=' &&
        !strchr("=!<>", p->t.src[t->start]))
        return SYNTAX(p, t, "augmented assignment ('%.*s') is not supported by heapctl",
                      (int)t->len, p->t.src + t->start);
    if (t->kind == PT_OP && t->len == 3 && p->t.src[t->start + 2] == '=')
        return SYNTAX(p, t, "augmented assignment ('%.*s') is not supported by heapctl",
                      (int)t->len, p->t.src + t->start);
    return 0;
}

/* ---- expressions ---- */

static py_expr *parse_expr(parser *p);

/* A number or string token (a negative number with its '-') as a constant:
 * pylit, heapctl's literal parser, decides what the text means. */
static py_expr *parse_const(parser *p, const py_tok *first, const char *text, size_t n)
{
    py_expr *e = new_expr(PE_CONST, first);
    if (!e)
        return NULL;
    pylit_error le;
    msgpack_sbuffer_init(&e->lit);
    if (pylit_parse(text, n, &e->lit, &le)) {
        const char *type = le.overflow ? "OverflowError" : "SyntaxError";
        fail_at(p, first, type, "%s", le.msg);
        py_expr_free(e);
        return NULL;
    }
    return e;
}

static py_expr *parse_number(parser *p, bool negative)
{
    const py_tok *t = cur(p), *first = negative ? t - 1 : t;
    const char *s = p->t.src + t->start;
    char buf[128];
    size_t n = 0;
    if (t->len >= sizeof buf - 2) {
        SYNTAX(p, t, "number too long");
        return NULL;
    }
    if (negative)
        buf[n++] = '-';
    for (size_t i = 0; i < t->len; i++)
        if (s[i] != '_') /* Python's digit separators */
            buf[n++] = s[i];
    buf[n] = '\0';
    if (strchr("jJ", s[t->len - 1])) {
        SYNTAX(p, t, "complex numbers are not supported by heapctl");
        return NULL;
    }
    py_expr *e = parse_const(p, first, buf, n);
    if (e) {
        e->span.len = t->start + t->len - first->start;
        p->pos++;
    }
    return e;
}

static py_expr *parse_string(parser *p)
{
    const py_tok *t = cur(p);
    const char *s = p->t.src + t->start;
    size_t skip = 0;
    for (; s[skip] != '\'' && s[skip] != '"'; skip++) {
        if (s[skip] == 'f' || s[skip] == 'F') {
            SYNTAX(p, t, "f-strings are not supported by heapctl");
            return NULL;
        }
        if (s[skip] == 'r' || s[skip] == 'R') {
            SYNTAX(p, t, "raw strings are not supported by heapctl");
            return NULL;
        }
    }
    if (t[1].kind == PT_STRING) {
        SYNTAX(p, t + 1, "implicit string concatenation is not supported by heapctl");
        return NULL;
    }
    bool bytes = skip && strchr("bB", s[0]);
    /* pylit reads b'..' and '..'; a u prefix changes nothing */
    size_t from = bytes ? 0 : skip;
    char *text = strndup(s + from, t->len - from);
    if (!text)
        return NULL;
    if (bytes)
        text[0] = 'b';
    py_expr *e = parse_const(p, t, text, strlen(text));
    free(text);
    if (e)
        p->pos++;
    return e;
}

/* Items up to `close`, comma-separated; a dict's as key: value pairs.
 * *comma tells whether a comma was seen (a 1-tuple). */
static int parse_items(parser *p, py_expr *e, const char *close, bool pairs, bool *comma)
{
    *comma = false;
    while (!take(p, close)) {
        if (at(p, "*") || at(p, "**"))
            return SYNTAX(p, cur(p), "unpacking ('%s') is not supported by heapctl",
                          at(p, "*") ? "*" : "**");
        py_expr *item = parse_expr(p);
        if (!item || add_item(e, item))
            return -1;
        if (pairs) {
            if (expect(p, ":"))
                return -1;
            if (!(item = parse_expr(p)) || add_item(e, item))
                return -1;
        }
        if (at(p, "for"))
            return SYNTAX(p, cur(p), "comprehensions are not supported by heapctl");
        if (take(p, ",")) {
            *comma = true;
            continue;
        }
        if (!at(p, close)) {
            if (check_unsupported_op(p))
                return -1;
            return SYNTAX(p, cur(p), "invalid syntax (expected ',' or '%s')", close);
        }
    }
    return 0;
}

/* After '{' (not '{}'): a set, unless the first item is followed by ':'.
 * The first item is parsed once: parsing it again after a look would take
 * 2^depth steps for braces nested as first items. */
static int parse_braces(parser *p, py_expr *e, bool *comma)
{
    py_expr *item = parse_expr(p);
    if (!item || add_item(e, item))
        return -1;
    bool pairs = take(p, ":");
    if (!pairs)
        e->kind = PE_SET;
    else if (!(item = parse_expr(p)) || add_item(e, item))
        return -1;
    if (at(p, "for"))
        return SYNTAX(p, cur(p), "comprehensions are not supported by heapctl");
    if (take(p, ","))
        return parse_items(p, e, "}", pairs, comma);
    if (take(p, "}"))
        return 0;
    if (check_unsupported_op(p))
        return -1;
    return SYNTAX(p, cur(p), "invalid syntax (expected ',' or '}')");
}

static py_expr *parse_brackets(parser *p)
{
    const py_tok *open = cur(p);
    if (++p->nest > MAX_NEST) {
        SYNTAX(p, open, "too many nested parentheses");
        return NULL;
    }
    p->pos++;
    char c = p->t.src[open->start];
    py_expr *e = new_expr(c == '[' ? PE_LIST : c == '(' ? PE_TUPLE : PE_DICT, open);
    bool comma = false;
    int rc = -1;
    if (e && c == '{' && !at(p, "}")) {
        rc = parse_braces(p, e, &comma);
    } else if (e) {
        rc = parse_items(p, e, c == '[' ? "]" : c == '(' ? ")" : "}", false, &comma);
    }
    p->nest--;
    if (rc) {
        py_expr_free(e);
        return NULL;
    }
    if (c == '(' && e->nitems == 1 && !comma) { /* parentheses, not a tuple */
        py_expr *inner = e->items[0];
        e->nitems = 0;
        py_expr_free(e);
        return inner;
    }
    return e;
}

static const char *const unsupported_words[][2] = {
    {"lambda", "lambda"}, {"not", "the 'not' operator"}, {"await", "'await'"}, {"yield", "'yield'"},
    {NULL, NULL},
};

static py_expr *parse_atom(parser *p)
{
    const py_tok *t = cur(p);
    if (t->kind == PT_NUMBER)
        return parse_number(p, false);
    if (t->kind == PT_STRING)
        return parse_string(p);
    if (at(p, "-") && t[1].kind == PT_NUMBER) {
        p->pos++;
        return parse_number(p, true);
    }
    if (at(p, "(") || at(p, "[") || at(p, "{"))
        return parse_brackets(p);
    if (t->kind == PT_NAME) {
        for (size_t i = 0; unsupported_words[i][0]; i++)
            if (at(p, unsupported_words[i][0])) {
                SYNTAX(p, t, "%s is not supported by heapctl", unsupported_words[i][1]);
                return NULL;
            }
        const char *s = p->t.src + t->start;
        bool constant = (t->len == 4 && (!memcmp(s, "None", 4) || !memcmp(s, "True", 4))) ||
                        (t->len == 5 && !memcmp(s, "False", 5));
        if (constant) {
            py_expr *e = parse_const(p, t, s, t->len);
            p->pos += e != NULL;
            return e;
        }
        if (py_is_keyword(s, t->len)) {
            SYNTAX(p, t, "invalid syntax");
            return NULL;
        }
        py_expr *e = new_expr(PE_NAME, t);
        if (e && !(e->name = tok_text(p, t))) {
            py_expr_free(e);
            return NULL;
        }
        p->pos += e != NULL;
        return e;
    }
    if (t->kind == PT_NEWLINE || t->kind == PT_END)
        SYNTAX(p, t, "invalid syntax (expected an expression)");
    else if (at(p, "-") || at(p, "+") || at(p, "~"))
        SYNTAX(p, t, "the unary '%.*s' operator is not supported by heapctl", (int)t->len,
               p->t.src + t->start);
    else
        SYNTAX(p, t, "invalid syntax");
    return NULL;
}

/* Call arguments after '(' up to ')', appended to e->items. */
static int parse_args(parser *p, py_expr *e)
{
    while (!take(p, ")")) {
        const py_tok *t = cur(p);
        if (at(p, "*") || at(p, "**"))
            return SYNTAX(p, t, "'%.*s' arguments are not supported by heapctl", (int)t->len,
                          p->t.src + t->start);
        if (t->kind == PT_NAME && py_tok_is(&p->t, t + 1, "="))
            return SYNTAX(p, t, "keyword arguments are not supported by heapctl");
        py_expr *a = parse_expr(p);
        if (!a || add_item(e, a))
            return -1;
        if (at(p, "for"))
            return SYNTAX(p, cur(p), "generator expressions are not supported by heapctl");
        if (!take(p, ",") && !at(p, ")")) {
            if (check_unsupported_op(p))
                return -1;
            return SYNTAX(p, cur(p), "invalid syntax (expected ',' or ')')");
        }
    }
    return 0;
}

/* A wrapper node of `kind` whose first item is e (a subscript, a method). */
static py_expr *wrap(py_expr *e, py_expr_kind kind, const py_tok *t)
{
    py_expr *w = new_expr(kind, t);
    if (!w || add_item(w, e)) {
        if (w)
            free(w);
        else
            py_expr_free(e);
        return NULL;
    }
    w->span = e->span;
    return w;
}

static void extend_span(py_expr *e, const py_tok *last)
{
    if (last->line == e->span.line && last->col + last->len > e->span.col)
        e->span.len = last->col + last->len - e->span.col;
}

static py_expr *parse_subscript(parser *p, py_expr *e)
{
    const py_tok *open = cur(p);
    p->pos++;
    if (at(p, ":")) {
        SYNTAX(p, cur(p), "slices are not supported by heapctl");
        py_expr_free(e);
        return NULL;
    }
    py_expr *w = wrap(e, PE_SUBSCRIPT, open), *key = w ? parse_expr(p) : NULL;
    if (!key || add_item(w, key)) {
        py_expr_free(w);
        return NULL;
    }
    if (at(p, ":") || at(p, ",")) {
        SYNTAX(p, cur(p),
               at(p, ":") ? "slices are not supported by heapctl"
                          : "tuple subscripts are not supported by heapctl");
        py_expr_free(w);
        return NULL;
    }
    extend_span(w, cur(p));
    if (expect(p, "]")) {
        py_expr_free(w);
        return NULL;
    }
    return w;
}

/* x.name(args): a method call, or a function of a module (sys, gc); x.name
 * without a call: an attribute. */
static py_expr *parse_method(parser *p, py_expr *e)
{
    const py_tok *dot = cur(p), *name = dot + 1;
    if (name->kind != PT_NAME) {
        SYNTAX(p, name, "invalid syntax (expected a name after '.')");
        py_expr_free(e);
        return NULL;
    }
    bool call = py_tok_is(&p->t, name + 1, "(");
    py_expr *w = wrap(e, call ? PE_METHOD : PE_ATTR, dot);
    if (!w || !(w->name = tok_text(p, name))) {
        py_expr_free(w);
        return NULL;
    }
    p->pos += call ? 3 : 2;
    if (!call) {
        extend_span(w, name);
        return w;
    }
    if (parse_args(p, w)) {
        py_expr_free(w);
        return NULL;
    }
    extend_span(w, cur(p) - 1);
    return w;
}

static py_expr *parse_call(parser *p, py_expr *e)
{
    if (e->kind != PE_NAME) {
        SYNTAX(p, cur(p), "calling this is not supported by heapctl, only names and methods");
        py_expr_free(e);
        return NULL;
    }
    e->kind = PE_CALL;
    p->pos++;
    if (parse_args(p, e)) {
        py_expr_free(e);
        return NULL;
    }
    extend_span(e, cur(p) - 1);
    return e;
}

static py_expr *parse_primary(parser *p)
{
    py_expr *e = parse_atom(p);
    while (e) {
        if (at(p, "["))
            e = parse_subscript(p, e);
        else if (at(p, "."))
            e = parse_method(p, e);
        else if (at(p, "("))
            e = parse_call(p, e);
        else
            break;
    }
    return e;
}

static int compare_op(parser *p, py_cmp *op)
{
    if (take(p, "is")) {
        *op = take(p, "not") ? PC_IS_NOT : PC_IS;
    } else if (take(p, "in")) {
        *op = PC_IN;
    } else if (at(p, "not") && py_tok_is(&p->t, cur(p) + 1, "in")) {
        p->pos += 2;
        *op = PC_NOT_IN;
    } else if (take(p, "==")) {
        *op = PC_EQ;
    } else if (take(p, "!=")) {
        *op = PC_NE;
    } else {
        return 0;
    }
    return 1;
}

static py_expr *parse_expr(parser *p)
{
    if (++p->nest > MAX_NEST) {
        SYNTAX(p, cur(p), "expression nested too deeply");
        return NULL;
    }
    py_expr *left = parse_primary(p);
    py_cmp op;
    const py_tok *optok = cur(p);
    if (left && compare_op(p, &op)) {
        py_expr *c = wrap(left, PE_COMPARE, optok), *right = c ? parse_primary(p) : NULL;
        if (!right || add_item(c, right)) {
            py_expr_free(c);
            left = NULL;
        } else {
            c->cmp = op;
            extend_span(c, cur(p) - 1);
            left = c;
            py_cmp again;
            const py_tok *t = cur(p);
            if (compare_op(p, &again)) {
                SYNTAX(p, t, "chained comparisons are not supported by heapctl");
                py_expr_free(c);
                left = NULL;
            }
        }
    }
    if (left && check_unsupported_op(p)) {
        py_expr_free(left);
        left = NULL;
    }
    p->nest--;
    return left;
}

/* EXPR or EXPR, EXPR, ... (a tuple without parentheses). */
static py_expr *parse_exprlist(parser *p)
{
    const py_tok *first = cur(p);
    py_expr *e = parse_expr(p);
    if (!e || !at(p, ","))
        return e;
    py_expr *t = new_expr(PE_TUPLE, first);
    if (!t || add_item(t, e)) {
        if (!t)
            py_expr_free(e);
        free(t);
        return NULL;
    }
    while (take(p, ",")) {
        if (cur(p)->kind == PT_NEWLINE || at(p, "=") || at(p, ";"))
            break;
        if (!(e = parse_expr(p)) || add_item(t, e)) {
            py_expr_free(t);
            return NULL;
        }
    }
    return t;
}

/* ---- statements ---- */

static py_stmt *new_stmt(py_stmt_kind kind, const py_tok *t)
{
    py_stmt *s = calloc(1, sizeof *s);
    if (s) {
        s->kind = kind;
        s->span = span_of(t);
    }
    return s;
}

static int add_target(py_stmt *s, py_expr *e)
{
    py_expr **v = realloc(s->targets, (s->ntargets + 1) * sizeof *v);
    if (!v) {
        py_expr_free(e);
        return -1;
    }
    s->targets = v;
    s->targets[s->ntargets++] = e;
    return 0;
}

static int add_stmt(py_block *b, py_stmt *s)
{
    py_stmt **v = realloc(b->v, (b->n + 1) * sizeof *v);
    if (!v) {
        py_stmt_free(s);
        return -1;
    }
    b->v = v;
    b->v[b->n++] = s;
    return 0;
}

/* A name the running def binds or deletes is one of its locals. */
static int note_local(parser *p, const char *name)
{
    py_func *f = p->func;
    if (!f || py_func_is_local(f, name))
        return 0;
    char **v = realloc(f->locals, (f->nlocals + 1) * sizeof *v);
    if (!v || !(v[f->nlocals] = strdup(name))) {
        if (v)
            f->locals = v;
        return -1;
    }
    f->locals = v;
    f->nlocals++;
    return 0;
}

/* What may stand left of '=' or after del: a name or x[k]. */
static int check_target(parser *p, py_expr *e, const char *what)
{
    if (e->kind == PE_NAME)
        return note_local(p, e->name);
    if (e->kind == PE_SUBSCRIPT || e->kind == PE_ATTR)
        return 0;
    py_tok t = {.line = e->span.line, .col = e->span.col, .len = e->span.len};
    if (e->kind == PE_TUPLE || e->kind == PE_LIST)
        return SYNTAX(p, &t, "unpacking in %s is not supported by heapctl", what);
    if (e->kind == PE_CALL || e->kind == PE_METHOD)
        return SYNTAX(p, &t, "cannot %s function call",
                      strcmp(what, "del") ? "assign to" : "delete");
    if (e->kind == PE_CONST)
        return SYNTAX(p, &t, "cannot %s literal", strcmp(what, "del") ? "assign to" : "delete");
    return SYNTAX(p, &t, "cannot %s expression", strcmp(what, "del") ? "assign to" : "delete");
}

static py_stmt *parse_expr_stmt(parser *p)
{
    const py_tok *first = cur(p);
    py_stmt *s = new_stmt(PS_EXPR, first);
    py_expr *e = s ? parse_exprlist(p) : NULL;
    while (e && at(p, "=")) {
        p->pos++;
        s->kind = PS_ASSIGN;
        if (check_target(p, e, "assignment") || add_target(s, e)) {
            e = NULL;
            break;
        }
        e = parse_exprlist(p);
    }
    if (!e) {
        py_stmt_free(s);
        return NULL;
    }
    s->value = e;
    return s;
}

static py_stmt *parse_del(parser *p)
{
    py_stmt *s = new_stmt(PS_DEL, cur(p));
    p->pos++;
    do {
        py_expr *e = s ? parse_expr(p) : NULL;
        if (!e || check_target(p, e, "del") || add_target(s, e)) {
            if (e && s && (s->ntargets == 0 || s->targets[s->ntargets - 1] != e))
                py_expr_free(e);
            py_stmt_free(s);
            return NULL;
        }
    } while (take(p, ","));
    return s;
}

static bool is_module(const char *s, size_t n)
{
    return (n == 3 && (!memcmp(s, "sys", 3))) || (n == 2 && !memcmp(s, "gc", 2)) ||
           (n == 7 && !memcmp(s, "weakref", 7));
}

static py_stmt *parse_import(parser *p)
{
    py_stmt *s = new_stmt(PS_IMPORT, cur(p));
    p->pos++;
    do {
        const py_tok *t = cur(p);
        if (t->kind != PT_NAME) {
            SYNTAX(p, t, "invalid syntax (expected a module name)");
            break;
        }
        if (!is_module(p->t.src + t->start, t->len) || py_tok_is(&p->t, t + 1, ".")) {
            SYNTAX(p, t, "import of '%.*s' is not supported by heapctl (only sys, gc and weakref)",
                   (int)t->len, p->t.src + t->start);
            break;
        }
        py_expr *m = new_expr(PE_NAME, t);
        if (!m || !(m->name = tok_text(p, t)) || add_target(s, m)) {
            if (m && !m->name)
                py_expr_free(m);
            break;
        }
        p->pos++;
        if (at(p, "as")) {
            SYNTAX(p, cur(p), "'import ... as' is not supported by heapctl");
            break;
        }
        if (!take(p, ","))
            return s;
    } while (1);
    py_stmt_free(s);
    return NULL;
}

static py_stmt *parse_return(parser *p)
{
    const py_tok *t = cur(p);
    if (!p->func) {
        SYNTAX(p, t, "'return' outside function");
        return NULL;
    }
    py_stmt *s = new_stmt(PS_RETURN, t);
    p->pos++;
    if (s && cur(p)->kind != PT_NEWLINE && !at(p, ";") && !(s->value = parse_exprlist(p))) {
        py_stmt_free(s);
        return NULL;
    }
    return s;
}

static const char *const unsupported_stmts[][2] = {
    {"for", "'for' loops are"},
    {"while", "'while' loops are"},
    {"if", "'if' statements are"},
    {"elif", "'elif' is"},
    {"else", "'else' is"},
    {"try", "'try' statements are"},
    {"except", "'except' is"},
    {"finally", "'finally' is"},
    {"with", "'with' statements are"},
    {"global", "'global' statements are"},
    {"nonlocal", "'nonlocal' statements are"},
    {"raise", "'raise' is"},
    {"assert", "'assert' is"},
    {"yield", "'yield' is"},
    {"break", "'break' is"},
    {"continue", "'continue' is"},
    {"async", "'async' is"},
    {"await", "'await' is"},
    {"from", "'from' imports are"},
    {"lambda", "lambda is"},
    {NULL, NULL},
};

static py_stmt *parse_simple(parser *p)
{
    const py_tok *t = cur(p);
    for (size_t i = 0; unsupported_stmts[i][0]; i++)
        if (at(p, unsupported_stmts[i][0])) {
            SYNTAX(p, t, "%s not supported by heapctl", unsupported_stmts[i][1]);
            return NULL;
        }
    if (at(p, "class")) {
        SYNTAX(p, t,
               p->func || p->in_class ? "a class inside a function or a class is not supported "
                                        "by heapctl"
                                      : "a class must start its own line");
        return NULL;
    }
    if (at(p, "pass")) {
        p->pos++;
        return new_stmt(PS_PASS, t);
    }
    if (at(p, "del"))
        return parse_del(p);
    if (at(p, "import"))
        return parse_import(p);
    if (at(p, "return"))
        return parse_return(p);
    if (at(p, "def")) {
        SYNTAX(p, t,
               p->func ? "nested functions are not supported by heapctl"
                       : "a def must start its own line");
        return NULL;
    }
    return parse_expr_stmt(p);
}

/* simple (';' simple)* [';'] NEWLINE, appended to b. */
static int parse_simple_line(parser *p, py_block *b)
{
    do {
        if (cur(p)->kind == PT_NEWLINE)
            break;
        py_stmt *s = parse_simple(p);
        if (!s || add_stmt(b, s))
            return -1;
    } while (take(p, ";"));
    if (cur(p)->kind != PT_NEWLINE) {
        if (check_unsupported_op(p))
            return -1;
        return SYNTAX(p, cur(p), "invalid syntax");
    }
    p->pos++;
    return 0;
}

static int parse_statement(parser *p, py_block *b, size_t indent);

/* The indented lines after a def's header, at one indentation. */
static int parse_body(parser *p, py_func *f, const py_tok *header, size_t outer)
{
    const py_tok *t = cur(p);
    if (t->kind == PT_END || t->indent <= outer)
        return fail_at(p, t->kind == PT_END ? header : t, "IndentationError",
                       "expected an indented block after %s definition on line %d",
                       py_tok_is(&p->t, header, "class") ? "class" : "function", header->line);
    size_t indent = t->indent;
    while (cur(p)->kind != PT_END && cur(p)->indent > outer) {
        if (cur(p)->indent != indent)
            return fail_at(p, cur(p), "IndentationError",
                           cur(p)->indent > indent
                               ? "unexpected indent"
                               : "unindent does not match any outer indentation level");
        if (parse_statement(p, &f->body, indent))
            return -1;
    }
    return 0;
}

static int parse_params(parser *p, py_func *f)
{
    if (expect(p, "("))
        return -1;
    while (!take(p, ")")) {
        const py_tok *t = cur(p);
        if (t->kind != PT_NAME || py_is_keyword(p->t.src + t->start, t->len))
            return SYNTAX(p, t,
                          at(p, "*") || at(p, "**") || at(p, "/")
                              ? "'*', '**' and '/' parameters are not supported by heapctl"
                              : "invalid syntax (expected a parameter name)");
        char *name = tok_text(p, t);
        if (!name)
            return -1;
        if (py_func_is_local(f, name)) {
            free(name);
            return SYNTAX(p, t, "duplicate argument '%.*s' in function definition", (int)t->len,
                          p->t.src + t->start);
        }
        char **v = realloc(f->params, (f->nparams + 1) * sizeof *v);
        if (!v || note_local(p, name)) {
            free(name);
            if (v)
                f->params = v;
            return -1;
        }
        f->params = v;
        f->params[f->nparams++] = name;
        p->pos++;
        if (take(p, "=")) {
            py_expr **d = realloc(f->defaults, (f->ndefaults + 1) * sizeof *d);
            if (!d)
                return -1;
            f->defaults = d;
            if (!(f->defaults[f->ndefaults] = parse_expr(p)))
                return -1;
            f->ndefaults++;
        } else if (f->ndefaults) {
            return SYNTAX(p, t, "non-default argument follows default argument");
        }
        if (!take(p, ",") && !at(p, ")"))
            return SYNTAX(p, cur(p), "invalid syntax (expected ',' or ')')");
    }
    return 0;
}

static int parse_def(parser *p, py_block *b, size_t indent)
{
    const py_tok *header = cur(p), *name = header + 1;
    if (p->func)
        return SYNTAX(p, header, "nested functions are not supported by heapctl");
    if (name->kind != PT_NAME || py_is_keyword(p->t.src + name->start, name->len))
        return SYNTAX(p, name, "invalid syntax (expected a function name)");
    py_stmt *s = new_stmt(PS_DEF, header);
    py_func *f = calloc(1, sizeof *f);
    if (!s || !f || !(f->name = tok_text(p, name))) {
        free(f);
        py_stmt_free(s);
        return -1;
    }
    f->refs = 1;
    s->func = f;
    p->func = f;
    p->pos += 2;
    int rc = parse_params(p, f);
    if (!rc && at(p, "->"))
        rc = SYNTAX(p, cur(p), "annotations are not supported by heapctl");
    if (!rc)
        rc = expect(p, ":");
    if (!rc && cur(p)->kind == PT_NEWLINE) {
        p->pos++;
        rc = parse_body(p, f, header, indent);
    } else if (!rc) {
        rc = parse_simple_line(p, &f->body);
    }
    p->func = NULL;
    if (rc) {
        py_stmt_free(s);
        return -1;
    }
    return add_stmt(b, s);
}

/* What a class body may hold: attributes (NAME = EXPR), methods (def),
 * pass and a docstring. */
static int check_class_body(parser *p, const py_block *body)
{
    for (size_t i = 0; i < body->n; i++) {
        const py_stmt *s = body->v[i];
        bool ok = s->kind == PS_DEF || s->kind == PS_PASS ||
                  (s->kind == PS_EXPR && s->value->kind == PE_CONST);
        if (s->kind == PS_ASSIGN) {
            ok = true;
            for (size_t k = 0; k < s->ntargets; k++)
                ok = ok && s->targets[k]->kind == PE_NAME;
        }
        py_tok t = {.line = s->span.line, .col = s->span.col, .len = s->span.len};
        if (!ok)
            return SYNTAX(p, &t,
                          "a class body of heapctl's holds attributes (NAME = value) and "
                          "methods (def) only");
    }
    return 0;
}

/* class NAME: or class NAME(): or class NAME(object): and its body. */
static int parse_class_header(parser *p)
{
    if (!take(p, "("))
        return 0;
    if (take(p, ")"))
        return 0;
    const py_tok *t = cur(p);
    if (at(p, "object") && py_tok_is(&p->t, t + 1, ")")) {
        p->pos += 2;
        return 0;
    }
    return SYNTAX(p, t, "class inheritance is not supported by heapctl");
}

static int parse_class(parser *p, py_block *b, size_t indent)
{
    const py_tok *header = cur(p), *name = header + 1;
    if (p->func || p->in_class)
        return SYNTAX(p, header,
                      "a class inside a function or a class is not supported by "
                      "heapctl");
    if (name->kind != PT_NAME || py_is_keyword(p->t.src + name->start, name->len))
        return SYNTAX(p, name, "invalid syntax (expected a class name)");
    py_stmt *s = new_stmt(PS_CLASS, header);
    py_func *f = calloc(1, sizeof *f);
    if (!s || !f || !(f->name = tok_text(p, name))) {
        free(f);
        py_stmt_free(s);
        return -1;
    }
    f->refs = 1;
    s->func = f;
    p->pos += 2;
    p->in_class = true;
    int rc = parse_class_header(p);
    if (!rc)
        rc = expect(p, ":");
    if (!rc && cur(p)->kind == PT_NEWLINE) {
        p->pos++;
        rc = parse_body(p, f, header, indent);
    } else if (!rc) {
        rc = parse_simple_line(p, &f->body);
    }
    p->in_class = false;
    if (!rc)
        rc = check_class_body(p, &f->body);
    if (rc) {
        py_stmt_free(s);
        return -1;
    }
    return add_stmt(b, s);
}

static int parse_statement(parser *p, py_block *b, size_t indent)
{
    if (at(p, "class"))
        return parse_class(p, b, indent);
    if (at(p, "def"))
        return parse_def(p, b, indent);
    if (at(p, "@"))
        return SYNTAX(p, cur(p), "decorators are not supported by heapctl");
    return parse_simple_line(p, b);
}

int py_parse(const char *src, py_block *out, py_error *err)
{
    parser p = {.err = err};
    *out = (py_block){0};
    if (py_lex(src, &p.t, err))
        return -1;
    int rc = 0;
    while (!rc && cur(&p)->kind != PT_END) {
        if (cur(&p)->indent != 0)
            rc = fail_at(&p, cur(&p), "IndentationError", "unexpected indent");
        else
            rc = parse_statement(&p, out, 0);
    }
    py_tokens_free(&p.t);
    if (rc)
        py_block_free(out);
    return rc;
}
