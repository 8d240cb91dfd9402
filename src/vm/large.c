/*
 * large.c — MEM_LARGE_PAGES: 2 MiB-aligned reservations committed from the kernel's
 * huge-page pool.
 *
 * The range is placed as an ordinary PROT_NONE reservation (placement.c), over-reserved by
 * 2 MiB and trimmed to a 2 MiB-aligned base unless the caller gave the (2 MiB-aligned)
 * address (or address requirements: placement then aligns to 2 MiB). Huge pages are then
 * mapped anywhere (MAP_HUGETLB: the pool reserves them at once, so they cannot run out
 * later) and moved onto the reservation with one mremap, which replaces it atomically. (A
 * MAP_HUGETLB|MAP_FIXED over the reservation would be one call less, but when the pool is
 * empty the kernel fails it after the old range is gone, leaving a hole another thread's
 * mmap could take.) If the pool cannot supply the pages, the default policy fails as
 * Windows does when it finds no contiguous memory (ERROR_NO_SYSTEM_RESOURCES);
 * HOSTMEM_LARGE_PAGES=thp commits the reservation from ordinary pages instead and asks for
 * transparent huge pages (MADV_HUGEPAGE). Every failure unmaps what was mapped.
 * Stateless (the right's accounting lives in privilege.c); no locks.
 */
#include <string.h>

#include "vm/internal.h"
#include "vm/phys.h"
#include "vm/placement.h"

#define LARGE_PAGE ((size_t)2 << 20)

static void undo(uintptr_t a, size_t len)
{
    int err = hm_os.unmap(HM_SITE_LARGE_UNDO, (void *)a, len);
    if (err)
        hm_panic("large pages: cannot undo the mapping", a, len, err);
}

/* A 2 MiB-aligned PROT_NONE range of size bytes (with limits: placement aligns it). */
static int place(uintptr_t addr, size_t size, bool top_down, const hm_vm_limits_t *limits,
                 uintptr_t *base)
{
    if (limits) {
        hm_vm_limits_t l = *limits;
        if (l.align < LARGE_PAGE)
            l.align = LARGE_PAGE;
        return hm_place_map(0, size, 0, top_down, &l, base);
    }
    if (addr)
        return hm_place_map(addr, size, 0, false, NULL, base);
    size_t len = size + LARGE_PAGE;
    uintptr_t b;
    int st = len < size ? HM_E_NO_MEMORY : hm_place_map(0, len, 0, top_down, NULL, &b);
    if (st != HM_OK)
        return st;
    uintptr_t a = HM_ALIGN_UP(b, LARGE_PAGE), end = b + len, aend = a + size;
    if (a > b && hm_os.unmap(HM_SITE_LARGE_TRIM, (void *)b, a - b) != 0) {
        undo(b, len);
        return HM_E_NO_MEMORY;
    }
    if (end > aend && hm_os.unmap(HM_SITE_LARGE_TRIM, (void *)aend, end - aend) != 0) {
        undo(a, end - a);
        return HM_E_NO_MEMORY;
    }
    *base = a;
    return HM_OK;
}

bool hm_large_thp_policy(void)
{
    const char *v = hm_os_getenv("HOSTMEM_LARGE_PAGES");
    return v && strcmp(v, "thp") == 0;
}

/* The pool could not supply the pages: commit ordinary ones, advised huge. */
static int commit_thp(uintptr_t a, size_t size, unsigned os_prot)
{
    int err = hm_os.protect(HM_SITE_LARGE_THP_COMMIT, (void *)a, size, os_prot);
    if (err)
        return hm_status_of_errno(err);
    return hm_os.advise_huge(HM_SITE_LARGE_THP_ADVISE, (void *)a, size) == 0
               ? HM_OK
               : HM_E_NO_SYSTEM_RESOURCES;
}

/* Moves huge pages from the pool onto the reservation at a. */
static int map_huge(uintptr_t a, size_t size, unsigned os_prot)
{
    void *p;
    int err = hm_os.map_huge(HM_SITE_LARGE_MAP, size, os_prot, &p);
    if (err)
        return err == ENOMEM && hm_large_thp_policy() ? commit_thp(a, size, os_prot)
                                             : HM_E_NO_SYSTEM_RESOURCES;
    if (hm_os.move(HM_SITE_LARGE_MOVE, p, size, (void *)a) == 0)
        return HM_OK;
    if ((err = hm_os.unmap(HM_SITE_LARGE_DROP, p, size)) != 0)
        hm_panic("large pages: cannot unmap huge pages", (uintptr_t)p, size, err);
    return HM_E_NO_SYSTEM_RESOURCES;
}

int hm_large_map(uintptr_t addr, size_t size, unsigned os_prot, bool top_down,
                 const hm_vm_limits_t *limits, uintptr_t *base)
{
    int st = hm_lock_right_check(size);
    uintptr_t a = 0;
    if (st == HM_OK)
        st = place(addr, size, top_down, limits, &a);
    if (st != HM_OK)
        return st;
    if ((st = map_huge(a, size, os_prot)) != HM_OK) {
        undo(a, size);
        return st;
    }
    hm_lock_right_hold((int64_t)size);
    *base = a;
    return HM_OK;
}

void hm_large_released(size_t size)
{
    hm_lock_right_hold(-(int64_t)size);
}
