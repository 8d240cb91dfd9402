/*
 * test_index.c — the radix address index (src/vm/index.c): lookups inside, beside and
 * between ranges; whole-subtree entries for huge ranges; next/last-used scans; removal;
 * and its memory cost for a 1 TiB range.
 */
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
    return s;
}

HM_TEST_MAIN(make_suite)
