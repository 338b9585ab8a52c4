/* The envelopes heapd writes (SPEC §2), in one place: a response
 * [1, msgid, error, result] and the "error" notification
 * [2, "error", [{type, message}]]. */
#ifndef HEAPD_REPLY_H
#define HEAPD_REPLY_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Opens a successful response: [1, msgid, nil, and the caller packs
 * exactly one value, the result, to close it. */
void reply_ok_begin(msgpack_packer *pk, uint32_t msgid);

/* A whole error response: [1, msgid, {type, message}, nil]. */
void reply_error(msgpack_packer *pk, uint32_t msgid, int code, const char *msg);

/* A whole "error" notification, for what has no msgid to answer. */
void reply_error_notify(msgpack_packer *pk, int code, const char *msg);

/* The error map {"type": "<ErrorType>", "message": msg}. */
void reply_pack_error_map(msgpack_packer *pk, int code, const char *msg);

/* True when the bytes [p, p+len) are exactly one whole msgpack object (a
 * map or array whose hand-counted length is wrong makes them not), or a run
 * of whole objects. Objects nested past what mpscan follows pass. */
bool reply_is_one_object(const char *p, size_t len);
bool reply_is_whole_objects(const char *p, size_t len);

/* Builds with HEAPD_CHECK_REPLIES (make test SANITIZE=1, the fuzzers) check
 * every reply and every flushed output with these, so a wrong count fails
 * the test suite; other builds pay nothing. */
#ifdef HEAPD_CHECK_REPLIES
#include <assert.h>
#define REPLY_CHECK(ok) assert(ok)
#else
#define REPLY_CHECK(ok) ((void)0)
#endif

#endif
