/* Wire constants of the heapd protocol (SPEC section 2). */
#ifndef HEAPD_WIRE_H
#define HEAPD_WIRE_H

#include <stdint.h>

enum wire_ext {
    EXT_REF = 1,      /* 8 bytes: object id, big-endian uint64 */
    EXT_TUPLE = 2,    /* one msgpack array: the items */
    EXT_SET = 3,      /* one msgpack array: the members */
    EXT_NAME = 4,     /* UTF-8 name: the object bound to it */
    EXT_INSTANCE = 5, /* one msgpack array [class, {attr: value}]: an instance */
};

enum wire_msg { MSG_REQUEST = 0, MSG_RESPONSE = 1, MSG_NOTIFY = 2 };

/* msgpack-c's unpacker refuses deeper messages (MSGPACK_EMBED_STACK_SIZE). */
#define WIRE_MSGPACK_MAX_DEPTH 32

/* An object id's low WIRE_TYPE_BITS bits are its type, numbered as in
 * wire_type_names (Python's type names), so a client can name the type of
 * a ref without asking. */
#define WIRE_TYPE_BITS  4
#define WIRE_TYPE_COUNT 13
extern const char *const wire_type_names[WIRE_TYPE_COUNT];

/* The type name of the object with this id ("list"), "object" if unknown. */
const char *wire_id_type(uint64_t id);

#endif
