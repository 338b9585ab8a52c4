/* The configuration module (config.h): defaults, the example file, every
 * kind of error naming its key, run-time set/get and the SIGHUP reload.
 * Tests run from the repository root (make test), where conf/ is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
/* cmocka needs the three above first */
#include <cmocka.h>

#include "config.h"
#include "errors.h"
#include "gc.h"
#include "heap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define EXAMPLE "conf/heapd.json"

/* A config with every setting away from its default. */
static const char *const OTHER =
    "{\"listen\": {\"unix\": \"/run/heapd/s\", \"unix_mode\": \"0600\","
    " \"tcp\": \"[::1]:7000\"},"
    " \"auth\": {\"token_file\": \"/etc/heapd/token\"},"
    " \"intern\": \"all\","
    " \"gc\": {\"enabled\": false, \"threshold\": 5, "
    "\"heap_fraction\": 1.5, \"interval_ms\": 20, \"slice_us\": 300},"
    " \"limits\": {\"max_clients\": 7, \"max_message_bytes\": 2048,"
    " \"max_depth\": 9, \"max_frames\": 11, \"max_objects\": 100,"
    " \"max_memory_bytes\": 4096, \"max_output_bytes\": 8192},"
    " \"persistence\": {\"path\": \"/var/lib/heapd/snap\","
    " \"interval_s\": 60},"
    " \"log\": {\"level\": \"debug\"}}";

static char *json_text(const cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    assert_non_null(s);
    return s;
}

/* Fails unless the two configs print the same (source aside). */
static void assert_same_config(const heapd_config *a, const heapd_config *b)
{
    cJSON *ja = config_to_json(a), *jb = config_to_json(b);
    char *sa = json_text(ja), *sb = json_text(jb);
    assert_string_equal(sa, sb);
    cJSON_free(sa);
    cJSON_free(sb);
    cJSON_Delete(ja);
    cJSON_Delete(jb);
}

/* Loading json must fail with code and exactly the message want. */
static void assert_load_fails(const char *json, int code, const char *want)
{
    heapd_config c;
    config_defaults(&c);
    char err[CONFIG_ERR_MAX] = "";
    assert_int_equal(config_load_string(&c, json, err, sizeof err), code);
    assert_string_equal(err, want);
    heapd_config d;
    config_defaults(&d);
    assert_same_config(&c, &d);
    config_free(&c);
    config_free(&d);
}

/* Loading json must fail with a message containing key (and no newline). */
static void assert_load_names(const char *json, const char *key)
{
    heapd_config c;
    config_defaults(&c);
    char err[CONFIG_ERR_MAX] = "";
    assert_true(config_load_string(&c, json, err, sizeof err) < 0);
    if (!strstr(err, key))
        fail_msg("message \"%s\" does not name \"%s\"", err, key);
    assert_null(strchr(err, '\n'));
    config_free(&c);
}

static void assert_load_ok(const char *json)
{
    heapd_config c;
    config_defaults(&c);
    char err[CONFIG_ERR_MAX] = "";
    if (config_load_string(&c, json, err, sizeof err) != 0)
        fail_msg("%s: %s", json, err);
    config_free(&c);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* The collector's built-in defaults (a heap without a server) and the
 * configuration table's defaults are one set of numbers. */
static void collector_defaults_are_the_config_tables(void **state)
{
    (void)state;
    heapd_config c;
    config_defaults(&c);
    heap_config hc = {.intern = INTERN_PYTHON};
    heap *h = heap_new(&hc);
    const gc_config *g = gc_get_config(h);
    assert_int_equal(g->enabled, c.gc.enabled);
    assert_int_equal(g->threshold[0], c.gc.threshold[0]);
    assert_true(g->heap_fraction == c.gc.heap_fraction);
    assert_int_equal(g->interval_ms, c.gc.interval_ms);
    assert_int_equal(g->slice_us, c.gc.slice_us);
    /* and once the server hands its config over, the collector reads it */
    c.gc.slice_us = 321;
    gc_use_config(h, &c.gc);
    gc_disable(h);
    assert_false(c.gc.enabled);
    assert_int_equal(gc_get_config(h)->slice_us, 321);
    heap_free(h);
    config_free(&c);
}

static void defaults_are_the_spec(void **state)
{
    (void)state;
    heapd_config c;
    config_defaults(&c);
    assert_null(c.listen_unix);
    assert_int_equal(c.listen_unix_mode, 0660);
    assert_null(c.listen_tcp);
    assert_null(c.auth_token_file);
    assert_int_equal(c.intern, INTERN_PYTHON);
    assert_true(c.gc.enabled);
    assert_int_equal(c.gc.threshold[0], 700);
    assert_true(c.gc.heap_fraction == 0.25);
    assert_int_equal(c.gc.interval_ms, 1000);
    assert_int_equal(c.gc.slice_us, 1000);
    assert_int_equal(c.max_clients, 10000);
    assert_int_equal(c.max_message_bytes, 67108864);
    assert_int_equal(c.max_depth, 64);
    assert_int_equal(c.max_frames, 1000);
    assert_int_equal(c.max_objects, 0);
    assert_int_equal(c.max_memory_bytes, 0);
    assert_int_equal(c.max_output_bytes, 67108864);
    assert_null(c.persistence_path);
    assert_int_equal(c.persistence_interval_s, 0);
    assert_int_equal(c.log_level, 6);
    assert_null(c.source);
    config_free(&c);
}

static void example_file_is_the_defaults(void **state)
{
    (void)state;
    heapd_config c, d;
    config_defaults(&c);
    config_defaults(&d);
    char err[CONFIG_ERR_MAX] = "";
    if (config_load_file(&c, EXAMPLE, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(c.source, EXAMPLE);
    assert_same_config(&c, &d);
    config_free(&c);
    config_free(&d);
}

/* config_to_json has the example's shape and order, key for key. */
static void to_json_prints_like_the_example(void **state)
{
    (void)state;
    FILE *f = fopen(EXAMPLE, "r");
    assert_non_null(f);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *file = cJSON_Parse(buf);
    assert_non_null(file);
    heapd_config d;
    config_defaults(&d);
    cJSON *mine = config_to_json(&d);
    char *a = json_text(file), *b = json_text(mine);
    assert_string_equal(a, b);
    cJSON_free(a);
    cJSON_free(b);
    cJSON_Delete(file);
    cJSON_Delete(mine);
    config_free(&d);
}

static void empty_object_gives_defaults(void **state)
{
    (void)state;
    heapd_config c, d;
    config_defaults(&c);
    config_defaults(&d);
    char err[CONFIG_ERR_MAX] = "";
    assert_int_equal(config_load_string(&c, "{\"gc\": {}}", err, sizeof err), 0);
    assert_same_config(&c, &d);
    assert_null(c.source);
    config_free(&c);
    config_free(&d);
}

static void every_setting_is_applied(void **state)
{
    (void)state;
    heapd_config c;
    config_defaults(&c);
    char err[CONFIG_ERR_MAX] = "";
    assert_int_equal(config_load_string(&c, OTHER, err, sizeof err), 0);
    assert_string_equal(c.listen_unix, "/run/heapd/s");
    assert_int_equal(c.listen_unix_mode, 0600);
    assert_string_equal(c.listen_tcp, "[::1]:7000");
    assert_string_equal(c.auth_token_file, "/etc/heapd/token");
    assert_int_equal(c.intern, INTERN_ALL);
    assert_false(c.gc.enabled);
    assert_int_equal(c.gc.threshold[0], 5);
    assert_true(c.gc.heap_fraction == 1.5);
    assert_int_equal(c.gc.interval_ms, 20);
    assert_int_equal(c.gc.slice_us, 300);
    assert_int_equal(c.max_clients, 7);
    assert_int_equal(c.max_message_bytes, 2048);
    assert_int_equal(c.max_depth, 9);
    assert_int_equal(c.max_frames, 11);
    assert_int_equal(c.max_objects, 100);
    assert_int_equal(c.max_memory_bytes, 4096);
    assert_int_equal(c.max_output_bytes, 8192);
    assert_string_equal(c.persistence_path, "/var/lib/heapd/snap");
    assert_int_equal(c.persistence_interval_s, 60);
    assert_int_equal(c.log_level, 7);
    config_free(&c);
}

static void unknown_keys_are_named(void **state)
{
    (void)state;
    assert_load_fails("{\"intrn\": \"all\"}", HE_KEY, "config: unknown key \"intrn\"");
    assert_load_fails("{\"gc\": {\"treshold\": 1}}", HE_KEY, "config: unknown key \"gc.treshold\"");
    assert_load_fails(
        "{\"gc\": {\"threshold\": {\"x\": 1}}}", HE_TYPE,
        "config: gc.threshold: expected a list of 1 to 3 non-negative integers (or one integer)");
    /* a dotted member name is not a shortcut for a nested one */
    assert_load_fails("{\"gc.threshold\": 1}", HE_KEY, "config: unknown key \"gc.threshold\"");
    /* control characters in a name cannot break the line */
    assert_load_fails("{\"a\\nb\": 1}", HE_KEY, "config: unknown key \"a?b\"");
    assert_load_fails("{\"gc\": {\"threshold\": 1, \"threshold\": 2}}", HE_VALUE,
                      "config: gc.threshold: duplicate key");
}

static void wrong_types_are_named(void **state)
{
    (void)state;
    const char *want =
        "config: gc.threshold: expected a list of 1 to 3 non-negative integers (or one integer)";
    assert_load_fails("{\"gc\": {\"threshold\": \"700\"}}", HE_TYPE, want);
    assert_load_fails("{\"gc\": {\"threshold\": 1.5}}", HE_TYPE, want);
    assert_load_fails("{\"gc\": {\"threshold\": -1}}", HE_TYPE, want);
    assert_load_fails("{\"gc\": {\"threshold\": true}}", HE_TYPE, want);
    assert_load_fails("{\"gc\": {\"enabled\": 1}}", HE_TYPE,
                      "config: gc.enabled: expected true or false");
    assert_load_fails("{\"gc\": {\"heap_fraction\": \"0.5\"}}", HE_TYPE,
                      "config: gc.heap_fraction: expected a number");
    assert_load_fails("{\"listen\": {\"unix\": 5}}", HE_TYPE,
                      "config: listen.unix: expected a non-empty string or null");
    assert_load_fails("{\"listen\": {\"unix\": \"\"}}", HE_TYPE,
                      "config: listen.unix: expected a non-empty string or null");
    assert_load_names("{\"persistence\": {\"path\": []}}", "persistence.path");
    assert_load_names("{\"auth\": {\"token_file\": false}}", "auth.token_file");
    /* an integral float is an integer; heap_fraction takes either */
    assert_load_ok("{\"gc\": {\"threshold\": 1e3, \"heap_fraction\": 2}}");
}

static void out_of_range_values_are_named(void **state)
{
    (void)state;
    assert_load_fails("{\"limits\": {\"max_depth\": 0}}", HE_VALUE,
                      "config: limits.max_depth: 0 is out of range (1..10000)");
    assert_load_fails("{\"gc\": {\"threshold\": 4294967297}}", HE_VALUE,
                      "config: gc.threshold: 4294967297 is out of range (0..4294967296)");
    assert_load_fails("{\"gc\": {\"heap_fraction\": 10.5}}", HE_VALUE,
                      "config: gc.heap_fraction: 10.5 is out of range (0..10)");
    assert_load_fails("{\"gc\": {\"heap_fraction\": -0.5}}", HE_VALUE,
                      "config: gc.heap_fraction: -0.5 is out of range (0..10)");
    assert_load_names("{\"gc\": {\"slice_us\": 9}}", "gc.slice_us");
    assert_load_names("{\"gc\": {\"interval_ms\": 0}}", "gc.interval_ms");
    assert_load_names("{\"limits\": {\"max_clients\": 1000001}}", "limits.max_clients");
    assert_load_names("{\"limits\": {\"max_message_bytes\": 1023}}", "limits.max_message_bytes");
    assert_load_names("{\"limits\": {\"max_frames\": 0}}", "limits.max_frames");
    assert_load_names("{\"limits\": {\"max_output_bytes\": 1e13}}", "limits.max_output_bytes");
    assert_load_names("{\"limits\": {\"max_objects\": 1e19}}", "limits.max_objects");
    /* integers stop at 2^53 - 1, where a double (cJSON's number) stops being exact */
    assert_load_fails("{\"limits\": {\"max_memory_bytes\": 9007199254740992}}", HE_VALUE,
                      "config: limits.max_memory_bytes: 9007199254740992 is out of range "
                      "(0..9007199254740991)");
    assert_load_fails("{\"limits\": {\"max_objects\": 1e19}}", HE_VALUE,
                      "config: limits.max_objects: 1e+19 is out of range (0..9007199254740991)");
    assert_load_names("{\"persistence\": {\"interval_s\": 31536001}}", "persistence.interval_s");
    assert_load_names("{\"gc\": {\"threshold\": 1e400}}", "gc.threshold");
    /* the bounds themselves are in range */
    assert_load_ok("{\"gc\": {\"threshold\": 4294967296, \"heap_fraction\": 10, \"slice_us\": 10},"
                   " \"limits\": {\"max_objects\": 9007199254740991, \"max_clients\": 1000000,"
                   " \"max_output_bytes\": 1099511627776, \"max_message_bytes\": 1024},"
                   " \"persistence\": {\"interval_s\": 31536000}}");
    char json[200] = "{\"listen\": {\"unix\": \"/";
    memset(json + strlen(json), 'x', 107); /* 108 bytes with the slash */
    strcat(json, "\"}}");
    assert_load_fails(json, HE_VALUE, "config: listen.unix: longer than 107 bytes");
    json[strlen(json) - 4] = '\0';
    strcat(json, "\"}}");
    assert_load_ok(json);
}

static void bad_modes_are_refused(void **state)
{
    (void)state;
    const char *want = "config: listen.unix_mode: expected a string of 3 or 4 octal digits no "
                       "greater than 0777, such as \"0660\"";
    assert_load_fails("{\"listen\": {\"unix_mode\": \"0888\"}}", HE_VALUE, want);
    assert_load_fails("{\"listen\": {\"unix_mode\": \"1777\"}}", HE_VALUE, want);
    assert_load_fails("{\"listen\": {\"unix_mode\": \"66\"}}", HE_VALUE, want);
    assert_load_fails("{\"listen\": {\"unix_mode\": \"00660\"}}", HE_VALUE, want);
    assert_load_fails("{\"listen\": {\"unix_mode\": \"0o660\"}}", HE_VALUE, want);
    assert_load_fails("{\"listen\": {\"unix_mode\": 432}}", HE_TYPE, want);
    heapd_config c;
    config_defaults(&c);
    assert_int_equal(config_load_string(&c, "{\"listen\": {\"unix_mode\": \"600\"}}", NULL, 0), 0);
    assert_int_equal(c.listen_unix_mode, 0600);
    cJSON *v = config_get_value(&c, "listen.unix_mode");
    assert_string_equal(cJSON_GetStringValue(v), "0600");
    cJSON_Delete(v);
    config_free(&c);
}

static void bad_names_are_refused(void **state)
{
    (void)state;
    assert_load_fails("{\"intern\": \"some\"}", HE_VALUE,
                      "config: intern: expected one of \"python\", \"none\", \"all\"");
    assert_load_fails("{\"intern\": 1}", HE_TYPE,
                      "config: intern: expected one of \"python\", \"none\", \"all\"");
    assert_load_fails("{\"log\": {\"level\": \"verbose\"}}", HE_VALUE,
                      "config: log.level: expected one of \"debug\", \"info\", \"notice\", "
                      "\"warning\", \"error\"");
    assert_load_names("{\"log\": {\"level\": \"INFO\"}}", "log.level");
    const char *levels[] = {"error", "warning", "notice", "info", "debug"};
    for (int i = 0; i < 5; i++) {
        char json[64];
        snprintf(json, sizeof json, "{\"log\": {\"level\": \"%s\"}}", levels[i]);
        heapd_config c;
        config_defaults(&c);
        assert_int_equal(config_load_string(&c, json, NULL, 0), 0);
        assert_int_equal(c.log_level, 3 + i);
        config_free(&c);
    }
}

static void tcp_addresses_are_checked(void **state)
{
    (void)state;
    const char *bad[] = {"localhost:7000",  ":7000",         "127.0.0.1:",        "127.0.0.1:0",
                         "127.0.0.1:65536", "127.0.0.1:70a", "::1:7000",          "[::1]",
                         "[::1]7000",       "[]:7000",       "a b:7000",          "[::1:7000",
                         "::1]:7000",       "127.1:7000",    "127.0.0.1:1234567", "127.0.0.1:+80",
                         "127.0.0.1",       "127.0.0.1: 80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"listen\": {\"tcp\": \"%s\"}}", bad[i]);
        assert_load_names(json, "listen.tcp");
    }
    assert_load_fails("{\"listen\": {\"tcp\": \"127.0.0.1:99999\"}}", HE_VALUE,
                      "config: listen.tcp: \"127.0.0.1:99999\": port 99999 is out of range "
                      "(1..65535)");
    assert_load_fails("{\"listen\": {\"tcp\": \"127.0.0.1:abc\"}}", HE_VALUE,
                      "config: listen.tcp: \"127.0.0.1:abc\": the port must be a number "
                      "(1..65535)");
    assert_load_fails("{\"listen\": {\"tcp\": \"localhost:7000\"}}", HE_VALUE,
                      "config: listen.tcp: \"localhost:7000\": the host must be an IPv4 "
                      "address, or an IPv6 address in brackets");
    assert_load_names("{\"listen\": {\"tcp\": 7000}}", "listen.tcp");
    const char *good[] = {"127.0.0.1:7000", "[::1]:7000", "127.0.0.1:65535", "[fe80::1%lo]:1",
                          "0.0.0.0:1",      "[::]:7379",  "127.0.0.1:07379"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"listen\": {\"tcp\": \"%s\"}}", good[i]);
        assert_load_ok(json);
    }
}

/* The parser start-up uses gives the address the check accepted. */
static void tcp_address_parses_to_a_sockaddr(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    char err[CONFIG_ERR_MAX];
    assert_int_equal(config_tcp_address("127.0.0.1:7379", &ss, err, sizeof err), 0);
    const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
    assert_int_equal(in->sin_family, AF_INET);
    assert_int_equal(ntohs(in->sin_port), 7379);
    assert_int_equal(ntohl(in->sin_addr.s_addr), 0x7f000001);
    assert_int_equal(config_tcp_address("[::1]:1", &ss, err, sizeof err), 0);
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
    assert_int_equal(in6->sin6_family, AF_INET6);
    assert_int_equal(ntohs(in6->sin6_port), 1);
    assert_memory_equal(&in6->sin6_addr, &in6addr_loopback, sizeof in6addr_loopback);
    assert_int_equal(config_tcp_address("127.0.0.1:99999", &ss, err, sizeof err), HE_VALUE);
}

/* --socket and --tcp get the file's checks. */
static void options_are_checked_like_the_file(void **state)
{
    (void)state;
    heapd_config c;
    char err[CONFIG_ERR_MAX];
    config_defaults(&c);
    assert_int_equal(config_set_option(&c, "listen.tcp", "127.0.0.1:99999", err, sizeof err),
                     HE_VALUE);
    assert_null(c.listen_tcp);
    assert_int_equal(config_set_option(&c, "listen.tcp", "[::1]:7000", err, sizeof err), 0);
    assert_string_equal(c.listen_tcp, "[::1]:7000");
    assert_int_equal(config_set_option(&c, "listen.unix", "", err, sizeof err), HE_TYPE);
    assert_int_equal(config_set_option(&c, "listen.unix", "/run/x.sock", err, sizeof err), 0);
    assert_string_equal(c.listen_unix, "/run/x.sock");
    config_free(&c);
}

static void null_is_allowed_only_where_the_default_is_null(void **state)
{
    (void)state;
    assert_load_ok("{\"listen\": {\"unix\": null, \"tcp\": null}, \"auth\": {\"token_file\": null},"
                   " \"persistence\": {\"path\": null}}");
    assert_load_fails(
        "{\"gc\": {\"threshold\": null}}", HE_TYPE,
        "config: gc.threshold: expected a list of 1 to 3 non-negative integers (or one integer)");
    assert_load_names("{\"intern\": null}", "intern");
    assert_load_names("{\"log\": {\"level\": null}}", "log.level");
    assert_load_names("{\"listen\": {\"unix_mode\": null}}", "listen.unix_mode");
    assert_load_names("{\"gc\": {\"enabled\": null}}", "gc.enabled");
    assert_load_names("{\"persistence\": {\"interval_s\": null}}", "persistence.interval_s");
    /* null clears a string set before */
    heapd_config c;
    config_defaults(&c);
    assert_int_equal(config_load_string(&c, OTHER, NULL, 0), 0);
    assert_int_equal(config_load_string(&c, "{\"listen\": {\"tcp\": null}}", NULL, 0), 0);
    assert_null(c.listen_tcp);
    assert_null(c.listen_unix);
    config_free(&c);
}

static void sections_must_be_objects(void **state)
{
    (void)state;
    assert_load_fails("{\"gc\": 5}", HE_TYPE, "config: gc: expected an object");
    assert_load_fails("{\"limits\": null}", HE_TYPE, "config: limits: expected an object");
    assert_load_fails("{\"log\": \"info\"}", HE_TYPE, "config: log: expected an object");
    assert_load_fails("{\"listen\": [1]}", HE_TYPE, "config: listen: expected an object");
    assert_load_fails("[]", HE_TYPE, "config: expected a JSON object at the top level");
    assert_load_fails("\"x\"", HE_TYPE, "config: expected a JSON object at the top level");
}

static void syntax_errors_give_the_place(void **state)
{
    (void)state;
    assert_load_fails("{\n  \"gc\": {\n    \"threshold\": 7,,\n  }\n}", HE_VALUE,
                      "config: JSON syntax error at line 3, column 21");
    assert_load_names("{} x", "JSON syntax error at line 1");
    assert_load_names("", "JSON syntax error at line 1, column 1");
    heapd_config c;
    config_defaults(&c);
    char err[CONFIG_ERR_MAX] = "";
    assert_int_equal(config_load_string(&c, NULL, err, sizeof err), HE_VALUE);
    config_free(&c);
}

static void unreadable_files_are_named(void **state)
{
    (void)state;
    heapd_config c;
    config_defaults(&c);
    char err[CONFIG_ERR_MAX] = "";
    assert_int_equal(config_load_file(&c, "/nonexistent/heapd.json", err, sizeof err), HE_RUNTIME);
    assert_string_equal(err, "config: /nonexistent/heapd.json: No such file or directory");
    assert_int_equal(config_load_file(&c, "conf", err, sizeof err), HE_RUNTIME);
    assert_string_equal(err, "config: conf: Is a directory");
    assert_null(c.source);

    char path[] = "/tmp/heapd-test-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "{\n\"gc\": {\"threshold\": x}}");
    assert_int_equal(config_load_file(&c, path, err, sizeof err), HE_VALUE);
    char want[CONFIG_ERR_MAX];
    snprintf(want, sizeof want, "config: %s: JSON syntax error at line 2, column 21", path);
    assert_string_equal(err, want);
    /* a file is loaded whole, however it is read in pieces */
    char *big = malloc(70000);
    assert_non_null(big);
    size_t n = (size_t)sprintf(big, "{\"gc\": {\"threshold\": 42}");
    memset(big + n, ' ', 69000);
    strcpy(big + n + 69000, "}");
    write_file(path, big);
    free(big);
    assert_int_equal(config_load_file(&c, path, err, sizeof err), 0);
    assert_int_equal(c.gc.threshold[0], 42);
    assert_string_equal(c.source, path);
    unlink(path);
    config_free(&c);
}

/* An error after some settings were applied still changes nothing. */
static void failed_load_changes_nothing(void **state)
{
    (void)state;
    heapd_config c, before;
    config_defaults(&c);
    config_defaults(&before);
    assert_int_equal(config_load_string(&c, OTHER, NULL, 0), 0);
    assert_int_equal(config_load_string(&before, OTHER, NULL, 0), 0);
    char *unix_path = c.listen_unix;
    char err[CONFIG_ERR_MAX] = "";
    const char *bad =
        "{\"listen\": {\"unix\": \"/x\", \"tcp\": \"127.0.0.2:1\"}, \"intern\": \"none\","
        " \"gc\": {\"threshold\": 1, \"slice_us\": 1}}";
    assert_int_equal(config_load_string(&c, bad, err, sizeof err), HE_VALUE);
    assert_string_equal(err, "config: gc.slice_us: 1 is out of range (10..1000000)");
    assert_ptr_equal(c.listen_unix, unix_path);
    assert_same_config(&c, &before);
    config_free(&c);
    config_free(&before);
}

static void runtime_keys_are_gc_limits_and_log_level(void **state)
{
    (void)state;
    const char *yes[] = {"gc.enabled",
                         "gc.threshold",
                         "gc.heap_fraction",
                         "gc.interval_ms",
                         "gc.slice_us",
                         "limits.max_clients",
                         "limits.max_depth",
                         "limits.max_objects",
                         "limits.max_output_bytes",
                         "limits.max_frames",
                         "log.level",
                         "limits.max_memory_bytes",
                         "limits.max_message_bytes"};
    const char *no[] = {"listen.unix",
                        "listen.unix_mode",
                        "listen.tcp",
                        "auth.token_file",
                        "intern",
                        "persistence.path",
                        "gc",
                        "nope",
                        "",
                        "persistence.interval_s"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        assert_true(config_runtime_key(yes[i]));
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(config_runtime_key(no[i]));
}

static void set_changes_runtime_keys_only(void **state)
{
    (void)state;
    heapd_config c;
    config_defaults(&c);
    char err[CONFIG_ERR_MAX] = "";
    cJSON *n = cJSON_CreateNumber(1234);
    assert_int_equal(config_set_value(&c, "gc.threshold", n, err, sizeof err), 0);
    assert_int_equal(c.gc.threshold[0], 1234);
    cJSON *s = cJSON_CreateString("/tmp/other");
    assert_int_equal(config_set_value(&c, "listen.unix", s, err, sizeof err), HE_VALUE);
    assert_string_equal(err, "config: listen.unix cannot change at run time");
    assert_null(c.listen_unix);
    assert_int_equal(config_set_value(&c, "gc.treshold", n, err, sizeof err), HE_KEY);
    assert_string_equal(err, "config: unknown key \"gc.treshold\"");
    assert_int_equal(config_set_value(&c, "gc", n, err, sizeof err), HE_KEY);
    /* the same checks as a load, and nothing changes on error */
    assert_int_equal(config_set_value(&c, "gc.threshold", s, err, sizeof err), HE_TYPE);
    assert_string_equal(
        err,
        "config: gc.threshold: expected a list of 1 to 3 non-negative integers (or one integer)");
    assert_int_equal(config_set_value(&c, "gc.threshold", NULL, err, sizeof err), HE_TYPE);
    cJSON *big = cJSON_CreateNumber(20000);
    assert_int_equal(config_set_value(&c, "limits.max_depth", big, err, sizeof err), HE_VALUE);
    assert_string_equal(err, "config: limits.max_depth: 20000 is out of range (1..10000)");
    assert_int_equal(c.max_depth, 64);
    assert_int_equal(c.gc.threshold[0], 1234);
    cJSON *lvl = cJSON_CreateString("warning");
    assert_int_equal(config_set_value(&c, "log.level", lvl, err, sizeof err), 0);
    assert_int_equal(c.log_level, 4);
    cJSON_Delete(n);
    cJSON_Delete(s);
    cJSON_Delete(big);
    cJSON_Delete(lvl);
    config_free(&c);
}

/* Integers from the wire are exact both ways: config_json_uint's raw text
 * past 2^53 is quoted exactly when refused, never as "1.84467e+19", and
 * the largest setting comes back as the same integer. */
static void integers_are_exact_both_ways(void **state)
{
    (void)state;
    heapd_config c;
    char err[CONFIG_ERR_MAX] = "";
    config_defaults(&c);
    cJSON *v = config_json_uint(UINT64_MAX);
    assert_int_equal(config_set_value(&c, "limits.max_objects", v, err, sizeof err), HE_VALUE);
    assert_string_equal(err, "config: limits.max_objects: 18446744073709551615 is out of range "
                             "(0..9007199254740991)");
    cJSON_Delete(v);
    v = config_json_uint(((uint64_t)1 << 53) + 1);
    assert_int_equal(config_set_value(&c, "limits.max_memory_bytes", v, err, sizeof err), HE_VALUE);
    assert_string_equal(err, "config: limits.max_memory_bytes: 9007199254740993 is out of range "
                             "(0..9007199254740991)");
    cJSON_Delete(v);
    v = config_json_uint(UINT64_MAX);
    assert_int_equal(config_set_value(&c, "gc.heap_fraction", v, err, sizeof err), HE_VALUE);
    assert_string_equal(err, "config: gc.heap_fraction: 18446744073709551615 is out of range "
                             "(0..10)");
    cJSON_Delete(v);
    v = config_json_int(INT64_MIN);
    assert_int_equal(config_set_value(&c, "limits.max_objects", v, err, sizeof err), HE_TYPE);
    assert_string_equal(err, "config: limits.max_objects: expected a non-negative integer");
    cJSON_Delete(v);
    assert_true(c.max_objects == 0 && c.max_memory_bytes == 0);
    v = config_json_uint(((uint64_t)1 << 53) - 1);
    assert_int_equal(config_set_value(&c, "limits.max_objects", v, err, sizeof err), 0);
    cJSON_Delete(v);
    assert_true(c.max_objects == ((uint64_t)1 << 53) - 1);
    v = config_get_value(&c, "limits.max_objects");
    char *text = json_text(v);
    assert_string_equal(text, "9007199254740991");
    cJSON_free(text);
    cJSON_Delete(v);
    config_free(&c);
}

static void get_returns_keys_and_sections(void **state)
{
    (void)state;
    heapd_config c;
    config_defaults(&c);
    assert_int_equal(config_load_string(&c, OTHER, NULL, 0), 0);
    cJSON *v = config_get_value(&c, "gc.threshold");
    assert_true(cJSON_IsArray(v) && cJSON_GetArrayItem(v, 0)->valuedouble == 5);
    cJSON_Delete(v);
    v = config_get_value(&c, "intern");
    assert_string_equal(cJSON_GetStringValue(v), "all");
    cJSON_Delete(v);
    v = config_get_value(&c, "log.level");
    assert_string_equal(cJSON_GetStringValue(v), "debug");
    cJSON_Delete(v);
    v = config_get_value(&c, "gc");
    char *text = json_text(v);
    assert_string_equal(text, "{\"enabled\":false,\"generational\":true,\"threshold\":[5,10,10],"
                              "\"heap_fraction\":1.5,\"interval_ms\":20,\"slice_us\":300}");
    cJSON_free(text);
    cJSON_Delete(v);
    assert_null(config_get_value(&c, "gc.nope"));
    assert_null(config_get_value(&c, "gc."));
    assert_null(config_get_value(&c, ""));
    config_free(&c);
    config_defaults(&c);
    v = config_get_value(&c, "listen.tcp");
    assert_true(cJSON_IsNull(v));
    cJSON_Delete(v);
    config_free(&c);
}

/* to_json -> text -> load gives the same config, for defaults and others. */
static void to_json_round_trips(void **state)
{
    (void)state;
    const char *inputs[] = {"{}", OTHER,
                            "{\"limits\": {\"max_objects\": 9007199254740991,"
                            " \"max_output_bytes\": 1099511627776}}"};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        heapd_config a, b;
        config_defaults(&a);
        config_defaults(&b);
        assert_int_equal(config_load_string(&a, inputs[i], NULL, 0), 0);
        cJSON *j = config_to_json(&a);
        char *text = cJSON_Print(j);
        char err[CONFIG_ERR_MAX] = "";
        if (config_load_string(&b, text, err, sizeof err) != 0)
            fail_msg("%s: %s", text, err);
        assert_same_config(&a, &b);
        assert_true(a.max_objects == b.max_objects);
        cJSON_free(text);
        cJSON_Delete(j);
        config_free(&a);
        config_free(&b);
    }
}

static void reload_changes_runtime_keys_only(void **state)
{
    (void)state;
    heapd_config c;
    config_defaults(&c);
    assert_int_equal(config_load_file(&c, EXAMPLE, NULL, 0), 0);
    char path[] = "/tmp/heapd-test-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, OTHER);
    char err[CONFIG_ERR_MAX] = "";
    assert_int_equal(config_reload_runtime(&c, path, err, sizeof err), 0);
    /* run-time settings come from the file */
    assert_false(c.gc.enabled);
    assert_int_equal(c.gc.threshold[0], 5);
    assert_true(c.gc.heap_fraction == 1.5);
    assert_int_equal(c.gc.interval_ms, 20);
    assert_int_equal(c.gc.slice_us, 300);
    assert_int_equal(c.max_clients, 7);
    assert_int_equal(c.max_depth, 9);
    assert_int_equal(c.max_output_bytes, 8192);
    assert_int_equal(c.log_level, 7);
    /* start-up settings and the source stay */
    assert_null(c.listen_unix);
    assert_int_equal(c.listen_unix_mode, 0660);
    assert_null(c.listen_tcp);
    assert_null(c.auth_token_file);
    assert_int_equal(c.intern, INTERN_PYTHON);
    assert_null(c.persistence_path);
    assert_int_equal(c.persistence_interval_s, 0);
    assert_string_equal(c.source, EXAMPLE);

    /* an invalid file changes nothing */
    heapd_config before;
    config_defaults(&before);
    assert_int_equal(config_reload_runtime(&before, path, NULL, 0), 0);
    write_file(path, "{\"gc\": {\"threshold\": 9}, \"limits\": {\"max_depth\": 0}}");
    assert_int_equal(config_reload_runtime(&c, path, err, sizeof err), HE_VALUE);
    assert_string_equal(err, "config: limits.max_depth: 0 is out of range (1..10000)");
    assert_same_config(&c, &before);
    unlink(path);
    assert_int_equal(config_reload_runtime(&c, path, err, sizeof err), HE_RUNTIME);
    assert_same_config(&c, &before);
    config_free(&before);
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_the_spec),
        cmocka_unit_test(collector_defaults_are_the_config_tables),
        cmocka_unit_test(example_file_is_the_defaults),
        cmocka_unit_test(to_json_prints_like_the_example),
        cmocka_unit_test(empty_object_gives_defaults),
        cmocka_unit_test(every_setting_is_applied),
        cmocka_unit_test(unknown_keys_are_named),
        cmocka_unit_test(wrong_types_are_named),
        cmocka_unit_test(out_of_range_values_are_named),
        cmocka_unit_test(bad_modes_are_refused),
        cmocka_unit_test(bad_names_are_refused),
        cmocka_unit_test(tcp_addresses_are_checked),
        cmocka_unit_test(tcp_address_parses_to_a_sockaddr),
        cmocka_unit_test(options_are_checked_like_the_file),
        cmocka_unit_test(null_is_allowed_only_where_the_default_is_null),
        cmocka_unit_test(sections_must_be_objects),
        cmocka_unit_test(syntax_errors_give_the_place),
        cmocka_unit_test(unreadable_files_are_named),
        cmocka_unit_test(failed_load_changes_nothing),
        cmocka_unit_test(runtime_keys_are_gc_limits_and_log_level),
        cmocka_unit_test(set_changes_runtime_keys_only),
        cmocka_unit_test(integers_are_exact_both_ways),
        cmocka_unit_test(get_returns_keys_and_sections),
        cmocka_unit_test(to_json_round_trips),
        cmocka_unit_test(reload_changes_runtime_keys_only),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
