/* Hashing and key equality with Python's rules: 1, 1.0 and True are one key;
 * str and bytes compare by value, tuples by their items, containers by
 * identity; list, dict and set (and tuples holding them) are unhashable. */
#ifndef HEAPD_HASH_H
#define HEAPD_HASH_H

#include "obj.h"

/* Seeds the string hash (SipHash) from the kernel's random source, so a
 * client cannot choose keys that all collide. Called by heap_new. */
void hash_seed_init(void);

uint64_t hash_bytes(const void *p, size_t len);
uint64_t hash_int(int64_t v);
/* The hash of a str or bytes object (t) with this content. */
uint64_t hash_strlike(htype t, const char *data, size_t len);
uint64_t hash_float(double v);
/* Combines item hashes in order (the tuple hash). */
uint64_t hash_tuple_start(void);
uint64_t hash_tuple_add(uint64_t acc, uint64_t item);

/* Python-key hash of o. Returns false if o is unhashable. Strings cache it. */
bool obj_hash(hobj *o, uint64_t *out);

/* Python `==` for keys, with `is` first (so a NaN object equals itself). */
bool key_eq(hobj *a, hobj *b);

/* Identity-of-value for interning: same type and same value bit for bit
 * (1 and 1.0 are different objects; 0.0 and -0.0 too). Scalars only. */
bool value_same(const hobj *a, const hobj *b);
uint64_t value_hash(hobj *o);

/* Spreads a hash over all 64 bits, so both the high bits (htab) and the low
 * bits (masked tables) of the result depend on every input bit. */
static inline uint64_t hash_mix(uint64_t h)
{
    h = (h ^ (h >> 29)) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 32);
}

static inline uint64_t hash_ptr(const void *p)
{
    return hash_mix((uintptr_t)p >> 3);
}

#endif
