#include "utf8.h"

#include <stdint.h>

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t k;
    uint32_t min, cp;
    if ((c & 0xE0) == 0xC0)
        k = 2, min = 0x80, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0)
        k = 3, min = 0x800, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0)
        k = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k;
}

size_t utf8_count(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += ((unsigned char)s[i] & 0xC0) != 0x80; /* every byte but continuations */
    return count;
}

bool utf8_valid(const char *str, size_t len)
{
    if (len == 0)
        return true; /* no arithmetic on a NULL str */
    const unsigned char *s = (const unsigned char *)str, *end = s + len;
    while (s < end) {
        size_t k = utf8_seq_len(s, (size_t)(end - s));
        if (!k)
            return false;
        s += k;
    }
    return true;
}
