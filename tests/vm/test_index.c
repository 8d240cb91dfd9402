/*
 * test_index.c — the radix address index (src/vm/index.c): lookups inside, beside and
 * between ranges; whole-subtree entries for huge ranges; next/last-used scans; removal;
 * and its memory cost for a 1 TiB range. Ownership moving inside a live range (placeholder
 * split): a store over part of a whole-subtree tag pushes the tag down, prepare allocates
 * and changes no lookup, store never allocates, remove follows pushed-down tags; and the
 * same with threads (lookups never see a moving page free).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "os/os.h"
#include "testlib.h"
#include "vm/index.h"

#define R1 ((struct hm_reservation *)0x1000)
#define R2 ((struct hm_reservation *)0x2000)

/* A page number region nobody else in this process uses: 0x6000_0000_0000. */
#define BASE (((uint64_t)0x600000000000) >> 12)

START_TEST(lookup_finds_only_the_inserted_pages)
{
    ck_assert_int_eq(hm_index_insert(BASE + 16, BASE + 32, R1), 0);
    ck_assert_ptr_null(hm_index_lookup(BASE + 15));
    ck_assert_ptr_eq(hm_index_lookup(BASE + 16), R1);
    ck_assert_ptr_eq(hm_index_lookup(BASE + 31), R1);
    ck_assert_ptr_null(hm_index_lookup(BASE + 32));
    hm_index_remove(BASE + 16, BASE + 32, R1);
    ck_assert_ptr_null(hm_index_lookup(BASE + 16));
}
END_TEST

START_TEST(huge_range_uses_whole_subtree_slots)
{
    uint64_t tib = ((uint64_t)1 << 40) >> 12;
    uint64_t first = BASE + 16;
    ck_assert_int_eq(hm_index_insert(first, first + tib, R2), 0);
    ck_assert_ptr_eq(hm_index_lookup(first), R2);
    ck_assert_ptr_eq(hm_index_lookup(first + tib / 2), R2);
    ck_assert_ptr_eq(hm_index_lookup(first + tib - 1), R2);
    ck_assert_ptr_null(hm_index_lookup(first + tib));
    ck_assert_uint_eq(hm_index_next_used(BASE, first + tib), first);
    ck_assert_uint_eq(hm_index_last_used_end(BASE, first + tib + 100), first + tib);
    hm_index_remove(first, first + tib, R2);
    ck_assert_ptr_null(hm_index_lookup(first + tib / 2));
    ck_assert_uint_eq(hm_index_next_used(BASE, first + tib), first + tib);
}
END_TEST

START_TEST(adjacent_ranges_keep_their_owners)
{
    ck_assert_int_eq(hm_index_insert(BASE, BASE + 512, R1), 0);
    ck_assert_int_eq(hm_index_insert(BASE + 512, BASE + 1000, R2), 0);
    ck_assert_ptr_eq(hm_index_lookup(BASE + 511), R1);
    ck_assert_ptr_eq(hm_index_lookup(BASE + 512), R2);
    hm_index_remove(BASE, BASE + 512, R1);
    ck_assert_ptr_null(hm_index_lookup(BASE + 511));
    ck_assert_ptr_eq(hm_index_lookup(BASE + 512), R2);
    ck_assert_uint_eq(hm_index_next_used(BASE, BASE + 2000), BASE + 512);
    hm_index_remove(BASE + 512, BASE + 1000, R2);
}
END_TEST

START_TEST(addresses_past_user_space_are_not_indexed)
{
    ck_assert_ptr_null(hm_index_lookup((uint64_t)1 << 35));
    ck_assert_ptr_null(hm_index_lookup(UINT64_MAX));
    ck_assert_int_ne(hm_index_insert(((uint64_t)1 << 35) - 1, ((uint64_t)1 << 35) + 1, R1), 0);
}
END_TEST


#define R3 ((struct hm_reservation *)0x3000)
/* 2 MiB = one whole-subtree slot at level 2, in pages. */
#define SPAN2M ((uint64_t)512)

/* Every page of [first, end) maps to r. */
static void assert_owner(uint64_t first, uint64_t end, struct hm_reservation *r)
{
    for (uint64_t p = first; p < end; p++)
        ck_assert_msg(hm_index_lookup(p) == r, "page %#llx maps to %p, expected %p",
                      (unsigned long long)p, (void *)hm_index_lookup(p), (void *)r);
}

START_TEST(store_over_part_of_a_tag_keeps_the_rest_of_it)
{
    /* R1 owns 8 MiB as four whole 2 MiB slots; R2 takes 5 pages from the middle of the
     * second one (two levels of push-down), R3 the whole third slot. */
    uint64_t first = BASE + 4 * SPAN2M, end = first + 4 * SPAN2M;
    uint64_t a = first + SPAN2M + 100, b = a + 5;
    ck_assert_int_eq(hm_index_insert(first, end, R1), 0);
    ck_assert_int_eq(hm_index_insert(a, b, R2), 0);
    ck_assert_int_eq(hm_index_insert(first + 2 * SPAN2M, first + 3 * SPAN2M, R3), 0);
    assert_owner(first, a, R1);
    assert_owner(a, b, R2);
    assert_owner(b, first + 2 * SPAN2M, R1);
    assert_owner(first + 2 * SPAN2M, first + 3 * SPAN2M, R3);
    assert_owner(first + 3 * SPAN2M, end, R1);
    ck_assert_ptr_null(hm_index_lookup(first - 1));
    ck_assert_ptr_null(hm_index_lookup(end));
    /* Removing R1 over its first range clears what is still R1's, pushed down or not. */
    hm_index_remove(first, end, R1);
    assert_owner(first, a, NULL);
    assert_owner(a, b, R2);
    assert_owner(b, first + 2 * SPAN2M, NULL);
    assert_owner(first + 2 * SPAN2M, first + 3 * SPAN2M, R3);
    assert_owner(first + 3 * SPAN2M, end, NULL);
    hm_index_remove(a, b, R2);
    hm_index_remove(first + 2 * SPAN2M, first + 3 * SPAN2M, R3);
    ck_assert_uint_eq(hm_index_next_used(first, end), end);
}
END_TEST

static _Atomic int alloc_calls;
static int failing_alloc(hm_os_site_t site, size_t size, void **out)
{
    (void)site;
    (void)size;
    (void)out;
    atomic_fetch_add(&alloc_calls, 1);
    return ENOMEM;
}

START_TEST(prepare_changes_no_lookup_and_store_never_allocates)
{
    uint64_t first = BASE + 16 * SPAN2M, end = first + 2 * SPAN2M;
    uint64_t a = first + 7, b = first + SPAN2M + 9;
    ck_assert_int_eq(hm_index_insert(first, end, R1), 0);
    /* A prepare that cannot allocate fails and changes nothing. */
    hm_os.alloc = failing_alloc;
    ck_assert_int_eq(hm_index_prepare(a, b, HM_SITE_RESERVE_INDEX), ENOMEM);
    hm_os = hm_os_default;
    ck_assert_int_eq(alloc_calls, 1);
    assert_owner(first, end, R1);
    /* One that can pushes R1's tags down: still R1 everywhere. */
    ck_assert_int_eq(hm_index_prepare(a, b, HM_SITE_RESERVE_INDEX), 0);
    assert_owner(first, end, R1);
    /* The store then needs no memory. */
    hm_os.alloc = failing_alloc;
    hm_index_store(a, b, R2);
    hm_os = hm_os_default;
    ck_assert_int_eq(alloc_calls, 1);
    assert_owner(first, a, R1);
    assert_owner(a, b, R2);
    assert_owner(b, end, R1);
    /* And back: R1 takes the pages again (prepared already), then goes. */
    hm_index_store(a, b, R1);
    assert_owner(first, end, R1);
    hm_index_remove(first, end, R1);
    ck_assert_uint_eq(hm_index_next_used(first, end), end);
}
END_TEST

START_TEST(failed_insert_leaves_no_entry)
{
    uint64_t first = BASE + 32 * SPAN2M + 3, end = first + 3 * SPAN2M;
    hm_os.alloc = failing_alloc;
    int err = hm_index_insert(first, end, R1);
    hm_os = hm_os_default;
    ck_assert_int_eq(err, ENOMEM);
    ck_assert_uint_eq(hm_index_next_used(first, end), end);
}
END_TEST

/* ---- threads -------------------------------------------------------------------------- */

typedef struct race {
    uint64_t first, end, a, b;
    pthread_barrier_t go, done; /* main + 2 workers */
    _Atomic bool stop;
    _Atomic long bad;
} race_t;

static void *remover(void *arg)
{
    race_t *t = arg;
    for (;;) {
        pthread_barrier_wait(&t->go);
        if (atomic_load(&t->stop))
            return NULL;
        hm_index_remove(t->first, t->end, R1);
        pthread_barrier_wait(&t->done);
    }
}

static void *inserter(void *arg)
{
    race_t *t = arg;
    for (;;) {
        pthread_barrier_wait(&t->go);
        if (atomic_load(&t->stop))
            return NULL;
        if (hm_index_insert(t->a, t->b, R2) != 0)
            atomic_fetch_add(&t->bad, 1);
        pthread_barrier_wait(&t->done);
    }
}

/* A dying owner's remove races a new owner's insert over part of it, which pushes the
 * dying tags down (the kernel gave the pages to someone else): afterwards nothing maps
 * to the dying owner, whoever won each slot. (Whether the remover's CAS loses to the
 * push-down in a given round is up to the scheduler.) */
START_TEST(remove_racing_a_push_down_leaves_no_stale_tag)
{
    static race_t t;
    pthread_barrier_init(&t.go, NULL, 3);
    pthread_barrier_init(&t.done, NULL, 3);
    pthread_t x, y;
    pthread_create(&x, NULL, remover, &t);
    pthread_create(&y, NULL, inserter, &t);
    for (int round = 1; round <= 300; round++) {
        /* A fresh 128 MiB each round, so that every insert has to push down. */
        t.first = BASE + (uint64_t)(round + 1) * 64 * SPAN2M;
        t.end = t.first + 64 * SPAN2M;
        t.a = t.first + (uint64_t)(round % 64) * SPAN2M + 33 + (uint64_t)round % 100;
        t.b = t.a + 1 + (uint64_t)round % 300;
        ck_assert_int_eq(hm_index_insert(t.first, t.end, R1), 0);
        pthread_barrier_wait(&t.go);
        pthread_barrier_wait(&t.done);
        ck_assert_int_eq(t.bad, 0);
        ck_assert_uint_eq(hm_index_next_used(t.first, t.a), t.a);
        assert_owner(t.a, t.b, R2);
        ck_assert_uint_eq(hm_index_next_used(t.b, t.end), t.end);
        hm_index_remove(t.a, t.b, R2);
    }
    atomic_store(&t.stop, true);
    pthread_barrier_wait(&t.go);
    pthread_join(x, NULL);
    pthread_join(y, NULL);
}
END_TEST

static void *look_up(void *arg)
{
    race_t *t = arg;
    uint64_t p = t->first, n = 0;
    while (!atomic_load_explicit(&t->stop, memory_order_relaxed)) {
        struct hm_reservation *r = hm_index_lookup(p);
        bool inside = p >= t->a && p < t->b;
        if (!r || (!inside && r != R1) || (inside && r != R1 && r != R2))
            atomic_fetch_add(&t->bad, 1);
        p = t->first + (p - t->first + 7919) % (t->end - t->first);
        n++;
    }
    return (void *)(uintptr_t)n;
}

/* Pages change owner back and forth inside a live range (split, then coalesce) while
 * readers look them up: every lookup finds one of the two owners, never nothing. */
START_TEST(lookups_never_see_moving_pages_free)
{
    static race_t t;
    t.first = BASE + 300000 * SPAN2M;
    t.end = t.first + 4 * SPAN2M;
    t.a = t.first + SPAN2M + 5;
    t.b = t.first + 3 * SPAN2M - 3;
    ck_assert_int_eq(hm_index_insert(t.first, t.end, R1), 0);
    pthread_t readers[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&readers[i], NULL, look_up, &t);
    for (int round = 0; round < 2000; round++) {
        uint64_t a = t.a + (uint64_t)round % 64, b = t.b - (uint64_t)round % 32;
        ck_assert_int_eq(hm_index_prepare(a, b, HM_SITE_RESERVE_INDEX), 0);
        hm_index_store(a, b, R2);
        hm_index_store(a, b, R1);
    }
    atomic_store(&t.stop, true);
    uint64_t seen = 0;
    for (int i = 0; i < 2; i++) {
        void *n;
        pthread_join(readers[i], &n);
        seen += (uint64_t)(uintptr_t)n;
    }
    ck_assert_int_eq(t.bad, 0);
    ck_assert_uint_gt(seen, 0);
    assert_owner(t.first, t.end, R1);
    hm_index_remove(t.first, t.end, R1);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("index");
    TCase *tc = tcase_create("index_lookup_finds_only_the_inserted_pages");
    tcase_add_test(tc, lookup_finds_only_the_inserted_pages);
    suite_add_tcase(s, tc);
    tc = tcase_create("index_huge_range_uses_whole_subtree_slots");
    tcase_add_test(tc, huge_range_uses_whole_subtree_slots);
    suite_add_tcase(s, tc);
    tc = tcase_create("index_adjacent_ranges_keep_their_owners");
    tcase_add_test(tc, adjacent_ranges_keep_their_owners);
    suite_add_tcase(s, tc);
    tc = tcase_create("index_addresses_past_user_space_are_not_indexed");
    tcase_add_test(tc, addresses_past_user_space_are_not_indexed);
    suite_add_tcase(s, tc);
    hm_add(s, tcase_create("index_store_over_part_of_a_tag_keeps_the_rest_of_it"),
           store_over_part_of_a_tag_keeps_the_rest_of_it);
    hm_add(s, tcase_create("index_prepare_changes_no_lookup_and_store_never_allocates"),
           prepare_changes_no_lookup_and_store_never_allocates);
    hm_add(s, tcase_create("index_failed_insert_leaves_no_entry"), failed_insert_leaves_no_entry);
    hm_add(s, tcase_create("index_remove_racing_a_push_down_leaves_no_stale_tag"),
           remove_racing_a_push_down_leaves_no_stale_tag);
    hm_add(s, tcase_create("index_lookups_never_see_moving_pages_free"),
           lookups_never_see_moving_pages_free);
    return s;
}

HM_TEST_MAIN(make_suite)
