/* heapd's configuration (SPEC §7, §8): the JSON file, its defaults, and the
 * settings that may change at run time (config_set, SIGHUP).
 *
 * One table in config.c (one row per dotted key: type, field, range,
 * nullable, run-time flag, default) drives defaults, loading, config_set,
 * config_get and config_to_json; adding a setting is one row and one field.
 *
 * Validation is strict: an unknown key, a wrong type or an out-of-range
 * value fails with one line naming the dotted key, and leaves the target
 * untouched. Functions return 0 or a negative HE_* code (proto/errors.h):
 * HE_KEY for an unknown key, HE_TYPE for a wrong type, HE_VALUE for a bad
 * value (range, format, JSON syntax, a key that cannot change at run time),
 * HE_RUNTIME for a file that cannot be read. */
#ifndef HEAPD_CONFIG_H
#define HEAPD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gc.h"

#include <cJSON.h>
#include <sys/socket.h>

/* Room for any message this module writes (longer ones are cut). */
#define CONFIG_ERR_MAX 256

typedef struct heapd_config {
    char *listen_unix;         /* NULL: the default path rule (SPEC §7) */
    unsigned listen_unix_mode; /* from the string "0660" (octal) */
    char *listen_tcp;          /* "HOST:PORT" or NULL */
    char *auth_token_file;     /* or NULL */
    int intern;                /* intern_policy (heap.h) */
    gc_config gc;              /* the collector reads these in place (gc_use_config) */
    uint64_t max_clients, max_message_bytes, max_depth, max_frames, max_objects, max_memory_bytes,
        max_output_bytes;
    char *persistence_path; /* or NULL: no snapshots */
    uint64_t persistence_interval_s;
    char *persistence_log;              /* the effect log's path, or NULL: no log */
    int persistence_fsync;              /* 0 always, 1 everysec, 2 no (elog.h) */
    uint64_t persistence_log_max_bytes; /* a save once the log has grown this much; 0: never */
    int log_level;        /* syslog priority: debug 7, info 6, notice 5, warning 4, error 3 */
    char *metrics_listen; /* "HOST:PORT" for GET /metrics (Prometheus), or NULL: off */
    char *source;         /* the file it was loaded from, or NULL for built-in defaults */
} heapd_config;

/* Fills *c with the SPEC defaults, overwriting it without freeing anything. */
void config_defaults(heapd_config *c);

/* Frees the strings *c owns and leaves them NULL; *c may be reused. */
void config_free(heapd_config *c);

/* Loads the JSON file at path on top of the defaults into *c (which must
 * hold a config: defaults or a previous load, freed here on success) and
 * records path in c->source. On error *c is unchanged and err holds one line. */
int config_load_file(heapd_config *c, const char *path, char *err, size_t errlen);

/* config_load_file from a NUL-terminated JSON text; c->source becomes NULL. */
int config_load_string(heapd_config *c, const char *json, char *err, size_t errlen);

/* Sets a start-up setting from a command-line option's string (--socket:
 * listen.unix, --tcp: listen.tcp) with the checks the file's value gets.
 * On error *c is unchanged. */
int config_set_option(heapd_config *c, const char *dotted, const char *value, char *err,
                      size_t errlen);

/* listen.tcp's one parser: "HOST:PORT", HOST a numeric IPv4 address or an
 * IPv6 address in brackets ("[::1]:7379"; names are not resolved), PORT
 * decimal 1..65535 (0, a random port, is refused: clients could not find
 * it). Fills *ss; 0, or HE_VALUE with one line naming listen.tcp. */
int config_tcp_address(const char *spec, struct sockaddr_storage *ss, char *err, size_t errlen);
/* The same parser for any "HOST:PORT" setting: its messages name key
 * (metrics.listen). */
int config_host_port(const char *key, const char *spec, struct sockaddr_storage *ss, char *err,
                     size_t errlen);

/* For SIGHUP: loads path into a temporary and, if it is valid, copies only
 * the run-time settable settings into *c. On error *c is unchanged. */
int config_reload_runtime(heapd_config *c, const char *path, char *err, size_t errlen);

/* True if dotted names a setting that may change at run time (gc.*,
 * limits.*, log.level). */
bool config_runtime_key(const char *dotted);

/* Sets one run-time setting from a JSON value (borrowed), with the load's
 * validation; refuses unknown keys and settings fixed at start-up. On
 * error *c is unchanged. */
int config_set_value(heapd_config *c, const char *dotted, const cJSON *value, char *err,
                     size_t errlen);

/* An integer as config_set_value takes it and config_get_value gives it:
 * a cJSON number up to 15 digits, else a cJSON raw item holding its decimal
 * text, since cJSON's doubles (and its printer) are not exact beyond: a
 * refusal quotes the value exactly ("18446744073709551615 is out of range",
 * never "1.84467e+19"), and config_to_json prints what is set. Integer
 * settings range within 0..2^53-1, exact in any JSON reader. Caller deletes. */
cJSON *config_json_uint(uint64_t v);
cJSON *config_json_int(int64_t v);

/* A new cJSON (caller deletes) for one key, or for a whole section ("gc");
 * NULL for an unknown name. */
cJSON *config_get_value(const heapd_config *c, const char *dotted);

/* The whole config as a new cJSON object (caller deletes), shaped and
 * ordered like conf/heapd.json; c->source is not part of it. */
cJSON *config_to_json(const heapd_config *c);

#endif
