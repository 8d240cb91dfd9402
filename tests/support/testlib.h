/*
 * testlib.h — helpers shared by the Check suites: a main() that runs one suite, a
 * VirtualQuery assertion that names every field, and a "does touching this fault?" probe
 * that runs the access in a forked child.
 */
#ifndef HM_TESTLIB_H
#define HM_TESTLIB_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostmem/hostmem.h"
#include "hostmem/memoryapi.h"

#define P ((SIZE_T)4096)
#define G ((SIZE_T)65536)

/* Runs the suite (all cases, or the one named by CK_RUN_CASE) and returns the exit code. */
int hm_test_run(Suite *s);
#define HM_TEST_MAIN(make_suite) \
    int main(void) { return hm_test_run(make_suite()); }

/* Asserts every field of VirtualQuery(addr). Pass alloc_base/alloc_prot as they must read. */
#define ck_assert_region(addr, base_, alloc_base_, alloc_prot_, size_, state_, prot_, type_)  \
    do {                                                                                   \
        MEMORY_BASIC_INFORMATION mbi_;                                                     \
        ck_assert_uint_eq(VirtualQuery((addr), &mbi_, sizeof mbi_), sizeof mbi_);          \
        ck_assert_ptr_eq(mbi_.BaseAddress, (void *)(base_));                               \
        ck_assert_ptr_eq(mbi_.AllocationBase, (void *)(alloc_base_));                      \
        ck_assert_uint_eq(mbi_.AllocationProtect, (alloc_prot_));                          \
        ck_assert_uint_eq(mbi_.RegionSize, (size_));                                       \
        ck_assert_uint_eq(mbi_.State, (state_));                                           \
        ck_assert_uint_eq(mbi_.Protect, (prot_));                                          \
        ck_assert_uint_eq(mbi_.Type, (type_));                                             \
    } while (0)

/* Asserts a failed Win32 call's last error. */
#define ck_assert_last_error(e) ck_assert_uint_eq(GetLastError(), (DWORD)(e))

/* Runs an access in a forked child: returns the signal that killed it (0 = no fault). */
int hm_probe_read(const volatile void *addr);
int hm_probe_write(volatile void *addr);

#endif
