/* Arguments of a request (args.c): validated here, at the edge, once; the
 * heap below trusts what these hand it. Each returns 0 or a negative HE_*
 * code with r->err set. */
#ifndef HEAPD_ARGS_H
#define HEAPD_ARGS_H

#include "request.h"

/* The object a target designates: a str or ext 4 is a name, an ext 1 an id.
 * Any other literal is built as a temporary that lives until the request
 * ends (so `refcount 26` finds the interned 26: its count does not include
 * the temporary's reference, which is dropped before anyone can see it). */
int arg_target(req *r, uint32_t i, hobj **out);
/* Builds the value of argument i (a literal): a new reference in *out. */
int arg_value(req *r, uint32_t i, hobj **out);
/* arg_value for a value that must be hashable (a key, a set member):
 * unhashable is a TypeError before anything is built. */
int arg_key(req *r, uint32_t i, hobj **out);
/* Checks a key and a value argument as arg_key and arg_value would, and the
 * object and memory limits for both (plus extra_bytes) at once, building
 * nothing: so the second build cannot fail after the first succeeded. */
int arg_room_for_two(req *r, uint32_t key, uint32_t value, size_t extra_bytes);
/* Checks argument i as arg_value would, building nothing. */
int arg_check_value(req *r, uint32_t i);
/* Checks argument i as arg_check_value does and packs it as it came, each
 * ext 1 in it noted as a reference of the answer (ref-handle mode). */
int arg_echo_value(req *r, uint32_t i);
/* A name argument (str): non-empty valid UTF-8. */
int arg_name(req *r, uint32_t i, const char **name, size_t *len);
int arg_int(req *r, uint32_t i, int64_t *out);
/* The Python type name of argument i's value ("list" for an array, the
 * object's type for a ref or a name), for TypeErrors worded as Python's;
 * or the error evaluating the value gives first (a name not bound). */
int arg_type_name(req *r, uint32_t i, const char **name);
/* Drops the temporaries of arg_target (the dispatcher calls it). */
void req_release_temps(req *r);

/* An optional trailing opts map: {"scope": "global"} sets *global. */
int arg_scope_opts(req *r, uint32_t i, bool *global);
/* A str argument, not necessarily a name. */
int arg_str(req *r, uint32_t i, const char **s, size_t *len);

/* Whether o is the msgpack str s (option keys and their named values). */
bool arg_is_str(const msgpack_object *o, const char *s);

/* The method's name, for messages ("%s() takes ..."). */
const char *req_method(const req *r);

#endif
