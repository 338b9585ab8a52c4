/* The object layout of heapd's heap.
 *
 * Every object starts with an 8-byte header and lives in the slab of its
 * type (slab.h), which also makes the slab the id table: an id encodes
 * (generation, slot, type), so looking one up is an array index and a
 * generation compare, and no per-object id field or hash entry is needed.
 *
 *   id = gen << 40 | slot << 4 | type        (gen 23 bits, slot 32 bits)
 *
 * Invariants:
 *  - refcnt is the exact number of references (name bindings, container
 *    slots, session handles, and slots of arrays waiting in the deferred-free
 *    queue). Objects with `immortal` set are not freed at zero.
 *  - A free slot has `dead` set; its refcnt field then holds the index of the
 *    next free slot of the same slab (the free list) and its gen is the
 *    generation the next object in that slot will get.
 *  - Atomic objects (None, bool, int, float, str, bytes) hold no references
 *    and cannot be part of a cycle; tuple, list, dict, set, type (a class),
 *    object (an instance) and weakref are containers (a weakref holds its
 *    weak-valued dict entry's key; its referent is not a reference).
 */
#ifndef HEAPD_OBJ_H
#define HEAPD_OBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum htype {
    T_NONE,
    T_BOOL,
    T_INT,
    T_FLOAT,
    T_STR,
    T_BYTES,
    T_TUPLE,
    T_LIST,
    T_DICT,
    T_SET,
    T_TYPE,     /* a class: hrec with name and attribute dict */
    T_INSTANCE, /* an instance: hrec with class and attribute dict */
    T_WEAKREF,  /* a weak reference (hweakref) */
    T__COUNT
} htype;

#define HGEN_BITS 21

/* Collector colours (gc.h); only containers are ever anything but 0. */
enum { HC_WHITE0, HC_WHITE1, HC_GRAY, HC_BLACK };
#define HGEN_MAX ((1u << HGEN_BITS) - 1)

typedef struct hobj {
    uint32_t refcnt;
    unsigned type : 4;
    unsigned colour : 2; /* owned by the collector (gc.h) */
    unsigned immortal : 1;
    unsigned dead : 1;
    unsigned doomed : 1; /* garbage found by the collector: no longer resolves */
    unsigned weakly : 1; /* weakrefs point to it (weak.c keeps their list) */
    unsigned flag : 1;   /* dict: its values are weak; instance: finalized */
    unsigned gen : HGEN_BITS;
} hobj;

typedef uint64_t hid;

/* The head every container starts with: the collector's generation list
 * links (gc.h). gc_prev's low 3 bits hold the container's generation (or
 * a collection's mark), as CPython keeps flags in _gc_prev; containers are
 * 8-byte aligned, so the pointer bits are free. */
typedef struct hcont {
    hobj h;
    uintptr_t gc_prev;
    struct hcont *gc_next;
} hcont;

typedef struct hint {
    hobj h;
    int64_t v; /* also bool's 0/1 */
} hint;

typedef struct hfloat {
    hobj h;
    double v;
} hfloat;

/* str (UTF-8, validated at the edge) and bytes share one layout. data is
 * NUL-terminated for convenience; len excludes the NUL. */
typedef struct hstr {
    hobj h;
    uint32_t len;
    uint32_t hashed; /* hash is valid */
    uint64_t hash;
    char *data;
} hstr;

/* list, and the part of a tuple's layout shared with it (len, items). */
typedef struct hlist {
    hcont c;
    uint32_t len;
    uint32_t cap;
    hobj **items;
} hlist;

/* A tuple's hash is computed once, when it is made, from its items' hashes,
 * so hashing a tuple never recurses; `unhashable` if any item is. */
typedef struct htuple {
    hcont c;
    uint32_t len;
    uint32_t unhashable;
    hobj **items;
    uint64_t hash;
} htuple;

struct htab_block;

/* dict and set: an insertion-ordered hash table (htab.h). */
typedef struct hdict {
    hcont c;
    uint32_t used; /* live entries */
    uint32_t fill; /* entries written, including deleted ones */
    struct htab_block *tb;
} hdict;

/* A class or an instance: a container of two fixed references. */
typedef struct hrec {
    hcont c;
    hobj *ref[2]; /* class: name (str), dict; instance: class, dict */
} hrec;
enum { REC_NAME = 0, REC_CLASS = 0, REC_DICT = 1 };

/* A weak reference. Its referent is not counted: when the referent dies,
 * referent becomes NULL (weak.c). One that is a weak-valued dict's value
 * holds that entry's key (counted: the only reference it holds) and the
 * dict's id, so the entry can go when the referent does. */
typedef struct hweakref {
    hcont c;
    hobj *key;                      /* weak-valued dict entry: its key, else NULL */
    hobj *referent;                 /* NULL once cleared */
    struct hweakref *wprev, *wnext; /* the referent's weakrefs */
    hid owner;                      /* weak-valued dict entry: the dict, else 0 */
    uint32_t session;               /* a callback goes to this session (0: none) */
} hweakref;

static inline bool htype_is_container(htype t)
{
    return t >= T_TUPLE;
}
/* list, dict and set: what item assignment and clear() may change */
static inline bool htype_is_mutable(htype t)
{
    return t >= T_LIST && t <= T_SET;
}
/* class, instance, weakref: containers of fixed references */
static inline bool htype_is_record(htype t)
{
    return t >= T_TYPE;
}
/* What weakref() accepts: every container (CPython refuses int and str) */
static inline bool htype_is_weakrefable(htype t)
{
    return t >= T_TUPLE;
}
static inline bool hobj_is_container(const hobj *o)
{
    return htype_is_container(o->type);
}

#define AS_INT(o)   ((hint *)(o))
#define AS_FLOAT(o) ((hfloat *)(o))
#define AS_STR(o)   ((hstr *)(o))
#define AS_LIST(o)  ((hlist *)(o))
#define AS_TUPLE(o) ((htuple *)(o))
#define AS_DICT(o)  ((hdict *)(o))
#define AS_CONT(o)  ((hcont *)(o))
#define AS_REC(o)   ((hrec *)(o))
#define AS_WEAK(o)  ((hweakref *)(o))

/* Python's type names: "NoneType", "int", ... */
const char *htype_name(htype t);

#endif
