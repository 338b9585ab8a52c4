#include "repr.h"
#include "heap.h"
#include "slab.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
    char *buf;
    size_t size, len;
};

static void put(struct out *o, const char *s, size_t n)
{
    size_t room = o->size - o->len - 1;
    if (n > room)
        n = room;
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    put(o, tmp, n < 0 ? 0 : (size_t)n);
}

static void put_quoted(struct out *o, const hstr *s, bool bytes)
{
    put(o, bytes ? "b'" : "'", bytes ? 2 : 1);
    for (uint32_t i = 0; i < s->len && o->len + 5 < o->size; i++) {
        unsigned char c = (unsigned char)s->data[i];
        if (c == '\'' || c == '\\')
            putf(o, "\\%c", c);
        else if (c == '\n')
            put(o, "\\n", 2);
        else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80))
            putf(o, "\\x%02x", c);
        else
            put(o, (const char *)&c, 1);
    }
    put(o, "'", 1);
}

static void put_float(struct out *o, double v)
{
    if (isnan(v))
        put(o, "nan", 3);
    else if (isinf(v))
        put(o, v < 0 ? "-inf" : "inf", v < 0 ? 4 : 3);
    else {
        char tmp[40];
        snprintf(tmp, sizeof tmp, "%.17g", v);
        for (int p = 1; p < 17; p++) { /* the shortest that reads back exactly */
            char t2[40];
            snprintf(t2, sizeof t2, "%.*g", p, v);
            if (strtod(t2, NULL) == v) {
                memcpy(tmp, t2, sizeof t2);
                break;
            }
        }
        put(o, tmp, strlen(tmp));
        if (!strpbrk(tmp, ".en"))
            put(o, ".0", 2);
    }
}

static void repr_into(struct out *o, hobj *x, int depth)
{
    switch ((htype)x->type) {
    case T_NONE:
        put(o, "None", 4);
        break;
    case T_BOOL:
        put(o, AS_INT(x)->v ? "True" : "False", AS_INT(x)->v ? 4 : 5);
        break;
    case T_INT:
        putf(o, "%" PRId64, AS_INT(x)->v);
        break;
    case T_FLOAT:
        put_float(o, AS_FLOAT(x)->v);
        break;
    case T_STR:
        put_quoted(o, AS_STR(x), false);
        break;
    case T_BYTES:
        put_quoted(o, AS_STR(x), true);
        break;
    case T_TUPLE:
        if (depth > 8) {
            put(o, "(...)", 5);
            break;
        }
        put(o, "(", 1);
        for (uint32_t i = 0; i < AS_TUPLE(x)->len; i++) {
            if (i)
                put(o, ", ", 2);
            repr_into(o, AS_TUPLE(x)->items[i], depth + 1);
        }
        put(o, AS_TUPLE(x)->len == 1 ? ",)" : ")", AS_TUPLE(x)->len == 1 ? 2 : 1);
        break;
    case T_TYPE:
        putf(o, "<class '%s'>", heap_class_name(x));
        break;
    default: /* an instance: <Employee object at @ID>, as Python's default repr */
        putf(o, "<%s object at @%" PRIu64 ">", heap_type_name(x), hobj_id(x));
    }
}

void obj_repr(hobj *x, char *buf, size_t size)
{
    struct out o = {buf, size, 0};
    buf[0] = '\0';
    repr_into(&o, x, 0);
    if (o.len + 1 >= size && size > 4)
        memcpy(buf + size - 4, "...", 4);
}
