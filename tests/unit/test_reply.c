/* The envelopes heapd writes (server/reply.h), and the check that catches
 * a map or array whose hand-counted length is wrong. */
#include "testlib.h"

#include "errors.h"
#include "pack.h"
#include "reply.h"
#include "wire.h"

#include <string.h>

static msgpack_object unpack_one(const msgpack_sbuffer *b, msgpack_zone *zone)
{
    msgpack_object o;
    size_t off = 0;
    assert_int_equal(msgpack_unpack(b->data, b->size, &off, zone, &o), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, b->size);
    return o;
}

static void ok_response_is_four_items_with_the_result_last(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    msgpack_packer pk;
    msgpack_zone zone;
    msgpack_sbuffer_init(&b);
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    msgpack_zone_init(&zone, 256);
    reply_ok_begin(&pk, 77);
    msgpack_pack_int(&pk, 26);
    assert_true(reply_is_one_object(b.data, b.size));
    msgpack_object o = unpack_one(&b, &zone);
    assert_int_equal(o.via.array.size, 4);
    assert_int_equal(o.via.array.ptr[0].via.u64, MSG_RESPONSE);
    assert_int_equal(o.via.array.ptr[1].via.u64, 77);
    assert_int_equal(o.via.array.ptr[2].type, MSGPACK_OBJECT_NIL);
    assert_int_equal(o.via.array.ptr[3].via.u64, 26);
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&b);
}

static void error_response_and_notification_carry_the_error_map(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    msgpack_packer pk;
    msgpack_zone zone;
    msgpack_sbuffer_init(&b);
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    msgpack_zone_init(&zone, 256);
    reply_error(&pk, 5, HE_NAME, "name 'x' is not defined");
    msgpack_object o = unpack_one(&b, &zone);
    assert_int_equal(o.via.array.size, 4);
    const msgpack_object *err = &o.via.array.ptr[2];
    assert_int_equal(err->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(err->via.map.size, 2);
    assert_memory_equal(err->via.map.ptr[0].val.via.str.ptr, "NameError", 9);
    assert_int_equal(o.via.array.ptr[3].type, MSGPACK_OBJECT_NIL);
    b.size = 0;
    reply_error_notify(&pk, HE_PROTOCOL, "bad");
    o = unpack_one(&b, &zone);
    assert_int_equal(o.via.array.size, 3);
    assert_int_equal(o.via.array.ptr[0].via.u64, MSG_NOTIFY);
    assert_memory_equal(o.via.array.ptr[1].via.str.ptr, "error", 5);
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&b);
}

/* A map declared with one pair too many swallows what follows; one too few
 * leaves a stray value: both are caught. */
static void a_wrong_hand_count_is_caught(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    msgpack_packer pk;
    msgpack_sbuffer_init(&b);
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    for (uint32_t declared = 1; declared <= 3; declared++) {
        b.size = 0;
        reply_ok_begin(&pk, 1);
        msgpack_pack_map(&pk, declared);
        pack_kv_u(&pk, "a", 1);
        pack_kv_u(&pk, "b", 2);
        assert_int_equal(reply_is_one_object(b.data, b.size), declared == 2);
        /* and in a stream of replies, the next one is misread */
        reply_ok_begin(&pk, 2);
        msgpack_pack_nil(&pk);
        if (declared == 3)
            assert_false(reply_is_whole_objects(b.data, b.size));
    }
    b.size = 0;
    reply_ok_begin(&pk, 1);
    msgpack_pack_array(&pk, 1); /* one too few */
    msgpack_pack_nil(&pk);
    msgpack_pack_nil(&pk);
    assert_false(reply_is_one_object(b.data, b.size));
    msgpack_sbuffer_destroy(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ok_response_is_four_items_with_the_result_last),
        cmocka_unit_test(error_response_and_notification_carry_the_error_map),
        cmocka_unit_test(a_wrong_hand_count_is_caught),
    };
    return cmocka_run_group_tests_name("reply", tests, NULL, NULL);
}
