/* Events (SPEC §5): "freed" for the sessions that watch an object, "gc"
 * for the sessions subscribed to the collector's channel. The heap's hooks
 * queue them while a request or a slice runs; they are sent between
 * requests, so an event never lands inside a response. The state lives in
 * struct server (server.h), not in this file. */
#ifndef HEAPD_EVENTS_H
#define HEAPD_EVENTS_H

#include "gc.h"
#include "heap.h"
#include "watches.h"

#include <stdbool.h>
#include <stddef.h>

struct server;
struct conn;

enum event_kind { EV_FREED, EV_GC, EV_FINALIZE, EV_WEAKREF };

/* One queued event, for one connection. */
struct event {
    uint8_t kind;  /* enum event_kind */
    bool gc_start; /* a "gc" event's phase: start, else stop */
    hid id;        /* freed: the object; weakref: the weakref */
    uint8_t type, cause;
    struct conn *c;
    gc_cycle_info info;
    /* finalize: its params, packed when the instance died, and the
     * containers they name, held as the session's handles until sent */
    char *params;
    size_t params_len;
    hobj **held;
    uint32_t nheld;
};

typedef struct events {
    struct event *queue; /* waiting to be sent, in order */
    size_t nqueued, queue_cap;
    watches watches; /* who waits for which object's "freed" */
} events;

/* Registers the heap's free and cycle hooks for srv (at start). */
void events_attach(struct server *srv);
/* Frees the queue and the watches. */
void events_free(events *ev);

/* watch/unwatch: at most one watch per (connection, object); unwatch
 * returns -1 when c did not watch o. Neither keeps o alive. */
int events_watch(events *ev, struct conn *c, hobj *o);
int events_unwatch(events *ev, struct conn *c, hobj *o);
/* Forgets c's watches and its queued events (c is closing). */
void events_drop_conn(events *ev, struct conn *c);

bool events_pending(const events *ev);
/* Packs into c's output, and takes off the queue, c's events queued at or
 * after position from (those a request of c's caused, which Python would
 * have printed before the request returned). */
void events_pack_since(struct server *srv, struct conn *c, size_t from);
/* Packs every queued event into its connection's output and flushes it. */
void events_send(struct server *srv);

#endif
