/* A short Python repr of an object, for error messages (KeyError: 'x'):
 * scalars and tuples as Python prints them, containers as a reference,
 * cut with "..." to fit the buffer. */
#ifndef HEAPD_REPR_H
#define HEAPD_REPR_H

#include "obj.h"

void obj_repr(hobj *o, char *buf, size_t size);

#endif
