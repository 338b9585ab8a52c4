#include "hash.h"
#include "slab.h"

#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static uint64_t sip_k0 = 0x736f6d6570736575ull, sip_k1 = 0x646f72616e646f6dull;

void hash_seed_init(void)
{
    static bool seeded;
    uint64_t k[2];
    if (seeded)
        return;
    const char *fixed = getenv("HEAPD_HASH_SEED"); /* tests only: a reproducible run */
    if (fixed && *fixed) {
        sip_k0 = strtoull(fixed, NULL, 0);
        sip_k1 = ~sip_k0;
    } else if (getrandom(k, sizeof k, 0) == (ssize_t)sizeof k) {
        sip_k0 = k[0];
        sip_k1 = k[1];
    }
    seeded = true;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1, v1 = ROTL(v1, 13), v1 ^= v0, v0 = ROTL(v0, 32);                                  \
        v2 += v3, v3 = ROTL(v3, 16), v3 ^= v2;                                                     \
        v0 += v3, v3 = ROTL(v3, 21), v3 ^= v0;                                                     \
        v2 += v1, v1 = ROTL(v1, 17), v1 ^= v2, v2 = ROTL(v2, 32);                                  \
    } while (0)

/* SipHash-1-3 (the variant CPython and Rust use for their dicts). */
uint64_t hash_bytes(const void *p, size_t len)
{
    const unsigned char *in = p;
    uint64_t v0 = sip_k0 ^ 0x736f6d6570736575ull, v1 = sip_k1 ^ 0x646f72616e646f6dull;
    uint64_t v2 = sip_k0 ^ 0x6c7967656e657261ull, v3 = sip_k1 ^ 0x7465646279746573ull;
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m;
        memcpy(&m, in + i, 8); /* little-endian host assumed, as SipHash's reference */
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)in[full + i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t hash_int(int64_t v)
{
    return (uint64_t)v;
}

uint64_t hash_float(double v)
{
    /* Integral floats hash like the equal int, so 1.0 finds 1. */
    if (v >= -9223372036854775808.0 && v < 9223372036854775808.0 && v == floor(v))
        return hash_int((int64_t)v);
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits * 0xff51afd7ed558ccdull;
}

/* The xxHash-style combination CPython uses for tuples. */
#define XXPRIME_1 11400714785074694791ull
#define XXPRIME_2 14029467366897019727ull
#define XXPRIME_5 2870177450012600261ull

uint64_t hash_tuple_start(void)
{
    return XXPRIME_5;
}

uint64_t hash_tuple_add(uint64_t acc, uint64_t item)
{
    acc += item * XXPRIME_2;
    acc = ROTL(acc, 31);
    return acc * XXPRIME_1;
}

uint64_t hash_strlike(htype t, const char *data, size_t len)
{
    return hash_bytes(data, len) ^ (t == T_BYTES ? 0x62ull : 0); /* b'a' and 'a' differ */
}

static uint64_t str_hash(hstr *s)
{
    if (!s->hashed) {
        s->hash = hash_strlike(s->h.type, s->data, s->len);
        s->hashed = 1;
    }
    return s->hash;
}

bool obj_hash(hobj *o, uint64_t *out)
{
    switch ((htype)o->type) {
    case T_NONE:
        *out = 0x4e6f6e65ull;
        return true;
    case T_BOOL:
    case T_INT:
        *out = hash_int(AS_INT(o)->v);
        return true;
    case T_FLOAT:
        *out = hash_float(AS_FLOAT(o)->v);
        return true;
    case T_STR:
    case T_BYTES:
        *out = str_hash(AS_STR(o));
        return true;
    case T_TUPLE:
        *out = AS_TUPLE(o)->hash;
        return !AS_TUPLE(o)->unhashable;
    case T_TYPE:
    case T_INSTANCE:
    case T_WEAKREF: /* by identity, as object.__hash__; the id survives a restart */
        *out = hash_int((int64_t)(hobj_id(o) >> 4));
        return true;
    default:
        return false;
    }
}

static bool is_number(htype t)
{
    return t == T_BOOL || t == T_INT || t == T_FLOAT;
}

/* Exact int == float, without the rounding of converting the int. */
static bool int_eq_float(int64_t i, double f)
{
    if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0) || f != floor(f))
        return false;
    return (int64_t)f == i;
}

static bool num_eq(hobj *a, hobj *b)
{
    bool af = a->type == T_FLOAT, bf = b->type == T_FLOAT;
    if (af && bf)
        return AS_FLOAT(a)->v == AS_FLOAT(b)->v;
    if (af)
        return int_eq_float(AS_INT(b)->v, AS_FLOAT(a)->v);
    if (bf)
        return int_eq_float(AS_INT(a)->v, AS_FLOAT(b)->v);
    return AS_INT(a)->v == AS_INT(b)->v;
}

static bool str_eq(hstr *a, hstr *b)
{
    if (a->len != b->len)
        return false;
    if (a->hashed && b->hashed && a->hash != b->hash)
        return false;
    /* len 0: a probe's data may be NULL (msgpack-c's empty str) */
    return a->len == 0 || memcmp(a->data, b->data, a->len) == 0;
}

static bool tuple_eq(htuple *a, htuple *b);

bool key_eq(hobj *a, hobj *b)
{
    if (a == b)
        return true;
    if (is_number(a->type) && is_number(b->type))
        return num_eq(a, b);
    if (a->type != b->type)
        return false;
    switch ((htype)a->type) {
    case T_STR:
    case T_BYTES:
        return str_eq(AS_STR(a), AS_STR(b));
    case T_TUPLE:
        return tuple_eq(AS_TUPLE(a), AS_TUPLE(b));
    default:
        return false; /* None is a singleton; containers compare by identity */
    }
}

static bool tuple_quick_ne(const htuple *a, const htuple *b)
{
    return a->len != b->len || a->unhashable != b->unhashable ||
           (!a->unhashable && a->hash != b->hash);
}

/* Tuples can nest (through tuples made earlier) deeper than the C stack
 * allows, so the item walk keeps its own stack of positions. The cached
 * hashes reject nearly every unequal pair before any walk. */
struct teq_frame {
    htuple *a, *b;
    uint32_t i;
};

static bool tuple_eq(htuple *a, htuple *b)
{
    struct teq_frame local[32], *stack = local;
    size_t depth = 0, cap = ARRAY_LEN(local);
    bool equal = !tuple_quick_ne(a, b);
    stack[depth++] = (struct teq_frame){a, b, 0};
    while (equal && depth > 0) {
        struct teq_frame *f = &stack[depth - 1];
        if (f->i == f->a->len) {
            depth--;
            continue;
        }
        hobj *x = f->a->items[f->i], *y = f->b->items[f->i];
        f->i++;
        if (x == y)
            continue;
        if (x->type != T_TUPLE || y->type != T_TUPLE) {
            equal = key_eq(x, y);
            continue;
        }
        if (tuple_quick_ne(AS_TUPLE(x), AS_TUPLE(y))) {
            equal = false;
            continue;
        }
        if (depth == cap) {
            cap *= 2;
            if (stack == local) {
                stack = xmalloc(cap * sizeof *stack);
                memcpy(stack, local, sizeof local);
            } else {
                stack = xrealloc(stack, cap * sizeof *stack);
            }
        }
        stack[depth++] = (struct teq_frame){AS_TUPLE(x), AS_TUPLE(y), 0};
    }
    if (stack != local)
        free(stack);
    return equal;
}

bool value_same(const hobj *a, const hobj *b)
{
    if (a->type != b->type)
        return false;
    switch ((htype)a->type) {
    case T_INT:
    case T_BOOL:
        return ((const hint *)a)->v == ((const hint *)b)->v;
    case T_FLOAT:
        return memcmp(&((const hfloat *)a)->v, &((const hfloat *)b)->v, sizeof(double)) == 0;
    case T_STR:
    case T_BYTES:
        return str_eq((hstr *)a, (hstr *)b);
    default:
        return a == b;
    }
}

uint64_t value_hash(hobj *o)
{
    uint64_t h = 0;
    if (o->type == T_FLOAT) {
        uint64_t bits;
        memcpy(&bits, &AS_FLOAT(o)->v, sizeof bits);
        return bits * 0xff51afd7ed558ccdull + 3;
    }
    obj_hash(o, &h);
    return h + o->type;
}
