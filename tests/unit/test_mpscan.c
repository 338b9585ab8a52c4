/* The validating msgpack scan run before msgpack-c (proto/mpscan.h). */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

#include "mpscan.h"
#include "wire.h"

#include <string.h>

#define B(...) ((const char[]){__VA_ARGS__}), sizeof((const char[]){__VA_ARGS__})

/* Scans a complete buffer (limit = len); returns the result and, on OK,
 * checks that msgpack-c agrees on the object's size. */
static enum mpscan_result scan_all(const char *buf, size_t len, size_t *used)
{
    size_t u = 0;
    enum mpscan_result r = mpscan(buf, len, len, WIRE_MSGPACK_MAX_DEPTH, &u);
    if (r == MPSCAN_OK) {
        msgpack_zone zone;
        msgpack_zone_init(&zone, 256);
        msgpack_object obj;
        size_t off = 0;
        int rc = msgpack_unpack(buf, len, &off, &zone, &obj);
        msgpack_zone_destroy(&zone);
        assert_true(rc == MSGPACK_UNPACK_SUCCESS || rc == MSGPACK_UNPACK_EXTRA_BYTES);
        assert_int_equal(off, u);
    }
    if (used)
        *used = u;
    return r;
}

static void assert_ok_size(const char *buf, size_t len, size_t want)
{
    size_t used = 0;
    assert_int_equal(scan_all(buf, len, &used), MPSCAN_OK);
    assert_int_equal(used, want);
}

/* Every proper prefix of a complete object is incomplete while the limit
 * leaves room for the rest. */
static void assert_prefixes_incomplete(const char *buf, size_t len)
{
    for (size_t k = 0; k < len; k++) {
        size_t used = 12345;
        assert_int_equal(mpscan(buf, k, len + 100, 32, &used), MPSCAN_INCOMPLETE);
        assert_int_equal(used, 12345); /* untouched unless OK */
    }
}

static void scalars_scan_to_their_exact_size(void **state)
{
    (void)state;
    assert_ok_size(B(0x05), 1);
    assert_ok_size(B((char)0xff), 1); /* negative fixint */
    assert_ok_size(B((char)0xc0), 1);
    assert_ok_size(B((char)0xc2), 1);
    assert_ok_size(B((char)0xc3), 1);
    assert_ok_size(B((char)0xcc, 1), 2);
    assert_ok_size(B((char)0xcd, 1, 2), 3);
    assert_ok_size(B((char)0xce, 1, 2, 3, 4), 5);
    assert_ok_size(B((char)0xcf, 1, 2, 3, 4, 5, 6, 7, 8), 9);
    assert_ok_size(B((char)0xd0, 1), 2);
    assert_ok_size(B((char)0xd3, 1, 2, 3, 4, 5, 6, 7, 8), 9);
    assert_ok_size(B((char)0xca, 0, 0, 0, 0), 5);
    assert_ok_size(B((char)0xcb, 0, 0, 0, 0, 0, 0, 0, 0), 9);
}

static void strings_and_bins_skip_their_payload(void **state)
{
    (void)state;
    assert_ok_size(B((char)0xa3, 'a', 'b', 'c'), 4);
    assert_ok_size(B((char)0xa0), 1);
    assert_ok_size(B((char)0xd9, 3, 'a', 'b', 'c'), 5);
    assert_ok_size(B((char)0xda, 0, 2, 'a', 'b'), 5);
    assert_ok_size(B((char)0xdb, 0, 0, 0, 1, 'a'), 6);
    assert_ok_size(B((char)0xc4, 2, (char)0xc1, (char)0xdd), 4); /* payload is not parsed */
    assert_ok_size(B((char)0xc5, 0, 1, 0), 4);
    assert_ok_size(B((char)0xc6, 0, 0, 0, 0), 5);
}

static void containers_scan_to_their_exact_size(void **state)
{
    (void)state;
    /* [1, [2, 3], "x", {"a": nil}] */
    assert_ok_size(B((char)0x94, 1, (char)0x92, 2, 3, (char)0xa1, 'x', (char)0x81, (char)0xa1, 'a',
                     (char)0xc0),
                   11);
    assert_ok_size(B((char)0x90), 1);
    assert_ok_size(B((char)0x80), 1);
    assert_ok_size(B((char)0xdc, 0, 2, 1, 2), 5);
    assert_ok_size(B((char)0xdd, 0, 0, 0, 1, 7), 6);
    assert_ok_size(B((char)0xde, 0, 1, 1, 2), 5);
    assert_ok_size(B((char)0xdf, 0, 0, 0, 1, 1, 2), 7);
}

static void ext_and_fixext_payloads_are_skipped(void **state)
{
    (void)state;
    /* payload bytes that would be a huge array header if parsed */
    assert_ok_size(B((char)0xd4, 1, (char)0xdd), 3);
    assert_ok_size(B((char)0xd5, 1, (char)0xdd, (char)0xff), 4);
    assert_ok_size(B((char)0xd6, 2, (char)0xdd, (char)0xff, (char)0xff, (char)0xff), 6);
    assert_ok_size(B((char)0xd7, 1, 0, 0, 0, 0, 0, 0, 0, 42), 10);
    char fix16[18] = {(char)0xd8, 3};
    memset(fix16 + 2, 0xc1, 16);
    assert_ok_size(fix16, sizeof fix16, 18);
    assert_ok_size(B((char)0xc7, 3, 4, 'a', 'b', 'c'), 6);
    assert_ok_size(B((char)0xc7, 0, 4), 3);
    assert_ok_size(B((char)0xc8, 0, 2, 2, (char)0x91, 1), 6);
    assert_ok_size(B((char)0xc9, 0, 0, 0, 1, 2, (char)0x90), 7);
    /* an ext inside an array: the element after it is still counted */
    assert_ok_size(B((char)0x92, (char)0xd4, 1, (char)0xc1, 7), 5);
}

static void truncated_objects_are_incomplete(void **state)
{
    (void)state;
    assert_prefixes_incomplete(B((char)0xcf, 1, 2, 3, 4, 5, 6, 7, 8));
    assert_prefixes_incomplete(B((char)0xd9, 3, 'a', 'b', 'c'));
    assert_prefixes_incomplete(B((char)0xdb, 0, 0, 0, 2, 'a', 'b'));
    assert_prefixes_incomplete(B((char)0x93, 1, (char)0x91, 2, 3));
    assert_prefixes_incomplete(B((char)0xdf, 0, 0, 0, 1, (char)0xa1, 'k', 5));
    assert_prefixes_incomplete(B((char)0xc9, 0, 0, 0, 2, 1, 'x', 'y'));
    assert_prefixes_incomplete(B((char)0xd8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
}

static void huge_array_header_is_too_big(void **state)
{
    (void)state;
    size_t used;
    assert_int_equal(
        mpscan(B((char)0xdd, (char)0xff, (char)0xff, (char)0xff, (char)0xff), 64, 32, &used),
        MPSCAN_TOO_BIG);
    assert_int_equal(
        mpscan(B((char)0xdf, (char)0xff, (char)0xff, (char)0xff, (char)0xff), 64, 32, &used),
        MPSCAN_TOO_BIG);
    /* 16 elements cannot fit in 10 bytes either */
    assert_int_equal(mpscan(B((char)0xdc, 0, 16), 10, 32, &used), MPSCAN_TOO_BIG);
    /* while the same header with room under the limit is just incomplete */
    assert_int_equal(mpscan(B((char)0xdc, 0, 16), 64, 32, &used), MPSCAN_INCOMPLETE);
}

static void huge_str_bin_and_ext_are_too_big(void **state)
{
    (void)state;
    size_t used;
    size_t mib = 1 << 20;
    assert_int_equal(
        mpscan(B((char)0xdb, (char)0xff, (char)0xff, (char)0xff, (char)0xff), mib, 32, &used),
        MPSCAN_TOO_BIG);
    assert_int_equal(
        mpscan(B((char)0xc6, (char)0xff, (char)0xff, (char)0xff, (char)0xff), 64, 32, &used),
        MPSCAN_TOO_BIG);
    assert_int_equal(
        mpscan(B((char)0xc9, (char)0xff, (char)0xff, (char)0xff, (char)0xff, 1), 64, 32, &used),
        MPSCAN_TOO_BIG);
}

static void complete_object_over_the_limit_is_too_big(void **state)
{
    (void)state;
    size_t used;
    const char *bin = "\xc4\x08"
                      "abcdefgh";
    assert_int_equal(mpscan(bin, 10, 10, 32, &used), MPSCAN_OK);
    assert_int_equal(mpscan(bin, 10, 9, 32, &used), MPSCAN_TOO_BIG);
    /* a stream that reached the limit without completing the object */
    assert_int_equal(mpscan(B((char)0x92, 1), 2, 32, &used), MPSCAN_TOO_BIG);
}

/* n nested one-element arrays around 1: [[...[1]...]] */
static size_t nested(char *buf, unsigned n)
{
    memset(buf, 0x91, n);
    buf[n] = 1;
    return n + 1;
}

static void nesting_up_to_max_depth_is_ok(void **state)
{
    (void)state;
    char buf[80];
    size_t len = nested(buf, 32), used;
    assert_int_equal(scan_all(buf, len, &used), MPSCAN_OK);
    assert_int_equal(used, 33);
    assert_int_equal(mpscan(buf, len, len, 40, &used), MPSCAN_OK);
}

static void nesting_beyond_max_depth_is_too_deep(void **state)
{
    (void)state;
    char buf[80];
    size_t len = nested(buf, 33), used;
    assert_int_equal(mpscan(buf, len, len, 32, &used), MPSCAN_TOO_DEEP);
    assert_int_equal(mpscan(buf, len, len, 33, &used), MPSCAN_OK);
    len = nested(buf, 3);
    assert_int_equal(mpscan(buf, len, len, 2, &used), MPSCAN_TOO_DEEP);
}

static void max_depth_is_capped_at_64(void **state)
{
    (void)state;
    char buf[80];
    size_t used, len = nested(buf, 64);
    assert_int_equal(mpscan(buf, len, len, 1000, &used), MPSCAN_OK);
    len = nested(buf, 65);
    assert_int_equal(mpscan(buf, len, len, 1000, &used), MPSCAN_TOO_DEEP);
}

/* msgpack-c refuses an empty container one level too deep as well, so the
 * scan must count it, or it would pass what msgpack-c then rejects. */
static void empty_container_one_level_too_deep_is_too_deep(void **state)
{
    (void)state;
    char buf[80];
    memset(buf, 0x91, 32);
    buf[32] = (char)0x90; /* 32 one-element arrays around [] */
    size_t used;
    assert_int_equal(mpscan(buf, 33, 33, 32, &used), MPSCAN_TOO_DEEP);
    buf[32] = (char)0x80; /* ... or around {} */
    assert_int_equal(mpscan(buf, 33, 33, 32, &used), MPSCAN_TOO_DEEP);

    msgpack_zone zone;
    msgpack_zone_init(&zone, 256);
    msgpack_object obj;
    size_t off = 0;
    assert_int_not_equal(msgpack_unpack(buf, 33, &off, &zone, &obj), MSGPACK_UNPACK_SUCCESS);
    msgpack_zone_destroy(&zone);

    /* one level less is fine for both */
    assert_int_equal(scan_all(buf + 1, 32, &used), MPSCAN_OK);
}

static void reserved_byte_is_invalid(void **state)
{
    (void)state;
    size_t used;
    assert_int_equal(mpscan(B((char)0xc1), 1, 32, &used), MPSCAN_INVALID);
    assert_int_equal(mpscan(B((char)0x92, 1, (char)0xc1), 3, 32, &used), MPSCAN_INVALID);
    assert_int_equal(mpscan(B((char)0x81, (char)0xc1, 1), 3, 32, &used), MPSCAN_INVALID);
}

static void back_to_back_objects_report_the_first(void **state)
{
    (void)state;
    size_t used;
    /* [1, 2] then "ab" */
    const char two[] = {(char)0x92, 1, 2, (char)0xa2, 'a', 'b'};
    assert_int_equal(mpscan(two, sizeof two, sizeof two, 32, &used), MPSCAN_OK);
    assert_int_equal(used, 3);
    assert_int_equal(scan_all(two, sizeof two, &used), MPSCAN_OK);
    assert_int_equal(used, 3);
    const char ints[] = {7, 8};
    assert_int_equal(mpscan(ints, 2, 2, 32, &used), MPSCAN_OK);
    assert_int_equal(used, 1);
}

static void packer_output_scans_as_msgpack_c_reads_it(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 6);
    msgpack_pack_int64(&pk, INT64_MIN);
    msgpack_pack_double(&pk, 2.5);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str(&pk, 300);
    char text[300];
    memset(text, 'z', sizeof text);
    msgpack_pack_str_body(&pk, text, sizeof text);
    msgpack_pack_array(&pk, 0);
    msgpack_pack_bin(&pk, 70000);
    for (int i = 0; i < 7; i++)
        msgpack_pack_bin_body(&pk, (char[10000]){0}, 10000);
    msgpack_pack_ext(&pk, 8, EXT_REF);
    msgpack_pack_ext_body(&pk, "\0\0\0\0\0\0\0\1", 8);
    msgpack_pack_nil(&pk);
    size_t used;
    assert_int_equal(scan_all(sb.data, sb.size, &used), MPSCAN_OK);
    assert_int_equal(used, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

/* Fed a byte at a time, a resumed scan finds the same end as one scan of
 * the whole message, and never reports a partial item as done. */
static void resumed_scan_matches_whole_scan(void **state)
{
    (void)state;
    /* [1, "abc", {"k": [nil, true]}, bin8(3), ext8] */
    static const unsigned char msg[] = {0x95, 0x01, 0xa3, 'a',  'b',  'c',  0x81, 0xa1,
                                        'k',  0x92, 0xc0, 0xc3, 0xc4, 0x03, 1,    2,
                                        3,    0xc7, 0x02, 0x05, 9,    9};
    size_t whole = 0, used = 0;
    assert_int_equal(mpscan((const char *)msg, sizeof msg, 1024, 32, &whole), MPSCAN_OK);
    assert_int_equal(whole, sizeof msg);
    mpscan_state st;
    mpscan_init(&st);
    for (size_t have = 1; have < sizeof msg; have++)
        assert_int_equal(mpscan_resume(&st, (const char *)msg, have, 1024, 32, &used),
                         MPSCAN_INCOMPLETE);
    assert_int_equal(mpscan_resume(&st, (const char *)msg, sizeof msg, 1024, 32, &used), MPSCAN_OK);
    assert_int_equal(used, whole);
}

/* A big str arriving in chunks: each resume starts at the str's head, so
 * the work per read does not grow with what came before. */
static void resumed_scan_restarts_at_the_unfinished_item(void **state)
{
    (void)state;
    size_t n = 1 << 20;
    unsigned char *msg = malloc(n + 7);
    msg[0] = 0x91, msg[1] = 0xdb, msg[2] = 0, msg[3] = 0x10, msg[4] = 0, msg[5] = 0;
    memset(msg + 6, 'x', n);
    mpscan_state st;
    mpscan_init(&st);
    size_t used = 0;
    assert_int_equal(mpscan_resume(&st, (const char *)msg, 4096, n + 64, 32, &used),
                     MPSCAN_INCOMPLETE);
    assert_int_equal(st.pos, 1); /* the array's head is done; the str starts at 1 */
    assert_int_equal(mpscan_resume(&st, (const char *)msg, n + 6, n + 64, 32, &used), MPSCAN_OK);
    assert_int_equal(used, n + 6);
    free(msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resumed_scan_matches_whole_scan),
        cmocka_unit_test(resumed_scan_restarts_at_the_unfinished_item),
        cmocka_unit_test(scalars_scan_to_their_exact_size),
        cmocka_unit_test(strings_and_bins_skip_their_payload),
        cmocka_unit_test(containers_scan_to_their_exact_size),
        cmocka_unit_test(ext_and_fixext_payloads_are_skipped),
        cmocka_unit_test(truncated_objects_are_incomplete),
        cmocka_unit_test(huge_array_header_is_too_big),
        cmocka_unit_test(huge_str_bin_and_ext_are_too_big),
        cmocka_unit_test(complete_object_over_the_limit_is_too_big),
        cmocka_unit_test(nesting_up_to_max_depth_is_ok),
        cmocka_unit_test(nesting_beyond_max_depth_is_too_deep),
        cmocka_unit_test(max_depth_is_capped_at_64),
        cmocka_unit_test(empty_container_one_level_too_deep_is_too_deep),
        cmocka_unit_test(reserved_byte_is_invalid),
        cmocka_unit_test(back_to_back_objects_report_the_first),
        cmocka_unit_test(packer_output_scans_as_msgpack_c_reads_it),
    };
    return cmocka_run_group_tests_name("mpscan", tests, NULL, NULL);
}
