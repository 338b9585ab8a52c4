/* The watch index (server/watches.h): one event per watcher, unwatch, an
 * owner going away, and that an unwatched id costs a probe or a few however
 * many watches there are (counted, not timed). */
#include "testlib.h"

#include "watches.h"

#include <stdlib.h>

/* Owners are the addresses of these; each keeps its list head. */
struct owner {
    uint32_t head;
    int told;
};

static void tell(void *owner, void *arg)
{
    struct owner *o = owner;
    o->told++;
    if (arg) { /* record the order */
        struct owner **seen = arg;
        while (*seen)
            seen++;
        *seen = o;
    }
}

static void one_event_per_watcher_in_watch_order(void **state)
{
    (void)state;
    watches w;
    struct owner a = {0}, b = {0}, c = {0};
    struct owner *order[4] = {0};
    watches_init(&w);
    assert_true(watches_add(&w, 42, &b, &b.head));
    assert_true(watches_add(&w, 42, &a, &a.head));
    assert_false(watches_add(&w, 42, &b, &b.head)); /* twice: still one */
    assert_true(watches_add(&w, 43, &c, &c.head));
    assert_int_equal(watches_count(&w), 3);
    assert_int_equal(watches_of(&w, 42), 2);
    assert_int_equal(watches_fire(&w, 42, tell, order), 2);
    assert_ptr_equal(order[0], &b);
    assert_ptr_equal(order[1], &a);
    assert_int_equal(a.told + b.told + c.told, 2);
    /* a watch fires once, then ends */
    assert_int_equal(watches_fire(&w, 42, tell, NULL), 0);
    assert_int_equal(watches_count(&w), 1);
    assert_int_equal(a.head, 0);
    assert_int_equal(b.head, 0);
    assert_int_equal(watches_fire(&w, 43, tell, NULL), 1);
    assert_int_equal(c.told, 1);
    assert_int_equal(watches_count(&w), 0);
    watches_free(&w);
}

static void unwatch_and_an_owner_going_away(void **state)
{
    (void)state;
    watches w;
    struct owner a = {0}, b = {0};
    watches_init(&w);
    for (hid id = 0; id < 1000; id++) { /* id 0 is a real id (None's) */
        watches_add(&w, id, &a, &a.head);
        if (id % 2)
            watches_add(&w, id, &b, &b.head);
    }
    assert_int_equal(watches_count(&w), 1500);
    assert_true(watches_remove(&w, 0, &a));
    assert_false(watches_remove(&w, 0, &a));
    assert_false(watches_remove(&w, 2, &b)); /* b never watched it */
    assert_true(watches_remove(&w, 3, &b));
    assert_int_equal(watches_of(&w, 3), 1);
    watches_drop_owner(&w, &a.head);
    assert_int_equal(a.head, 0);
    assert_int_equal(watches_count(&w), 499);
    for (hid id = 0; id < 1000; id++) {
        size_t told = watches_fire(&w, id, tell, NULL);
        assert_int_equal(told, id % 2 && id != 3 ? 1 : 0);
    }
    assert_int_equal(a.told, 0);
    assert_int_equal(b.told, 499);
    assert_int_equal(b.head, 0);
    assert_int_equal(watches_count(&w), 0);
    watches_free(&w);
}

/* The index is used: freeing 200,000 unwatched objects among 50,000
 * watches examines a few slots each, not 50,000. */
static void an_unwatched_id_costs_a_few_probes(void **state)
{
    (void)state;
    watches w;
    struct owner *owners = calloc(100, sizeof *owners);
    watches_init(&w);
    for (uint32_t i = 0; i < 50000; i++) {
        struct owner *o = &owners[i % 100];
        /* ids shaped like heap ids: generation, slot, type */
        watches_add(&w, (hid)1 << 40 | (hid)i << 4 | 7, o, &o->head);
    }
    uint64_t before = w.probes;
    size_t told = 0;
    for (uint32_t i = 0; i < 200000; i++)
        told += watches_fire(&w, (hid)2 << 40 | (hid)i << 4 | 7, tell, NULL);
    assert_int_equal(told, 0);
    assert_true(w.probes - before < 200000 * 4);
    /* and a watched one among them still fires */
    assert_int_equal(watches_fire(&w, (hid)1 << 40 | (hid)777 << 4 | 7, tell, NULL), 1);
    assert_int_equal(owners[77].told, 1);
    for (int i = 0; i < 100; i++)
        watches_drop_owner(&w, &owners[i].head);
    assert_int_equal(watches_count(&w), 0);
    watches_free(&w);
    free(owners);
}

/* Slots are reused after removals without losing any watch (backward-shift
 * deletion keeps every probe run whole). */
static void churn_keeps_every_watch(void **state)
{
    (void)state;
    watches w;
    struct owner a = {0};
    watches_init(&w);
    for (int round = 0; round < 20; round++) {
        for (hid id = 0; id < 3000; id++)
            watches_add(&w, id * 32 + (hid)round, &a, &a.head);
        for (hid id = 0; id < 3000; id += 2)
            assert_true(watches_remove(&w, id * 32 + (hid)round, &a));
        for (hid id = 1; id < 3000; id += 2)
            assert_int_equal(watches_of(&w, id * 32 + (hid)round), 1);
    }
    assert_int_equal(watches_count(&w), 20 * 1500);
    watches_drop_owner(&w, &a.head);
    assert_int_equal(watches_count(&w), 0);
    assert_int_equal(w.nids, 0);
    watches_free(&w);
}

/* Growing moves the table a few entries per operation: right after a
 * growth most entries are still in the old table, and every watch is found,
 * added to, removed and fired correctly wherever its entry is, against a
 * reference count kept here. */
static void growth_moves_entries_a_few_at_a_time(void **state)
{
    (void)state;
    enum { N = 40000 };
    static int want[N];
    watches w;
    struct owner a = {0}, b = {0};
    watches_init(&w);
    bool saw_old = false;
    unsigned seed = 29;
    for (int step = 0; step < 6 * N; step++) {
        hid id = (hid)(rand_r(&seed) % N);
        int op = rand_r(&seed) % 10;
        size_t before_mask = w.mask;
        if (op < 6) {
            bool added = watches_add(&w, id * 16 + 3, &a, &a.head);
            assert_int_equal(added, want[id] == 0);
            want[id] = 1;
            if (w.mask != before_mask && before_mask >= 1023) {
                assert_non_null(w.old); /* not moved in one step */
                saw_old = true;
            }
        } else if (op < 8) {
            assert_int_equal(watches_remove(&w, id * 16 + 3, &a), want[id] == 1);
            want[id] = 0;
        } else if (op < 9) {
            assert_int_equal(watches_fire(&w, id * 16 + 3, tell, NULL), (size_t)want[id]);
            want[id] = 0;
        } else {
            assert_int_equal(watches_of(&w, id * 16 + 3), (size_t)want[id]);
        }
    }
    assert_true(saw_old);
    size_t live = 0;
    for (int i = 0; i < N; i++) {
        live += (size_t)want[i];
        assert_int_equal(watches_of(&w, (hid)i * 16 + 3), (size_t)want[i]);
    }
    assert_int_equal(watches_count(&w), live);
    watches_drop_owner(&w, &a.head);
    watches_drop_owner(&w, &b.head);
    assert_int_equal(watches_count(&w), 0);
    watches_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_event_per_watcher_in_watch_order),
        cmocka_unit_test(unwatch_and_an_owner_going_away),
        cmocka_unit_test(an_unwatched_id_costs_a_few_probes),
        cmocka_unit_test(churn_keeps_every_watch),
        cmocka_unit_test(growth_moves_entries_a_few_at_a_time),
    };
    return cmocka_run_group_tests_name("watches", tests, NULL, NULL);
}
