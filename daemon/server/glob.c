#include "glob.h"

#include "utf8.h"

/* The set at pat[0] == '[' against byte c; *used is the pattern bytes the
 * set takes. An unclosed '[' is a literal '['. */
static bool match_set(const char *pat, size_t plen, unsigned char c, size_t *used)
{
    size_t i = 1;
    bool neg = i < plen && (pat[i] == '!' || pat[i] == '^');
    i += neg;
    bool hit = false;
    for (bool first = true; i < plen && (first || pat[i] != ']'); first = false) {
        unsigned char lo = (unsigned char)pat[i], hi = lo;
        if (lo == '\\' && i + 1 < plen)
            lo = hi = (unsigned char)pat[++i];
        if (i + 2 < plen && pat[i + 1] == '-' && pat[i + 2] != ']') {
            hi = (unsigned char)pat[i + 2];
            i += 2;
        }
        hit |= c >= lo && c <= hi;
        i++;
    }
    if (i >= plen) { /* no closing bracket */
        *used = 1;
        return c == '[';
    }
    *used = i + 1;
    return hit != neg;
}

/* The bytes of the character at s: a UTF-8 sequence, or one stray byte. */
static size_t char_len(const char *s, size_t n)
{
    size_t k = utf8_seq_len((const unsigned char *)s, n);
    return k ? k : 1;
}

/* Iterative, with one backtrack point for the last `*`: linear in practice
 * and never recursive, whatever the pattern. */
bool glob_match(const char *pat, size_t plen, const char *s, size_t slen)
{
    size_t p = 0, i = 0, star_p = (size_t)-1, star_i = 0;
    while (i < slen) {
        size_t used = 1, step = 1;
        bool ok = false;
        if (p < plen) {
            char c = pat[p];
            if (c == '*') {
                star_p = ++p;
                star_i = i;
                continue;
            }
            if (c == '?') {
                ok = true;
                step = char_len(s + i, slen - i);
            } else if (c == '[') {
                ok = match_set(pat + p, plen - p, (unsigned char)s[i], &used);
            } else if (c == '\\' && p + 1 < plen) {
                ok = pat[p + 1] == s[i];
                used = 2;
            } else {
                ok = c == s[i];
            }
        }
        if (ok) {
            p += used;
            i += step;
        } else if (star_p != (size_t)-1) {
            p = star_p; /* the `*` takes one more character */
            star_i += char_len(s + star_i, slen - star_i);
            i = star_i;
        } else {
            return false;
        }
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}
