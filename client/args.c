#include "args.h"
#include "pylit.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum param_kind { PK_VALUE, PK_TARGET, PK_WORD, PK_OPTS };

static bool in_list(const char *name, size_t n, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == n && memcmp(*list, name, n) == 0)
            return true;
    return false;
}

static enum param_kind kind_of(const char *name, size_t n)
{
    static const char *const words[] = {"name",    "scope",   "token", "channel",
                                        "section", "setting", NULL};
    static const char *const targets[] = {"target", "ref", "a", "b", NULL};
    if (in_list(name, n, words))
        return PK_WORD;
    if (in_list(name, n, targets))
        return PK_TARGET;
    if (n == 4 && memcmp(name, "opts", 4) == 0)
        return PK_OPTS;
    return PK_VALUE;
}

/* The kind of parameter i of m, from its params text "target [depth]". */
static enum param_kind param_kind(const method_info *m, int i)
{
    const char *p = m->params;
    for (;;) {
        p += strspn(p, " [");
        size_t n = strcspn(p, " []");
        if (n == 0)
            return PK_VALUE; /* past the last parameter: the server counts */
        if (i-- == 0)
            return kind_of(p, n);
        p += n;
        p += strspn(p, "]");
    }
}

static bool is_keyword(const char *s)
{
    static const char *const kw[] = {"None", "True", "False", "inf", "nan", "set()", NULL};
    return in_list(s, strlen(s), kw);
}

/* Text that is not written as a literal: a name. */
/* Text that opens a literal: a quote, a bracket, $, @, a number, b'. */
static bool starts_literal(const char *s)
{
    return *s && (strchr("'\"[({$@-+.0123456789", *s) ||
                  ((s[0] == 'b' || s[0] == 'B') && s[1] && strchr("'\"", s[1])));
}

static bool is_bare(const char *s)
{
    return *s && !is_keyword(s) && !starts_literal(s);
}

static bool is_identifier(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

static int pack_one(enum param_kind kind, const char *text, msgpack_sbuffer *out, arg_error *err)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    if (is_bare(text) && kind != PK_VALUE) {
        if (kind == PK_OPTS) {
            msgpack_pack_map(&pk, 1);
            msgpack_pack_str_with_body(&pk, "scope", 5);
        }
        msgpack_pack_str_with_body(&pk, text, strlen(text));
        return 0;
    }
    pylit_error pe;
    if (pylit_parse(text, strlen(text), out, &pe) == 0)
        return 0;
    err->col = pe.col;
    err->overflow = pe.overflow;
    if (is_bare(text) && is_identifier(text))
        snprintf(err->msg, sizeof err->msg,
                 "%s is not a value: write '%s' for a str, or $%s for the object bound to it", text,
                 text, text);
    else
        snprintf(err->msg, sizeof err->msg, "%s", pe.msg);
    return -1;
}

int args_pack(const method_info *m, int argc, char *const *argv, msgpack_sbuffer *out,
              arg_error *err)
{
    size_t before = out->size;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, (size_t)argc);
    for (int i = 0; i < argc; i++) {
        if (pack_one(param_kind(m, i), argv[i], out, err)) {
            err->index = i;
            out->size = before;
            return -1;
        }
    }
    return 0;
}

/* ---- script and REPL lines ---- */

static int push_word(line_words *w, const char *s, size_t n, size_t start)
{
    char **words = realloc(w->words, (size_t)(w->count + 1) * sizeof *words);
    if (words)
        w->words = words;
    size_t *starts = realloc(w->starts, (size_t)(w->count + 1) * sizeof *starts);
    if (starts)
        w->starts = starts;
    char *copy = strndup(s, n);
    if (!words || !starts || !copy) {
        free(copy);
        return -1;
    }
    w->words[w->count] = copy;
    w->starts[w->count++] = start;
    return 0;
}

/* The length of the word at s: a whole literal, or a run of non-spaces. */
static int word_length(const char *s, size_t *n, arg_error *err)
{
    if (!starts_literal(s)) {
        *n = strcspn(s, " \t\r\n");
        return 0;
    }
    msgpack_sbuffer scratch;
    msgpack_sbuffer_init(&scratch);
    pylit_error pe;
    int rc = pylit_parse_prefix(s, strlen(s), n, &scratch, &pe);
    msgpack_sbuffer_destroy(&scratch);
    if (rc && !pe.overflow) { /* an overflow is reported when the word is packed */
        err->col = pe.col;
        snprintf(err->msg, sizeof err->msg, "%s", pe.msg);
        return -1;
    }
    while (*n > 0 && strchr(" \t\r\n", s[*n - 1]))
        (*n)--;
    return 0;
}

int line_split(const char *line, line_words *out, arg_error *err)
{
    *out = (line_words){0};
    size_t pos = 0;
    for (;;) {
        pos += strspn(line + pos, " \t\r\n");
        if (!line[pos] || line[pos] == '#')
            return 0;
        size_t n;
        if (word_length(line + pos, &n, err)) {
            err->index = -1;
            err->overflow = false;
            err->col += pos;
            line_words_free(out);
            return -1;
        }
        if (push_word(out, line + pos, n, pos)) {
            err->index = -1, err->col = pos + 1, err->overflow = false;
            snprintf(err->msg, sizeof err->msg, "out of memory");
            line_words_free(out);
            return -1;
        }
        pos += n;
    }
}

void line_words_free(line_words *w)
{
    for (int i = 0; i < w->count; i++)
        free(w->words[i]);
    free(w->words);
    free(w->starts);
    *w = (line_words){0};
}
