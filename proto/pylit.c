#include "pylit.h"
#include "utf8.h"
#include "wire.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PYLIT_MAX_DEPTH 512

struct parser {
    const char *s;
    size_t len, pos;
    unsigned depth;
    size_t overflow_col; /* the first int past 64 bits (1-based), or 0 */
    pylit_error *err;
};

static int fail(struct parser *p, const char *msg)
{
    if (p->err) {
        p->err->col = p->pos + 1;
        p->err->overflow = false;
        snprintf(p->err->msg, sizeof p->err->msg, "%s", msg);
    }
    return -1;
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]) && p->s[p->pos])
        p->pos++;
}

static bool peek_is(struct parser *p, char c)
{
    return p->pos < p->len && p->s[p->pos] == c;
}

static bool eat(struct parser *p, char c)
{
    skip_ws(p);
    if (!peek_is(p, c))
        return false;
    p->pos++;
    return true;
}

static bool is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* A keyword matches only as a whole word. */
static bool eat_word(struct parser *p, const char *w)
{
    size_t n = strlen(w);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, w, n) != 0)
        return false;
    if (p->pos + n < p->len && is_word_char(p->s[p->pos + n]))
        return false;
    p->pos += n;
    return true;
}

static int parse_value(struct parser *p, msgpack_packer *pk);

static void put_utf8(msgpack_sbuffer *b, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    msgpack_sbuffer_write(b, u, n);
}

static int hex_escape(struct parser *p, int digits, unsigned long *out)
{
    *out = 0;
    for (int i = 0; i < digits; i++, p->pos++) {
        char c = p->pos < p->len ? p->s[p->pos] : 0;
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (v < 0)
            return fail(p, "truncated \\x, \\u or \\U escape");
        *out = *out << 4 | (unsigned long)v;
    }
    return 0;
}

/* One escape after the backslash, appended to b. */
static int escape(struct parser *p, msgpack_sbuffer *b, bool bytes)
{
    static const char simple[] = "n\nt\tr\r0\0\\\\''\"\"a\ab\bf\fv\v";
    char c = p->s[p->pos++];
    for (size_t i = 0; i + 1 < sizeof simple; i += 2)
        if (simple[i] == c) {
            msgpack_sbuffer_write(b, &simple[i + 1], 1);
            return 0;
        }
    unsigned long cp;
    int digits = c == 'x' ? 2 : (c == 'u' && !bytes) ? 4 : (c == 'U' && !bytes) ? 8 : 0;
    if (!digits)
        return p->pos--, fail(p, "unknown escape sequence");
    if (hex_escape(p, digits, &cp))
        return -1;
    if (bytes) {
        char byte = (char)cp;
        msgpack_sbuffer_write(b, &byte, 1);
        return 0;
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return fail(p, "escape is not a valid code point");
    put_utf8(b, cp);
    return 0;
}

/* A non-ASCII character in a str, whose first byte was just read: copied
 * whole if it is valid UTF-8 (a str the server would refuse is a syntax
 * error here, as undecodable source is in Python). */
static int utf8_char(struct parser *p, msgpack_sbuffer *b)
{
    const char *at = p->s + p->pos - 1;
    size_t k = utf8_seq_len((const unsigned char *)at, p->len - p->pos + 1);
    if (!k)
        return p->pos--, fail(p, "invalid UTF-8 in a str literal");
    msgpack_sbuffer_write(b, at, k);
    p->pos += k - 1;
    return 0;
}

static int parse_quoted(struct parser *p, msgpack_packer *pk, bool bytes)
{
    char q = p->s[p->pos++];
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    int rc = 0;
    for (;;) {
        if (p->pos >= p->len) {
            rc = fail(p, "unterminated string");
            break;
        }
        char c = p->s[p->pos++];
        if (c == q)
            break;
        if (c == '\\' && p->pos < p->len)
            rc = escape(p, &b, bytes);
        else if (bytes && (unsigned char)c >= 0x80)
            rc = (p->pos--, fail(p, "bytes can only contain ASCII characters"));
        else if ((unsigned char)c >= 0x80)
            rc = utf8_char(p, &b);
        else
            msgpack_sbuffer_write(&b, &c, 1);
        if (rc)
            break;
    }
    if (!rc && bytes) {
        msgpack_pack_bin(pk, b.size);
        msgpack_pack_bin_body(pk, b.data, b.size);
    } else if (!rc) {
        msgpack_pack_str(pk, b.size);
        msgpack_pack_str_body(pk, b.data, b.size);
    }
    msgpack_sbuffer_destroy(&b);
    return rc;
}

/* An int literal: decimal, or 0x/0o/0b as Python writes them. Python
 * forbids leading zeros in a decimal (010), and heapd's ints are int64, so
 * a value past 64 bits is an OverflowError (err->overflow) rather than a
 * syntax error. */
static int pack_int(struct parser *p, msgpack_packer *pk, const char *buf, const char *digits,
                    const char *start)
{
    bool neg = buf[0] == '-';
    int base = 10;
    if (digits[0] == '0' && digits[1] && strchr("xXoObB", digits[1])) {
        base = strchr("xX", digits[1]) ? 16 : strchr("oO", digits[1]) ? 8 : 2;
        digits += 2;
    } else if (digits[0] == '0' && digits[strspn(digits, "0")] != '\0') {
        p->pos = (size_t)(start - p->s);
        return fail(p, "leading zeros in decimal integer literals are not permitted");
    }
    char *end;
    errno = 0;
    unsigned long long u = strtoull(digits, &end, base);
    if (*end || end == digits || !strchr("0123456789abcdefABCDEF", digits[0]))
        return p->pos = (size_t)(start - p->s), fail(p, "invalid number");
    if (errno == ERANGE || (neg && u > (unsigned long long)INT64_MAX + 1)) {
        /* Valid Python: parse on, so the value's extent is known, and
         * fail at the end (pylit_parse_prefix). */
        if (!p->overflow_col)
            p->overflow_col = (size_t)(start - p->s) + 1;
        return msgpack_pack_nil(pk), 0;
    }
    if (neg)
        return msgpack_pack_int64(pk, u == (unsigned long long)INT64_MAX + 1 ? INT64_MIN
                                                                             : -(long long)u),
               0;
    return msgpack_pack_uint64(pk, u), 0;
}

static int parse_number(struct parser *p, msgpack_packer *pk)
{
    const char *start = p->s + p->pos;
    char buf[400];
    size_t n = 0;
    while (p->pos < p->len && strchr("0123456789+-.eExXoOabcdefABCDEF_", p->s[p->pos]) &&
           p->s[p->pos]) {
        if (n == sizeof buf - 1)
            return p->pos = (size_t)(start - p->s), fail(p, "number too long");
        buf[n++] = p->s[p->pos++];
    }
    buf[n] = '\0';
    const char *digits = buf + (buf[0] == '-' || buf[0] == '+');
    bool prefixed = digits[0] == '0' && digits[1] && strchr("xXoObB", digits[1]);
    bool is_float = !prefixed && strpbrk(buf, ".eE");
    char *end;
    errno = 0;
    if (is_float) {
        double d = strtod(buf, &end);
        if (*end || end == buf)
            return p->pos = (size_t)(start - p->s), fail(p, "invalid number");
        return msgpack_pack_double(pk, d), 0;
    }
    return pack_int(p, pk, buf, digits, start);
}
/* Elements up to `close`, each packed into `items` (pairs for a dict),
 * after the *count elements already there (the last one followed by a comma
 * if *trailing_comma). */
static int parse_seq_from(struct parser *p, msgpack_sbuffer *items, char close, bool pairs,
                          size_t *count, bool *trailing_comma)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, items, msgpack_sbuffer_write);
    while (!eat(p, close)) {
        if (*count && !*trailing_comma)
            return fail(p, *count ? "expected ',' or closing bracket" : "expected a value");
        if (parse_value(p, &pk))
            return -1;
        if (pairs) {
            if (!eat(p, ':'))
                return fail(p, "expected ':' in dict");
            if (parse_value(p, &pk))
                return -1;
        }
        (*count)++;
        *trailing_comma = eat(p, ',');
        skip_ws(p);
        if (p->pos >= p->len)
            return fail(p, "unexpected end of input: missing closing bracket");
    }
    return 0;
}

static int parse_seq(struct parser *p, msgpack_sbuffer *items, char close, bool pairs,
                     size_t *count, bool *trailing_comma)
{
    *count = 0;
    *trailing_comma = false;
    return parse_seq_from(p, items, close, pairs, count, trailing_comma);
}

static void pack_ext_array(msgpack_packer *pk, int8_t type, msgpack_sbuffer *items, size_t n)
{
    msgpack_sbuffer payload;
    msgpack_packer ppk;
    msgpack_sbuffer_init(&payload);
    msgpack_packer_init(&ppk, &payload, msgpack_sbuffer_write);
    msgpack_pack_array(&ppk, n);
    msgpack_sbuffer_write(&payload, items->data, items->size);
    msgpack_pack_ext(pk, payload.size, type);
    msgpack_pack_ext_body(pk, payload.data, payload.size);
    msgpack_sbuffer_destroy(&payload);
}

/* '(' ... ')': a parenthesized value, or a tuple when empty or with a comma. */
static int parse_paren(struct parser *p, msgpack_packer *pk, msgpack_sbuffer *items)
{
    size_t n;
    bool comma;
    if (parse_seq(p, items, ')', false, &n, &comma))
        return -1;
    if (n == 1 && !comma) {
        msgpack_sbuffer_write(pk->data, items->data, items->size);
        return 0;
    }
    pack_ext_array(pk, EXT_TUPLE, items, n);
    return 0;
}

/* '{' ... '}': a dict if empty or if the first element is followed by ':'.
 * The first element is parsed once, in place: parsing it again after a
 * probe would take 2^depth steps for braces nested as first elements. */
static int parse_brace(struct parser *p, msgpack_packer *pk, msgpack_sbuffer *items)
{
    size_t n = 0;
    bool comma = false, is_dict = true;
    skip_ws(p);
    if (!peek_is(p, '}')) {
        msgpack_packer ipk;
        msgpack_packer_init(&ipk, items, msgpack_sbuffer_write);
        if (parse_value(p, &ipk))
            return -1;
        is_dict = eat(p, ':');
        if (is_dict && parse_value(p, &ipk))
            return -1;
        n = 1;
        comma = eat(p, ',');
        skip_ws(p);
        if (p->pos >= p->len)
            return fail(p, "unexpected end of input: missing closing bracket");
    }
    if (parse_seq_from(p, items, '}', is_dict, &n, &comma))
        return -1;
    if (is_dict) {
        msgpack_pack_map(pk, n);
        msgpack_sbuffer_write(pk->data, items->data, items->size);
    } else {
        pack_ext_array(pk, EXT_SET, items, n);
    }
    return 0;
}

static int parse_container(struct parser *p, msgpack_packer *pk, char open)
{
    if (++p->depth > PYLIT_MAX_DEPTH)
        return fail(p, "nested too deeply");
    msgpack_sbuffer items;
    msgpack_sbuffer_init(&items);
    size_t n;
    bool comma;
    int rc;
    p->pos++;
    if (open == '[') {
        rc = parse_seq(p, &items, ']', false, &n, &comma);
        if (!rc) {
            msgpack_pack_array(pk, n);
            msgpack_sbuffer_write(pk->data, items.data, items.size);
        }
    } else if (open == '(') {
        rc = parse_paren(p, pk, &items);
    } else {
        rc = parse_brace(p, pk, &items);
    }
    msgpack_sbuffer_destroy(&items);
    p->depth--;
    return rc;
}

static int parse_name_ref(struct parser *p, msgpack_packer *pk)
{
    size_t start = ++p->pos;
    while (p->pos < p->len && (is_word_char(p->s[p->pos]) || (unsigned char)p->s[p->pos] >= 0x80))
        p->pos++;
    if (p->pos == start)
        return fail(p, "expected a name after '$'");
    msgpack_pack_ext(pk, p->pos - start, EXT_NAME);
    msgpack_pack_ext_body(pk, p->s + start, p->pos - start);
    return 0;
}

static int parse_id_ref(struct parser *p, msgpack_packer *pk)
{
    size_t start = ++p->pos;
    unsigned long long id = 0;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        unsigned d = (unsigned)(p->s[p->pos++] - '0');
        if (id > (~0ull - d) / 10)
            return p->pos = start, fail(p, "id too large");
        id = id * 10 + d;
    }
    if (p->pos == start)
        return fail(p, "expected digits after '@'");
    unsigned char be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (unsigned char)(id >> (56 - 8 * i));
    msgpack_pack_ext(pk, 8, EXT_REF);
    msgpack_pack_ext_body(pk, be, 8);
    return 0;
}

static int parse_word(struct parser *p, msgpack_packer *pk)
{
    bool neg = peek_is(p, '-');
    size_t save = p->pos;
    if (neg || peek_is(p, '+'))
        p->pos++;
    if (eat_word(p, "inf"))
        return msgpack_pack_double(pk, neg ? -INFINITY : INFINITY), 0;
    if (eat_word(p, "nan"))
        return msgpack_pack_double(pk, NAN), 0;
    p->pos = save;
    if (eat_word(p, "None"))
        return msgpack_pack_nil(pk), 0;
    if (eat_word(p, "True"))
        return msgpack_pack_true(pk), 0;
    if (eat_word(p, "False"))
        return msgpack_pack_false(pk), 0;
    if (eat_word(p, "set")) {
        if (eat(p, '(') && eat(p, ')')) {
            msgpack_sbuffer empty = {0};
            pack_ext_array(pk, EXT_SET, &empty, 0);
            return 0;
        }
        return p->pos = save, fail(p, "expected set()");
    }
    char c = p->pos < p->len ? p->s[p->pos] : 0;
    if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.')
        return parse_number(p, pk);
    return fail(p, c ? "invalid syntax" : "unexpected end of input: expected a value");
}

static int parse_value(struct parser *p, msgpack_packer *pk)
{
    skip_ws(p);
    char c = p->pos < p->len ? p->s[p->pos] : 0;
    switch (c) {
    case '\'':
    case '"':
        return parse_quoted(p, pk, false);
    case 'b':
        if (p->pos + 1 < p->len && (p->s[p->pos + 1] == '\'' || p->s[p->pos + 1] == '"'))
            return p->pos++, parse_quoted(p, pk, true);
        break;
    case '[':
    case '(':
    case '{':
        return parse_container(p, pk, c);
    case '$':
        return parse_name_ref(p, pk);
    case '@':
        return parse_id_ref(p, pk);
    default:
        break;
    }
    return parse_word(p, pk);
}

int pylit_parse_prefix(const char *text, size_t len, size_t *used, msgpack_sbuffer *out,
                       pylit_error *err)
{
    struct parser p = {text, len, 0, 0, 0, err};
    size_t before = out->size;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    if (parse_value(&p, &pk)) {
        out->size = before;
        return -1;
    }
    skip_ws(&p);
    *used = p.pos;
    if (p.overflow_col) {
        out->size = before;
        p.pos = p.overflow_col - 1;
        fail(&p, "int too large (does not fit in int64)");
        if (err)
            err->overflow = true;
        return -1;
    }
    return 0;
}

int pylit_parse(const char *text, size_t len, msgpack_sbuffer *out, pylit_error *err)
{
    size_t used, before = out->size;
    if (pylit_parse_prefix(text, len, &used, out, err))
        return -1;
    if (used != len) {
        struct parser p = {text, len, used, 0, 0, err};
        out->size = before;
        return fail(&p, "unexpected text after the value");
    }
    return 0;
}
