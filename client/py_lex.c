#include "py_lex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const keywords[] = {
    "False", "None",     "True",  "and",    "as",   "assert", "async",  "await",    "break",
    "class", "continue", "def",   "del",    "elif", "else",   "except", "finally",  "for",
    "from",  "global",   "if",    "import", "in",   "is",     "lambda", "nonlocal", "not",
    "or",    "pass",     "raise", "return", "try",  "while",  "with",   "yield",    NULL,
};

bool py_is_keyword(const char *s, size_t n)
{
    for (const char *const *k = keywords; *k; k++)
        if (strlen(*k) == n && memcmp(*k, s, n) == 0)
            return true;
    return false;
}

/* Longest first, so that "**=" is one token and not "**" and "=". */
static const char *const operators[] = {
    "**=", "//=", ">>=", "<<=", "...", "!=", "==", "<=", ">=", "->", ":=", "**",
    "//",  "<<",  ">>",  "+=",  "-=",  "*=", "/=", "%=", "&=", "|=", "^=", "@=",
    "(",   ")",   "[",   "]",   "{",   "}",  ",",  ":",  ".",  ";",  "=",  "<",
    ">",   "+",   "-",   "*",   "/",   "%",  "&",  "|",  "^",  "~",  "@",  NULL,
};

struct lexer {
    const char *s;
    size_t pos, line_begin;
    int line, depth;
    bool line_start;
    size_t indent;
    py_tokens *out;
    py_error *err;
};

static int lex_fail(struct lexer *l, size_t at, size_t len, const char *msg)
{
    l->err->line = l->line;
    l->err->col = at - l->line_begin;
    l->err->len = len ? len : 1;
    snprintf(l->err->type, sizeof l->err->type, "SyntaxError");
    snprintf(l->err->msg, sizeof l->err->msg, "%s", msg);
    return -1;
}

static int push(struct lexer *l, py_tok_kind kind, size_t start, size_t len)
{
    py_tokens *t = l->out;
    if ((t->n & (t->n - 1)) == 0) { /* grow at powers of two */
        py_tok *v = realloc(t->v, (t->n ? 2 * t->n : 16) * sizeof *v);
        if (!v)
            return lex_fail(l, start, len, "out of memory");
        t->v = v;
    }
    t->v[t->n++] =
        (py_tok){kind, start, len, l->line, start - l->line_begin, l->line_start, l->indent};
    l->line_start = false;
    return 0;
}

static bool is_name_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_name_char(unsigned char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

/* A quote after an optional prefix of letters (b, r, u, f and mixes). */
static size_t string_prefix(const char *s)
{
    size_t n = 0;
    while (n < 2 && strchr("bBrRuUfF", s[n]) && s[n])
        n++;
    return (s[n] == '\'' || s[n] == '"') ? n : (size_t)-1;
}

static int lex_string(struct lexer *l, size_t prefix)
{
    size_t start = l->pos, p = l->pos + prefix;
    char q = l->s[p];
    if (l->s[p + 1] == q && l->s[p + 2] == q)
        return lex_fail(l, start, prefix + 3, "triple-quoted strings are not supported by heapctl");
    for (p++; l->s[p] != q; p++) {
        if (l->s[p] == '\0' || l->s[p] == '\n')
            return lex_fail(l, start, 1, "unterminated string literal");
        if (l->s[p] == '\\' && l->s[p + 1] && l->s[p + 1] != '\n')
            p++;
    }
    l->pos = p + 1;
    return push(l, PT_STRING, start, l->pos - start);
}

/* Python's number shapes, loosely: pylit decides what the text means. */
static int lex_number(struct lexer *l)
{
    size_t start = l->pos, p = l->pos;
    for (;;) {
        char c = l->s[p];
        bool hex = start + 1 < p && (l->s[start + 1] == 'x' || l->s[start + 1] == 'X');
        if (is_name_char((unsigned char)c) || c == '.')
            p++;
        else if ((c == '+' || c == '-') && !hex && p > start && strchr("eE", l->s[p - 1]))
            p++;
        else
            break;
    }
    l->pos = p;
    return push(l, PT_NUMBER, start, p - start);
}

static int lex_op(struct lexer *l)
{
    for (const char *const *o = operators; *o; o++) {
        size_t n = strlen(*o);
        if (strncmp(l->s + l->pos, *o, n) == 0) {
            if (strchr("([{", **o))
                l->depth++;
            else if (strchr(")]}", **o) && l->depth > 0)
                l->depth--;
            l->pos += n;
            return push(l, PT_OP, l->pos - n, n);
        }
    }
    char msg[64];
    unsigned char c = (unsigned char)l->s[l->pos];
    snprintf(msg, sizeof msg,
             c == '!' || c == '$' || c == '?' || c == '`' ? "invalid syntax"
                                                          : "invalid character in the source");
    return lex_fail(l, l->pos, 1, msg);
}

static void new_line(struct lexer *l)
{
    l->line++;
    l->line_begin = l->pos;
}

/* Spaces, comments, and line ends inside brackets or after a backslash;
 * a line end outside brackets is a PT_NEWLINE. */
static int skip_blank(struct lexer *l)
{
    for (;;) {
        char c = l->s[l->pos];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
            l->pos++;
        } else if (c == '#') {
            l->pos += strcspn(l->s + l->pos, "\n");
        } else if (c == '\\' && l->s[l->pos + 1] == '\n') {
            l->pos += 2;
            new_line(l);
        } else if (c == '\\' && l->s[l->pos + 1] == '\0') {
            l->pos++; /* a backslash at the very end: the line goes on (py_needs_more) */
        } else if (c == '\n') {
            if (l->depth == 0 && !l->line_start && push(l, PT_NEWLINE, l->pos, 1))
                return -1;
            l->pos++;
            new_line(l);
            if (l->depth == 0) {
                l->line_start = true;
                l->indent = strspn(l->s + l->pos, " \t");
            }
        } else {
            return 0;
        }
    }
}

static int lex_one(struct lexer *l)
{
    const char *s = l->s + l->pos;
    size_t prefix = string_prefix(s);
    if (prefix != (size_t)-1)
        return lex_string(l, prefix);
    if (is_name_start((unsigned char)*s)) {
        size_t n = 1;
        while (is_name_char((unsigned char)s[n]))
            n++;
        l->pos += n;
        return push(l, PT_NAME, l->pos - n, n);
    }
    if ((*s >= '0' && *s <= '9') || (*s == '.' && s[1] >= '0' && s[1] <= '9'))
        return lex_number(l);
    return lex_op(l);
}

int py_lex(const char *src, py_tokens *out, py_error *err)
{
    *out = (py_tokens){.src = src};
    struct lexer l = {.s = src, .line = 1, .line_start = true, .out = out, .err = err};
    l.indent = strspn(src, " \t");
    for (;;) {
        if (skip_blank(&l))
            break;
        if (l.s[l.pos] == '\0') {
            if ((l.line_start || !push(&l, PT_NEWLINE, l.pos, 0)) && !push(&l, PT_END, l.pos, 0))
                return 0;
            break;
        }
        if (lex_one(&l))
            break;
    }
    py_tokens_free(out);
    return -1;
}

void py_tokens_free(py_tokens *t)
{
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

bool py_tok_is(const py_tokens *t, const py_tok *tok, const char *s)
{
    size_t n = strlen(s);
    return (tok->kind == PT_OP || tok->kind == PT_NAME) && tok->len == n &&
           memcmp(t->src + tok->start, s, n) == 0;
}

/* The state at the end of src: bracket depth, a trailing backslash, and
 * whether some logical line ended with ':' (a block header). */
struct scan {
    int depth;
    bool backslash, header;
};

static void scan_source(const char *s, struct scan *st)
{
    char last = 0; /* the last significant character of the logical line */
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if (c == '#') {
            i += strcspn(s + i, "\n") - 1;
        } else if (c == '\'' || c == '"') {
            size_t j = i + 1;
            while (s[j] && s[j] != c && s[j] != '\n')
                j += (s[j] == '\\' && s[j + 1]) ? 2 : 1;
            i = s[j] == c ? j : j - 1;
            last = c;
        } else if (c == '\\' && (s[i + 1] == '\n' || s[i + 1] == '\0')) {
            st->backslash = s[i + 1] == '\0';
            i += s[i + 1] == '\n';
        } else if (c == '\n') {
            if (st->depth == 0 && last == ':')
                st->header = true;
            if (st->depth == 0)
                last = 0;
        } else if (c != ' ' && c != '\t' && c != '\r') {
            st->depth += strchr("([{", c) ? 1 : strchr(")]}", c) ? -1 : 0;
            if (st->depth < 0)
                st->depth = 0;
            last = c;
        }
    }
    if (st->depth == 0 && last == ':')
        st->header = true;
}

bool py_needs_more(const char *src, bool block_ended)
{
    struct scan st = {0};
    scan_source(src, &st);
    if (st.depth > 0 || st.backslash)
        return true;
    return st.header && !block_ended;
}
