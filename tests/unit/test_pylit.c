/* Python literal syntax -> msgpack with heapd's ext types (proto/pylit.h). */
#include "testlib.h"

#include "pylit.h"
#include "wire.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

static msgpack_zone *zone;

static int setup(void **state)
{
    (void)state;
    zone = msgpack_zone_new(4096);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    msgpack_zone_free(zone);
    return 0;
}

/* Unpacks exactly one object from buf[0..len) into the zone. */
static msgpack_object unpack(const char *buf, size_t len)
{
    char *copy = msgpack_zone_malloc(zone, len ? len : 1);
    memcpy(copy, buf, len);
    size_t off = 0;
    msgpack_object obj;
    assert_int_equal(msgpack_unpack(copy, len, &off, zone, &obj), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, len);
    return obj;
}

/* Parses text, which must succeed, and unpacks the result. */
static msgpack_object parse(const char *text)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pylit_error err = {0};
    if (pylit_parse(text, strlen(text), &sb, &err))
        fail_msg("parsing %s: column %zu: %s", text, err.col, err.msg);
    msgpack_object obj = unpack(sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return obj;
}

/* The array inside an ext 2 (tuple) or ext 3 (set) payload. */
static msgpack_object_array ext_items(msgpack_object o, int8_t type)
{
    assert_int_equal(o.type, MSGPACK_OBJECT_EXT);
    assert_int_equal(o.via.ext.type, type);
    msgpack_object inner = unpack(o.via.ext.ptr, o.via.ext.size);
    assert_int_equal(inner.type, MSGPACK_OBJECT_ARRAY);
    return inner.via.array;
}

static void assert_uint(msgpack_object o, uint64_t v)
{
    assert_int_equal(o.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal(o.via.u64, v);
}

static void assert_neg(msgpack_object o, int64_t v)
{
    assert_int_equal(o.type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
    assert_true(o.via.i64 == v);
}

static void assert_str(msgpack_object o, const char *bytes, size_t len)
{
    assert_int_equal(o.type, MSGPACK_OBJECT_STR);
    assert_int_equal(o.via.str.size, len);
    assert_memory_equal(o.via.str.ptr, bytes, len);
}

static double as_double(msgpack_object o)
{
    assert_int_equal(o.type, MSGPACK_OBJECT_FLOAT64);
    return o.via.f64;
}

/* Parsing text fails at the 1-based column col, leaving out unchanged. */
static void assert_error_at(const char *text, size_t col)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_sbuffer_write(&sb, "x", 1);
    pylit_error err = {0};
    if (pylit_parse(text, strlen(text), &sb, &err) == 0)
        fail_msg("%s parsed but should not have", text);
    if (err.col != col)
        fail_msg("%s: error at column %zu (%s), want %zu", text, err.col, err.msg, col);
    assert_true(err.msg[0] != '\0');
    assert_int_equal(sb.size, 1);
    msgpack_sbuffer_destroy(&sb);
}

/* Parsing text fails with the column within [lo, hi]. */
static void assert_error_in(const char *text, size_t lo, size_t hi)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pylit_error err = {0};
    assert_int_equal(pylit_parse(text, strlen(text), &sb, &err), -1);
    assert_in_range(err.col, lo, hi);
    assert_int_equal(sb.size, 0);
    msgpack_sbuffer_destroy(&sb);
}

static void none_true_false(void **state)
{
    (void)state;
    assert_int_equal(parse("None").type, MSGPACK_OBJECT_NIL);
    msgpack_object t = parse("True"), f = parse(" False ");
    assert_int_equal(t.type, MSGPACK_OBJECT_BOOLEAN);
    assert_true(t.via.boolean);
    assert_int_equal(f.type, MSGPACK_OBJECT_BOOLEAN);
    assert_false(f.via.boolean);
}

static void keywords_match_whole_words_only(void **state)
{
    (void)state;
    assert_error_at("Nonesuch", 1);
    assert_error_at("true", 1);
    assert_error_at("Truex", 1);
}

static void ints_of_every_range(void **state)
{
    (void)state;
    assert_uint(parse("0"), 0);
    assert_uint(parse("26"), 26);
    assert_uint(parse("+7"), 7);
    assert_uint(parse("0x1F"), 31);
    assert_neg(parse("-1"), -1);
    assert_neg(parse("-300"), -300);
    assert_uint(parse("18446744073709551615"), UINT64_MAX);
    assert_neg(parse("-9223372036854775808"), INT64_MIN);
}

static void ints_beyond_64_bits_are_errors(void **state)
{
    (void)state;
    assert_error_at("18446744073709551616", 1);
    assert_error_at("-9223372036854775809", 1);
    assert_error_at("[1, 99999999999999999999]", 5);
}

/* Past 64 bits is valid Python, so the error says overflow, and a prefix
 * parse still reports the whole value's extent (heapctl splits lines on it). */
static void overflow_is_flagged_with_the_extent(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pylit_error err = {0};
    size_t used = 0;
    const char *text = "[1, 99999999999999999999, 2] next";
    assert_int_equal(pylit_parse_prefix(text, strlen(text), &used, &sb, &err), -1);
    assert_true(err.overflow);
    assert_int_equal(err.col, 5);
    assert_int_equal(used, strlen("[1, 99999999999999999999, 2] "));
    assert_int_equal(sb.size, 0);
    assert_int_equal(pylit_parse("[1, 2", 5, &sb, &err), -1);
    assert_false(err.overflow);
    msgpack_sbuffer_destroy(&sb);
}

static void int_prefixes_and_leading_zeros_as_python(void **state)
{
    (void)state;
    assert_uint(parse("0x1F"), 31);
    assert_uint(parse("0o17"), 15);
    assert_uint(parse("0b101"), 5);
    assert_neg(parse("-0x10"), -16);
    assert_uint(parse("0"), 0);
    assert_uint(parse("000"), 0);
    assert_neg(parse("-9223372036854775808"), INT64_MIN);
    assert_error_at("010", 1);
    assert_error_at("[007]", 2);
    assert_error_at("0x", 1);
    assert_error_at("0x-1", 1);
    assert_error_at("0b2", 1);
}

static void floats_including_inf_and_nan(void **state)
{
    (void)state;
    assert_true(as_double(parse("2.5")) == 2.5);
    assert_true(as_double(parse("-0.5")) == -0.5);
    assert_true(as_double(parse("1e9")) == 1e9);
    assert_true(as_double(parse("1.0")) == 1.0);
    double nz = as_double(parse("-0.0"));
    assert_true(nz == 0.0 && signbit(nz));
    double inf = as_double(parse("inf")), ninf = as_double(parse("-inf"));
    assert_true(isinf(inf) && inf > 0);
    assert_true(isinf(ninf) && ninf < 0);
    assert_true(isnan(as_double(parse("nan"))));
}

static void malformed_numbers_are_errors(void **state)
{
    (void)state;
    assert_error_at("1.2.3", 1);
    assert_error_at("[0, 1e]", 5);
    assert_error_at("-", 1);
    assert_error_at("infinity", 1);
}

static void strs_in_either_quote(void **state)
{
    (void)state;
    assert_str(parse("'abc'"), "abc", 3);
    assert_str(parse("\"abc\""), "abc", 3);
    assert_str(parse("''"), "", 0);
    assert_str(parse("\"it's\""), "it's", 4);
    assert_str(parse("'say \"hi\"'"), "say \"hi\"", 8);
}

static void str_escapes_become_utf8(void **state)
{
    (void)state;
    assert_str(parse("'a\\nb'"), "a\nb", 3);
    assert_str(parse("'\\t\\r\\\\\\'\\\"'"), "\t\r\\'\"", 5);
    assert_str(parse("'\\x41'"), "A", 1);
    assert_str(parse("'\\u00e9'"), "\xc3\xa9", 2);
    assert_str(parse("'\\u20AC'"), "\xe2\x82\xac", 3);
    assert_str(parse("'\\U0001F600'"), "\xf0\x9f\x98\x80", 4);
    assert_str(parse("'\\0'"), "\0", 1);
    assert_str(parse("'caf\xc3\xa9'"), "caf\xc3\xa9", 5); /* raw UTF-8 passes through */
}

static void bad_escapes_are_errors(void **state)
{
    (void)state;
    assert_error_at("'\\q'", 3); /* the q */
    assert_error_at("'\\x4'", 5);
    assert_error_in("'\\uD800'", 2, 8);
    assert_error_in("'\\U00110000'", 2, 12);
}

static void strs_must_be_valid_utf8(void **state)
{
    (void)state;
    msgpack_object s = parse("'\xc3\xa9\xf0\x9f\x98\x80'"); /* é and U+1F600, raw */
    assert_int_equal(s.type, MSGPACK_OBJECT_STR);
    assert_int_equal(s.via.str.size, 6);
    assert_error_at("'a\xff'", 3);            /* not a lead byte */
    assert_error_at("'\xc3'", 2);             /* cut short by the quote */
    assert_error_at("'\xc0\x80'", 2);         /* overlong NUL */
    assert_error_at("'ab\xed\xa0\x80'", 4);   /* a surrogate */
    assert_error_at("'\xf4\x90\x80\x80'", 2); /* above U+10FFFF */
}

static void bytes_with_escapes(void **state)
{
    (void)state;
    msgpack_object b = parse("b'\\x00\\xff'");
    assert_int_equal(b.type, MSGPACK_OBJECT_BIN);
    assert_int_equal(b.via.bin.size, 2);
    assert_memory_equal(b.via.bin.ptr, "\x00\xff", 2);
    b = parse("b\"ab\\n\"");
    assert_int_equal(b.type, MSGPACK_OBJECT_BIN);
    assert_memory_equal(b.via.bin.ptr, "ab\n", 3);
    assert_int_equal(parse("b''").via.bin.size, 0);
}

static void one_item_tuple_is_ext_2(void **state)
{
    (void)state;
    msgpack_object_array a = ext_items(parse("(1,)"), EXT_TUPLE);
    assert_int_equal(a.size, 1);
    assert_uint(a.ptr[0], 1);
    a = ext_items(parse("(1, 'x', None)"), EXT_TUPLE);
    assert_int_equal(a.size, 3);
    assert_str(a.ptr[1], "x", 1);
    assert_int_equal(a.ptr[2].type, MSGPACK_OBJECT_NIL);
}

static void parenthesized_value_is_not_a_tuple(void **state)
{
    (void)state;
    assert_uint(parse("(1)"), 1);
    assert_uint(parse("( ( 5 ) )"), 5);
    assert_int_equal(parse("([])").type, MSGPACK_OBJECT_ARRAY);
}

static void empty_tuple_is_ext_2_with_empty_array(void **state)
{
    (void)state;
    assert_int_equal(ext_items(parse("()"), EXT_TUPLE).size, 0);
    assert_int_equal(ext_items(parse("( )"), EXT_TUPLE).size, 0);
}

static void lists_and_dicts(void **state)
{
    (void)state;
    msgpack_object l = parse("[]");
    assert_int_equal(l.type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(l.via.array.size, 0);
    msgpack_object d = parse("{}");
    assert_int_equal(d.type, MSGPACK_OBJECT_MAP);
    assert_int_equal(d.via.map.size, 0);
    l = parse("[1, -2, 'x',]");
    assert_int_equal(l.via.array.size, 3);
    assert_neg(l.via.array.ptr[1], -2);
    d = parse("{'a': 1, 2: [3]}");
    assert_int_equal(d.type, MSGPACK_OBJECT_MAP);
    assert_int_equal(d.via.map.size, 2);
    assert_str(d.via.map.ptr[0].key, "a", 1);
    assert_uint(d.via.map.ptr[0].val, 1);
    assert_uint(d.via.map.ptr[1].key, 2);
    assert_int_equal(d.via.map.ptr[1].val.type, MSGPACK_OBJECT_ARRAY);
}

static void braces_without_colon_are_a_set(void **state)
{
    (void)state;
    msgpack_object_array a = ext_items(parse("{1, 2}"), EXT_SET);
    assert_int_equal(a.size, 2);
    assert_uint(a.ptr[0], 1);
    assert_uint(a.ptr[1], 2);
    a = ext_items(parse("{'only'}"), EXT_SET);
    assert_int_equal(a.size, 1);
}

static void set_call_is_the_empty_set(void **state)
{
    (void)state;
    assert_int_equal(ext_items(parse("set()"), EXT_SET).size, 0);
    assert_int_equal(ext_items(parse("set ( )"), EXT_SET).size, 0);
    assert_error_at("set(1)", 1);
}

static void nested_mixes(void **state)
{
    (void)state;
    msgpack_object o = parse("[(1, [2, {3: (4,)}]), {5, (6, 7)}, {'k': {8}}]");
    assert_int_equal(o.type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(o.via.array.size, 3);
    msgpack_object_array t = ext_items(o.via.array.ptr[0], EXT_TUPLE);
    assert_int_equal(t.size, 2);
    msgpack_object inner = t.ptr[1];
    assert_int_equal(inner.type, MSGPACK_OBJECT_ARRAY);
    msgpack_object d = inner.via.array.ptr[1];
    assert_int_equal(d.type, MSGPACK_OBJECT_MAP);
    assert_uint(d.via.map.ptr[0].key, 3);
    assert_uint(ext_items(d.via.map.ptr[0].val, EXT_TUPLE).ptr[0], 4);
    msgpack_object_array s = ext_items(o.via.array.ptr[1], EXT_SET);
    assert_int_equal(s.size, 2);
    assert_int_equal(ext_items(s.ptr[1], EXT_TUPLE).size, 2);
    msgpack_object m = o.via.array.ptr[2];
    assert_int_equal(ext_items(m.via.map.ptr[0].val, EXT_SET).size, 1);
}

static void deeply_nested_sets_parse_in_linear_time(void **state)
{
    (void)state;
    /* A brace decides dict or set from its first element; re-parsing that
     * element at each level would take 2^depth steps here. */
    char text[2 * 60 + 2];
    size_t n = 0;
    for (int i = 0; i < 60; i++)
        text[n++] = '{';
    text[n++] = '1';
    for (int i = 0; i < 60; i++)
        text[n++] = '}';
    text[n] = '\0';
    alarm(20); /* the exponential parse would run for ages: fail instead */
    msgpack_object o = parse(text);
    alarm(0);
    for (int i = 0; i < 59; i++) {
        msgpack_object_array a = ext_items(o, EXT_SET);
        assert_int_equal(a.size, 1);
        o = a.ptr[0];
    }
    assert_uint(ext_items(o, EXT_SET).ptr[0], 1);
}

static void name_is_ext_4(void **state)
{
    (void)state;
    msgpack_object o = parse("$my_name");
    assert_int_equal(o.type, MSGPACK_OBJECT_EXT);
    assert_int_equal(o.via.ext.type, EXT_NAME);
    assert_int_equal(o.via.ext.size, 7);
    assert_memory_equal(o.via.ext.ptr, "my_name", 7);
    o = parse("$caf\xc3\xa9");
    assert_int_equal(o.via.ext.size, 5);
    assert_memory_equal(o.via.ext.ptr, "caf\xc3\xa9", 5);
}

static void id_is_ext_1_big_endian(void **state)
{
    (void)state;
    msgpack_object o = parse("@123");
    assert_int_equal(o.type, MSGPACK_OBJECT_EXT);
    assert_int_equal(o.via.ext.type, EXT_REF);
    assert_int_equal(o.via.ext.size, 8);
    assert_memory_equal(o.via.ext.ptr, "\0\0\0\0\0\0\0\x7b", 8);
    o = parse("@18446744073709551615");
    assert_memory_equal(o.via.ext.ptr, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
    o = parse("@72623859790382856"); /* 0x0102030405060708 */
    assert_memory_equal(o.via.ext.ptr, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_error_at("@18446744073709551616", 2);
}

static void refs_inside_containers(void **state)
{
    (void)state;
    msgpack_object o = parse("[$E, @1, ($K,)]");
    assert_int_equal(o.via.array.size, 3);
    assert_int_equal(o.via.array.ptr[0].via.ext.type, EXT_NAME);
    assert_int_equal(o.via.array.ptr[1].via.ext.type, EXT_REF);
    msgpack_object_array t = ext_items(o.via.array.ptr[2], EXT_TUPLE);
    assert_int_equal(t.ptr[0].via.ext.type, EXT_NAME);
}

static void syntax_errors_report_their_column(void **state)
{
    (void)state;
    assert_error_at("[1, 2", 6);       /* at the end */
    assert_error_at("[1 2]", 4);       /* the 2 */
    assert_error_at("{1: }", 5);       /* the } */
    assert_error_at("'abc", 5);        /* at the end */
    assert_error_at("b'\xc3\xa9'", 3); /* the first non-ASCII byte */
    assert_error_at("@", 2);
    assert_error_at("$", 2);
    assert_error_at("1 2", 3); /* the trailing text */
    assert_error_at("nul", 1);
    assert_error_at("", 1);
    assert_error_at("[1,, 2]", 4);
    assert_error_at("{1: 2, 3}", 9);
    assert_error_at("(1 2)", 4);
}

static void prefix_parse_reports_bytes_used(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pylit_error err;
    size_t used = 0;
    const char *text = "[1, 2]  'next' 3";
    assert_int_equal(pylit_parse_prefix(text, strlen(text), &used, &sb, &err), 0);
    assert_int_equal(used, 8); /* the value and the spaces after it */
    assert_int_equal(unpack(sb.data, sb.size).via.array.size, 2);
    size_t before = sb.size;
    assert_int_equal(pylit_parse_prefix(text + used, strlen(text) - used, &used, &sb, &err), 0);
    assert_int_equal(used, 7);
    assert_str(unpack(sb.data + before, sb.size - before), "next", 4);
    msgpack_sbuffer_destroy(&sb);
}

static void parse_respects_the_given_length(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pylit_error err;
    assert_int_equal(pylit_parse("12345", 2, &sb, &err), 0);
    assert_uint(unpack(sb.data, sb.size), 12);
    /* a NUL inside the length is text, not an end */
    pylit_error e = {0};
    assert_int_equal(pylit_parse("[1]\0", 4, &sb, &e), -1);
    assert_int_equal(e.col, 4);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(none_true_false),
        cmocka_unit_test(keywords_match_whole_words_only),
        cmocka_unit_test(ints_of_every_range),
        cmocka_unit_test(ints_beyond_64_bits_are_errors),
        cmocka_unit_test(overflow_is_flagged_with_the_extent),
        cmocka_unit_test(int_prefixes_and_leading_zeros_as_python),
        cmocka_unit_test(floats_including_inf_and_nan),
        cmocka_unit_test(malformed_numbers_are_errors),
        cmocka_unit_test(strs_in_either_quote),
        cmocka_unit_test(str_escapes_become_utf8),
        cmocka_unit_test(bad_escapes_are_errors),
        cmocka_unit_test(strs_must_be_valid_utf8),
        cmocka_unit_test(bytes_with_escapes),
        cmocka_unit_test(one_item_tuple_is_ext_2),
        cmocka_unit_test(parenthesized_value_is_not_a_tuple),
        cmocka_unit_test(empty_tuple_is_ext_2_with_empty_array),
        cmocka_unit_test(lists_and_dicts),
        cmocka_unit_test(braces_without_colon_are_a_set),
        cmocka_unit_test(set_call_is_the_empty_set),
        cmocka_unit_test(nested_mixes),
        cmocka_unit_test(deeply_nested_sets_parse_in_linear_time),
        cmocka_unit_test(name_is_ext_4),
        cmocka_unit_test(id_is_ext_1_big_endian),
        cmocka_unit_test(refs_inside_containers),
        cmocka_unit_test(syntax_errors_report_their_column),
        cmocka_unit_test(prefix_parse_reports_bytes_used),
        cmocka_unit_test(parse_respects_the_given_length),
    };
    return cmocka_run_group_tests_name("pylit", tests, setup, teardown);
}
