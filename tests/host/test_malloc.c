/*
 * test_malloc.c — IHostMalloc from CreateMalloc: blocks charged to the runtime's budget
 * (through its own VirtualAlloc), over-budget failures per critical level, foreign and
 * double frees refused, executable heaps, DebugAlloc, and teardown with the runtime.
 */
#include <string.h>

#include "hostmem/host.h"
#include "testlib.h"

#define MIB ((uint64_t)1 << 20)

static hm_host_t *host;
static hm_runtime_t *rt;
static IHostMemoryManager *mgr;

static void setup_budget(uint64_t hard)
{
    hm_host_config_t hc = {.cb_size = sizeof hc, .psi_path = ""};
    ck_assert_int_eq(hm_host_create(&hc, &host), 0);
    hm_runtime_config_t c = {.cb_size = sizeof c, .name = "heap", .hard_limit = hard};
    ck_assert_int_eq(hm_runtime_create(host, &c, &rt), 0);
    ck_assert_int_eq(hm_runtime_start(rt), 0);
    mgr = hm_runtime_memory_manager(rt);
}

static void setup(void)
{
    setup_budget(4 * MIB);
}

static void teardown(void)
{
    mgr->lpVtbl->Release(mgr);
    hm_host_destroy(host);
}

static uint64_t committed(void)
{
    hm_runtime_stats_t st = {.cb_size = sizeof st};
    ck_assert_int_eq(hm_runtime_get_stats(rt, &st), 0);
    return st.committed;
}

START_TEST(create_malloc_validates_and_follows_com)
{
    IHostMalloc *h = (IHostMalloc *)1;
    ck_assert_int_eq(mgr->lpVtbl->CreateMalloc(mgr, 0x4, &h), E_INVALIDARG);
    ck_assert_ptr_null(h);
    ck_assert_int_eq(mgr->lpVtbl->CreateMalloc(mgr, MALLOC_THREADSAFE, NULL), E_POINTER);
    ck_assert_int_eq(mgr->lpVtbl->CreateMalloc(mgr, MALLOC_THREADSAFE, &h), S_OK);
    void *p;
    ck_assert_int_eq(h->lpVtbl->QueryInterface(h, &IID_IHostMalloc, &p), S_OK);
    ck_assert_ptr_eq(p, h);
    ck_assert_int_eq(h->lpVtbl->QueryInterface(h, &IID_IHostMemoryManager, &p), E_NOINTERFACE);
    ck_assert_uint_eq(h->lpVtbl->Release(h), 1);
    ck_assert_uint_eq(h->lpVtbl->Release(h), 0);
}
END_TEST

START_TEST(blocks_are_charged_to_the_runtime_budget)
{
    IHostMalloc *h;
    ck_assert_int_eq(mgr->lpVtbl->CreateMalloc(mgr, MALLOC_THREADSAFE, &h), S_OK);
    ck_assert_uint_eq(committed(), 0);
    void *p[100];
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(h->lpVtbl->Alloc(h, 48, eTaskCritical, &p[i]), S_OK);
        memset(p[i], i, 48);
    }
    ck_assert_uint_gt(committed(), 0);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(((unsigned char *)p[i])[47], (unsigned char)i);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(h->lpVtbl->Free(h, p[i]), S_OK);
    h->lpVtbl->Release(h);
    ck_assert_uint_eq(committed(), 0);
}
END_TEST

START_TEST(over_budget_alloc_fails_with_out_of_memory)
{
    IHostMalloc *h;
    ck_assert_int_eq(mgr->lpVtbl->CreateMalloc(mgr, 0, &h), S_OK);
    void *big = (void *)1;
    ck_assert_int_eq(h->lpVtbl->Alloc(h, 8 * MIB, eTaskCritical, &big), E_OUTOFMEMORY);
    ck_assert_ptr_null(big);
    ck_assert_int_eq(h->lpVtbl->Alloc(h, 2 * MIB, eTaskCritical, &big), S_OK);
    ck_assert_int_eq(h->lpVtbl->Alloc(h, 0, eTaskCritical, NULL), E_POINTER);
    ck_assert_int_eq(h->lpVtbl->Free(h, big), S_OK);
    h->lpVtbl->Release(h);
}
END_TEST

START_TEST(foreign_interior_and_double_frees_are_invalid_operation)
{
    IHostMalloc *h, *other;
    ck_assert_int_eq(mgr->lpVtbl->CreateMalloc(mgr, MALLOC_THREADSAFE, &h), S_OK);
    ck_assert_int_eq(mgr->lpVtbl->CreateMalloc(mgr, MALLOC_THREADSAFE, &other), S_OK);
    void *p, *q;
    int local;
    ck_assert_int_eq(h->lpVtbl->Alloc(h, 64, eTaskCritical, &p), S_OK);
    ck_assert_int_eq(other->lpVtbl->Alloc(other, 64, eTaskCritical, &q), S_OK);
    ck_assert_int_eq(h->lpVtbl->Free(h, &local), HOST_E_INVALIDOPERATION);
    ck_assert_int_eq(h->lpVtbl->Free(h, NULL), HOST_E_INVALIDOPERATION);
    ck_assert_int_eq(h->lpVtbl->Free(h, (char *)p + 8), HOST_E_INVALIDOPERATION);
    ck_assert_int_eq(h->lpVtbl->Free(h, q), HOST_E_INVALIDOPERATION);
    ck_assert_int_eq(h->lpVtbl->Free(h, p), S_OK);
    ck_assert_int_eq(h->lpVtbl->Free(h, p), HOST_E_INVALIDOPERATION);
    ck_assert_int_eq(other->lpVtbl->Free(other, q), S_OK);
    h->lpVtbl->Release(h);
    other->lpVtbl->Release(other);
}
END_TEST

START_TEST(executable_heaps_hand_out_executable_memory)
{
    IHostMalloc *h;
    ck_assert_int_eq(mgr->lpVtbl->CreateMalloc(mgr, MALLOC_THREADSAFE | MALLOC_EXECUTABLE, &h), S_OK);
    void *p;
    ck_assert_int_eq(h->lpVtbl->Alloc(h, 16, eTaskCritical, &p), S_OK);
    MEMORY_BASIC_INFORMATION mbi;
    ck_assert_uint_eq(VirtualQuery(p, &mbi, sizeof mbi), sizeof mbi);
    ck_assert_uint_eq(mbi.Protect, PAGE_EXECUTE_READWRITE);
#if defined(__x86_64__)
    static const unsigned char ret42[] = {0xB8, 42, 0, 0, 0, 0xC3}; /* mov eax, 42; ret */
    memcpy(p, ret42, sizeof ret42);
    FlushInstructionCache(GetCurrentProcess(), p, sizeof ret42);
    int (*fn)(void);
    memcpy(&fn, &p, sizeof fn);
    ck_assert_int_eq(fn(), 42);
#endif
    ck_assert_int_eq(h->lpVtbl->Free(h, p), S_OK);
    h->lpVtbl->Release(h);
}
END_TEST

START_TEST(debug_alloc_and_calls_after_teardown)
{
    IHostMalloc *h;
    ck_assert_int_eq(mgr->lpVtbl->CreateMalloc(mgr, MALLOC_THREADSAFE, &h), S_OK);
    void *p;
    ck_assert_int_eq(h->lpVtbl->DebugAlloc(h, 100, eTaskCritical, (char *)__FILE__, __LINE__, &p), S_OK);
    memset(p, 1, 100);
    hm_runtime_destroy(rt); /* gives the heap's chunks back with the runtime's regions */
    ck_assert_int_eq(h->lpVtbl->Alloc(h, 8, eTaskCritical, &p), HOST_E_CLRNOTAVAILABLE);
    ck_assert_int_eq(h->lpVtbl->Free(h, p), HOST_E_CLRNOTAVAILABLE);
    ck_assert_uint_eq(committed(), 0);
    h->lpVtbl->Release(h);
}
END_TEST

static TCase *tc(TCase *c, const TTest *t)
{
    tcase_add_checked_fixture(c, setup, teardown);
    tcase_add_test(c, t);
    return c;
}

static Suite *make_suite(void)
{
    Suite *s = suite_create("malloc");
    suite_add_tcase(s, tc(tcase_create("malloc_create_malloc_validates_and_follows_com"), create_malloc_validates_and_follows_com));
    suite_add_tcase(s, tc(tcase_create("malloc_blocks_are_charged_to_the_runtime_budget"), blocks_are_charged_to_the_runtime_budget));
    suite_add_tcase(s, tc(tcase_create("malloc_over_budget_alloc_fails_with_out_of_memory"), over_budget_alloc_fails_with_out_of_memory));
    suite_add_tcase(s, tc(tcase_create("malloc_foreign_interior_and_double_frees_are_invalid_operation"), foreign_interior_and_double_frees_are_invalid_operation));
    suite_add_tcase(s, tc(tcase_create("malloc_executable_heaps_hand_out_executable_memory"), executable_heaps_hand_out_executable_memory));
    suite_add_tcase(s, tc(tcase_create("malloc_debug_alloc_and_calls_after_teardown"), debug_alloc_and_calls_after_teardown));
    return s;
}

HM_TEST_MAIN(make_suite)
