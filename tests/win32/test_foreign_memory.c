/*
 * test_foreign_memory.c — memory hostmem did not allocate (mmap, stack, heap, the executable,
 * libraries): VirtualQuery answers from the kernel's view, VirtualProtect works on it.
 * Rows: issue text; semantics-decisions ("Memory hostmem did not allocate",
 * "VirtualProtect with PAGE_GUARD on memory hostmem did not allocate"); memoryapi.md §5.7, §5.8.
 * HM_LINUX_ONLY_FILE: Linux mappings (mmap, /proc/self/maps) seen through hostmem's VirtualQuery.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"

#if defined(__SANITIZE_ADDRESS__)
#define HM_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HM_UNDER_ASAN 1
#endif
#endif
#ifndef HM_UNDER_ASAN
#define HM_UNDER_ASAN 0
#endif

#define TOP ((uintptr_t)0x7FFFFFFF0000)

/* One /proc/self/maps line. */
typedef struct maps_line {
    uintptr_t lo, hi;
    char perms[5];
    char path[256];
} maps_line_t;

static bool maps_find(uintptr_t addr, maps_line_t *out)
{
    FILE *f = fopen("/proc/self/maps", "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    bool found = false;
    while (fgets(line, sizeof line, f)) {
        maps_line_t m;
        memset(&m, 0, sizeof m);
        unsigned long off, inode;
        char dev[32];
        int n = sscanf(line, "%lx-%lx %4s %lx %31s %lu %255s", &m.lo, &m.hi, m.perms, &off, dev,
                       &inode, m.path);
        if (n < 6)
            continue;
        if (addr >= m.lo && addr < m.hi) {
            *out = m;
            found = true;
            break;
        }
    }
    fclose(f);
    return found;
}

/* The lowest mapping of the file `path`. */
static uintptr_t maps_first_of(const char *path)
{
    FILE *f = fopen("/proc/self/maps", "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    uintptr_t first = 0;
    while (fgets(line, sizeof line, f)) {
        maps_line_t m;
        memset(&m, 0, sizeof m);
        unsigned long off, inode;
        char dev[32];
        if (sscanf(line, "%lx-%lx %4s %lx %31s %lu %255s", &m.lo, &m.hi, m.perms, &off, dev, &inode,
                   m.path) == 7 &&
            strcmp(m.path, path) == 0) {
            first = m.lo;
            break;
        }
    }
    fclose(f);
    ck_assert_uint_ne(first, 0);
    return first;
}

static char *map_fixed(char *at, size_t size, int prot)
{
    char *p = mmap(at, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    ck_assert_ptr_eq(p, at);
    return p;
}

static MEMORY_BASIC_INFORMATION query(const void *addr)
{
    MEMORY_BASIC_INFORMATION m;
    memset(&m, 0xCC, sizeof m);
    SetLastError(HM_SENTINEL);
    ck_assert_uint_eq(VirtualQuery(addr, &m, sizeof m), sizeof m);
    ck_assert_last_error_untouched();
    return m;
}

/* semantics-decisions: anonymous → MEM_PRIVATE; `---p` anonymous → MEM_RESERVE, Protect 0 */
START_TEST(query_anonymous_mapping_reports_committed_and_reserved_parts)
{
    char *r = hm_free_range(2 * G);
    char *p = map_fixed(r + P, 8 * P, PROT_NONE);
    ck_assert_int_eq(mprotect(p + 2 * P, 4 * P, PROT_READ | PROT_WRITE), 0);
    p[2 * P] = 1;

    MEMORY_BASIC_INFORMATION m = query(p + 3 * P + 0x10);
    ck_assert_ptr_eq(m.BaseAddress, p + 3 * P);
    ck_assert_uint_eq(m.RegionSize, 3 * P);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Protect, PAGE_READWRITE);
    ck_assert_uint_eq(m.Type, MEM_PRIVATE);
    ck_assert_ptr_nonnull(m.AllocationBase);
    ck_assert_uint_le((uintptr_t)m.AllocationBase, (uintptr_t)m.BaseAddress);

    m = query(p);
    ck_assert_ptr_eq(m.BaseAddress, p);
    ck_assert_uint_eq(m.RegionSize, 2 * P);
    ck_assert_uint_eq(m.State, MEM_RESERVE);
    ck_assert_uint_eq(m.Protect, 0);
    ck_assert_uint_eq(m.Type, MEM_PRIVATE);
    ck_assert_uint_le((uintptr_t)m.AllocationBase, (uintptr_t)p);

    m = query(p + 6 * P);
    ck_assert_ptr_eq(m.BaseAddress, p + 6 * P);
    ck_assert_uint_eq(m.RegionSize, 2 * P);
    ck_assert_uint_eq(m.State, MEM_RESERVE);
    ck_assert_uint_eq(m.Protect, 0);
    ck_assert_uint_eq(m.Type, MEM_PRIVATE);

    /* the page just below is free, exactly one page long */
    ck_assert_free_region(r, r, P);
    m = query(p + 8 * P);
    ck_assert_ptr_eq(m.BaseAddress, p + 8 * P);
    ck_assert_uint_eq(m.State, MEM_FREE);
    ck_assert_uint_eq(m.Protect, PAGE_NOACCESS);
    ck_assert_ptr_null(m.AllocationBase);
    ck_assert_uint_eq(m.AllocationProtect, 0);
    ck_assert_uint_eq(m.Type, 0);
    munmap(p, 8 * P);
}
END_TEST

/* semantics-decisions: the kernel's protections translate one to one */
START_TEST(query_anonymous_mapping_translates_protections)
{
    static const struct { int prot; DWORD want; } cases[] = {
        {PROT_READ, PAGE_READONLY},
        {PROT_READ | PROT_WRITE, PAGE_READWRITE},
        {PROT_READ | PROT_EXEC, PAGE_EXECUTE_READ},
        {PROT_READ | PROT_WRITE | PROT_EXEC, PAGE_EXECUTE_READWRITE},
        {PROT_EXEC, PAGE_EXECUTE},
    };
    char *r = hm_free_range(2 * G);
    char *p = map_fixed(r, 5 * P, PROT_READ);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_int_eq(mprotect(p + i * P, P, cases[i].prot), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        MEMORY_BASIC_INFORMATION m = query(p + i * P);
        ck_assert_ptr_eq(m.BaseAddress, p + i * P);
        ck_assert_uint_eq(m.RegionSize, P);
        ck_assert_uint_eq(m.State, MEM_COMMIT);
        ck_assert_msg(m.Protect == cases[i].want, "prot %d: got %#x", cases[i].prot, m.Protect);
        ck_assert_uint_eq(m.Type, MEM_PRIVATE);
    }
    munmap(p, 5 * P);
}
END_TEST

/* A hole between two foreign mappings is free, exactly as long as the hole */
START_TEST(query_gap_between_foreign_mappings_is_free)
{
    char *r = hm_free_range(2 * G);
    char *p = map_fixed(r, 3 * P, PROT_READ | PROT_WRITE);
    ck_assert_int_eq(munmap(p + P, P), 0);
    ck_assert_free_region(p + P + 7, p + P, P);
    MEMORY_BASIC_INFORMATION m = query(p);
    ck_assert_uint_eq(m.RegionSize, P);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    munmap(p, P);
    munmap(p + 2 * P, P);
}
END_TEST

/* semantics-decisions: other files → MEM_MAPPED; private writable file pages → PAGE_WRITECOPY */
START_TEST(query_file_mapping_reports_mapped)
{
    char path[] = "/tmp/hm_conf_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    ck_assert_int_eq(ftruncate(fd, (off_t)(3 * P)), 0);
    static const struct { int prot, flags; DWORD want; } cases[] = {
        {PROT_READ, MAP_SHARED, PAGE_READONLY},
        {PROT_READ | PROT_WRITE, MAP_SHARED, PAGE_READWRITE},
        {PROT_READ | PROT_WRITE, MAP_PRIVATE, PAGE_WRITECOPY},
        {PROT_READ, MAP_PRIVATE, PAGE_READONLY},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *p = mmap(NULL, 3 * P, cases[i].prot, cases[i].flags, fd, 0);
        ck_assert_ptr_ne(p, MAP_FAILED);
        MEMORY_BASIC_INFORMATION m = query(p + P + 1);
        ck_assert_ptr_eq(m.BaseAddress, p + P);
        ck_assert_ptr_eq(m.AllocationBase, p);
        ck_assert_uint_eq(m.RegionSize, 2 * P);
        ck_assert_uint_eq(m.State, MEM_COMMIT);
        ck_assert_msg(m.Protect == cases[i].want, "case %zu: got %#x", i, m.Protect);
        ck_assert_uint_eq(m.Type, MEM_MAPPED);
        munmap(p, 3 * P);
    }
    close(fd);
}
END_TEST

/* semantics-decisions: a file mapped executable somewhere → MEM_IMAGE, AllocationBase = its first
 * mapping, AllocationProtect = PAGE_EXECUTE_WRITECOPY */
START_TEST(query_library_code_reports_image)
{
    void *fn = (void *)(uintptr_t)&getpid; /* libc's code */
    maps_line_t ml;
    ck_assert(maps_find((uintptr_t)fn, &ml));
    ck_assert_str_eq(ml.perms, "r-xp");
    ck_assert_msg(ml.path[0] == '/', "getpid is not in a file mapping: %s", ml.path);
    uintptr_t first = maps_first_of(ml.path);
    uintptr_t page = (uintptr_t)fn & ~(uintptr_t)(P - 1);
    MEMORY_BASIC_INFORMATION m = query(fn);
    ck_assert_ptr_eq(m.BaseAddress, (void *)page);
    ck_assert_ptr_eq(m.AllocationBase, (void *)first);
    ck_assert_uint_eq(m.AllocationProtect, PAGE_EXECUTE_WRITECOPY);
    ck_assert_uint_eq(m.RegionSize, ml.hi - page);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Protect, PAGE_EXECUTE_READ);
    ck_assert_uint_eq(m.Type, MEM_IMAGE);
    /* the library's first mapping (its headers, read-only) */
    m = query((void *)first);
    ck_assert_ptr_eq(m.AllocationBase, (void *)first);
    ck_assert_uint_eq(m.AllocationProtect, PAGE_EXECUTE_WRITECOPY);
    ck_assert_uint_eq(m.Protect, PAGE_READONLY);
    ck_assert_uint_eq(m.Type, MEM_IMAGE);
}
END_TEST

static char data_buf[3 * 4096] __attribute__((aligned(4096))) = {1, 2, 3};

/* the executable's initialised data: private writable pages of an image → PAGE_WRITECOPY */
START_TEST(query_executable_data_reports_writecopy_image)
{
    maps_line_t ml;
    ck_assert(maps_find((uintptr_t)data_buf + P, &ml));
    ck_assert_str_eq(ml.perms, "rw-p");
    ck_assert_msg(ml.path[0] == '/', "data_buf is not file-backed: '%s'", ml.path);
    uintptr_t first = maps_first_of(ml.path);
    MEMORY_BASIC_INFORMATION m = query(data_buf + P);
    ck_assert_ptr_eq(m.BaseAddress, data_buf + P);
    ck_assert_ptr_eq(m.AllocationBase, (void *)first);
    ck_assert_uint_eq(m.AllocationProtect, PAGE_EXECUTE_WRITECOPY);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Protect, PAGE_WRITECOPY);
    ck_assert_uint_eq(m.Type, MEM_IMAGE);
    ck_assert_uint_eq((uintptr_t)m.BaseAddress + m.RegionSize, ml.hi);
}
END_TEST

/* stack and heap are private read-write committed memory */
START_TEST(query_stack_and_heap_report_private_readwrite)
{
    volatile int local = 1;
    char *small = malloc(64);
    char *big = malloc(4 << 20); /* its own mmap */
    ck_assert_ptr_nonnull(small);
    ck_assert_ptr_nonnull(big);
    big[0] = small[0] = 1;
    const void *addrs[] = {(const void *)&local, small, big + (2 << 20)};
    DWORD heap_prot = hm_test_under_valgrind("malloc is Valgrind's, from read-write-execute "
                                             "mappings: the heap is PAGE_EXECUTE_READWRITE")
                          ? PAGE_EXECUTE_READWRITE
                          : PAGE_READWRITE;
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        MEMORY_BASIC_INFORMATION m = query(addrs[i]);
        ck_assert_ptr_eq(m.BaseAddress, (void *)((uintptr_t)addrs[i] & ~(uintptr_t)(P - 1)));
        ck_assert_uint_eq(m.State, MEM_COMMIT);
        ck_assert_uint_eq(m.Protect, i == 0 ? PAGE_READWRITE : heap_prot);
        ck_assert_uint_eq(m.Type, MEM_PRIVATE);
        ck_assert_uint_gt(m.RegionSize, 0);
        ck_assert_uint_eq(m.RegionSize % P, 0);
        maps_line_t ml;
        ck_assert(maps_find((uintptr_t)addrs[i], &ml));
        ck_assert_uint_le((uintptr_t)m.BaseAddress + m.RegionSize, ml.hi);
    }
    free(big);
    free(small);
}
END_TEST

/* Q2, Q4 over the whole process: regions tile user space with no gaps, every field is
 * consistent with the state, and neighbouring regions differ (each is a maximal run) */
START_TEST(query_walk_tiles_user_space)
{
    char *own = VirtualAlloc(NULL, 3 * P, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(own);
    ck_assert_ptr_eq(VirtualAlloc(own + P, P, MEM_COMMIT, PAGE_READONLY), own + P);
    uintptr_t at = 0;
    MEMORY_BASIC_INFORMATION prev;
    memset(&prev, 0, sizeof prev);
    int n = 0;
    bool saw_own = false;
#if !HM_UNDER_ASAN
    bool under_valgrind = hm_test_under_valgrind("regions not checked to be maximal: Valgrind "
                                                 "maps memory of its own during the walk");
#endif
    while (at < TOP) {
        ck_assert_int_lt(n++, 200000);
        MEMORY_BASIC_INFORMATION m = query((void *)at);
        uintptr_t base = (uintptr_t)m.BaseAddress;
        ck_assert_uint_eq(base, at);
        ck_assert_uint_gt(m.RegionSize, 0);
        ck_assert_uint_eq(m.RegionSize % P, 0);
        ck_assert_uint_le(base + m.RegionSize, TOP);
        switch (m.State) {
        case MEM_FREE:
            ck_assert_ptr_null(m.AllocationBase);
            ck_assert_uint_eq(m.AllocationProtect, 0);
            ck_assert_uint_eq(m.Protect, PAGE_NOACCESS);
            ck_assert_uint_eq(m.Type, 0);
            ck_assert_msg(n == 1 || prev.State != MEM_FREE, "two free regions in a row at %#lx",
                          (unsigned long)base);
            break;
        case MEM_RESERVE:
        case MEM_COMMIT:
            ck_assert_ptr_nonnull(m.AllocationBase);
            ck_assert_uint_le((uintptr_t)m.AllocationBase, base);
            ck_assert(m.Type == MEM_PRIVATE || m.Type == MEM_MAPPED || m.Type == MEM_IMAGE);
            if (m.State == MEM_RESERVE)
                ck_assert_uint_eq(m.Protect, 0);
            else
                ck_assert_msg(__builtin_popcount(m.Protect & 0xFFu) == 1, "Protect %#x at %#lx",
                              m.Protect, (unsigned long)base);
#if !HM_UNDER_ASAN
            /* (Under ASan the sanitizer's allocator grows its mappings between two queries,
             * and the kernel merges them: the process itself changes under the walk. So
             * does Valgrind's own memory as it translates code.) */
            ck_assert_msg(under_valgrind ||
                          !(prev.State == m.State && prev.AllocationBase == m.AllocationBase &&
                            prev.Protect == m.Protect && prev.Type == m.Type),
                          "region at %#lx continues the previous one", (unsigned long)base);
#endif
            break;
        default:
            ck_abort_msg("State %#x at %#lx", m.State, (unsigned long)base);
        }
        if (base == (uintptr_t)own + P) {
            saw_own = true;
            ck_assert_uint_eq(m.RegionSize, P);
            ck_assert_uint_eq(m.Protect, PAGE_READONLY);
        }
        prev = m;
        at = base + m.RegionSize;
    }
    ck_assert_uint_eq(at, TOP);
    ck_assert(saw_own);
    ck_assert_int_ne(VirtualFree(own, 0, MEM_RELEASE), 0);
}
END_TEST

/* Issue: VirtualProtect works on a page from mmap */
START_TEST(protect_mmap_page)
{
    char *p = mmap(NULL, 2 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    p[P] = 0x21;
    DWORD old = 0;
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualProtect(p + P, P, PAGE_READONLY, &old), 0);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(old, PAGE_READWRITE);
    MEMORY_BASIC_INFORMATION m = query(p + P);
    ck_assert_ptr_eq(m.BaseAddress, p + P);
    ck_assert_uint_eq(m.Protect, PAGE_READONLY);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Type, MEM_PRIVATE);
    ck_assert_int_eq(hm_probe_write(p + P), SIGSEGV);
    ck_assert_int_eq(hm_probe_write(p), 0);
    ck_assert_int_eq(p[P], 0x21);
    old = 0;
    ck_assert_int_ne(VirtualProtect(p, 2 * P, PAGE_READWRITE, &old), 0);
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert_int_eq(hm_probe_write(p + P), 0);
    munmap(p, 2 * P);
}
END_TEST

/* A committed page made PAGE_NOACCESS stays committed (§1.2 table: NOACCESS → NOACCESS) and can
 * be made accessible again, whoever allocated it */
START_TEST(protect_mmap_page_to_noaccess_and_back)
{
    char *p = mmap(NULL, 2 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    p[P] = 0x21;
    DWORD old = 0;
    ck_assert_int_ne(VirtualProtect(p + P, P, PAGE_NOACCESS, &old), 0);
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert_int_eq(hm_probe_read(p + P), SIGSEGV);
    /* The kernel's view cannot tell this page from a reserved one (docs/semantics-decisions.md). */
    MEMORY_BASIC_INFORMATION m = query(p + P);
    ck_assert_uint_eq(m.State, MEM_RESERVE);
    ck_assert_uint_eq(m.Protect, 0);
    old = 0;
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualProtect(p + P, P, PAGE_READWRITE, &old), 0);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    ck_assert_int_eq(p[P], 0x21);
    munmap(p, 2 * P);
}
END_TEST

static char bss_buf[4 * 4096] __attribute__((aligned(4096)));

/* Issue: VirtualProtect works on a static buffer */
START_TEST(protect_static_buffer)
{
    bss_buf[P] = 0x31;
    MEMORY_BASIC_INFORMATION before = query(bss_buf + P);
    ck_assert_uint_eq(before.State, MEM_COMMIT);
    DWORD old = 0;
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualProtect(bss_buf + P, P, PAGE_READONLY, &old), 0);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(old, before.Protect);
    MEMORY_BASIC_INFORMATION m = query(bss_buf + P);
    ck_assert_ptr_eq(m.BaseAddress, bss_buf + P);
    ck_assert_uint_eq(m.RegionSize, P);
    ck_assert_uint_eq(m.Protect, PAGE_READONLY);
    ck_assert_int_eq(hm_probe_write(bss_buf + P), SIGSEGV);
    ck_assert_int_eq(hm_probe_read(bss_buf + P), 0);
    ck_assert_int_eq(bss_buf[P], 0x31);
    ck_assert_int_ne(VirtualProtect(bss_buf + P, P, PAGE_READWRITE, &old), 0);
    ck_assert_uint_eq(old, PAGE_READONLY);
    bss_buf[P] = 0x32;
    ck_assert_int_eq(bss_buf[P], 0x32);
}
END_TEST

/* semantics-decisions: PAGE_GUARD on memory hostmem did not allocate → FALSE, 87 */
START_TEST(protect_foreign_memory_with_guard_fails_with_invalid_parameter)
{
    char *p = mmap(NULL, P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    DWORD old = 0x1234;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(p, P, PAGE_READWRITE | PAGE_GUARD, &old), 0);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(p, P, PAGE_READONLY | PAGE_GUARD, &old), 0);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    MEMORY_BASIC_INFORMATION m = query(p);
    ck_assert_uint_eq(m.Protect, PAGE_READWRITE);
    ck_assert_int_eq(hm_probe_write(p), 0);
    munmap(p, P);
}
END_TEST

/* Issue: NULL old-protect → 998 and nothing changed, on foreign memory too */
START_TEST(protect_foreign_memory_null_old_protect_fails_with_noaccess)
{
    char *p = mmap(NULL, P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(p, P, PAGE_READONLY, NULL), 0);
    ck_assert_last_error(ERROR_NOACCESS);
    ck_assert_int_eq(hm_probe_write(p), 0);
    munmap(p, P);
}
END_TEST

/* Issue: reserved or free pages → 487, nothing changed, old = NOACCESS */
START_TEST(protect_foreign_range_with_uncommitted_pages_fails_with_invalid_address)
{
    char *r = hm_free_range(2 * G);
    char *p = map_fixed(r, 2 * P, PROT_READ | PROT_WRITE);
    DWORD old = 0x1234;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(p, 3 * P, PAGE_READONLY, &old), 0); /* third page unmapped */
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    ck_assert_int_eq(hm_probe_write(p), 0);
    ck_assert_int_eq(hm_probe_write(p + P), 0);

    ck_assert_int_eq(mprotect(p + P, P, PROT_NONE), 0); /* reported as reserved, yet mapped: */
    old = 0x1234;                                        /* VirtualProtect passes through */
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualProtect(p + P, P, PAGE_READWRITE, &old), 0);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    ck_assert_int_eq(hm_probe_write(p + P), 0);
    munmap(p, 2 * P);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("foreign_memory");
    hm_add(s, tcase_create("query_anonymous_mapping_reports_committed_and_reserved_parts"), query_anonymous_mapping_reports_committed_and_reserved_parts);
    hm_add(s, tcase_create("query_anonymous_mapping_translates_protections"), query_anonymous_mapping_translates_protections);
    hm_add(s, tcase_create("query_gap_between_foreign_mappings_is_free"), query_gap_between_foreign_mappings_is_free);
    hm_add(s, tcase_create("query_file_mapping_reports_mapped"), query_file_mapping_reports_mapped);
    hm_add(s, tcase_create("query_library_code_reports_image"), query_library_code_reports_image);
    hm_add(s, tcase_create("query_executable_data_reports_writecopy_image"), query_executable_data_reports_writecopy_image);
    hm_add(s, tcase_create("query_stack_and_heap_report_private_readwrite"), query_stack_and_heap_report_private_readwrite);
    hm_add(s, tcase_create("query_walk_tiles_user_space"), query_walk_tiles_user_space);
    hm_add(s, tcase_create("protect_mmap_page"), protect_mmap_page);
    hm_add(s, tcase_create("protect_mmap_page_to_noaccess_and_back"), protect_mmap_page_to_noaccess_and_back);
    hm_add(s, tcase_create("protect_static_buffer"), protect_static_buffer);
    hm_add(s, tcase_create("protect_foreign_memory_with_guard_fails_with_invalid_parameter"), protect_foreign_memory_with_guard_fails_with_invalid_parameter);
    hm_add(s, tcase_create("protect_foreign_memory_null_old_protect_fails_with_noaccess"), protect_foreign_memory_null_old_protect_fails_with_noaccess);
    hm_add(s, tcase_create("protect_foreign_range_with_uncommitted_pages_fails_with_invalid_address"), protect_foreign_range_with_uncommitted_pages_fails_with_invalid_address);
    return s;
}

HM_TEST_MAIN(make_suite)
