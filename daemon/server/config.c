/* The configuration table and its consumers (config.h).
 *
 * Every setting is one row of `keys` below. Loading walks the JSON and looks
 * each member up by its dotted name; a name that is a prefix of some rows
 * ("gc") is a section and must be an object. Setting, getting, printing,
 * defaults and the SIGHUP reload all go through the same rows and the
 * per-type functions of `types`; no setting has code of its own. */
#include "config.h"

#include "errors.h"
#include "heap.h"
#include "util.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <syslog.h>
#include <uv.h>

#define KEY_MAX         96        /* longer names are unknown: no row is near this */
#define CONFIG_FILE_MAX (1 << 20) /* a config file is a page or two; refuse the absurd */
#define UNIX_PATH_LEN   (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
#define FILE_PATH_LEN   4095
/* The largest integer setting: 2^53 - 1, so that every value is exact as a
 * double (cJSON's numbers) and as a JSON number in any client. */
#define INT_SETTING_MAX 9007199254740991.0

typedef enum {
    CT_BOOL,
    CT_U64,
    CT_U64S, /* gc.threshold: a list of 1..3 integers, or one */
    CT_F64,
    CT_PATH,
    CT_ADDR,
    CT_MODE,
    CT_ENUM,
    CT__COUNT
} conf_ctype;

#define U64S_LEN 3

/* A setting whose JSON value is one of a few names (intern, log.level). */
typedef struct conf_enum {
    int (*parse)(const char *s); /* the value, or -1 for an unknown name */
    const char *(*name)(int v);
    const char *expect; /* the names, for error messages */
} conf_enum;

typedef struct conf_key {
    const char *name; /* dotted: "gc.threshold" */
    conf_ctype type;
    size_t off;             /* of the field in heapd_config */
    double lo, hi;          /* numbers: the range; paths: hi is the longest length */
    bool nullable, runtime; /* runtime: config_set and SIGHUP may change it */
    const conf_enum *en;    /* CT_ENUM only */
    const char *def;        /* the default, as JSON text (it passes the same checks) */
} conf_key;

struct conf_type {
    size_t size;      /* of the field */
    bool owns_string; /* the field is a char * this module allocates */
    const char *expect;
    /* Validates v fully, then stores it: on error the field is untouched. */
    int (*set)(const conf_key *k, const cJSON *v, void *field, char *err, size_t errlen);
    cJSON *(*get)(const conf_key *k, const void *field);
};

static const struct conf_type types[CT__COUNT];

/* ---- the enums ---- */

static const char *intern_name(int v)
{
    return intern_policy_name((intern_policy)v);
}

static const struct {
    const char *name;
    int level;
} levels[] = {{"debug", LOG_DEBUG},
              {"info", LOG_INFO},
              {"notice", LOG_NOTICE},
              {"warning", LOG_WARNING},
              {"error", LOG_ERR}};

static int level_parse(const char *s)
{
    for (size_t i = 0; i < ARRAY_LEN(levels); i++)
        if (strcmp(s, levels[i].name) == 0)
            return levels[i].level;
    return -1;
}

static const char *level_name(int v)
{
    for (size_t i = 0; i < ARRAY_LEN(levels); i++)
        if (levels[i].level == v)
            return levels[i].name;
    return "info";
}

static const conf_enum intern_enum = {intern_policy_parse, intern_name,
                                      "one of \"python\", \"none\", \"all\""};
/* persistence.fsync: the effect log's (persist/elog.h) */
static int fsync_parse(const char *s)
{
    static const char *const names[] = {"always", "everysec", "no"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}
static const char *fsync_name(int v)
{
    return v == 0 ? "always" : v == 2 ? "no" : "everysec";
}
static const conf_enum fsync_enum = {fsync_parse, fsync_name,
                                     "one of \"always\", \"everysec\", \"no\""};
static const conf_enum level_enum = {
    level_parse, level_name, "one of \"debug\", \"info\", \"notice\", \"warning\", \"error\""};

/* ---- the table ---- */

/* The field's offset, and a compile error unless the field has type T. */
#define FIELD(f, T)                                                                                \
    (offsetof(heapd_config, f) + 0 * sizeof(_Generic(((heapd_config *)0)->f, T : 1)))
#define ROW(key, t, f, T, lo, hi, nul, rt, en, def)                                                \
    {                                                                                              \
        key, t, FIELD(f, T), lo, hi, nul, rt, en, def                                              \
    }
#define K_BOOL(key, f, rt, def)        ROW(key, CT_BOOL, f, bool, 0, 1, false, rt, NULL, def)
#define K_U64(key, f, lo, hi, rt, def) ROW(key, CT_U64, f, uint64_t, lo, hi, false, rt, NULL, def)
#define K_U64S(key, f, lo, hi, rt, def)                                                            \
    ROW(key, CT_U64S, f, uint64_t *, lo, hi, false, rt, NULL, def)
#define K_F64(key, f, lo, hi, rt, def) ROW(key, CT_F64, f, double, lo, hi, false, rt, NULL, def)
#define K_PATH(key, f, maxlen, nul, def)                                                           \
    ROW(key, CT_PATH, f, char *, 1, maxlen, nul, false, NULL, def)
#define K_ADDR(key, f, nul, def)    ROW(key, CT_ADDR, f, char *, 0, 0, nul, false, NULL, def)
#define K_MODE(key, f, def)         ROW(key, CT_MODE, f, unsigned, 0, 0777, false, false, NULL, def)
#define K_ENUM(key, f, en, rt, def) ROW(key, CT_ENUM, f, int, 0, 0, false, rt, en, def)
#define RT                          true  /* may change at run time */
#define FIXED                       false /* read at start-up only */

/* In the order of conf/heapd.json, which config_to_json reproduces. */
static const conf_key keys[] = {
    K_PATH("listen.unix", listen_unix, UNIX_PATH_LEN, true, "null"),
    K_MODE("listen.unix_mode", listen_unix_mode, "\"0660\""),
    K_ADDR("listen.tcp", listen_tcp, true, "null"),
    K_PATH("auth.token_file", auth_token_file, FILE_PATH_LEN, true, "null"),
    K_ENUM("intern", intern, &intern_enum, FIXED, "\"python\""),
    K_BOOL("gc.enabled", gc.enabled, RT, "true"),
    K_BOOL("gc.generational", gc.generational, RT, "true"),
    K_U64S("gc.threshold", gc.threshold, 0, 0x1p32, RT, "[700, 10, 10]"),
    K_F64("gc.heap_fraction", gc.heap_fraction, 0, 10, RT, "0.25"),
    K_U64("gc.interval_ms", gc.interval_ms, 1, 86400000, RT, "1000"),
    K_U64("gc.slice_us", gc.slice_us, 10, 1000000, RT, "1000"),
    K_U64("limits.max_clients", max_clients, 1, 1000000, RT, "10000"),
    K_U64("limits.max_message_bytes", max_message_bytes, 1024, 0x1p32, RT, "67108864"),
    K_U64("limits.max_depth", max_depth, 1, 10000, RT, "64"),
    K_U64("limits.max_frames", max_frames, 1, 1000000, RT, "1000"),
    K_U64("limits.max_objects", max_objects, 0, INT_SETTING_MAX, RT, "0"),
    K_U64("limits.max_memory_bytes", max_memory_bytes, 0, INT_SETTING_MAX, RT, "0"),
    K_U64("limits.max_output_bytes", max_output_bytes, 1024, 0x1p40, RT, "67108864"),
    K_PATH("persistence.path", persistence_path, FILE_PATH_LEN, true, "null"),
    K_U64("persistence.interval_s", persistence_interval_s, 0, 31536000, FIXED, "0"),
    K_PATH("persistence.log", persistence_log, FILE_PATH_LEN - 16, true, "null"),
    K_ENUM("persistence.fsync", persistence_fsync, &fsync_enum, FIXED, "\"everysec\""),
    K_U64("persistence.log_max_bytes", persistence_log_max_bytes, 0, INT_SETTING_MAX, RT,
          "67108864"),
    K_ENUM("log.level", log_level, &level_enum, RT, "\"info\""),
    K_ADDR("metrics.listen", metrics_listen, true, "null"),
};

static const conf_key *key_find(const char *dotted)
{
    for (size_t i = 0; i < ARRAY_LEN(keys); i++)
        if (strcmp(keys[i].name, dotted) == 0)
            return &keys[i];
    return NULL;
}

/* True if name is a section: some row is "name.something". */
static bool is_section(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < ARRAY_LEN(keys); i++)
        if (strncmp(keys[i].name, name, n) == 0 && keys[i].name[n] == '.')
            return true;
    return false;
}

static void *field_of(heapd_config *c, const conf_key *k)
{
    return (char *)c + k->off;
}

static const void *cfield_of(const heapd_config *c, const conf_key *k)
{
    return (const char *)c + k->off;
}

/* ---- errors ---- */

/* Writes one line into err (control characters from the input become '?',
 * so a key name cannot break the line) and returns code. */
__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int code,
                                                      const char *fmt, ...)
{
    if (!err || !errlen)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    for (char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return code;
}

/* "config: gc.threshold: expected a non-negative integer". */
static int expect_error(const conf_key *k, int code, char *err, size_t errlen)
{
    const char *want = k->en ? k->en->expect : types[k->type].expect;
    return fail(err, errlen, code, "config: %s: expected %s%s", k->name, want,
                k->nullable ? " or null" : "");
}

/* A double as a message quotes it: for an integer setting, in full while a
 * double holds it exactly, else in a form that does not pretend to more
 * digits than it has ("1.8446744073709552e+19"). */
static void fmt_num(char *buf, size_t n, double d, bool integer)
{
    if (!integer)
        snprintf(buf, n, "%g", d);
    else
        snprintf(buf, n, fabs(d) <= INT_SETTING_MAX ? "%.0f" : "%.17g", d);
}

/* An integer's decimal text, as config_json_int makes it: '-'? digits. */
static bool int_text(const char *s)
{
    size_t digits = strspn(s + (*s == '-'), "0123456789");
    return digits > 0 && digits <= 20 && s[(*s == '-') + digits] == '\0';
}

/* The value of v for a number row: a cJSON number, or the raw integer text
 * of config_json_int (quoted exactly in messages). *d gets it. */
static int number_of(const conf_key *k, const cJSON *v, double *d, char *text, size_t n, char *err,
                     size_t errlen)
{
    bool integer = k->type != CT_F64;
    if (cJSON_IsRaw(v) && v->valuestring && int_text(v->valuestring)) {
        *d = strtod(v->valuestring, NULL); /* exact to 2^53; past it, past every row */
        snprintf(text, n, "%s", v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        *d = v->valuedouble;
        fmt_num(text, n, *d, integer);
    } else {
        return expect_error(k, HE_TYPE, err, errlen);
    }
    return integer && !(*d >= 0 && *d == floor(*d)) ? expect_error(k, HE_TYPE, err, errlen) : 0;
}

/* A number of the row's kind within its range (NaN is never within). */
static int check_number(const conf_key *k, const cJSON *v, double *d, char *err, size_t errlen)
{
    char val[32], lo[32], hi[32];
    bool integer = k->type != CT_F64;
    int rc = number_of(k, v, d, val, sizeof val, err, errlen);
    if (rc || (*d >= k->lo && *d <= k->hi))
        return rc;
    fmt_num(lo, sizeof lo, k->lo, integer);
    fmt_num(hi, sizeof hi, k->hi, integer);
    return fail(err, errlen, HE_VALUE, "config: %s: %s is out of range (%s..%s)", k->name, val, lo,
                hi);
}

static void store_string(void *field, const char *s)
{
    char **p = field;
    free(*p);
    *p = s ? xstrndup(s, strlen(s)) : NULL;
}

static int set_bool(const conf_key *k, const cJSON *v, void *field, char *err, size_t errlen)
{
    if (!cJSON_IsBool(v))
        return expect_error(k, HE_TYPE, err, errlen);
    *(bool *)field = cJSON_IsTrue(v);
    return 0;
}

static int set_u64(const conf_key *k, const cJSON *v, void *field, char *err, size_t errlen)
{
    double d;
    int rc = check_number(k, v, &d, err, errlen);
    if (rc == 0)
        *(uint64_t *)field = (uint64_t)d; /* exact: within 0..2^53-1 */
    return rc;
}

/* Python's gc.set_threshold(t0, [t1, [t2]]): the values given replace the
 * first ones, the rest stay; all are checked before any is stored. */
static int set_u64s(const conf_key *k, const cJSON *v, void *field, char *err, size_t errlen)
{
    double d[U64S_LEN];
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 1;
    if (n < 1 || n > U64S_LEN)
        return expect_error(k, HE_TYPE, err, errlen);
    for (int i = 0; i < n; i++) {
        int rc =
            check_number(k, cJSON_IsArray(v) ? cJSON_GetArrayItem(v, i) : v, &d[i], err, errlen);
        if (rc)
            return rc;
    }
    for (int i = 0; i < n; i++)
        ((uint64_t *)field)[i] = (uint64_t)d[i];
    return 0;
}

static int set_f64(const conf_key *k, const cJSON *v, void *field, char *err, size_t errlen)
{
    double d;
    int rc = check_number(k, v, &d, err, errlen);
    if (rc == 0)
        *(double *)field = d;
    return rc;
}

static int set_path(const conf_key *k, const cJSON *v, void *field, char *err, size_t errlen)
{
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return expect_error(k, HE_TYPE, err, errlen);
    if ((double)strlen(v->valuestring) > k->hi)
        return fail(err, errlen, HE_VALUE, "config: %s: longer than %.0f bytes", k->name, k->hi);
    store_string(field, v->valuestring);
    return 0;
}

/* The host of "HOST:PORT" (n bytes at h) into ss: a numeric IPv4 address,
 * or an IPv6 one in brackets ("[::1]", "[fe80::1%lo]"). Host names are
 * not resolved, so a check today and the start tomorrow agree. */
static bool host_parse(const char *h, size_t n, unsigned port, struct sockaddr_storage *ss)
{
    char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    bool v6 = n >= 2 && h[0] == '[' && h[n - 1] == ']';
    if (v6)
        h++, n -= 2;
    if (n == 0 || n >= sizeof host || memchr(h, '\0', n))
        return false;
    memcpy(host, h, n);
    host[n] = '\0';
    memset(ss, 0, sizeof *ss);
    return v6 ? uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0
              : uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0;
}

int config_host_port(const char *key, const char *spec, struct sockaddr_storage *ss, char *err,
                     size_t errlen)
{
    const char *colon = strrchr(spec, ':'), *port = colon ? colon + 1 : "";
    size_t n = strlen(port);
    if (!colon || colon == spec)
        return fail(err, errlen, HE_VALUE, "config: %s: \"%.80s\": expected \"HOST:PORT\"", key,
                    spec);
    if (n == 0 || strspn(port, "0123456789") != n)
        return fail(err, errlen, HE_VALUE,
                    "config: %s: \"%.80s\": the port must be a number (1..65535)", key, spec);
    /* 0 is refused too: a random port would leave clients nowhere to go */
    unsigned long v = strtoul(port, NULL, 10); /* ULONG_MAX when huge: out of range too */
    if (v < 1 || v > 65535)
        return fail(err, errlen, HE_VALUE,
                    "config: %s: \"%.80s\": port %.20s is out of range (1..65535)", key, spec,
                    port);
    if (!host_parse(spec, (size_t)(colon - spec), (unsigned)v, ss))
        return fail(err, errlen, HE_VALUE,
                    "config: %s: \"%.80s\": the host must be an IPv4 address, or an IPv6 "
                    "address in brackets",
                    key, spec);
    return 0;
}

int config_tcp_address(const char *spec, struct sockaddr_storage *ss, char *err, size_t errlen)
{
    return config_host_port("listen.tcp", spec, ss, err, errlen);
}

static int set_addr(const conf_key *k, const cJSON *v, void *field, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    if (!cJSON_IsString(v))
        return expect_error(k, HE_TYPE, err, errlen);
    int rc = config_host_port(k->name, v->valuestring, &ss, err, errlen);
    if (rc == 0)
        store_string(field, v->valuestring);
    return rc;
}

static int set_mode(const conf_key *k, const cJSON *v, void *field, char *err, size_t errlen)
{
    if (!cJSON_IsString(v))
        return expect_error(k, HE_TYPE, err, errlen);
    const char *s = v->valuestring;
    size_t n = strlen(s);
    if (n < 3 || n > 4 || strspn(s, "01234567") != n || (double)strtoul(s, NULL, 8) > k->hi)
        return expect_error(k, HE_VALUE, err, errlen);
    *(unsigned *)field = (unsigned)strtoul(s, NULL, 8);
    return 0;
}

static int set_enum(const conf_key *k, const cJSON *v, void *field, char *err, size_t errlen)
{
    if (!cJSON_IsString(v))
        return expect_error(k, HE_TYPE, err, errlen);
    int val = k->en->parse(v->valuestring);
    if (val < 0)
        return expect_error(k, HE_VALUE, err, errlen);
    *(int *)field = val;
    return 0;
}

/* cJSON returns NULL only when malloc fails: out of memory, as xmalloc. */
static cJSON *must(cJSON *j)
{
    if (!j)
        xoom(sizeof(cJSON));
    return j;
}

static cJSON *get_bool(const conf_key *k, const void *field)
{
    (void)k;
    return cJSON_CreateBool(*(const bool *)field);
}

static cJSON *get_u64(const conf_key *k, const void *field)
{
    (void)k;
    return config_json_uint(*(const uint64_t *)field);
}

static cJSON *get_u64s(const conf_key *k, const void *field)
{
    (void)k;
    cJSON *a = must(cJSON_CreateArray());
    for (int i = 0; i < U64S_LEN; i++)
        cJSON_AddItemToArray(a, must(config_json_uint(((const uint64_t *)field)[i])));
    return a;
}

static cJSON *get_f64(const conf_key *k, const void *field)
{
    (void)k;
    return cJSON_CreateNumber(*(const double *)field);
}

static cJSON *get_string(const conf_key *k, const void *field)
{
    (void)k;
    const char *s = *(char *const *)field;
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *get_mode(const conf_key *k, const void *field)
{
    (void)k;
    char buf[16];
    snprintf(buf, sizeof buf, "%04o", *(const unsigned *)field);
    return cJSON_CreateString(buf);
}

static cJSON *get_enum(const conf_key *k, const void *field)
{
    return cJSON_CreateString(k->en->name(*(const int *)field));
}

static const struct conf_type types[CT__COUNT] = {
    [CT_BOOL] = {sizeof(bool), false, "true or false", set_bool, get_bool},
    [CT_U64] = {sizeof(uint64_t), false, "a non-negative integer", set_u64, get_u64},
    [CT_U64S] = {U64S_LEN * sizeof(uint64_t), false,
                 "a list of 1 to 3 non-negative integers (or one integer)", set_u64s, get_u64s},
    [CT_F64] = {sizeof(double), false, "a number", set_f64, get_f64},
    [CT_PATH] = {sizeof(char *), true, "a non-empty string", set_path, get_string},
    [CT_ADDR] = {sizeof(char *), true,
                 "\"HOST:PORT\": an IPv4 address or an IPv6 one in brackets, and a port of "
                 "1..65535 (\"127.0.0.1:7379\", \"[::1]:7379\")",
                 set_addr, get_string},
    [CT_MODE] = {sizeof(unsigned), false,
                 "a string of 3 or 4 octal digits no greater than 0777, such as \"0660\"", set_mode,
                 get_mode},
    [CT_ENUM] = {sizeof(int), false, NULL, set_enum, get_enum},
};

/* Validates v for k and stores it in c; on error c is untouched. */
static int key_set(heapd_config *c, const conf_key *k, const cJSON *v, char *err, size_t errlen)
{
    if (v && cJSON_IsNull(v) && k->nullable) {
        assert(types[k->type].owns_string);
        store_string(field_of(c, k), NULL);
        return 0;
    }
    if (!v)
        return expect_error(k, HE_TYPE, err, errlen);
    return types[k->type].set(k, v, field_of(c, k), err, errlen);
}

static cJSON *key_get(const heapd_config *c, const conf_key *k)
{
    return must(types[k->type].get(k, cfield_of(c, k)));
}

/* ---- loading ---- */

typedef struct loader {
    heapd_config *c;
    bool seen[ARRAY_LEN(keys)];
    char *err;
    size_t errlen;
} loader;

static int load_object(loader *ld, const cJSON *obj, const char *prefix);

/* One member of an object under prefix ("" or "gc."): a setting or a section. */
static int load_member(loader *ld, const cJSON *it, const char *prefix)
{
    char name[KEY_MAX];
    snprintf(name, sizeof name, "%s%s", prefix, it->string);
    bool dotted = strchr(it->string, '.') != NULL; /* {"gc.threshold": 1} is not a key */
    const conf_key *k = dotted ? NULL : key_find(name);
    if (k) {
        if (ld->seen[k - keys])
            return fail(ld->err, ld->errlen, HE_VALUE, "config: %s: duplicate key", name);
        ld->seen[k - keys] = true;
        return key_set(ld->c, k, it, ld->err, ld->errlen);
    }
    if (dotted || !is_section(name))
        return fail(ld->err, ld->errlen, HE_KEY, "config: unknown key \"%s\"", name);
    if (!cJSON_IsObject(it))
        return fail(ld->err, ld->errlen, HE_TYPE, "config: %s: expected an object", name);
    char sub[KEY_MAX + 1];
    snprintf(sub, sizeof sub, "%s.", name);
    return load_object(ld, it, sub);
}

static int load_object(loader *ld, const cJSON *obj, const char *prefix)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        int rc = load_member(ld, it, prefix);
        if (rc)
            return rc;
    }
    return 0;
}

/* "JSON syntax error at line L, column C", from cJSON's error position. */
static int syntax_error(const char *text, const char *at, const char *path, char *err,
                        size_t errlen)
{
    unsigned line = 1, col = 1;
    for (const char *p = text; at && p < at && *p; p++) {
        col = *p == '\n' ? 1 : col + 1;
        line += *p == '\n';
    }
    return fail(err, errlen, HE_VALUE, "config: %s%sJSON syntax error at line %u, column %u",
                path ? path : "", path ? ": " : "", line, col);
}

/* Parses text and applies it over the defaults; *c is replaced only on success. */
static int load_text(heapd_config *c, const char *text, const char *path, char *err, size_t errlen)
{
    const char *end = NULL;
    cJSON *root = text ? cJSON_ParseWithOpts(text, &end, true) : NULL;
    if (!root)
        return syntax_error(text, end, path, err, errlen);
    heapd_config tmp;
    config_defaults(&tmp);
    loader ld = {.c = &tmp, .err = err, .errlen = errlen};
    int rc = cJSON_IsObject(root)
                 ? load_object(&ld, root, "")
                 : fail(err, errlen, HE_TYPE, "config: expected a JSON object at the top level");
    cJSON_Delete(root);
    if (rc) {
        config_free(&tmp);
        return rc;
    }
    tmp.source = path ? xstrndup(path, strlen(path)) : NULL;
    config_free(c);
    *c = tmp;
    return 0;
}

static int read_error(FILE *f, const char *path, char *buf, const char *why, char *err,
                      size_t errlen)
{
    free(buf);
    if (f)
        fclose(f);
    return fail(err, errlen, HE_RUNTIME, "config: %s: %s", path, why);
}

/* The whole file, NUL-terminated, in *out (caller frees). */
static int read_text(const char *path, char **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return read_error(NULL, path, NULL, strerror(errno), err, errlen);
    size_t cap = 4096, n = 0, got;
    char *buf = xmalloc(cap);
    while ((got = fread(buf + n, 1, cap - 1 - n, f)) > 0) {
        n += got;
        if (n > CONFIG_FILE_MAX)
            return read_error(f, path, buf, "larger than 1 MiB", err, errlen);
        if (n == cap - 1)
            buf = xrealloc(buf, cap *= 2);
    }
    if (ferror(f))
        return read_error(f, path, buf, strerror(errno), err, errlen);
    fclose(f);
    buf[n] = '\0';
    if (strlen(buf) != n)
        return read_error(NULL, path, buf, "contains a NUL byte", err, errlen);
    *out = buf;
    return 0;
}

/* ---- the public functions ---- */

/* Integers of up to 15 digits stay numbers: a double holds them, and cJSON
 * prints them exactly (it prints "%1.15g" when that reads back close enough,
 * and 9007199254740991 does not survive that). Longer ones stay text. */
#define NUMBER_MAX 999999999999999ULL

cJSON *config_json_uint(uint64_t v)
{
    if (v <= NUMBER_MAX)
        return must(cJSON_CreateNumber((double)v));
    char text[24];
    snprintf(text, sizeof text, "%llu", (unsigned long long)v);
    return must(cJSON_CreateRaw(text));
}

cJSON *config_json_int(int64_t v)
{
    if (v >= 0)
        return config_json_uint((uint64_t)v);
    if (v >= -(int64_t)NUMBER_MAX)
        return must(cJSON_CreateNumber((double)v));
    char text[24];
    snprintf(text, sizeof text, "%lld", (long long)v);
    return must(cJSON_CreateRaw(text));
}

void config_defaults(heapd_config *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        assert((keys[i].type != CT_U64 || keys[i].hi <= INT_SETTING_MAX) &&
               "an integer setting's range must stay exact in a double");
        cJSON *v = must(cJSON_Parse(keys[i].def));
        int rc = key_set(c, &keys[i], v, NULL, 0);
        assert(rc == 0 && "a default in the table fails its own checks");
        (void)rc;
        cJSON_Delete(v);
    }
}

void config_free(heapd_config *c)
{
    for (size_t i = 0; i < ARRAY_LEN(keys); i++)
        if (types[keys[i].type].owns_string)
            store_string(field_of(c, &keys[i]), NULL);
    free(c->source);
    c->source = NULL;
}

int config_load_string(heapd_config *c, const char *json, char *err, size_t errlen)
{
    return load_text(c, json, NULL, err, errlen);
}

int config_load_file(heapd_config *c, const char *path, char *err, size_t errlen)
{
    char *text;
    int rc = read_text(path, &text, err, errlen);
    if (rc)
        return rc;
    rc = load_text(c, text, path, err, errlen);
    free(text);
    return rc;
}

int config_reload_runtime(heapd_config *c, const char *path, char *err, size_t errlen)
{
    heapd_config tmp;
    config_defaults(&tmp);
    int rc = config_load_file(&tmp, path, err, errlen);
    for (size_t i = 0; rc == 0 && i < ARRAY_LEN(keys); i++) {
        if (!keys[i].runtime)
            continue;
        /* swapped, not copied: a string field's old value is freed with tmp */
        char t[U64S_LEN * sizeof(uint64_t)]; /* the largest field */
        size_t n = types[keys[i].type].size;
        assert(n <= sizeof t);
        memcpy(t, field_of(c, &keys[i]), n);
        memcpy(field_of(c, &keys[i]), field_of(&tmp, &keys[i]), n);
        memcpy(field_of(&tmp, &keys[i]), t, n);
    }
    config_free(&tmp);
    return rc;
}

bool config_runtime_key(const char *dotted)
{
    const conf_key *k = key_find(dotted);
    return k && k->runtime;
}

int config_set_option(heapd_config *c, const char *dotted, const char *value, char *err,
                      size_t errlen)
{
    const conf_key *k = key_find(dotted);
    assert(k && "config_set_option: no such setting");
    cJSON *v = must(cJSON_CreateString(value));
    int rc = key_set(c, k, v, err, errlen);
    cJSON_Delete(v);
    return rc;
}

int config_set_value(heapd_config *c, const char *dotted, const cJSON *value, char *err,
                     size_t errlen)
{
    const conf_key *k = key_find(dotted);
    if (!k)
        return fail(err, errlen, HE_KEY, "config: unknown key \"%s\"", dotted);
    if (!k->runtime)
        return fail(err, errlen, HE_VALUE, "config: %s cannot change at run time", k->name);
    return key_set(c, k, value, err, errlen);
}

/* Adds val to obj at the dotted path rel, making the sections on the way. */
static void add_path(cJSON *obj, const char *rel, cJSON *val)
{
    const char *dot;
    while ((dot = strchr(rel, '.'))) {
        char sec[KEY_MAX];
        snprintf(sec, sizeof sec, "%.*s", (int)(dot - rel), rel);
        cJSON *sub = cJSON_GetObjectItemCaseSensitive(obj, sec);
        obj = sub ? sub : must(cJSON_AddObjectToObject(obj, sec));
        rel = dot + 1;
    }
    if (!cJSON_AddItemToObject(obj, rel, val))
        xoom(strlen(rel) + 1);
}

/* The rows under prefix ("" for all, "gc." for a section) as one object. */
static cJSON *build(const heapd_config *c, const char *prefix)
{
    cJSON *root = must(cJSON_CreateObject());
    size_t n = strlen(prefix);
    for (size_t i = 0; i < ARRAY_LEN(keys); i++)
        if (strncmp(keys[i].name, prefix, n) == 0)
            add_path(root, keys[i].name + n, key_get(c, &keys[i]));
    return root;
}

cJSON *config_get_value(const heapd_config *c, const char *dotted)
{
    const conf_key *k = key_find(dotted);
    if (k)
        return key_get(c, k);
    if (!is_section(dotted))
        return NULL;
    char prefix[KEY_MAX + 1];
    snprintf(prefix, sizeof prefix, "%s.", dotted);
    return build(c, prefix);
}

cJSON *config_to_json(const heapd_config *c)
{
    return build(c, "");
}
