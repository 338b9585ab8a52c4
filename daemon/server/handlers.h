/* The method handlers, one per row of proto/methods.def (m_<name>), grouped
 * by area in m_*.c. See request.h for the contract every handler keeps. */
#ifndef HEAPD_HANDLERS_H
#define HEAPD_HANDLERS_H

#include "args.h"
#include "pack.h"
#include "util.h"

#define METHOD(name, min, max, flags, params, help) int m_##name(req *r);
#include "methods.def"
#undef METHOD

#endif
