#ifndef HEAPD_VERSION_H
#define HEAPD_VERSION_H

/* One version for heapd, heapctl and the protocol library. */
#define HEAPD_VERSION "0.1.0"

#endif
