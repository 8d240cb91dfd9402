/*
 * physical_pages.c — the pool of AWE physical pages: one memfd per process, created at the
 * first AllocateUserPhysicalPages (MFD_CLOEXEC, closed by a destructor), and a table with
 * one hm_pool_page_t per page slot of the memfd.
 *
 * Invariant: a slot is allocated iff its pages of the memfd are allocated (fallocate) and
 * hold the caller's data; a free slot's pages are punched out (they read zero when the
 * slot is handed out again). Allocated pages are charged to the process's commit and held
 * under the right to lock memory. A page number is
 *     bit 62 | code(generation) << 32 | (slot + 1)
 * where code mixes the slot's generation with a per-process key (from the kernel's
 * AT_RANDOM bytes), so numbers are never 0 (MapUserPhysicalPagesScatter's "unmap"), a freed
 * page's number stops validating, and numbers from another process almost never do.
 * Locking: the pool lock (phys.h) guards everything here.
 */
#include <pthread.h>
#include <string.h>
#include <sys/auxv.h>

#include "vm/internal.h"
#include "vm/phys.h"
#include "vm/phys_pool.h"

#define PFN_TAG ((uint64_t)1 << 62)
#define CODE_MASK 0x3FFFFFFFu
#define MAX_SLOTS 0xFFFFFFF0u
#define FIRST_CAP 256u

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static int pool_fd = -1;
static hm_pool_page_t *pages;
static uint32_t cap, used, free_head, n_allocated;
static uint32_t key;

void hm_phys_lock(void)
{
    pthread_mutex_lock(&pool_lock);
}

void hm_phys_unlock(void)
{
    pthread_mutex_unlock(&pool_lock);
}

bool hm_pool_ready(void)
{
    return pool_fd >= 0;
}

int hm_pool_fd(void)
{
    return pool_fd;
}

hm_pool_page_t *hm_pool_page(uint32_t slot)
{
    return &pages[slot];
}

static uint32_t code_of(uint32_t gen)
{
    return (gen * 0x9E3779B1u ^ key) & CODE_MASK;
}

static uint64_t pfn_of(uint32_t slot)
{
    return PFN_TAG | (uint64_t)code_of(pages[slot].gen) << 32 | (uint64_t)(slot + 1);
}

int hm_pool_slot_of(uint64_t pfn, uint32_t *slot)
{
    uint32_t s = (uint32_t)pfn - 1;
    if ((pfn & ~((uint64_t)CODE_MASK << 32 | 0xFFFFFFFFu)) != PFN_TAG || s >= used ||
        !pages[s].allocated || (uint32_t)(pfn >> 32 & CODE_MASK) != code_of(pages[s].gen))
        return HM_E_CONFLICTING_ADDRESSES;
    *slot = s;
    return HM_OK;
}

static void key_init(void)
{
    const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
    uint32_t k = (uint32_t)(uintptr_t)&pool_lock ^ (uint32_t)((uintptr_t)&pool_lock >> 32);
    if (r)
        k ^= (uint32_t)r[0] | (uint32_t)r[1] << 8 | (uint32_t)r[2] << 16 | (uint32_t)r[3] << 24;
    key = k;
}

static int pool_create(void)
{
    if (pool_fd >= 0)
        return HM_OK;
    int fd;
    if (hm_os.memfd(HM_SITE_PHYS_MEMFD, &fd) != 0)
        return HM_E_NO_SYSTEM_RESOURCES;
    key_init();
    pool_fd = fd;
    return HM_OK;
}

__attribute__((destructor)) static void pool_close(void)
{
    hm_os_close(pool_fd);
    pool_fd = -1;
}

/* Makes the table hold at least want slots (want <= MAX_SLOTS). */
static int table_grow(uint32_t want)
{
    if (want <= cap)
        return HM_OK;
    uint64_t ncap = cap ? cap : FIRST_CAP;
    while (ncap < want)
        ncap *= 2;
    if (ncap > MAX_SLOTS)
        ncap = MAX_SLOTS;
    void *mem;
    if (hm_os.alloc(HM_SITE_PHYS_TABLE_GROW, (size_t)ncap * sizeof(hm_pool_page_t), &mem) != 0)
        return HM_E_NO_SYSTEM_RESOURCES;
    if (used)
        memcpy(mem, pages, (size_t)used * sizeof(hm_pool_page_t));
    hm_os_free(pages);
    pages = mem;
    cap = (uint32_t)ncap;
    return HM_OK;
}

static void take(uint32_t slot, uint64_t *pfn)
{
    pages[slot].allocated = true;
    pages[slot].mapped_at = 0;
    pages[slot].next_free = 0;
    n_allocated++;
    *pfn = pfn_of(slot);
}

/* Pages from the free list, one fallocate each; stops at the first failure. */
static uint64_t take_free(uint64_t want, uint64_t *pfns)
{
    uint64_t got = 0;
    while (got < want && free_head) {
        uint32_t s = free_head - 1;
        if (hm_os.fd_alloc(HM_SITE_PHYS_FALLOCATE, pool_fd, (uint64_t)s << HM_PAGE_SHIFT,
                           HM_PAGE_SIZE) != 0)
            break;
        free_head = pages[s].next_free;
        take(s, &pfns[got++]);
    }
    return got;
}

/* Fresh slots past the used ones, one fallocate for all of them. */
static uint64_t take_fresh(uint64_t want, uint64_t *pfns)
{
    if (want > MAX_SLOTS - used)
        want = MAX_SLOTS - used;
    if (!want || table_grow(used + (uint32_t)want) != HM_OK ||
        hm_os.fd_alloc(HM_SITE_PHYS_FALLOCATE, pool_fd, (uint64_t)used << HM_PAGE_SHIFT,
                       want << HM_PAGE_SHIFT) != 0)
        return 0;
    for (uint64_t i = 0; i < want; i++) {
        pages[used].gen = 0;
        take(used++, &pfns[i]);
    }
    return want;
}

int hm_pool_allocate(uint64_t *count, uint64_t *pfns)
{
    uint64_t want = *count;
    if (want > MAX_SLOTS - n_allocated)
        want = MAX_SLOTS - n_allocated;
    int st = pool_create();
    if (st == HM_OK && !want)
        st = HM_E_NO_SYSTEM_RESOURCES;
    if (st == HM_OK)
        st = hm_charge(NULL, want << HM_PAGE_SHIFT);
    if (st != HM_OK)
        return st;
    uint64_t got = take_free(want, pfns);
    if (got < want)
        got += take_fresh(want - got, pfns + got);
    hm_uncharge(NULL, (want - got) << HM_PAGE_SHIFT);
    if (!got)
        return HM_E_NO_SYSTEM_RESOURCES;
    hm_lock_right_hold((int64_t)(got << HM_PAGE_SHIFT));
    *count = got;
    return HM_OK;
}

int hm_pool_punch(uint32_t slot)
{
    return hm_os.fd_punch(HM_SITE_PHYS_FREE_PUNCH, pool_fd, (uint64_t)slot << HM_PAGE_SHIFT,
                          HM_PAGE_SIZE);
}

void hm_pool_release(uint32_t slot)
{
    hm_pool_page_t *p = &pages[slot];
    p->allocated = false;
    p->mapped_at = 0;
    p->gen++;
    p->next_free = free_head;
    free_head = slot + 1;
    n_allocated--;
    hm_uncharge(NULL, HM_PAGE_SIZE);
    hm_lock_right_hold(-(int64_t)HM_PAGE_SIZE);
}
