/*
 * physical.c — AWE windows (MEM_PHYSICAL reservations) and the calls that map pool pages
 * into them or free them: MapUserPhysicalPages, MapUserPhysicalPagesScatter,
 * FreeUserPhysicalPages, AllocateUserPhysicalPages.
 *
 * Invariant, for every window w and page i: w->slot[i] == s + 1 iff pool page s has
 * mapped_at == the address of page i; then the kernel maps the memfd's page s there
 * (shared, fixed) and the runs say committed + its protection; else the kernel has a
 * fresh PROT_NONE anonymous page there and the runs say reserved.
 *
 * A map call is all or nothing: (1) under the pool lock, lock every window it names and
 * check every address and page number (Windows' order and errors) — nothing has changed
 * yet; (2) make room in each window's run list; (3) replace the pages, one mmap per run of
 * consecutive pages (updating the window map and the pool as it goes); if an mmap fails,
 * put back, page by page in reverse, what the earlier ones replaced (panic only if that
 * fails too); (4) update the run lists (cannot fail) and unlock. Free takes the pages in
 * order: unmap (if mapped), punch, release; a page whose step fails stays as it was (a
 * failed punch maps it back) and the pages before it stay freed, as Windows reports.
 * Locking: phys.h.
 */
#include <string.h>

#include "vm/internal.h"
#include "vm/phys.h"
#include "vm/phys_pool.h"

#define SMALL 32
#define RW ((uint32_t)(HM_VM_R | HM_VM_W))

/* ---- Windows -------------------------------------------------------------------------- */

int hm_phys_window_create(size_t size, hm_phys_window_t **out)
{
    uint64_t n = size >> HM_PAGE_SHIFT;
    void *mem;
    if (hm_os.alloc(HM_SITE_PHYS_WINDOW, sizeof(hm_phys_window_t) + n * sizeof(uint32_t), &mem))
        return HM_E_NO_SYSTEM_RESOURCES;
    hm_phys_window_t *w = mem;
    w->npages = n;
    *out = w;
    return HM_OK;
}

void hm_phys_window_destroy(hm_phys_window_t *w)
{
    hm_os_free(w);
}

void hm_phys_window_released(hm_reservation_t *r)
{
    hm_phys_window_t *w = hm_record_ext(r)->phys;
    for (uint64_t i = 0; i < w->npages; i++)
        if (w->slot[i])
            hm_pool_page(w->slot[i] - 1)->mapped_at = 0;
    hm_phys_window_destroy(w);
    hm_record_ext(r)->phys = NULL;
}

static uintptr_t page_addr(const hm_reservation_t *r, uint64_t page)
{
    return r->base + (page << HM_PAGE_SHIFT);
}

static uint32_t run_val(const hm_reservation_t *r, uint64_t page)
{
    return r->runs.v[hm_runs_find(&r->runs, page)].val;
}

/* ---- A plan: the pages one map call changes ------------------------------------------- */

typedef struct entry {
    hm_reservation_t *r;
    uint64_t page;
    uint32_t new1, old1; /* pool slot + 1 to map / that was mapped (0 = none) */
} entry_t;

typedef struct held {
    hm_reservation_t *r;
    uint64_t updates; /* run-list updates step 4 will make in it */
} held_t;

typedef struct plan {
    entry_t *e;
    uint64_t n;
    held_t *held;
    uint64_t nheld;
    bool grouped; /* MapUserPhysicalPages: runs of pages may share one mmap */
    void *heap;
    entry_t small_e[SMALL];
    held_t small_h[SMALL];
} plan_t;

static void plan_init(plan_t *p, bool grouped)
{
    p->n = 0;
    p->nheld = 0;
    p->grouped = grouped;
    p->heap = NULL;
    p->e = p->small_e;
    p->held = p->small_h;
}

/* Room for n entries and up to `windows` held windows (those held so far are kept); more
 * than SMALL of either come from one allocation. */
static int plan_room(plan_t *p, uint64_t n, uint64_t windows)
{
    uint64_t ne = n > SMALL ? n : 0, nh = windows > SMALL ? windows : 0;
    p->n = n;
    if (!ne && !nh)
        return HM_OK;
    if (ne > SIZE_MAX / 64 || nh > SIZE_MAX / 64 ||
        hm_os.alloc(HM_SITE_PHYS_MAP_BUFFER, ne * sizeof(entry_t) + nh * sizeof(held_t),
                    &p->heap))
        return HM_E_NO_SYSTEM_RESOURCES;
    if (ne)
        p->e = p->heap;
    if (nh) {
        p->held = (held_t *)(void *)((entry_t *)p->heap + ne);
        memcpy(p->held, p->small_h, p->nheld * sizeof(held_t));
    }
    return HM_OK;
}

static void plan_done(plan_t *p)
{
    for (uint64_t i = 0; i < p->nheld; i++)
        hm_record_unlock(p->held[i].r);
    hm_os_free(p->heap);
}

/* Locks (once) the window holding addr: HM_OK and *out, or 87 (not in a window). */
static int hold_window(plan_t *p, uintptr_t addr, held_t **out)
{
    for (uint64_t i = 0; i < p->nheld; i++) {
        hm_reservation_t *r = p->held[i].r;
        if (addr - r->base < r->size) {
            *out = &p->held[i];
            return HM_OK;
        }
    }
    hm_reservation_t *r = hm_record_lookup_lock(addr);
    if (!r)
        return HM_E_INVALID_PARAMETER;
    int st = hm_may_touch(r);
    if (st == HM_OK && !(r->kind & HM_KIND_PHYSICAL))
        st = HM_E_INVALID_PARAMETER;
    if (st != HM_OK) {
        hm_record_unlock(r);
        return st;
    }
    p->held[p->nheld] = (held_t){r, 0};
    *out = &p->held[p->nheld++];
    return HM_OK;
}

/* Checks one page number: 487 if it is not an allocated page, 87 if it is mapped or named
 * twice. Marks it claimed. */
static int claim(entry_t *e, uint64_t pfn)
{
    uint32_t s;
    int st = hm_pool_slot_of(pfn, &s);
    if (st != HM_OK)
        return st;
    hm_pool_page_t *pg = hm_pool_page(s);
    if (pg->mapped_at || pg->claimed)
        return HM_E_INVALID_PARAMETER;
    pg->claimed = true;
    e->new1 = s + 1;
    return HM_OK;
}

/* Checks pfns (NULL = unmap everything; with zero_unmaps, a 0 entry unmaps its page). */
static int claim_all(plan_t *p, const uint64_t *pfns, bool zero_unmaps)
{
    int st = HM_OK;
    uint64_t i = 0;
    for (; st == HM_OK && i < p->n; i++) {
        p->e[i].new1 = 0;
        if (pfns && !(zero_unmaps && pfns[i] == 0))
            st = claim(&p->e[i], pfns[i]);
    }
    for (uint64_t k = 0; k < i; k++)
        if (p->e[k].new1)
            hm_pool_page(p->e[k].new1 - 1)->claimed = false;
    return st;
}

/* Length of the step starting at entry i: consecutive pages of one window whose new pages
 * are all none or consecutive slots (only when grouped). */
static uint64_t step_len(const plan_t *p, uint64_t i)
{
    uint64_t k = i + 1;
    while (p->grouped && k < p->n && p->e[k].r == p->e[i].r && p->e[k].page == p->e[k - 1].page + 1 &&
           (p->e[i].new1 ? p->e[k].new1 == p->e[k - 1].new1 + 1 : p->e[k].new1 == 0))
        k++;
    return k - i;
}

static held_t *held_of(plan_t *p, const hm_reservation_t *r)
{
    uint64_t i = 0;
    while (p->held[i].r != r)
        i++;
    return &p->held[i];
}

/* Step 2: room in every window's run list for the updates of step 4. */
static int reserve_runs(plan_t *p)
{
    for (uint64_t i = 0; i < p->n; i += step_len(p, i))
        held_of(p, p->e[i].r)->updates++;
    for (uint64_t i = 0; i < p->nheld; i++) {
        uint64_t extra = 2 * p->held[i].updates;
        if (extra > ((uint64_t)1 << 28) || hm_runs_reserve(&p->held[i].r->runs, (uint32_t)extra))
            return HM_E_NO_MEMORY;
    }
    return HM_OK;
}

static int map_step(const entry_t *e, uint64_t len)
{
    void *addr = (void *)page_addr(e->r, e->page), *q;
    size_t bytes = len << HM_PAGE_SHIFT;
    if (!e->new1)
        return hm_os.map(HM_SITE_PHYS_UNMAP, addr, bytes, 0, HM_OS_MAP_REPLACE, &q);
    return hm_os.map_fd(HM_SITE_PHYS_MAP, addr, bytes, HM_OS_R | HM_OS_W, hm_pool_fd(),
                        (uint64_t)(e->new1 - 1) << HM_PAGE_SHIFT);
}

/* Puts back in the kernel the page that old1 says was there (runs: its protection). */
static void restore_page(const entry_t *e, uint32_t old1)
{
    uintptr_t a = page_addr(e->r, e->page);
    void *q;
    int err = old1 ? hm_os.map_fd(HM_SITE_PHYS_UNDO_REMAP, (void *)a, HM_PAGE_SIZE,
                                  hm_os_prot_of(run_val(e->r, e->page) & HM_VM_PROT_MASK),
                                  hm_pool_fd(), (uint64_t)(old1 - 1) << HM_PAGE_SHIFT)
                   : hm_os.map(HM_SITE_PHYS_UNDO_UNMAP, (void *)a, HM_PAGE_SIZE, 0,
                               HM_OS_MAP_REPLACE, &q);
    if (err)
        hm_panic("MapUserPhysicalPages: cannot restore a page", a, HM_PAGE_SIZE, err);
}

static void set_slot(const entry_t *e, uint32_t from1, uint32_t to1)
{
    uintptr_t a = page_addr(e->r, e->page);
    if (from1)
        hm_pool_page(from1 - 1)->mapped_at = 0;
    if (to1)
        hm_pool_page(to1 - 1)->mapped_at = a;
    hm_record_ext(e->r)->phys->slot[e->page] = to1;
}

/* Step 3: the syscalls. Entries [0, applied) are done; on failure they are undone. */
static int apply(plan_t *p)
{
    uint64_t i = 0;
    while (i < p->n) {
        uint64_t len = step_len(p, i);
        int err = map_step(&p->e[i], len);
        if (err) {
            for (uint64_t k = i + len; k-- > i;)
                restore_page(&p->e[k], hm_record_ext(p->e[k].r)->phys->slot[p->e[k].page]);
            while (i--) {
                restore_page(&p->e[i], p->e[i].old1);
                set_slot(&p->e[i], p->e[i].new1, p->e[i].old1);
            }
            return hm_status_of_errno(err);
        }
        for (uint64_t k = i; k < i + len; k++) {
            p->e[k].old1 = hm_record_ext(p->e[k].r)->phys->slot[p->e[k].page];
            set_slot(&p->e[k], p->e[k].old1, p->e[k].new1);
        }
        i += len;
    }
    return HM_OK;
}

/* Step 4: the run lists follow the window maps. */
static void update_runs(plan_t *p)
{
    for (uint64_t i = 0; i < p->n;) {
        uint64_t len = step_len(p, i);
        const entry_t *e = &p->e[i];
        uint32_t val = hm_record_ext(e->r)->phys->slot[e->page] ? HM_RUN_COMMITTED | RW : 0;
        hm_runs_update(&e->r->runs, hm_record_npages(e->r), e->page, e->page + len, 0, val);
        i += len;
    }
}

static int run_plan(plan_t *p, const uint64_t *pfns, bool zero_unmaps)
{
    int st = claim_all(p, pfns, zero_unmaps);
    if (st == HM_OK)
        st = reserve_runs(p);
    if (st == HM_OK)
        st = apply(p);
    if (st == HM_OK)
        update_runs(p);
    return st;
}

/* ---- The calls ------------------------------------------------------------------------ */

int hm_vm_phys_map(uintptr_t addr, uint64_t n, const uint64_t *pfns)
{
    plan_t p;
    plan_init(&p, true);
    hm_phys_lock();
    held_t *h;
    int st = hm_pool_ready() ? hold_window(&p, addr, &h) : HM_E_INVALID_PARAMETER;
    if (st == HM_OK && n > (h->r->base + h->r->size - addr) >> HM_PAGE_SHIFT)
        st = HM_E_INVALID_PARAMETER;
    if (st == HM_OK)
        st = plan_room(&p, n, 1);
    if (st == HM_OK) {
        uint64_t first = (addr - h->r->base) >> HM_PAGE_SHIFT;
        for (uint64_t i = 0; i < n; i++)
            p.e[i] = (entry_t){h->r, first + i, 0, 0};
        st = run_plan(&p, pfns, false);
    }
    plan_done(&p);
    hm_phys_unlock();
    return st;
}

int hm_vm_phys_map_scatter(void *const *addrs, uint64_t n, const uint64_t *pfns)
{
    plan_t p;
    plan_init(&p, false);
    hm_phys_lock();
    int st = hm_pool_ready() ? plan_room(&p, n, n) : HM_E_INVALID_PARAMETER;
    for (uint64_t i = 0; st == HM_OK && i < n; i++) {
        uintptr_t a = HM_ALIGN_DOWN((uintptr_t)addrs[i], HM_PAGE_SIZE);
        held_t *h;
        st = hold_window(&p, a, &h);
        if (st == HM_OK)
            p.e[i] = (entry_t){h->r, (a - h->r->base) >> HM_PAGE_SHIFT, 0, 0};
    }
    if (st == HM_OK)
        st = run_plan(&p, pfns, true);
    plan_done(&p);
    hm_phys_unlock();
    return st;
}

int hm_vm_phys_allocate(uint64_t *count, uint64_t *pfns)
{
    uint64_t bytes = *count > (UINT64_MAX >> HM_PAGE_SHIFT) ? UINT64_MAX : *count << HM_PAGE_SHIFT;
    int st = hm_lock_right_check(bytes);
    if (st != HM_OK)
        return st;
    hm_phys_lock();
    st = hm_pool_allocate(count, pfns);
    hm_phys_unlock();
    return st;
}

/* Unmaps pool page s from the window page at a (r locked), punches it, and releases it. */
static int free_mapped(hm_reservation_t *r, uintptr_t a, uint32_t s)
{
    uint64_t page = (a - r->base) >> HM_PAGE_SHIFT;
    uint32_t val = run_val(r, page);
    void *q;
    int err = hm_runs_reserve(&r->runs, 2);
    if (!err)
        err = hm_os.map(HM_SITE_PHYS_FREE_UNMAP, (void *)a, HM_PAGE_SIZE, 0, HM_OS_MAP_REPLACE, &q);
    if (err)
        return hm_status_of_errno(err);
    if ((err = hm_pool_punch(s)) != 0) {
        int e2 = hm_os.map_fd(HM_SITE_PHYS_FREE_REMAP, (void *)a, HM_PAGE_SIZE,
                              hm_os_prot_of(val & HM_VM_PROT_MASK), hm_pool_fd(),
                              (uint64_t)s << HM_PAGE_SHIFT);
        if (e2)
            hm_panic("FreeUserPhysicalPages: cannot map a page back", a, HM_PAGE_SIZE, e2);
        return hm_status_of_errno(err);
    }
    hm_record_ext(r)->phys->slot[page] = 0;
    hm_runs_update(&r->runs, hm_record_npages(r), page, page + 1, 0, 0);
    hm_pool_release(s);
    return HM_OK;
}

static int free_page(uint32_t s)
{
    uintptr_t a = hm_pool_page(s)->mapped_at;
    if (!a) {
        int err = hm_pool_punch(s);
        if (err)
            return hm_status_of_errno(err);
        hm_pool_release(s);
        return HM_OK;
    }
    hm_reservation_t *r = hm_record_lookup_lock(a);
    if (HM_NEVER(!r))
        return HM_E_NO_MEMORY;
    int st = free_mapped(r, a, s);
    hm_record_unlock(r);
    return st;
}

int hm_vm_phys_free(uint64_t *count, const uint64_t *pfns)
{
    uint64_t done = 0;
    hm_phys_lock();
    int st = hm_pool_ready() ? HM_OK : HM_E_INVALID_PARAMETER;
    while (st == HM_OK && done < *count) {
        uint32_t s;
        st = hm_pool_slot_of(pfns[done], &s);
        if (st == HM_OK)
            st = free_page(s);
        if (st == HM_OK)
            done++;
    }
    hm_phys_unlock();
    *count = done;
    return st;
}
