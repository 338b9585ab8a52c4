#include "format.h"
#include "unprintable.h"
#include "wire.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(msgpack_sbuffer *out, const char *s)
{
    msgpack_sbuffer_write(out, s, strlen(s));
}

void fmt_float(char buf[32], double d)
{
    if (isnan(d)) {
        strcpy(buf, "nan");
        return;
    }
    if (isinf(d)) {
        strcpy(buf, d < 0 ? "-inf" : "inf");
        return;
    }
    /* The fewest significant digits that read back as d, as Python does. */
    char e[40];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, d);
        if (strtod(e, NULL) == d)
            break;
    }
    snprintf(e, sizeof e, "%.*e", prec - 1, d);
    /* e is "-d.ddde+XX": split it into sign, digits and exponent. */
    char *p = e, digits[24];
    size_t nd = 0;
    bool neg = *p == '-';
    p += neg;
    for (; *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    digits[nd] = '\0';
    int exp = atoi(p + 1);
    char *o = buf;
    if (neg)
        *o++ = '-';
    if (exp < -4 || exp >= 16) { /* Python's repr switches to 1e+16 and 1e-05 here */
        *o++ = digits[0];
        if (nd > 1)
            o += sprintf(o, ".%s", digits + 1);
        sprintf(o, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
    } else if (exp < 0) {
        o += sprintf(o, "0.");
        for (int i = -1; i > exp; i--)
            *o++ = '0';
        strcpy(o, digits);
    } else {
        for (int i = 0; i <= exp; i++)
            *o++ = (size_t)i < nd ? digits[i] : '0';
        *o++ = '.';
        if ((size_t)exp + 1 < nd)
            strcpy(o, digits + exp + 1);
        else
            strcpy(o, "0");
    }
}

/* The code point at s (valid UTF-8, as the server guarantees), and its length. */
static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *len)
{
    unsigned char c = s[0];
    size_t k = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (k > n)
        k = 1;
    uint32_t cp = k == 1 ? c : c & (0x7F >> k);
    for (size_t i = 1; i < k; i++)
        cp = cp << 6 | (s[i] & 0x3F);
    *len = k;
    return cp;
}

/* The code points Python's repr escapes (str.isprintable() is False): a
 * binary search of the generated range table. */
static bool unprintable(uint32_t cp)
{
    size_t lo = 0, hi = sizeof unprintable_ranges / sizeof unprintable_ranges[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < unprintable_ranges[mid][0])
            hi = mid;
        else if (cp > unprintable_ranges[mid][1])
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

static void put_escape(msgpack_sbuffer *out, uint32_t cp)
{
    char e[12];
    if (cp == '\n' || cp == '\r' || cp == '\t')
        snprintf(e, sizeof e, "\\%c", cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't');
    else if (cp < 0x100)
        snprintf(e, sizeof e, "\\x%02x", (unsigned)cp);
    else if (cp < 0x10000)
        snprintf(e, sizeof e, "\\u%04x", (unsigned)cp);
    else
        snprintf(e, sizeof e, "\\U%08x", (unsigned)cp);
    put(out, e);
}

void fmt_quoted(msgpack_sbuffer *out, const char *s, size_t n, bool bytes)
{
    /* Python prefers single quotes, and double ones when only ' occurs. */
    char q = n && memchr(s, '\'', n) && !memchr(s, '"', n) ? '"' : '\'';
    if (bytes)
        put(out, "b");
    msgpack_sbuffer_write(out, &q, 1);
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0, k; i < n; i += k) {
        uint32_t cp = bytes ? (k = 1, u[i]) : utf8_next(u + i, n - i, &k);
        if (cp == (uint32_t)q || cp == '\\') {
            char e[2] = {'\\', (char)cp};
            msgpack_sbuffer_write(out, e, 2);
        } else if (unprintable(cp) || (bytes && cp >= 0x7F)) {
            put_escape(out, cp);
        } else {
            msgpack_sbuffer_write(out, s + i, k);
        }
    }
    msgpack_sbuffer_write(out, &q, 1);
}

const msgpack_object *fmt_map_get(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t n = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            (n == 0 || memcmp(k->via.str.ptr, key, n) == 0))
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

static uint64_t ext_id(const msgpack_object_ext *e)
{
    uint64_t id = 0;
    for (uint32_t i = 0; i < e->size && i < 8; i++)
        id = id << 8 | (unsigned char)e->ptr[i];
    return id;
}

static void repr_items(msgpack_sbuffer *out, const msgpack_object *items, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            put(out, ", ");
        fmt_repr(out, &items[i]);
    }
}

/* The items of an ext 2/3 payload (one msgpack array), unpacked into up
 * (which the caller inits and destroys); NULL if malformed. */
static const msgpack_object_array *ext_items(msgpack_unpacked *up, const msgpack_object_ext *e)
{
    size_t off = 0;
    if (msgpack_unpack_next(up, e->ptr, e->size, &off) != MSGPACK_UNPACK_SUCCESS ||
        up->data.type != MSGPACK_OBJECT_ARRAY)
        return NULL;
    return &up->data.via.array;
}

static void repr_ext_array(msgpack_sbuffer *out, const msgpack_object_ext *e)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    const msgpack_object_array *a = ext_items(&up, e);
    if (!a) {
        put(out, "<malformed ext>");
    } else {
        bool tuple = e->type == EXT_TUPLE;
        if (!tuple && a->size == 0) {
            put(out, "set()");
        } else {
            put(out, tuple ? "(" : "{");
            repr_items(out, a->ptr, a->size);
            put(out, tuple ? (a->size == 1 ? ",)" : ")") : "}");
        }
    }
    msgpack_unpacked_destroy(&up);
}

/* An instance (ext 5, [class, {attrs}]): `<instance of <type object at
 * @ID> {'name': 'Ann'}>`; `type` names its class. */
static void repr_instance(msgpack_sbuffer *out, const msgpack_object_ext *e)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    const msgpack_object_array *a = ext_items(&up, e);
    if (!a || a->size != 2) {
        put(out, "<malformed ext>");
    } else {
        put(out, "<instance of ");
        fmt_repr(out, &a->ptr[0]);
        put(out, " ");
        fmt_repr(out, &a->ptr[1]);
        put(out, ">");
    }
    msgpack_unpacked_destroy(&up);
}

static void repr_ext(msgpack_sbuffer *out, const msgpack_object_ext *e)
{
    char b[80];
    if (e->type == EXT_REF && e->size == 8) {
        uint64_t id = ext_id(e);
        snprintf(b, sizeof b, "<%s object at @%" PRIu64 ">", wire_id_type(id), id);
        put(out, b);
    } else if (e->type == EXT_TUPLE || e->type == EXT_SET) {
        repr_ext_array(out, e);
    } else if (e->type == EXT_NAME) {
        put(out, "$");
        msgpack_sbuffer_write(out, e->ptr, e->size);
    } else if (e->type == EXT_INSTANCE) {
        repr_instance(out, e);
    } else {
        snprintf(b, sizeof b, "<ext %d, %" PRIu32 " bytes>", e->type, e->size);
        put(out, b);
    }
}

static void repr_map(msgpack_sbuffer *out, const msgpack_object_map *m)
{
    put(out, "{");
    for (uint32_t i = 0; i < m->size; i++) {
        if (i)
            put(out, ", ");
        fmt_repr(out, &m->ptr[i].key);
        put(out, ": ");
        fmt_repr(out, &m->ptr[i].val);
    }
    put(out, "}");
}

void fmt_repr(msgpack_sbuffer *out, const msgpack_object *o)
{
    char b[32];
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return put(out, "None");
    case MSGPACK_OBJECT_BOOLEAN:
        return put(out, o->via.boolean ? "True" : "False");
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        snprintf(b, sizeof b, "%" PRIu64, o->via.u64);
        return put(out, b);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        snprintf(b, sizeof b, "%" PRId64, o->via.i64);
        return put(out, b);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        fmt_float(b, o->via.f64);
        return put(out, b);
    case MSGPACK_OBJECT_STR:
        return fmt_quoted(out, o->via.str.ptr, o->via.str.size, false);
    case MSGPACK_OBJECT_BIN:
        return fmt_quoted(out, o->via.bin.ptr, o->via.bin.size, true);
    case MSGPACK_OBJECT_ARRAY:
        put(out, "[");
        repr_items(out, o->via.array.ptr, o->via.array.size);
        return put(out, "]");
    case MSGPACK_OBJECT_MAP:
        return repr_map(out, &o->via.map);
    case MSGPACK_OBJECT_EXT:
        return repr_ext(out, &o->via.ext);
    }
}

/* ---- JSON ---- */

static cJSON *tagged(const char *tag, cJSON *value)
{
    cJSON *obj = cJSON_CreateObject();
    if (!obj || !value) {
        cJSON_Delete(obj);
        cJSON_Delete(value);
        return NULL;
    }
    cJSON_AddItemToObject(obj, tag, value);
    return obj;
}

static cJSON *json_items(const msgpack_object *items, uint32_t n)
{
    cJSON *arr = cJSON_CreateArray();
    for (uint32_t i = 0; arr && i < n; i++) {
        cJSON *v = fmt_json(&items[i]);
        if (!v) {
            cJSON_Delete(arr);
            return NULL;
        }
        cJSON_AddItemToArray(arr, v);
    }
    return arr;
}

static cJSON *json_ext(const msgpack_object_ext *e)
{
    if (e->type == EXT_REF && e->size == 8) {
        uint64_t id = ext_id(e);
        char b[24];
        snprintf(b, sizeof b, "%" PRIu64, id);
        cJSON *obj = tagged("$ref", cJSON_CreateRaw(b));
        if (obj)
            cJSON_AddStringToObject(obj, "type", wire_id_type(id));
        return obj;
    }
    if (e->type != EXT_TUPLE && e->type != EXT_SET && e->type != EXT_INSTANCE)
        return tagged("$ext", cJSON_CreateNumber(e->type));
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    const msgpack_object_array *a = ext_items(&up, e);
    const char *tag = e->type == EXT_TUPLE ? "$tuple" : e->type == EXT_SET ? "$set" : "$instance";
    cJSON *r = a ? tagged(tag, json_items(a->ptr, a->size)) : NULL; /* $instance: [class, attrs] */
    msgpack_unpacked_destroy(&up);
    return r;
}

/* A str as a JSON string, escaped here rather than by cJSON, whose C
 * strings would end at a NUL character. */
static cJSON *json_string(const char *s, size_t n)
{
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    msgpack_sbuffer_write(&b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char e[8];
        if (c == '"' || c == '\\')
            snprintf(e, sizeof e, "\\%c", c);
        else if (c < 0x20)
            snprintf(e, sizeof e, "\\u%04x", c);
        else
            e[0] = (char)c, e[1] = '\0';
        put(&b, e);
    }
    msgpack_sbuffer_write(&b, "\"", 2); /* with the NUL cJSON_CreateRaw needs */
    cJSON *j = cJSON_CreateRaw(b.data);
    msgpack_sbuffer_destroy(&b);
    return j;
}

/* Keys that can be a JSON object's: str without NUL (cJSON keys are C
 * strings). */
static bool object_keys(const msgpack_object_map *m)
{
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR ||
            (k->via.str.size && memchr(k->via.str.ptr, 0, k->via.str.size)))
            return false;
    }
    return true;
}

static cJSON *json_map(const msgpack_object_map *m)
{
    bool str_keys = object_keys(m);
    cJSON *obj = str_keys ? cJSON_CreateObject() : cJSON_CreateArray();
    for (uint32_t i = 0; obj && i < m->size; i++) {
        cJSON *v = fmt_json(&m->ptr[i].val);
        if (!v) {
            cJSON_Delete(obj);
            return NULL;
        }
        if (str_keys) {
            const msgpack_object_str *k = &m->ptr[i].key.via.str;
            char *key = k->size ? strndup(k->ptr, k->size) : strdup("");
            cJSON_AddItemToObject(obj, key ? key : "", v);
            free(key);
        } else {
            cJSON *pair = cJSON_CreateArray();
            cJSON_AddItemToArray(pair, fmt_json(&m->ptr[i].key));
            cJSON_AddItemToArray(pair, v);
            cJSON_AddItemToArray(obj, pair);
        }
    }
    return str_keys ? obj : tagged("$dict", obj);
}

static cJSON *json_bytes(const char *s, size_t n)
{
    char *hex = malloc(2 * n + 1);
    if (!hex)
        return NULL;
    for (size_t i = 0; i < n; i++)
        sprintf(hex + 2 * i, "%02x", (unsigned char)s[i]);
    hex[2 * n] = '\0';
    cJSON *j = tagged("$bytes", cJSON_CreateString(hex));
    free(hex);
    return j;
}

static cJSON *json_float(double d)
{
    char b[32];
    fmt_float(b, d);
    return isfinite(d) ? cJSON_CreateRaw(b) : tagged("$float", cJSON_CreateString(b));
}

cJSON *fmt_json(const msgpack_object *o)
{
    char b[32];
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return cJSON_CreateNull();
    case MSGPACK_OBJECT_BOOLEAN:
        return cJSON_CreateBool(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        /* Raw text: a double would round ints past 2^53. */
        if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            snprintf(b, sizeof b, "%" PRIu64, o->via.u64);
        else
            snprintf(b, sizeof b, "%" PRId64, o->via.i64);
        return cJSON_CreateRaw(b);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return json_float(o->via.f64);
    case MSGPACK_OBJECT_STR:
        return json_string(o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return json_bytes(o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_ARRAY:
        return json_items(o->via.array.ptr, o->via.array.size);
    case MSGPACK_OBJECT_MAP:
        return json_map(&o->via.map);
    case MSGPACK_OBJECT_EXT:
        return json_ext(&o->via.ext);
    }
    return NULL;
}
