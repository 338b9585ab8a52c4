/* Results as text: Python repr for people, JSON (cJSON) for programs.
 *
 * JSON mapping (documented in heapctl(1) and the README): None, bool, int,
 * str, list as themselves; a finite float as a number; the others as
 * one-key objects: {"$float": "inf" | "-inf" | "nan"}, {"$bytes": "<hex>"},
 * {"$tuple": [...]}, {"$set": [...]}, {"$ref": <id>, "type": "<type>"}; a
 * dict whose keys are all str as an object, any other dict as
 * {"$dict": [[key, value], ...]}. */
#ifndef HEAPCTL_FORMAT_H
#define HEAPCTL_FORMAT_H

#include <cjson/cJSON.h>
#include <msgpack.h>
#include <stdbool.h>

/* Appends repr(o) to out (NUL not included). */
void fmt_repr(msgpack_sbuffer *out, const msgpack_object *o);

/* Python's repr of a float: the shortest text that reads back the same. */
void fmt_float(char buf[32], double d);

/* Python's repr of a str (utf-8) or bytes. */
void fmt_quoted(msgpack_sbuffer *out, const char *s, size_t n, bool bytes);

/* The value under a str key of a msgpack map, or NULL (also when map is
 * NULL or not a map). */
const msgpack_object *fmt_map_get(const msgpack_object *map, const char *key);

/* o as JSON; NULL when out of memory. */
cJSON *fmt_json(const msgpack_object *o);

#endif
