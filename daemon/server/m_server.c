/* Server: stats, config_get, config_set, clients, save, debug_check,
 * shutdown; events: watch, unwatch, subscribe, unsubscribe. */
#include "check.h"
#include "conn.h"
#include "handlers.h"
#include "persist.h"
#include "server.h"
#include "stats.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>

int m_stats(req *r)
{
    const char *section = NULL;
    size_t len = 0;
    int rc = r->nargs ? arg_str(r, 0, &section, &len) : 0;
    if (rc)
        return rc;
    if (stats_pack(r->srv, r->out, section, len))
        return herr_set(r->err, HE_VALUE, "unknown stats section '%.*s'",
                        (int)(len > 40 ? 40 : len), section);
    return 0;
}

static void pack_json(msgpack_packer *pk, const cJSON *j)
{
    if (cJSON_IsNull(j) || !j) {
        msgpack_pack_nil(pk);
    } else if (cJSON_IsBool(j)) {
        pack_bool(pk, cJSON_IsTrue(j));
    } else if (cJSON_IsRaw(j)) { /* a long integer, as its text (config_json_uint) */
        if (j->valuestring[0] == '-')
            msgpack_pack_int64(pk, strtoll(j->valuestring, NULL, 10));
        else
            msgpack_pack_uint64(pk, strtoull(j->valuestring, NULL, 10));
    } else if (cJSON_IsNumber(j)) {
        double d = j->valuedouble; /* integral and within 2^53: an exact int */
        if (d == floor(d) && fabs(d) <= 0x1p53)
            msgpack_pack_int64(pk, (int64_t)d);
        else
            msgpack_pack_double(pk, d);
    } else if (cJSON_IsString(j)) {
        pack_cstr(pk, j->valuestring);
    } else {
        int n = cJSON_GetArraySize(j);
        if (cJSON_IsObject(j))
            msgpack_pack_map(pk, (size_t)n);
        else
            msgpack_pack_array(pk, (size_t)n);
        for (const cJSON *c = j->child; c; c = c->next) {
            if (cJSON_IsObject(j))
                pack_cstr(pk, c->string);
            pack_json(pk, c);
        }
    }
}

/* A wire scalar as the JSON the config module validates. */
static cJSON *to_json(const msgpack_object *v)
{
    switch (v->type) {
    case MSGPACK_OBJECT_NIL:
        return cJSON_CreateNull();
    case MSGPACK_OBJECT_BOOLEAN:
        return cJSON_CreateBool(v->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER: /* exact, even past 2^53 */
        return config_json_uint(v->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return config_json_int(v->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return cJSON_CreateNumber(v->via.f64);
    case MSGPACK_OBJECT_STR: {
        char *s = xstrndup(v->via.str.ptr, v->via.str.size);
        cJSON *j = cJSON_CreateString(s);
        free(s);
        return j;
    }
    default:
        return NULL;
    }
}

int m_config_get(req *r)
{
    const char *key;
    size_t len;
    int rc = arg_str(r, 0, &key, &len);
    if (rc)
        return rc;
    char *k = xstrndup(key, len);
    cJSON *j = config_get_value(&r->srv->cfg, k);
    if (j)
        pack_json(r->out, j);
    else
        rc = herr_set(r->err, HE_KEY, "'%.60s'", k);
    cJSON_Delete(j);
    free(k);
    return rc;
}

int m_config_set(req *r)
{
    const char *key;
    size_t len;
    char msg[HERR_MSG_MAX];
    int rc = arg_str(r, 0, &key, &len);
    if (rc)
        return rc;
    cJSON *j = to_json(&r->args[1]);
    if (!j)
        return herr_set(r->err, HE_TYPE, "config_set() value must be a scalar");
    char *k = xstrndup(key, len);
    int code = config_set_value(&r->srv->cfg, k, j, msg, sizeof msg);
    if (code)
        rc = herr_set(r->err, code, "%s", msg); /* KeyError, TypeError or ValueError */
    cJSON_Delete(j);
    free(k);
    if (rc)
        return rc;
    server_apply_runtime(r->srv);
    msgpack_pack_nil(r->out);
    return 0;
}

int m_clients(req *r)
{
    msgpack_pack_array(r->out, r->srv->nconns);
    server_pack_clients(r->srv, r->out);
    return 0;
}

/* Answered when the snapshot is durable (persist.h): REQ_DEFERRED. */
int m_save(req *r)
{
    int rc = persist_request_save(r->srv->persist, r->err);
    return rc ? rc : REQ_DEFERRED; /* answered by the server's save callback */
}

int m_debug_check(req *r)
{
    uint64_t objects;
    if (heap_check(r->h, &objects, r->err))
        return r->err->code;
    msgpack_pack_map(r->out, 2);
    pack_cstr(r->out, "ok");
    msgpack_pack_true(r->out);
    pack_cstr(r->out, "objects");
    msgpack_pack_uint64(r->out, objects);
    return 0;
}

/* shutdown([save]): save defaults to "when persistence is on", as SIGTERM.
 * A failed save answers its error and heapd keeps running (as Redis's
 * SHUTDOWN SAVE); shutdown(False) stops a background save unfinished. */
int m_shutdown(req *r)
{
    if (r->nargs && r->args[0].type != MSGPACK_OBJECT_BOOLEAN &&
        r->args[0].type != MSGPACK_OBJECT_NIL)
        return herr_set(r->err, HE_TYPE, "shutdown() save must be a bool");
    persist *p = r->srv->persist;
    bool asked = r->nargs && r->args[0].type == MSGPACK_OBJECT_BOOLEAN;
    bool save = asked ? r->args[0].via.boolean : persist_enabled(p);
    if (save && !persist_enabled(p))
        return herr_set(r->err, HE_RUNTIME, "cannot save: persistence.path is not set");
    if (save && persist_final_save(p, r->err))
        return r->err->code;
    if (!save)
        persist_cancel(p);
    msgpack_pack_nil(r->out); /* the answer is complete before the stop flushes it */
    server_stop(r->srv);
    return 0;
}

/* --- events ---------------------------------------------------------------- */

int m_watch(req *r)
{
    hobj *o;
    int rc = arg_target(r, 0, &o);
    if (!rc)
        rc = events_watch(&r->srv->ev, r->conn, o);
    if (!rc)
        msgpack_pack_nil(r->out);
    return rc;
}

int m_unwatch(req *r)
{
    hobj *o;
    int rc = arg_target(r, 0, &o);
    if (!rc && events_unwatch(&r->srv->ev, r->conn, o))
        rc = herr_set(r->err, HE_VALUE, "this session does not watch that object");
    if (!rc)
        msgpack_pack_nil(r->out);
    return rc;
}

static int channel(req *r, bool on)
{
    const char *ch;
    size_t len;
    int rc = arg_str(r, 0, &ch, &len);
    if (rc)
        return rc;
    bool gc = len == 2 && memcmp(ch, "gc", 2) == 0;
    if (!gc && !(len == 8 && memcmp(ch, "finalize", 8) == 0))
        return herr_set(r->err, HE_VALUE, "unknown channel '%.*s' (channels: \"gc\", \"finalize\")",
                        (int)(len > 40 ? 40 : len), ch);
    if (gc)
        conn_set_gc_subscribed(r->conn, on);
    else
        r->conn->finalize_subscribed = on;
    msgpack_pack_nil(r->out);
    return 0;
}

int m_subscribe(req *r)
{
    return channel(r, true);
}
int m_unsubscribe(req *r)
{
    return channel(r, false);
}
