#include "wire.h"

const char *const wire_type_names[WIRE_TYPE_COUNT] = {
    "NoneType", "bool", "int", "float", "str",    "bytes",   "tuple",
    "list",     "dict", "set", "type",  "object", "weakref",
};

const char *wire_id_type(uint64_t id)
{
    unsigned t = (unsigned)(id & ((1u << WIRE_TYPE_BITS) - 1));
    return t < WIRE_TYPE_COUNT ? wire_type_names[t] : "object";
}
