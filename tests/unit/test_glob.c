/* scan's match patterns (server/glob.h), read as Python's fnmatch and
 * Redis's MATCH read them, over explicit lengths. */
#include "testlib.h"

#include "glob.h"

#include <string.h>

static bool m(const char *pat, const char *s)
{
    return glob_match(pat, strlen(pat), s, strlen(s));
}

static void stars_and_literals(void **state)
{
    (void)state;
    assert_true(m("*", ""));
    assert_true(m("*", "anything"));
    assert_true(m("user:*", "user:12"));
    assert_false(m("user:*", "users:12"));
    assert_true(m("*:*:*", "a:b:c"));
    assert_false(m("*:*:*", "a:b"));
    assert_true(m("a*b*c", "aXXbYYc"));
    assert_false(m("a*b*c", "aXXbYY"));
    assert_true(m("abc", "abc"));
    assert_false(m("abc", "abcd"));
    assert_false(m("", "a"));
    assert_true(m("", ""));
}

static void question_mark_is_one_character(void **state)
{
    (void)state;
    assert_true(m("us?r", "user"));
    assert_true(m("us?r", "us\xc3\xa9r")); /* é: one character, two bytes */
    assert_false(m("us??r", "us\xc3\xa9r"));
    assert_true(m("*?", "\xc3\xa9"));
    assert_false(m("*??", "\xc3\xa9"));
    assert_false(m("?", ""));
}

static void sets_ranges_and_escapes(void **state)
{
    (void)state;
    assert_true(m("[abc]x", "bx"));
    assert_false(m("[abc]x", "dx"));
    assert_true(m("k[0-9]", "k7"));
    assert_false(m("k[0-9]", "ka"));
    assert_true(m("k[!0-9]", "ka"));
    assert_true(m("k[^0-9]", "ka"));
    assert_false(m("k[!0-9]", "k5"));
    assert_true(m("[]]", "]")); /* a ] first in the set is a member */
    assert_true(m("a\\*", "a*"));
    assert_false(m("a\\*", "ab"));
    assert_true(m("[", "[")); /* unclosed: a literal [ */
    assert_true(m("[a", "[a"));
}

static void names_with_nul_bytes(void **state)
{
    (void)state;
    assert_true(glob_match("a*", 2, "a\0b", 3));
    assert_true(glob_match("a?b", 3, "a\0b", 3));
    assert_false(glob_match("a", 1, "a\0", 2));
}

/* Many stars against a long miss stays linear: no backtracking blow-up. */
static void pathological_pattern_is_quick(void **state)
{
    (void)state;
    char s[4001];
    memset(s, 'a', 4000);
    s[4000] = '\0';
    assert_false(m("*a*a*a*a*a*a*a*a*a*b", s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stars_and_literals),
        cmocka_unit_test(question_mark_is_one_character),
        cmocka_unit_test(sets_ranges_and_escapes),
        cmocka_unit_test(names_with_nul_bytes),
        cmocka_unit_test(pathological_pattern_is_quick),
    };
    return cmocka_run_group_tests_name("glob", tests, NULL, NULL);
}
