#include "mpscan.h"

#include <stdbool.h>
#include <stdint.h>

struct scan {
    const unsigned char *p;
    size_t len, limit, pos;
};

static uint64_t be(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Reads an n-byte big-endian length after the type byte. */
static enum mpscan_result take_len(struct scan *s, unsigned n, uint64_t *out)
{
    if (s->pos + n > s->len)
        return s->pos + n > s->limit ? MPSCAN_TOO_BIG : MPSCAN_INCOMPLETE;
    *out = be(s->p + s->pos, n);
    s->pos += n;
    return MPSCAN_OK;
}

/* Skips `need` payload bytes, checking them against the limit first. */
static enum mpscan_result skip(struct scan *s, uint64_t need)
{
    if (need > s->limit || s->pos > s->limit - need)
        return MPSCAN_TOO_BIG;
    if (s->pos + need > s->len)
        return MPSCAN_INCOMPLETE;
    s->pos += need;
    return MPSCAN_OK;
}

/* Every element takes at least one byte: a container of n elements can only
 * fit if n bytes remain under the limit. */
static enum mpscan_result room_for(const struct scan *s, uint64_t elements)
{
    return elements > s->limit - s->pos ? MPSCAN_TOO_BIG : MPSCAN_OK;
}

/* Consumes one type byte and its fixed part: sets *children for a container
 * (its elements follow), and skips the payload of scalars, str, bin, ext. */
static enum mpscan_result head(struct scan *s, uint64_t *children)
{
    unsigned b = s->p[s->pos++];
    uint64_t n = 0;
    enum mpscan_result r = MPSCAN_OK;
    *children = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return MPSCAN_OK;
    if (b >= 0x80 && b <= 0x8f)
        return room_for(s, *children = 2ull * (b & 0x0f));
    if (b >= 0x90 && b <= 0x9f)
        return room_for(s, *children = b & 0x0f);
    if (b >= 0xa0 && b <= 0xbf)
        return skip(s, b & 0x1f);
    switch (b) {
    case 0xc4:
    case 0xd9:
        r = take_len(s, 1, &n);
        break;
    case 0xc5:
    case 0xda:
        r = take_len(s, 2, &n);
        break;
    case 0xc6:
    case 0xdb:
        r = take_len(s, 4, &n);
        break;
    case 0xc7:
        r = take_len(s, 1, &n), n++;
        break;
    case 0xc8:
        r = take_len(s, 2, &n), n++;
        break;
    case 0xc9:
        r = take_len(s, 4, &n), n++;
        break;
    case 0xca:
        n = 4;
        break;
    case 0xcb:
        n = 8;
        break;
    case 0xcc:
    case 0xd0:
        n = 1;
        break;
    case 0xcd:
    case 0xd1:
        n = 2;
        break;
    case 0xce:
    case 0xd2:
        n = 4;
        break;
    case 0xcf:
    case 0xd3:
        n = 8;
        break;
    case 0xd4:
        n = 2;
        break;
    case 0xd5:
        n = 3;
        break;
    case 0xd6:
        n = 5;
        break;
    case 0xd7:
        n = 9;
        break;
    case 0xd8:
        n = 17;
        break;
    case 0xdc:
    case 0xdd:
    case 0xde:
    case 0xdf:
        r = take_len(s, b == 0xdc || b == 0xde ? 2 : 4, &n);
        if (r != MPSCAN_OK)
            return r;
        return room_for(s, *children = b >= 0xde ? 2 * n : n);
    default:
        return MPSCAN_INVALID; /* 0xc1, never used */
    }
    return r != MPSCAN_OK ? r : skip(s, n);
}

static bool is_container(unsigned char b)
{
    return (b >= 0x80 && b <= 0x9f) || (b >= 0xdc && b <= 0xdf);
}

void mpscan_init(mpscan_state *st)
{
    st->pos = 0;
    st->depth = 0;
    st->left[0] = 1;
}

enum mpscan_result mpscan_resume(mpscan_state *st, const char *buf, size_t len, size_t limit,
                                 unsigned max_depth, size_t *used)
{
    /* The object may extend past the bytes we have, up to limit. */
    struct scan s = {(const unsigned char *)buf, len, limit, st->pos};
    if (max_depth > MPSCAN_DEPTH_CAP)
        max_depth = MPSCAN_DEPTH_CAP;
    for (;;) {
        while (st->depth > 0 && st->left[st->depth] == 0)
            st->depth--;
        if (st->depth == 0 && st->left[0] == 0)
            break;
        if (s.pos >= s.len)
            return st->pos = s.pos, s.pos >= s.limit ? MPSCAN_TOO_BIG : MPSCAN_INCOMPLETE;
        size_t item = s.pos; /* an item is consumed whole or not at all */
        uint64_t children;
        bool container = is_container(s.p[s.pos]);
        enum mpscan_result r = head(&s, &children);
        if (r == MPSCAN_INCOMPLETE) {
            st->pos = item; /* resume re-reads this item's head, not the message */
            return r;
        }
        if (r != MPSCAN_OK)
            return r;
        st->left[st->depth]--;
        /* msgpack-c refuses an empty container past its depth too */
        if (container && st->depth + 1 > max_depth)
            return MPSCAN_TOO_DEEP;
        if (children)
            st->left[++st->depth] = children;
    }
    *used = st->pos = s.pos;
    return MPSCAN_OK;
}

enum mpscan_result mpscan(const char *buf, size_t len, size_t limit, unsigned max_depth,
                          size_t *used)
{
    mpscan_state st;
    mpscan_init(&st);
    return mpscan_resume(&st, buf, len, limit, max_depth, used);
}
