/* The slab allocator and the ids it hands out (slab.h). */
#include "testlib.h"

#include "slab.h"

#include <stdlib.h>

static slab *int_slab(void)
{
    slab *s = test_malloc(sizeof *s);
    slab_init(s, T_INT, sizeof(hint));
    return s;
}

static void drop_slab(slab *s)
{
    slab_destroy(s);
    test_free(s);
}

static void hid_fields_round_trip(void **state)
{
    (void)state;
    hid id = hid_make(HGEN_MAX, UINT32_MAX, T_SET);
    assert_int_equal(hid_gen(id), HGEN_MAX);
    assert_int_equal(hid_slot(id), UINT32_MAX);
    assert_int_equal(hid_type(id), T_SET);

    id = hid_make(7, 12345, T_STR);
    assert_int_equal(hid_gen(id), 7);
    assert_int_equal(hid_slot(id), 12345);
    assert_int_equal(hid_type(id), T_STR);
    assert_int_equal(id, (7ull << 40) | (12345ull << 4) | T_STR);
}

static void fresh_object_is_zeroed_with_type_and_gen_zero(void **state)
{
    (void)state;
    slab *s = int_slab();
    hobj *o = slab_alloc(s);
    assert_non_null(o);
    assert_int_equal(o->type, T_INT);
    assert_int_equal(o->gen, 0);
    assert_int_equal(o->refcnt, 0);
    assert_false(o->dead);
    assert_int_equal(AS_INT(o)->v, 0);
    hid id = hobj_id(o);
    assert_int_equal(hid_type(id), T_INT);
    assert_int_equal(hid_slot(id), 0);
    assert_int_equal(hid_gen(id), 0);
    assert_ptr_equal(slab_at(s, 0), o);
    drop_slab(s);
}

static void slots_follow_allocation_order_across_chunks(void **state)
{
    (void)state;
    slab *s = int_slab();
    uint32_t n = 3 * s->per_chunk + s->per_chunk / 2;
    hobj **objs = test_malloc(n * sizeof *objs);
    for (uint32_t i = 0; i < n; i++) {
        objs[i] = slab_alloc(s);
        assert_non_null(objs[i]);
    }
    assert_int_equal(s->nchunks, 4);
    assert_int_equal(s->nslots, n);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(slab_slot_of(objs[i]), i);
        assert_int_equal(hid_slot(hobj_id(objs[i])), i);
        assert_ptr_equal(slab_at(s, i), objs[i]);
    }
    assert_null(slab_at(s, n));
    test_free(objs);
    drop_slab(s);
}

static void chunk_starts_on_a_64k_boundary(void **state)
{
    (void)state;
    slab *s = int_slab();
    for (uint32_t i = 0; i <= s->per_chunk; i++)
        slab_alloc(s);
    hobj *first = slab_at(s, 0), *next_chunk = slab_at(s, s->per_chunk);
    assert_int_equal((uintptr_t)first % SLAB_CHUNK_BYTES, SLAB_CHUNK_HDR);
    assert_int_equal((uintptr_t)next_chunk % SLAB_CHUNK_BYTES, SLAB_CHUNK_HDR);
    assert_int_equal(slab_slot_of(next_chunk), s->per_chunk);
    drop_slab(s);
}

static void freed_slot_is_reused_with_next_generation(void **state)
{
    (void)state;
    slab *s = int_slab();
    slab_alloc(s);
    hobj *o = slab_alloc(s);
    hid old = hobj_id(o);
    slab_free(s, o);
    assert_true(o->dead);
    assert_int_equal(o->gen, 1);
    hobj *again = slab_alloc(s);
    assert_ptr_equal(again, o);
    assert_false(again->dead);
    hid new_id = hobj_id(again);
    assert_int_not_equal(new_id, old);
    assert_int_equal(hid_slot(new_id), hid_slot(old));
    assert_int_equal(hid_gen(new_id), hid_gen(old) + 1);
    drop_slab(s);
}

static void free_list_is_lifo(void **state)
{
    (void)state;
    slab *s = int_slab();
    hobj *a = slab_alloc(s), *b = slab_alloc(s), *c = slab_alloc(s);
    slab_free(s, a);
    slab_free(s, c);
    assert_ptr_equal(slab_alloc(s), c);
    assert_ptr_equal(slab_alloc(s), a);
    hobj *d = slab_alloc(s);
    assert_int_equal(slab_slot_of(d), 3); /* free list empty: a new slot */
    (void)b;
    drop_slab(s);
}

static void reused_object_is_zeroed(void **state)
{
    (void)state;
    slab *s = int_slab();
    hobj *o = slab_alloc(s);
    o->refcnt = 9;
    o->immortal = 1;
    AS_INT(o)->v = 42;
    slab_free(s, o);
    hobj *again = slab_alloc(s);
    assert_ptr_equal(again, o);
    assert_int_equal(again->refcnt, 0);
    assert_false(again->immortal);
    assert_int_equal(AS_INT(again)->v, 0);
    drop_slab(s);
}

static void last_generation_is_still_used_once(void **state)
{
    (void)state;
    slab *s = int_slab();
    hobj *o = slab_alloc(s);
    o->gen = HGEN_MAX - 1; /* as if reused that many times */
    slab_free(s, o);
    assert_int_equal(s->retired, 0);
    hobj *again = slab_alloc(s);
    assert_ptr_equal(again, o);
    assert_int_equal(again->gen, HGEN_MAX);
    assert_int_equal(hid_gen(hobj_id(again)), HGEN_MAX);
    drop_slab(s);
}

static void slot_at_last_generation_is_retired(void **state)
{
    (void)state;
    slab *s = int_slab();
    hobj *o = slab_alloc(s);
    hobj *keep = slab_alloc(s);
    o->gen = HGEN_MAX;
    slab_free(s, o);
    assert_int_equal(s->retired, 1);
    assert_true(o->dead);
    assert_int_equal(s->free_head, SLAB_NO_SLOT);
    hobj *next = slab_alloc(s);
    assert_ptr_not_equal(next, o);
    assert_int_equal(slab_slot_of(next), 2);
    assert_true(o->dead); /* the retired slot stays dead */
    assert_int_equal(s->live, 2);
    (void)keep;
    drop_slab(s);
}

static void retired_slot_is_skipped_by_the_free_list(void **state)
{
    (void)state;
    slab *s = int_slab();
    hobj *a = slab_alloc(s), *b = slab_alloc(s);
    slab_free(s, a); /* reusable */
    b->gen = HGEN_MAX;
    slab_free(s, b); /* retired */
    assert_ptr_equal(slab_alloc(s), a);
    assert_int_equal(slab_slot_of(slab_alloc(s)), 2);
    assert_int_equal(s->retired, 1);
    drop_slab(s);
}

static void live_count_tracks_alloc_and_free(void **state)
{
    (void)state;
    slab *s = int_slab();
    hobj *objs[100];
    for (int i = 0; i < 100; i++)
        objs[i] = slab_alloc(s);
    assert_int_equal(s->live, 100);
    for (int i = 0; i < 100; i += 2)
        slab_free(s, objs[i]);
    assert_int_equal(s->live, 50);
    assert_int_equal(s->nslots, 100);
    for (int i = 0; i < 50; i++)
        slab_alloc(s);
    assert_int_equal(s->live, 100);
    assert_int_equal(s->nslots, 100); /* every freed slot was reused */
    drop_slab(s);
}

static void destroy_leaves_an_empty_reusable_slab(void **state)
{
    (void)state;
    slab *s = int_slab();
    for (int i = 0; i < 10; i++)
        slab_alloc(s);
    slab_destroy(s);
    assert_int_equal(s->nslots, 0);
    assert_int_equal(s->live, 0);
    assert_int_equal(s->type, T_INT);
    hobj *o = slab_alloc(s);
    assert_int_equal(slab_slot_of(o), 0);
    drop_slab(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hid_fields_round_trip),
        cmocka_unit_test(fresh_object_is_zeroed_with_type_and_gen_zero),
        cmocka_unit_test(slots_follow_allocation_order_across_chunks),
        cmocka_unit_test(chunk_starts_on_a_64k_boundary),
        cmocka_unit_test(freed_slot_is_reused_with_next_generation),
        cmocka_unit_test(free_list_is_lifo),
        cmocka_unit_test(reused_object_is_zeroed),
        cmocka_unit_test(last_generation_is_still_used_once),
        cmocka_unit_test(slot_at_last_generation_is_retired),
        cmocka_unit_test(retired_slot_is_skipped_by_the_free_list),
        cmocka_unit_test(live_count_tracks_alloc_and_free),
        cmocka_unit_test(destroy_leaves_an_empty_reusable_slab),
    };
    return cmocka_run_group_tests_name("slab", tests, NULL, NULL);
}
