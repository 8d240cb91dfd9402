/*
 * test_fault_injection.c — every OS call site of HM_OS_SITE_LIST (src/os/os.h) made to
 * fail through the live hm_os table, one ctest case per site (named after the site).
 *
 * Each case sets up reservations, commits, protections and a byte pattern, snapshots the
 * region map (VirtualQuery, region by region, every field) and the statistics, swaps the
 * table for fakes that fail the chosen site (and forward every other call to
 * hm_os_default), makes the public call that reaches the site, restores the table and
 * asserts: the call failed with Windows' error, the fake was called from that site, and
 * the map, the statistics and the contents are what they were. Rollbacks that cannot
 * themselves fail panic: those cases run in a forked child and expect SIGABRT. A failure
 * in the guard-page signal path means "not our fault": the child expects SIGSEGV. Sites
 * that only a fresh process reaches run in a re-executed copy of this program.
 *
 * Coverage: the scenario table is generated from HM_OS_SITE_LIST, so a new site without a
 * `site_<NAME>` function does not compile, and the "coverage" case fails for a site that
 * has no ctest case of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostmem/host.h"
#include "os/os.h"
#include "testlib.h"
#include "vm/index.h"
#include "vm/record.h"

/* ======================================================================================
 * The fakes. Their state lives in a MAP_SHARED page so that counts made in a forked child
 * (death tests, the signal path) are visible to the parent.
 * ==================================================================================== */

typedef struct fi_rule {
    int err;   /* errno to fail with; 0 = forward */
    int skip;  /* forward this many matching calls first */
    int times; /* then fail this many (-1 = every one) */
    int mode;  /* map only: fail only this hm_os_map_mode_t (-1 = any) */
} fi_rule_t;

#define FI_MAX_MAPPED 64

typedef struct fi_state {
    fi_rule_t rule[HM_SITE_COUNT];
    int calls[HM_SITE_COUNT];  /* calls seen per site while the fakes were installed */
    int failed[HM_SITE_COUNT]; /* of which failed */
    int wrong_slot;            /* a site called through a slot os.h does not name for it */
    int bad_site;              /* a site id outside the list */
    size_t misalign;           /* RESERVE_MAP anywhere: return granule + misalign */
    int huge_stand_in;         /* map_huge: ordinary 2 MiB-aligned pages (no pool needed) */
    size_t n_mapped;           /* ranges mapped by successful map calls (any site) */
    struct {
        uintptr_t addr;
        size_t len;
        int site;
    } mapped[FI_MAX_MAPPED];
} fi_state_t;

static fi_state_t *fi;

static void fi_reset(void)
{
    if (!fi) {
        void *p = mmap(NULL, sizeof *fi, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ck_assert_ptr_ne(p, MAP_FAILED);
        fi = p;
    }
    hm_os = hm_os_default;
    memset(fi, 0, sizeof *fi);
    for (int i = 0; i < HM_SITE_COUNT; i++)
        fi->rule[i].mode = -1;
}

/* Fail every call from site with err. */
static void fi_fail(hm_os_site_t site, int err)
{
    fi->rule[site] = (fi_rule_t){err, 0, -1, -1};
}

/* Forward `skip` calls from site, then fail `times` of them with err. */
static void fi_fail_nth(hm_os_site_t site, int err, int skip, int times)
{
    fi->rule[site] = (fi_rule_t){err, skip, times, -1};
}

/* Decides a call: 0 = forward it, else the errno to fail with. Async-signal-safe. */
static int fi_decide(hm_os_site_t site, const char *slot, bool mode_matches)
{
    if ((unsigned)site >= HM_SITE_COUNT) {
        fi->bad_site++;
        return 0;
    }
    if (strcmp(hm_os_site_call(site), slot) != 0)
        fi->wrong_slot++;
    fi->calls[site]++;
    fi_rule_t *r = &fi->rule[site];
    if (!r->err || !mode_matches)
        return 0;
    if (r->skip > 0) {
        r->skip--;
        return 0;
    }
    if (r->times == 0)
        return 0;
    if (r->times > 0)
        r->times--;
    fi->failed[site]++;
    return r->err;
}

static void fi_note_mapped(hm_os_site_t site, void *p, size_t len)
{
    if (fi->n_mapped < FI_MAX_MAPPED) {
        fi->mapped[fi->n_mapped].addr = (uintptr_t)p;
        fi->mapped[fi->n_mapped].len = len;
        fi->mapped[fi->n_mapped].site = (int)site;
        fi->n_mapped++;
    }
}

/* RESERVE_MAP anywhere with fi->misalign set: map at a granule + misalign, so that the
 * over-reservation needs both a front and a back trim. */
static int map_misaligned(hm_os_site_t site, size_t len, unsigned prot, void **out)
{
    void *p;
    int err = hm_os_default.map(site, NULL, len + 2 * G, prot, HM_OS_MAP_ANYWHERE, &p);
    if (err)
        return err;
    uintptr_t s = ((uintptr_t)p + G - 1) / G * G + fi->misalign;
    uintptr_t e = (uintptr_t)p + len + 2 * G;
    if (s > (uintptr_t)p)
        hm_os_default.unmap(site, p, s - (uintptr_t)p);
    if (e > s + len)
        hm_os_default.unmap(site, (void *)(s + len), e - (s + len));
    *out = (void *)s;
    return 0;
}

static int fake_map(hm_os_site_t site, void *addr, size_t len, unsigned prot,
                    hm_os_map_mode_t mode, void **out)
{
    bool match = (unsigned)site < HM_SITE_COUNT &&
                 (fi->rule[site].mode < 0 || fi->rule[site].mode == (int)mode);
    int err = fi_decide(site, "map", match);
    if (err)
        return err;
    if (site == HM_SITE_RESERVE_MAP && mode == HM_OS_MAP_ANYWHERE && fi->misalign)
        err = map_misaligned(site, len, prot, out);
    else
        err = hm_os_default.map(site, addr, len, prot, mode, out);
    if (!err)
        fi_note_mapped(site, *out, len);
    return err;
}

static int fake_unmap(hm_os_site_t site, void *addr, size_t len)
{
    int err = fi_decide(site, "unmap", true);
    return err ? err : hm_os_default.unmap(site, addr, len);
}

static int fake_protect(hm_os_site_t site, void *addr, size_t len, unsigned prot)
{
    int err = fi_decide(site, "protect", true);
    return err ? err : hm_os_default.protect(site, addr, len, prot);
}

static int fake_advise(hm_os_site_t site, void *addr, size_t len, hm_os_advice_t advice)
{
    int err = fi_decide(site, "advise", true);
    return err ? err : hm_os_default.advise(site, addr, len, advice);
}

static int fake_lock(hm_os_site_t site, void *addr, size_t len)
{
    int err = fi_decide(site, "lock", true);
    return err ? err : hm_os_default.lock(site, addr, len);
}

static int fake_unlock(hm_os_site_t site, void *addr, size_t len)
{
    int err = fi_decide(site, "unlock", true);
    return err ? err : hm_os_default.unlock(site, addr, len);
}

static int fake_pagemap(hm_os_site_t site, uintptr_t addr, size_t npages, uint64_t *entries)
{
    int err = fi_decide(site, "pagemap", true);
    return err ? err : hm_os_default.pagemap(site, addr, npages, entries);
}

static int fake_read_file(hm_os_site_t site, const char *path, char **buf, size_t *len)
{
    int err = fi_decide(site, "read_file", true);
    return err ? err : hm_os_default.read_file(site, path, buf, len);
}

static int fake_alloc(hm_os_site_t site, size_t size, void **out)
{
    int err = fi_decide(site, "alloc", true);
    return err ? err : hm_os_default.alloc(site, size, out);
}

static int fake_fault_handler(hm_os_site_t site, hm_os_fault_hook_t hook)
{
    int err = fi_decide(site, "fault_handler", true);
    return err ? err : hm_os_default.fault_handler(site, hook);
}

/* ---- Fakes of the large-page and physical-page ops ---- */

/* What map_huge returns with fi->huge_stand_in: ordinary pages, 2 MiB aligned as the
 * kernel aligns huge pages, so everything after it runs without a huge-page pool. */
static int huge_stand_in(hm_os_site_t site, size_t len, unsigned prot, void **out)
{
    const size_t huge = (size_t)2 << 20;
    void *p;
    int err = hm_os_default.map(site, NULL, len + huge, prot, HM_OS_MAP_ANYWHERE, &p);
    if (err)
        return err;
    uintptr_t s = ((uintptr_t)p + huge - 1) & ~(uintptr_t)(huge - 1), e = (uintptr_t)p + len + huge;
    if (s > (uintptr_t)p)
        hm_os_default.unmap(site, p, s - (uintptr_t)p);
    if (e > s + len)
        hm_os_default.unmap(site, (void *)(s + len), e - (s + len));
    *out = (void *)s;
    return 0;
}

static int fake_map_huge(hm_os_site_t site, size_t len, unsigned prot, void **out)
{
    int err = fi_decide(site, "map_huge", true);
    if (err)
        return err;
    err = fi->huge_stand_in ? huge_stand_in(site, len, prot, out)
                            : hm_os_default.map_huge(site, len, prot, out);
    if (!err)
        fi_note_mapped(site, *out, len);
    return err;
}

static int fake_move(hm_os_site_t site, void *from, size_t len, void *to)
{
    int err = fi_decide(site, "move", true);
    return err ? err : hm_os_default.move(site, from, len, to);
}

static int fake_advise_huge(hm_os_site_t site, void *addr, size_t len)
{
    int err = fi_decide(site, "advise_huge", true);
    return err ? err : hm_os_default.advise_huge(site, addr, len);
}

static int fake_memfd(hm_os_site_t site, int *fd)
{
    int err = fi_decide(site, "memfd", true);
    return err ? err : hm_os_default.memfd(site, fd);
}

static int fake_fd_alloc(hm_os_site_t site, int fd, uint64_t off, uint64_t len)
{
    int err = fi_decide(site, "fd_alloc", true);
    return err ? err : hm_os_default.fd_alloc(site, fd, off, len);
}

static int fake_fd_punch(hm_os_site_t site, int fd, uint64_t off, uint64_t len)
{
    int err = fi_decide(site, "fd_punch", true);
    return err ? err : hm_os_default.fd_punch(site, fd, off, len);
}

static int fake_map_fd(hm_os_site_t site, void *addr, size_t len, unsigned prot, int fd,
                       uint64_t off)
{
    int err = fi_decide(site, "map_fd", true);
    return err ? err : hm_os_default.map_fd(site, addr, len, prot, fd, off);
}

static int fake_lock_right(hm_os_site_t site, hm_os_lock_right_t *out)
{
    int err = fi_decide(site, "lock_right", true);
    return err ? err : hm_os_default.lock_right(site, out);
}

/* Write watch (linux_watch.c). */
static int fake_uffd_open(hm_os_site_t site, int *fd)
{
    int err = fi_decide(site, "uffd_open", true);
    return err ? err : hm_os_default.uffd_open(site, fd);
}

static int fake_uffd_api(hm_os_site_t site, int fd)
{
    int err = fi_decide(site, "uffd_api", true);
    return err ? err : hm_os_default.uffd_api(site, fd);
}

static int fake_uffd_register(hm_os_site_t site, int fd, void *addr, size_t len)
{
    int err = fi_decide(site, "uffd_register", true);
    return err ? err : hm_os_default.uffd_register(site, fd, addr, len);
}

static int fake_uffd_protect(hm_os_site_t site, int fd, void *addr, size_t len, bool protect)
{
    int err = fi_decide(site, "uffd_protect", true);
    return err ? err : hm_os_default.uffd_protect(site, fd, addr, len, protect);
}

static int fake_pagemap_open(hm_os_site_t site, int *fd)
{
    int err = fi_decide(site, "pagemap_open", true);
    return err ? err : hm_os_default.pagemap_open(site, fd);
}

static int fake_pagemap_scan(hm_os_site_t site, int fd, uintptr_t start, uintptr_t end,
                             bool reset, uint64_t max_pages, hm_os_page_region_t *vec,
                             size_t vec_len, size_t *n, uintptr_t *walk_end)
{
    int err = fi_decide(site, "pagemap_scan", true);
    return err ? err
               : hm_os_default.pagemap_scan(site, fd, start, end, reset, max_pages, vec, vec_len,
                                            n, walk_end);
}

static int fake_nohugepage(hm_os_site_t site, void *addr, size_t len)
{
    int err = fi_decide(site, "nohugepage", true);
    return err ? err : hm_os_default.nohugepage(site, addr, len);
}

static const hm_os_ops_t fake_ops = {
    .map = fake_map,
    .unmap = fake_unmap,
    .protect = fake_protect,
    .advise = fake_advise,
    .lock = fake_lock,
    .unlock = fake_unlock,
    .pagemap = fake_pagemap,
    .read_file = fake_read_file,
    .alloc = fake_alloc,
    .fault_handler = fake_fault_handler,
    .uffd_open = fake_uffd_open,
    .uffd_api = fake_uffd_api,
    .uffd_register = fake_uffd_register,
    .uffd_protect = fake_uffd_protect,
    .pagemap_open = fake_pagemap_open,
    .pagemap_scan = fake_pagemap_scan,
    .nohugepage = fake_nohugepage,
    .map_huge = fake_map_huge,
    .move = fake_move,
    .advise_huge = fake_advise_huge,
    .memfd = fake_memfd,
    .fd_alloc = fake_fd_alloc,
    .fd_punch = fake_fd_punch,
    .map_fd = fake_map_fd,
    .lock_right = fake_lock_right,
};

/* Installs the fakes, evaluates `expr` into `lhs`, saves GetLastError() into `err_out`,
 * restores the real table. */
#define FI_CALL(lhs, err_out, expr)                                                        \
    do {                                                                                   \
        SetLastError(0xFEEDu);                                                             \
        hm_os = fake_ops;                                                                  \
        lhs = (expr);                                                                      \
        err_out = GetLastError();                                                          \
        hm_os = hm_os_default;                                                             \
    } while (0)

static void fi_assert_slots_clean(void)
{
    ck_assert_msg(fi->wrong_slot == 0, "%d calls went through a slot os.h does not name",
                  fi->wrong_slot);
    ck_assert_msg(fi->bad_site == 0, "%d calls named a site outside HM_OS_SITE_LIST",
                  fi->bad_site);
}

/* The fake was reached from site and failed exactly `n` calls there. */
static void fi_assert_failed(hm_os_site_t site, int n)
{
    ck_assert_msg(fi->calls[site] >= 1, "site %s was never called", hm_os_site_name(site));
    ck_assert_msg(fi->failed[site] == n, "site %s: %d calls failed, expected %d",
                  hm_os_site_name(site), fi->failed[site], n);
    fi_assert_slots_clean();
}

static void setup(void)
{
    fi_reset();
}

static void teardown(void)
{
    if (fi)
        hm_os = hm_os_default;
}

/* ======================================================================================
 * State snapshots: the VirtualQuery regions over a range, the statistics, the contents.
 * ==================================================================================== */

#define SNAP_MAX 160

typedef struct snap {
    size_t n;
    MEMORY_BASIC_INFORMATION r[SNAP_MAX];
    hm_stats_t st;
} snap_t;

static hm_stats_t stats_now(void)
{
    hm_stats_t s;
    memset(&s, 0, sizeof s);
    s.cb_size = sizeof s;
    ck_assert_int_eq(hm_get_stats(&s), 0);
    return s;
}

static void stats_assert_same(const hm_stats_t *a, const hm_stats_t *b)
{
    ck_assert_uint_eq(b->reservations, a->reservations);
    ck_assert_uint_eq(b->reserved_bytes, a->reserved_bytes);
    ck_assert_uint_eq(b->committed_bytes, a->committed_bytes);
    ck_assert_uint_eq(b->commit_limit, a->commit_limit);
    ck_assert_uint_eq(b->locked_bytes, a->locked_bytes);
    ck_assert_uint_eq(b->guard_pages_hit, a->guard_pages_hit);
}

/* Every region from start up to start+len (the last one may run past it). */
static void snap_take(snap_t *s, const void *start, size_t len)
{
    memset(s, 0, sizeof *s);
    s->st = stats_now();
    uintptr_t a = (uintptr_t)start, end = a + len;
    while (a < end) {
        ck_assert_uint_lt(s->n, SNAP_MAX);
        MEMORY_BASIC_INFORMATION *m = &s->r[s->n++];
        ck_assert_uint_eq(VirtualQuery((LPCVOID)a, m, sizeof *m), sizeof *m);
        ck_assert_uint_gt(m->RegionSize, 0);
        a = (uintptr_t)m->BaseAddress + m->RegionSize;
    }
}

#define SNAP_FIELD(f, fmt)                                                                 \
    ck_assert_msg(x->f == y->f, "region %zu (%p): " #f " was " fmt ", now " fmt, i,        \
                  x->BaseAddress, x->f, y->f)

static void snap_assert_same(const snap_t *before, const snap_t *after)
{
    ck_assert_msg(after->n == before->n, "region count was %zu, now %zu", before->n, after->n);
    for (size_t i = 0; i < before->n; i++) {
        const MEMORY_BASIC_INFORMATION *x = &before->r[i], *y = &after->r[i];
        SNAP_FIELD(BaseAddress, "%p");
        SNAP_FIELD(AllocationBase, "%p");
        SNAP_FIELD(AllocationProtect, "%#x");
        SNAP_FIELD(PartitionId, "%u");
        SNAP_FIELD(RegionSize, "%#zx");
        SNAP_FIELD(State, "%#x");
        SNAP_FIELD(Protect, "%#x");
        SNAP_FIELD(Type, "%#x");
    }
    stats_assert_same(&before->st, &after->st);
}

static uint32_t pattern_word(unsigned seed, size_t i)
{
    return (uint32_t)(seed * 0x9E3779B9u) ^ (uint32_t)(i * 2654435761u) ^ 0x5A5A0000u;
}

static void pattern_fill(void *p, size_t len, unsigned seed)
{
    uint32_t *w = p;
    for (size_t i = 0; i < len / 4; i++)
        w[i] = pattern_word(seed, i);
}

static void pattern_check(const void *p, size_t len, unsigned seed)
{
    const uint32_t *w = p;
    for (size_t i = 0; i < len / 4; i++)
        if (w[i] != pattern_word(seed, i))
            ck_abort_msg("contents changed at %p: %#x, expected %#x", (const void *)&w[i], w[i],
                         pattern_word(seed, i));
}

/* ---- The kernel's view -------------------------------------------------------------- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "re");
    ck_assert_ptr_nonnull(f);
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    size_t k;
    while ((k = fread(b + n, 1, cap - 1 - n, f)) > 0) {
        n += k;
        if (n + 1 >= cap) {
            cap *= 2;
            b = realloc(b, cap);
            ck_assert_ptr_nonnull(b);
        }
    }
    fclose(f);
    b[n] = '\0';
    return b;
}

/* True if any kernel mapping overlaps [a, a+len). */
static bool kernel_overlap(uintptr_t a, size_t len)
{
    char *maps = slurp("/proc/self/maps");
    bool hit = false;
    for (char *line = maps; line && *line;) {
        unsigned long long s, e;
        if (sscanf(line, "%llx-%llx", &s, &e) == 2 && s < a + len && e > a)
            hit = true;
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    free(maps);
    return hit;
}

/* True if the kernel mapping holding addr carries the "lo" (mlocked) VmFlag. */
static bool kernel_locked(const void *addr)
{
    char *smaps = slurp("/proc/self/smaps");
    bool in = false, locked = false;
    for (char *line = smaps; line && *line;) {
        unsigned long long s, e;
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (sscanf(line, "%llx-%llx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' '))
            in = s <= (uintptr_t)addr && (uintptr_t)addr < e;
        else if (in && !strncmp(line, "VmFlags:", 8))
            locked = strstr(line, " lo") != NULL;
        line = nl ? nl + 1 : NULL;
    }
    free(smaps);
    return locked;
}

/* VmLck of /proc/self/status, in kB. */
static unsigned long vm_lck_kb(void)
{
    char *st = slurp("/proc/self/status");
    const char *p = strstr(st, "VmLck:");
    unsigned long kb = p ? strtoul(p + 6, NULL, 10) : 0;
    free(st);
    return kb;
}

/* Every range the fakes saw mapped during the last armed call is unmapped again. */
static void assert_nothing_left_mapped(void)
{
    for (size_t i = 0; i < fi->n_mapped; i++)
        ck_assert_msg(!kernel_overlap(fi->mapped[i].addr, fi->mapped[i].len),
                      "[%#lx, +%#zx) mapped from %s is still mapped",
                      (unsigned long)fi->mapped[i].addr, fi->mapped[i].len,
                      hm_os_site_name((hm_os_site_t)fi->mapped[i].site));
}

/* A 512 GiB-aligned area (one root slot of the address index) that this process has not
 * used before, with no hostmem reservation and no kernel mapping in it: reserving there
 * needs fresh index nodes. Index nodes are never freed, so each area is handed out once
 * (only this file reserves at fixed addresses up there). */
static uintptr_t untouched_area(void)
{
    static uintptr_t cursor = (uintptr_t)1 << 44;
    const uintptr_t span = (uintptr_t)1 << 39;
    for (; cursor < (uintptr_t)0x700000000000; cursor += span) {
        uintptr_t a = cursor;
        uint64_t first = a >> 12, end = (a + span) >> 12;
        if (hm_index_next_used(first, end) == end && !kernel_overlap(a, span)) {
            cursor += span;
            return a;
        }
    }
    ck_abort_msg("no untouched 512 GiB area");
    return 0;
}

/* The run list of the reservation holding addr: count and capacity. */
static void runs_of(const void *addr, uint32_t *n, uint32_t *cap)
{
    hm_reservation_t *r = hm_record_lookup_lock((uintptr_t)addr);
    ck_assert_ptr_nonnull(r);
    *n = r->runs.n;
    *cap = r->runs.cap;
    hm_record_unlock(r);
}

/* The next run-list update (which makes room for 2 more runs) must allocate. */
static void assert_runs_must_grow(const void *addr)
{
    uint32_t n, cap;
    runs_of(addr, &n, &cap);
    ck_assert_msg(n + 2 > cap, "precondition: runs n=%u cap=%u would not grow", n, cap);
}

/* ---- Small API helpers ---------------------------------------------------------------- */

/* Writes to the byte and back (a fault here kills the test: the page was not writable).
 * Volatile, so that the compiler keeps both accesses. */
static void still_writable(char *p)
{
    volatile char *v = p;
    *v = (char)(*v ^ 1);
    *v = (char)(*v ^ 1);
}

static char *alloc_ok(void *addr, size_t size, DWORD type, DWORD prot)
{
    char *p = VirtualAlloc(addr, size, type, prot);
    ck_assert_msg(p != NULL, "VirtualAlloc(%p, %#zx, %#x, %#x) failed: %u", addr, size, type,
                  prot, GetLastError());
    return p;
}

static void release_ok(void *p)
{
    ck_assert_msg(VirtualFree(p, 0, MEM_RELEASE), "release %p: %u", p, GetLastError());
}

static void protect_ok(void *p, size_t size, DWORD prot)
{
    DWORD old;
    ck_assert_msg(VirtualProtect(p, size, prot, &old), "protect %p: %u", p, GetLastError());
}

/* A page mmap'd by the test (hostmem did not allocate it), between two PROT_NONE pages
 * so that the kernel cannot merge it with a neighbour. */
static char *foreign_page(void)
{
    char *p = mmap(NULL, 3 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    ck_assert_int_eq(mprotect(p + P, P, PROT_READ | PROT_WRITE), 0);
    return p + P;
}

static void foreign_free(char *page)
{
    munlock(page, P);
    munmap(page - P, 3 * P);
}

static const int no_memory_errnos[] = {ENOMEM, EAGAIN, EPERM};
#define N_NO_MEMORY_ERRNOS (sizeof no_memory_errnos / sizeof no_memory_errnos[0])

/* ======================================================================================
 * Children: death tests and fresh processes.
 * ==================================================================================== */

/* In a child, ck_assert is not available: report and exit 3. */
#define CHILD_REQUIRE(c)                                                                   \
    do {                                                                                   \
        if (!(c)) {                                                                        \
            fprintf(stderr, "child: %s:%d: requirement failed: %s\n", __FILE__, __LINE__,  \
                    #c);                                                                   \
            _exit(3);                                                                      \
        }                                                                                  \
    } while (0)

typedef struct child_result {
    int status;
    char err[8192];
} child_result_t;

static void run_in_child(void (*fn)(void *), void *arg, child_result_t *out)
{
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        close(pfd[0]);
        dup2(pfd[1], 2);
        close(pfd[1]);
        fn(arg);
        _exit(0);
    }
    close(pfd[1]);
    size_t n = 0;
    for (;;) {
        char sink[512];
        size_t room = sizeof out->err - 1 - n;
        ssize_t k = room ? read(pfd[0], out->err + n, room) : read(pfd[0], sink, sizeof sink);
        if (k <= 0)
            break;
        if (room)
            n += (size_t)k;
    }
    out->err[n] = '\0';
    close(pfd[0]);
    ck_assert_int_eq(waitpid(pid, &out->status, 0), pid);
}

static void expect_signal(const child_result_t *r, int sig, const char *stderr_has)
{
    ck_assert_msg(WIFSIGNALED(r->status) && WTERMSIG(r->status) == sig,
                  "child should die by signal %d; status %#x (%s %d); stderr: %s", sig,
                  r->status, WIFSIGNALED(r->status) ? "signal" : "exit",
                  WIFSIGNALED(r->status) ? WTERMSIG(r->status) : WEXITSTATUS(r->status),
                  r->err);
    if (stderr_has)
        ck_assert_msg(strstr(r->err, stderr_has) != NULL, "child stderr lacks \"%s\": %s",
                      stderr_has, r->err);
}

static void expect_exit0(const child_result_t *r)
{
    ck_assert_msg(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
                  "child should exit 0; status %#x; stderr: %s", r->status, r->err);
}

/* Fresh processes: the program re-executes itself with HM_FI_FRESH=<name>; main() then
 * runs only that test, in that process, before anything else touched hostmem. */
static const TTest *const *fresh_cases(size_t *n);

static void run_fresh(const char *name)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setenv("HM_FI_FRESH", name, 1);
        unsetenv("HOSTMEM_COMMIT_LIMIT");
        execl(hm_test_self_exe(), "test_fault_injection", (char *)NULL);
        _exit(127);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "fresh-process case %s failed (status %#x)", name, st);
}

static int fresh_main(const char *name)
{
    size_t n;
    const TTest *const *cases = fresh_cases(&n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(cases[i]->name, name) != 0)
            continue;
        unsetenv("CK_RUN_CASE");
        unsetenv("CK_RUN_SUITE");
        Suite *s = suite_create("fresh");
        TCase *tc = tcase_create(name);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, cases[i]);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
    }
    fprintf(stderr, "no fresh-process case %s\n", name);
    return 2;
}

/* ======================================================================================
 * RESERVE_MAP — reserve: map the range.
 * ==================================================================================== */

START_TEST(reserve_map_failure_fails_with_not_enough_memory_and_maps_nothing)
{
    static const DWORD types[] = {MEM_RESERVE, MEM_RESERVE | MEM_COMMIT, MEM_COMMIT};
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        for (size_t t = 0; t < 3; t++) {
            hm_stats_t before = stats_now();
            fi_reset();
            fi_fail(HM_SITE_RESERVE_MAP, no_memory_errnos[e]);
            void *p;
            DWORD err;
            FI_CALL(p, err, VirtualAlloc(NULL, 4 * G, types[t], PAGE_READWRITE));
            ck_assert_ptr_null(p);
            ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
            fi_assert_failed(HM_SITE_RESERVE_MAP, 1);
            hm_stats_t after = stats_now();
            stats_assert_same(&before, &after);
            assert_nothing_left_mapped();
        }
    }
}
END_TEST

START_TEST(reserve_map_failure_at_an_address_leaves_the_range_free)
{
    char *at = (char *)untouched_area() + 16 * G;
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        snap_t before, after;
        snap_take(&before, at, 8 * G);
        fi_reset();
        fi_fail(HM_SITE_RESERVE_MAP, no_memory_errnos[e]);
        void *p;
        DWORD err;
        FI_CALL(p, err, VirtualAlloc(at, 8 * G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
        ck_assert_ptr_null(p);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_RESERVE_MAP, 1);
        snap_take(&after, at, 8 * G);
        snap_assert_same(&before, &after);
        ck_assert(!kernel_overlap((uintptr_t)at, 8 * G));
    }
    /* The same call without the fault succeeds there. */
    char *p = alloc_ok(at, 8 * G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_eq(p, at);
    release_ok(p);
}
END_TEST

START_TEST(reserve_map_eexist_at_an_address_fails_with_invalid_address)
{
    char *at = (char *)untouched_area() + 16 * G;
    hm_stats_t before = stats_now();
    fi_reset();
    fi_fail(HM_SITE_RESERVE_MAP, EEXIST);
    void *p;
    DWORD err;
    FI_CALL(p, err, VirtualAlloc(at, 2 * G, MEM_RESERVE, PAGE_READWRITE));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, ERROR_INVALID_ADDRESS);
    fi_assert_failed(HM_SITE_RESERVE_MAP, 1);
    hm_stats_t after = stats_now();
    stats_assert_same(&before, &after);
}
END_TEST

static void site_RESERVE_MAP(TCase *tc)
{
    tcase_add_test(tc, reserve_map_failure_fails_with_not_enough_memory_and_maps_nothing);
    tcase_add_test(tc, reserve_map_failure_at_an_address_leaves_the_range_free);
    tcase_add_test(tc, reserve_map_eexist_at_an_address_fails_with_invalid_address);
}

/* ======================================================================================
 * RESERVE_TRIM — reserve: trim an over-reservation. The hint (MAP_FIXED_NOREPLACE) is made
 * to fail with EEXIST, and the over-reservation lands 8 KiB past a granule, so the trim
 * takes two unmaps (front 56 KiB, back 8 KiB): fail the first, then the second.
 * ==================================================================================== */

START_TEST(reserve_trim_failure_undoes_the_over_reservation)
{
    for (int nth = 0; nth < 2; nth++) {
        hm_stats_t before = stats_now();
        fi_reset();
        fi->rule[HM_SITE_RESERVE_MAP] = (fi_rule_t){EEXIST, 0, -1, HM_OS_MAP_NOREPLACE};
        fi->misalign = 2 * P;
        fi_fail_nth(HM_SITE_RESERVE_TRIM, ENOMEM, nth, 1);
        void *p;
        DWORD err;
        FI_CALL(p, err, VirtualAlloc(NULL, 4 * G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
        ck_assert_ptr_null(p);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_RESERVE_TRIM, 1);
        ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_TRIM], nth + 1);
        ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_UNDO], 1);
        hm_stats_t after = stats_now();
        stats_assert_same(&before, &after);
        assert_nothing_left_mapped();
    }
}
END_TEST

START_TEST(reserve_trim_path_without_faults_returns_an_aligned_reservation)
{
    fi_reset();
    fi->rule[HM_SITE_RESERVE_MAP] = (fi_rule_t){EEXIST, 0, -1, HM_OS_MAP_NOREPLACE};
    fi->misalign = 2 * P;
    char *p;
    DWORD err;
    FI_CALL(p, err, VirtualAlloc(NULL, 4 * G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    (void)err;
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_TRIM], 2);
    ck_assert_uint_eq((uintptr_t)p % G, 0);
    ck_assert_region(p, p, p, PAGE_READWRITE, 4 * G, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    /* Exactly the reservation is mapped: the trimmed pieces are gone. */
    ck_assert(!kernel_overlap((uintptr_t)p - (G - 2 * P), G - 2 * P));
    ck_assert(!kernel_overlap((uintptr_t)p + 4 * G, 2 * P));
    release_ok(p);
}
END_TEST

static void site_RESERVE_TRIM(TCase *tc)
{
    tcase_add_test(tc, reserve_trim_failure_undoes_the_over_reservation);
    tcase_add_test(tc, reserve_trim_path_without_faults_returns_an_aligned_reservation);
}

/* ======================================================================================
 * RESERVE_RECORD — reserve: grow the pool of records. Reached whenever the free list is
 * empty: keep reserving until the pool must grow. In a fresh process: the first reserve.
 * ==================================================================================== */

#define MAX_HELD 70000

START_TEST(reserve_record_failure_fails_with_not_enough_memory_and_changes_nothing)
{
    static void *held[MAX_HELD];
    size_t n = 0;
    bool failed = false;
    while (n < MAX_HELD && !failed) {
        hm_stats_t before = stats_now();
        fi_reset();
        fi_fail(HM_SITE_RESERVE_RECORD, ENOMEM);
        void *p;
        DWORD err;
        FI_CALL(p, err, VirtualAlloc(NULL, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
        if (p) {
            ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_RECORD], 0);
            held[n++] = p;
            continue;
        }
        failed = true;
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_RESERVE_RECORD, 1);
        ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_MAP], 0); /* the record comes first */
        hm_stats_t after = stats_now();
        stats_assert_same(&before, &after);
    }
    ck_assert_msg(failed, "the record pool never grew in %zu reservations", n);
    printf("RESERVE_RECORD reached after %zu reservations\n", n);
    /* The pool grows on the next try. */
    void *p = alloc_ok(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    release_ok(p);
    for (size_t i = 0; i < n; i++)
        release_ok(held[i]);
}
END_TEST

START_TEST(fresh_first_reserve_with_record_failure_fails_then_succeeds)
{
    hm_stats_t before = stats_now();
    fi_reset();
    fi_fail(HM_SITE_RESERVE_RECORD, ENOMEM);
    void *p;
    DWORD err;
    FI_CALL(p, err, VirtualAlloc(NULL, 4 * G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_RESERVE_RECORD, 1);
    hm_stats_t after = stats_now();
    stats_assert_same(&before, &after);
    ck_assert_uint_eq(after.reservations, 0);
    ck_assert_uint_eq(after.committed_bytes, 0);
    char *q = alloc_ok(NULL, 4 * G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_region(q, q, q, PAGE_READWRITE, 4 * G, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    release_ok(q);
}
END_TEST

START_TEST(reserve_record_first_reserve_in_a_fresh_process)
{
    run_fresh("fresh_first_reserve_with_record_failure_fails_then_succeeds");
}
END_TEST

static void site_RESERVE_RECORD(TCase *tc)
{
    tcase_add_test(tc, reserve_record_failure_fails_with_not_enough_memory_and_changes_nothing);
    tcase_add_test(tc, reserve_record_first_reserve_in_a_fresh_process);
}

/* ======================================================================================
 * RESERVE_INDEX — reserve: allocate an address-index node. A 4 MiB reservation at 1 MiB
 * into an untouched 512 GiB area needs four nodes (two whole-subtree levels, then one
 * granule node for each partial 2 MiB end); the k-th allocation fails on the k-th try
 * (each in a new area), the last one after part of the range was indexed.
 * ==================================================================================== */

START_TEST(reserve_index_failure_unmaps_unindexes_and_uncharges)
{
    int failures = 0;
    for (int k = 0; k < 16; k++) {
        uintptr_t area = untouched_area();
        char *at = (char *)area + 16 * G;
        snap_t before, after;
        snap_take(&before, at, 64 * G);
        fi_reset();
        fi_fail_nth(HM_SITE_RESERVE_INDEX, ENOMEM, k, 1);
        char *p;
        DWORD err;
        FI_CALL(p, err, VirtualAlloc(at, 64 * G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
        if (p) {
            ck_assert_int_eq(fi->failed[HM_SITE_RESERVE_INDEX], 0);
            ck_assert_ptr_eq(p, at);
            ck_assert_region(p + 32 * G, p + 32 * G, p, PAGE_READWRITE, 32 * G, MEM_COMMIT,
                             PAGE_READWRITE, MEM_PRIVATE);
            release_ok(p);
            break;
        }
        failures++;
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_RESERVE_INDEX, 1);
        ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_INDEX], k + 1);
        ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_UNDO], 1);
        snap_take(&after, at, 64 * G);
        snap_assert_same(&before, &after);
        uint64_t first = (uintptr_t)at >> 12, end = first + (64 * G >> 12);
        ck_assert_uint_eq(hm_index_next_used(first, end), end);
        ck_assert(!kernel_overlap((uintptr_t)at, 64 * G));
    }
    ck_assert_int_ge(failures, 3);
    printf("RESERVE_INDEX: %d node allocations failed one by one, then the reserve succeeded\n",
           failures);
}
END_TEST

static void site_RESERVE_INDEX(TCase *tc)
{
    tcase_add_test(tc, reserve_index_failure_unmaps_unindexes_and_uncharges);
}

/* ======================================================================================
 * RESERVE_UNDO — reserve: unmap again after a later step failed. If that unmap fails too
 * the library cannot keep its promise and must abort (hm_panic).
 * ==================================================================================== */

static void child_index_and_undo_fail(void *arg)
{
    char *at = arg;
    fi_fail(HM_SITE_RESERVE_INDEX, ENOMEM);
    fi_fail(HM_SITE_RESERVE_UNDO, ENOMEM);
    hm_os = fake_ops;
    void *p = VirtualAlloc(at, 4 * G, MEM_RESERVE, PAGE_READWRITE);
    hm_os = hm_os_default;
    fprintf(stderr, "child: VirtualAlloc returned %p, error %u\n", p, GetLastError());
}

START_TEST(reserve_undo_failure_after_index_failure_aborts)
{
    char *at = (char *)untouched_area() + 16 * G;
    fi_reset();
    child_result_t r;
    run_in_child(child_index_and_undo_fail, at, &r);
    expect_signal(&r, SIGABRT, "hostmem: fatal: reserve: cannot undo the mapping");
    ck_assert_int_eq(fi->failed[HM_SITE_RESERVE_INDEX], 1);
    fi_assert_failed(HM_SITE_RESERVE_UNDO, 1);
}
END_TEST

static void child_trim_and_undo_fail(void *arg)
{
    (void)arg;
    fi->rule[HM_SITE_RESERVE_MAP] = (fi_rule_t){EEXIST, 0, -1, HM_OS_MAP_NOREPLACE};
    fi->misalign = 2 * P;
    fi_fail(HM_SITE_RESERVE_TRIM, ENOMEM);
    fi_fail(HM_SITE_RESERVE_UNDO, ENOMEM);
    hm_os = fake_ops;
    void *p = VirtualAlloc(NULL, 4 * G, MEM_RESERVE, PAGE_READWRITE);
    hm_os = hm_os_default;
    fprintf(stderr, "child: VirtualAlloc returned %p, error %u\n", p, GetLastError());
}

START_TEST(reserve_undo_failure_after_trim_failure_aborts)
{
    fi_reset();
    child_result_t r;
    run_in_child(child_trim_and_undo_fail, NULL, &r);
    expect_signal(&r, SIGABRT, "hostmem: fatal: reserve: cannot undo an over-reservation");
    ck_assert_int_eq(fi->failed[HM_SITE_RESERVE_TRIM], 1);
    fi_assert_failed(HM_SITE_RESERVE_UNDO, 1);
}
END_TEST

static void site_RESERVE_UNDO(TCase *tc)
{
    tcase_add_test(tc, reserve_undo_failure_after_index_failure_aborts);
    tcase_add_test(tc, reserve_undo_failure_after_trim_failure_aborts);
}

/* ======================================================================================
 * TOPDOWN_MAPS — MEM_TOP_DOWN reads /proc/self/maps to find the highest gap.
 * ==================================================================================== */

START_TEST(topdown_maps_failure_fails_with_not_enough_memory_and_maps_nothing)
{
    static const DWORD types[] = {MEM_RESERVE | MEM_TOP_DOWN,
                                  MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN};
    for (size_t t = 0; t < 2; t++) {
        hm_stats_t before = stats_now();
        fi_reset();
        fi_fail(HM_SITE_TOPDOWN_MAPS, ENOMEM);
        void *p;
        DWORD err;
        FI_CALL(p, err, VirtualAlloc(NULL, 4 * G, types[t], PAGE_READWRITE));
        ck_assert_ptr_null(p);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_TOPDOWN_MAPS, 1);
        ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_MAP], 0);
        hm_stats_t after = stats_now();
        stats_assert_same(&before, &after);
    }
    /* Without the fault, top-down works. */
    char *p = alloc_ok(NULL, 4 * G, MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE);
    release_ok(p);
}
END_TEST

static void site_TOPDOWN_MAPS(TCase *tc)
{
    tcase_add_test(tc, topdown_maps_failure_fails_with_not_enough_memory_and_maps_nothing);
}

/* ======================================================================================
 * RUNS_GROW — growing a reservation's run list: every operation that may split runs makes
 * room first; a failure there must leave everything as it was.
 * ==================================================================================== */

START_TEST(runs_grow_failure_while_protecting_every_other_page)
{
    const size_t np = 64;
    char *b = alloc_ok(NULL, np * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, np * P, 7);
    int grow_failures = 0;
    for (size_t pg = 1; pg < np; pg += 2) {
        uint32_t n, cap;
        runs_of(b, &n, &cap);
        bool must_grow = n + 2 > cap;
        snap_t before, after;
        snap_take(&before, b, np * P);
        fi_reset();
        fi_fail(HM_SITE_RUNS_GROW, ENOMEM);
        BOOL ok;
        DWORD err, old = 0x12345;
        FI_CALL(ok, err, VirtualProtect(b + pg * P, P, PAGE_READONLY, &old));
        if (!must_grow) {
            ck_assert_msg(ok, "page %zu: protect failed (%u) with room for the runs", pg, err);
            ck_assert_int_eq(fi->calls[HM_SITE_RUNS_GROW], 0);
            ck_assert_uint_eq(old, PAGE_READWRITE);
            continue;
        }
        grow_failures++;
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_RUNS_GROW, 1);
        ck_assert_int_eq(fi->calls[HM_SITE_PROTECT_PROTECT], 0);
        snap_take(&after, b, np * P);
        snap_assert_same(&before, &after);
        pattern_check(b, np * P, 7);
        still_writable(&b[pg * P]); /* still writable */
        protect_ok(b + pg * P, P, PAGE_READONLY); /* and it grows without the fault */
    }
    ck_assert_int_ge(grow_failures, 4);
    ck_assert_region(b, b, b, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_region(b + 63 * P, b + 63 * P, b, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READONLY,
                     MEM_PRIVATE);
    pattern_check(b, np * P, 7);
    release_ok(b);
}
END_TEST

START_TEST(runs_grow_failure_in_commit_changes_nothing)
{
    char *b = alloc_ok(NULL, 16 * P, MEM_RESERVE, PAGE_READWRITE);
    assert_runs_must_grow(b);
    snap_t before, after;
    snap_take(&before, b, 16 * P);
    fi_reset();
    fi_fail(HM_SITE_RUNS_GROW, ENOMEM);
    void *p;
    DWORD err;
    FI_CALL(p, err, VirtualAlloc(b + 4 * P, 4 * P, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_RUNS_GROW, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_COMMIT_PROTECT], 0);
    snap_take(&after, b, 16 * P);
    snap_assert_same(&before, &after);
    ck_assert_int_eq(hm_probe_read(b + 4 * P), SIGSEGV);
    release_ok(b);
}
END_TEST

START_TEST(runs_grow_failure_in_decommit_changes_nothing)
{
    char *b = alloc_ok(NULL, 16 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 16 * P, 11);
    assert_runs_must_grow(b);
    snap_t before, after;
    snap_take(&before, b, 16 * P);
    fi_reset();
    fi_fail(HM_SITE_RUNS_GROW, ENOMEM);
    BOOL ok;
    DWORD err;
    FI_CALL(ok, err, VirtualFree(b + 4 * P, 4 * P, MEM_DECOMMIT));
    ck_assert_int_eq(ok, FALSE);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_RUNS_GROW, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_DECOMMIT_MAP], 0);
    snap_take(&after, b, 16 * P);
    snap_assert_same(&before, &after);
    pattern_check(b, 16 * P, 11);
    release_ok(b);
}
END_TEST

START_TEST(runs_grow_failure_in_lock_changes_nothing)
{
    char *b = alloc_ok(NULL, 16 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 16 * P, 12);
    assert_runs_must_grow(b);
    unsigned long lck = vm_lck_kb();
    snap_t before, after;
    snap_take(&before, b, 16 * P);
    fi_reset();
    fi_fail(HM_SITE_RUNS_GROW, ENOMEM);
    BOOL ok;
    DWORD err;
    FI_CALL(ok, err, VirtualLock(b + 2 * P, 2 * P));
    ck_assert_int_eq(ok, FALSE);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_RUNS_GROW, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_LOCK_MLOCK], 0);
    snap_take(&after, b, 16 * P);
    snap_assert_same(&before, &after);
    ck_assert_uint_eq(vm_lck_kb(), lck);
    ck_assert(!kernel_locked(b + 2 * P));
    ck_assert_int_eq(VirtualUnlock(b + 2 * P, 2 * P), FALSE);
    ck_assert_last_error(ERROR_NOT_LOCKED);
    pattern_check(b, 16 * P, 12);
    release_ok(b);
}
END_TEST

START_TEST(runs_grow_failure_in_unlock_keeps_the_pages_locked)
{
    char *b = alloc_ok(NULL, 16 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 16 * P, 13);
    unsigned long lck0 = vm_lck_kb();
    ck_assert(VirtualLock(b, 16 * P));
    uint32_t n, cap;
    /* Split the runs until the next update must grow them. */
    for (size_t pg = 1; pg < 16; pg += 2) {
        runs_of(b, &n, &cap);
        if (n + 2 > cap)
            break;
        protect_ok(b + pg * P, P, PAGE_READONLY);
    }
    assert_runs_must_grow(b);
    unsigned long lck = vm_lck_kb();
    ck_assert_uint_eq(lck, lck0 + 64);
    snap_t before, after;
    snap_take(&before, b, 16 * P);
    fi_reset();
    fi_fail(HM_SITE_RUNS_GROW, ENOMEM);
    BOOL ok;
    DWORD err;
    FI_CALL(ok, err, VirtualUnlock(b, 16 * P));
    ck_assert_int_eq(ok, FALSE);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_RUNS_GROW, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_UNLOCK_MUNLOCK], 0);
    snap_take(&after, b, 16 * P);
    snap_assert_same(&before, &after);
    ck_assert_uint_eq(vm_lck_kb(), lck);
    ck_assert(kernel_locked(b));
    ck_assert(VirtualUnlock(b, 16 * P));
    ck_assert_uint_eq(vm_lck_kb(), lck0);
    pattern_check(b, 16 * P, 13);
    release_ok(b);
}
END_TEST

START_TEST(runs_grow_failure_in_lock_of_a_guard_page_keeps_the_guard)
{
    char *b = alloc_ok(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    assert_runs_must_grow(b);
    snap_t before, after;
    snap_take(&before, b, 8 * P);
    fi_reset();
    fi_fail(HM_SITE_RUNS_GROW, ENOMEM);
    BOOL ok;
    DWORD err;
    FI_CALL(ok, err, VirtualLock(b + 2 * P, P));
    ck_assert_int_eq(ok, FALSE);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_RUNS_GROW, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_GUARD_CLEAR], 0);
    snap_take(&after, b, 8 * P);
    snap_assert_same(&before, &after);
    /* Without the fault: Windows' two-step (guard violation, then success). */
    ck_assert_int_eq(VirtualLock(b + 2 * P, P), FALSE);
    ck_assert_last_error((DWORD)STATUS_GUARD_PAGE_VIOLATION);
    ck_assert(VirtualLock(b + 2 * P, P));
    ck_assert(VirtualUnlock(b + 2 * P, P));
    release_ok(b);
}
END_TEST

static void site_RUNS_GROW(TCase *tc)
{
    tcase_add_test(tc, runs_grow_failure_while_protecting_every_other_page);
    tcase_add_test(tc, runs_grow_failure_in_commit_changes_nothing);
    tcase_add_test(tc, runs_grow_failure_in_decommit_changes_nothing);
    tcase_add_test(tc, runs_grow_failure_in_lock_changes_nothing);
    tcase_add_test(tc, runs_grow_failure_in_unlock_keeps_the_pages_locked);
    tcase_add_test(tc, runs_grow_failure_in_lock_of_a_guard_page_keeps_the_guard);
}

/* ======================================================================================
 * COMMIT_PROTECT — commit: mprotect to the new protection.
 * ==================================================================================== */

START_TEST(commit_protect_failure_keeps_state_charge_and_contents)
{
    char *b = alloc_ok(NULL, 16 * P, MEM_RESERVE, PAGE_READWRITE);
    alloc_ok(b, 4 * P, MEM_COMMIT, PAGE_READWRITE);
    alloc_ok(b + 10 * P, 2 * P, MEM_COMMIT, PAGE_EXECUTE_READ);
    pattern_fill(b, 4 * P, 21);
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        snap_t before, after;
        snap_take(&before, b, 16 * P);
        fi_reset();
        fi_fail(HM_SITE_COMMIT_PROTECT, no_memory_errnos[e]);
        /* Over committed pages 2-3 and fresh pages 4-5, with a new protection. */
        void *p;
        DWORD err;
        FI_CALL(p, err, VirtualAlloc(b + 2 * P, 4 * P, MEM_COMMIT, PAGE_READONLY));
        ck_assert_ptr_null(p);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_COMMIT_PROTECT, 1);
        snap_take(&after, b, 16 * P);
        snap_assert_same(&before, &after);
        pattern_check(b, 4 * P, 21);
        still_writable(&b[3 * P]); /* page 3 is still writable */
        ck_assert_int_eq(hm_probe_read(b + 4 * P), SIGSEGV);
    }
    release_ok(b);
}
END_TEST

START_TEST(commit_protect_failure_with_commit_limit_keeps_the_charge)
{
    char *b = alloc_ok(NULL, 16 * P, MEM_RESERVE, PAGE_READWRITE);
    hm_stats_t before = stats_now();
    fi_reset();
    fi_fail(HM_SITE_COMMIT_PROTECT, ENOMEM);
    void *p;
    DWORD err;
    FI_CALL(p, err, VirtualAlloc(b, 16 * P, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_COMMIT_PROTECT, 1);
    hm_stats_t after = stats_now();
    stats_assert_same(&before, &after);
    /* A commit right up to the limit still fits: the failed charge was given back. */
    uint64_t limit = hm_commit_limit();
    hm_set_commit_limit(after.committed_bytes + 16 * P);
    ck_assert_ptr_eq(VirtualAlloc(b, 16 * P, MEM_COMMIT, PAGE_READWRITE), b);
    hm_set_commit_limit(limit);
    release_ok(b);
}
END_TEST

static void site_COMMIT_PROTECT(TCase *tc)
{
    tcase_add_test(tc, commit_protect_failure_keeps_state_charge_and_contents);
    tcase_add_test(tc, commit_protect_failure_with_commit_limit_keeps_the_charge);
}

/* ======================================================================================
 * DECOMMIT_MAP — decommit: replace pages with fresh PROT_NONE pages.
 * ==================================================================================== */

START_TEST(decommit_map_failure_keeps_pages_committed_locked_and_intact)
{
    char *b = alloc_ok(NULL, 16 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    protect_ok(b + 8 * P, 2 * P, PAGE_READONLY);
    pattern_fill(b, 8 * P, 31);
    ck_assert(VirtualLock(b + 4 * P, 2 * P));
    unsigned long lck = vm_lck_kb();
    struct {
        void *addr;
        SIZE_T size;
    } calls[] = {{b + 2 * P, 4 * P}, {b, 0}, {b + 7 * P, 3 * P}};
    for (size_t c = 0; c < 3; c++) {
        for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
            snap_t before, after;
            snap_take(&before, b, 16 * P);
            fi_reset();
            fi_fail(HM_SITE_DECOMMIT_MAP, no_memory_errnos[e]);
            BOOL ok;
            DWORD err;
            FI_CALL(ok, err, VirtualFree(calls[c].addr, calls[c].size, MEM_DECOMMIT));
            ck_assert_int_eq(ok, FALSE);
            ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
            fi_assert_failed(HM_SITE_DECOMMIT_MAP, 1);
            snap_take(&after, b, 16 * P);
            snap_assert_same(&before, &after);
            pattern_check(b, 8 * P, 31);
            ck_assert_uint_eq(vm_lck_kb(), lck);
        }
    }
    ck_assert(VirtualUnlock(b + 4 * P, 2 * P));
    release_ok(b);
}
END_TEST

static void site_DECOMMIT_MAP(TCase *tc)
{
    tcase_add_test(tc, decommit_map_failure_keeps_pages_committed_locked_and_intact);
}

/* ======================================================================================
 * RELEASE_UNMAP — release: unmap the reservation.
 * ==================================================================================== */

START_TEST(release_unmap_failure_keeps_the_reservation_whole)
{
    char *b = alloc_ok(NULL, 32 * P, MEM_RESERVE, PAGE_EXECUTE_READWRITE);
    hm_stats_t empty = stats_now();
    alloc_ok(b, 8 * P, MEM_COMMIT, PAGE_READWRITE);
    protect_ok(b + 2 * P, 2 * P, PAGE_READONLY);
    pattern_fill(b, 2 * P, 41);
    ck_assert(VirtualLock(b + 5 * P, P));
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        snap_t before, after;
        snap_take(&before, b, 32 * P);
        fi_reset();
        fi_fail(HM_SITE_RELEASE_UNMAP, no_memory_errnos[e]);
        BOOL ok;
        DWORD err;
        FI_CALL(ok, err, VirtualFree(b, 0, MEM_RELEASE));
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_RELEASE_UNMAP, 1);
        snap_take(&after, b, 32 * P);
        snap_assert_same(&before, &after);
        pattern_check(b, 2 * P, 41);
        ck_assert(kernel_locked(b + 5 * P));
    }
    /* Still a working reservation: commit, decommit, then release. */
    ck_assert_ptr_eq(VirtualAlloc(b + 20 * P, P, MEM_COMMIT, PAGE_READWRITE), b + 20 * P);
    ck_assert(VirtualFree(b + 20 * P, P, MEM_DECOMMIT));
    release_ok(b);
    hm_stats_t gone = stats_now();
    ck_assert_uint_eq(gone.reservations, empty.reservations - 1);
    ck_assert_uint_eq(gone.committed_bytes, empty.committed_bytes);
    ck_assert_uint_eq(gone.locked_bytes, empty.locked_bytes);
    ck_assert(!kernel_overlap((uintptr_t)b, 32 * P));
}
END_TEST

static void site_RELEASE_UNMAP(TCase *tc)
{
    tcase_add_test(tc, release_unmap_failure_keeps_the_reservation_whole);
}

/* ======================================================================================
 * PROTECT_PROTECT — VirtualProtect: mprotect to the new protection.
 * ==================================================================================== */

START_TEST(protect_failure_keeps_protection_and_contents)
{
    char *b = alloc_ok(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    protect_ok(b + 6 * P, P, PAGE_EXECUTE_READ);
    pattern_fill(b, 6 * P, 51);
    static const DWORD prots[] = {PAGE_READONLY, PAGE_NOACCESS, PAGE_READWRITE | PAGE_GUARD,
                                  PAGE_EXECUTE_READWRITE};
    for (size_t k = 0; k < 4; k++) {
        for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
            snap_t before, after;
            snap_take(&before, b, 8 * P);
            fi_reset();
            fi_fail(HM_SITE_PROTECT_PROTECT, no_memory_errnos[e]);
            BOOL ok;
            DWORD err, old = 0x12345;
            FI_CALL(ok, err, VirtualProtect(b + P, 6 * P, prots[k], &old));
            ck_assert_int_eq(ok, FALSE);
            ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
            fi_assert_failed(HM_SITE_PROTECT_PROTECT, 1);
            snap_take(&after, b, 8 * P);
            snap_assert_same(&before, &after);
            pattern_check(b, 6 * P, 51);
            still_writable(&b[P]); /* still writable */
        }
    }
    release_ok(b);
}
END_TEST

static void site_PROTECT_PROTECT(TCase *tc)
{
    tcase_add_test(tc, protect_failure_keeps_protection_and_contents);
}

/* ======================================================================================
 * RESET_ADVISE — MEM_RESET: madvise(MADV_FREE).
 * ==================================================================================== */

START_TEST(reset_advise_failure_keeps_contents)
{
    char *b = alloc_ok(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 8 * P, 61);
    for (int locked = 0; locked < 2; locked++) {
        if (locked)
            ck_assert(VirtualLock(b + 3 * P, P)); /* one madvise per unlocked piece */
        for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
            snap_t before, after;
            snap_take(&before, b, 8 * P);
            fi_reset();
            fi_fail(HM_SITE_RESET_ADVISE, no_memory_errnos[e]);
            void *p;
            DWORD err;
            FI_CALL(p, err, VirtualAlloc(b, 8 * P, MEM_RESET, PAGE_READWRITE));
            ck_assert_ptr_null(p);
            ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
            fi_assert_failed(HM_SITE_RESET_ADVISE, 1);
            snap_take(&after, b, 8 * P);
            snap_assert_same(&before, &after);
            pattern_check(b, 8 * P, 61);
        }
    }
    ck_assert(VirtualUnlock(b + 3 * P, P));
    release_ok(b);
}
END_TEST

static void site_RESET_ADVISE(TCase *tc)
{
    tcase_add_test(tc, reset_advise_failure_keeps_contents);
}

/* ======================================================================================
 * UNDO_PAGEMAP — MEM_RESET_UNDO: read /proc/self/pagemap.
 * ==================================================================================== */

START_TEST(undo_pagemap_failure_fails_and_a_later_undo_succeeds)
{
    char *b = alloc_ok(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 8 * P, 71);
    ck_assert_ptr_eq(VirtualAlloc(b, 8 * P, MEM_RESET, PAGE_READWRITE), b);
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        snap_t before, after;
        snap_take(&before, b, 8 * P);
        fi_reset();
        fi_fail(HM_SITE_UNDO_PAGEMAP, no_memory_errnos[e]);
        void *p;
        DWORD err;
        FI_CALL(p, err, VirtualAlloc(b, 8 * P, MEM_RESET_UNDO, PAGE_READWRITE));
        ck_assert_ptr_null(p);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_UNDO_PAGEMAP, 1);
        snap_take(&after, b, 8 * P);
        snap_assert_same(&before, &after);
    }
    ck_assert_ptr_eq(VirtualAlloc(b, 8 * P, MEM_RESET_UNDO, PAGE_READWRITE), b);
    pattern_check(b, 8 * P, 71);
    release_ok(b);
}
END_TEST

static void site_UNDO_PAGEMAP(TCase *tc)
{
    tcase_add_test(tc, undo_pagemap_failure_fails_and_a_later_undo_succeeds);
}

/* ======================================================================================
 * UNDO_UNPROTECT / UNDO_REPROTECT — MEM_RESET_UNDO re-dirties read-only pages by making
 * them writable for a moment, then restores their protection.
 * ==================================================================================== */

static char *readonly_reset_run(unsigned seed)
{
    char *b = alloc_ok(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 8 * P, seed);
    protect_ok(b, 8 * P, PAGE_READONLY);
    ck_assert_ptr_eq(VirtualAlloc(b, 8 * P, MEM_RESET, PAGE_READWRITE), b);
    return b;
}

START_TEST(undo_unprotect_failure_keeps_the_run_read_only)
{
    char *b = readonly_reset_run(81);
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        snap_t before, after;
        snap_take(&before, b, 8 * P);
        fi_reset();
        fi_fail(HM_SITE_UNDO_UNPROTECT, no_memory_errnos[e]);
        void *p;
        DWORD err;
        FI_CALL(p, err, VirtualAlloc(b, 8 * P, MEM_RESET_UNDO, PAGE_READWRITE));
        ck_assert_ptr_null(p);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_UNDO_UNPROTECT, 1);
        ck_assert_int_eq(fi->calls[HM_SITE_UNDO_REPROTECT], 0);
        snap_take(&after, b, 8 * P);
        snap_assert_same(&before, &after);
        ck_assert_int_eq(hm_probe_write(b), SIGSEGV);
    }
    ck_assert_ptr_eq(VirtualAlloc(b, 8 * P, MEM_RESET_UNDO, PAGE_READWRITE), b);
    pattern_check(b, 8 * P, 81);
    ck_assert_region(b, b, b, PAGE_READWRITE, 8 * P, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    ck_assert_int_eq(hm_probe_write(b + 5 * P), SIGSEGV);
    release_ok(b);
}
END_TEST

static void site_UNDO_UNPROTECT(TCase *tc)
{
    tcase_add_test(tc, undo_unprotect_failure_keeps_the_run_read_only);
}

static void child_reprotect_fails(void *arg)
{
    char *b = arg;
    fi_fail(HM_SITE_UNDO_REPROTECT, ENOMEM);
    hm_os = fake_ops;
    void *p = VirtualAlloc(b, 8 * P, MEM_RESET_UNDO, PAGE_READWRITE);
    hm_os = hm_os_default;
    fprintf(stderr, "child: VirtualAlloc returned %p, error %u\n", p, GetLastError());
}

START_TEST(undo_reprotect_failure_aborts)
{
    char *b = readonly_reset_run(82);
    fi_reset();
    child_result_t r;
    run_in_child(child_reprotect_fails, b, &r);
    expect_signal(&r, SIGABRT, "hostmem: fatal: reset undo: cannot restore the protection");
    ck_assert_int_eq(fi->calls[HM_SITE_UNDO_UNPROTECT], 1);
    fi_assert_failed(HM_SITE_UNDO_REPROTECT, 1);
    release_ok(b);
}
END_TEST

static void site_UNDO_REPROTECT(TCase *tc)
{
    tcase_add_test(tc, undo_reprotect_failure_aborts);
}

/* ======================================================================================
 * LOCK_MLOCK / UNLOCK_MUNLOCK — VirtualLock / VirtualUnlock.
 * ==================================================================================== */

START_TEST(lock_mlock_failure_is_working_set_quota_and_locks_nothing)
{
    char *b = alloc_ok(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 8 * P, 91);
    protect_ok(b + 6 * P, P, PAGE_READONLY);
    unsigned long lck = vm_lck_kb();
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        snap_t before, after;
        snap_take(&before, b, 8 * P);
        fi_reset();
        fi_fail(HM_SITE_LOCK_MLOCK, no_memory_errnos[e]);
        BOOL ok;
        DWORD err;
        FI_CALL(ok, err, VirtualLock(b + P, 6 * P));
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, ERROR_WORKING_SET_QUOTA);
        fi_assert_failed(HM_SITE_LOCK_MLOCK, 1);
        snap_take(&after, b, 8 * P);
        snap_assert_same(&before, &after);
        ck_assert_uint_eq(vm_lck_kb(), lck);
        ck_assert_int_eq(VirtualUnlock(b + P, P), FALSE);
        ck_assert_last_error(ERROR_NOT_LOCKED);
        pattern_check(b, 6 * P, 91);
    }
    release_ok(b);
}
END_TEST

static void site_LOCK_MLOCK(TCase *tc)
{
    tcase_add_test(tc, lock_mlock_failure_is_working_set_quota_and_locks_nothing);
}

START_TEST(unlock_munlock_failure_keeps_the_pages_locked)
{
    char *b = alloc_ok(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 8 * P, 92);
    unsigned long lck0 = vm_lck_kb();
    ck_assert(VirtualLock(b, 4 * P));
    unsigned long lck = vm_lck_kb();
    ck_assert_uint_eq(lck, lck0 + 16);
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        snap_t before, after;
        snap_take(&before, b, 8 * P);
        fi_reset();
        fi_fail(HM_SITE_UNLOCK_MUNLOCK, no_memory_errnos[e]);
        BOOL ok;
        DWORD err;
        FI_CALL(ok, err, VirtualUnlock(b + P, 2 * P));
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_UNLOCK_MUNLOCK, 1);
        snap_take(&after, b, 8 * P);
        snap_assert_same(&before, &after);
        ck_assert_uint_eq(vm_lck_kb(), lck);
    }
    ck_assert(VirtualUnlock(b, 4 * P));
    ck_assert_uint_eq(vm_lck_kb(), lck0);
    pattern_check(b, 8 * P, 92);
    release_ok(b);
}
END_TEST

static void site_UNLOCK_MUNLOCK(TCase *tc)
{
    tcase_add_test(tc, unlock_munlock_failure_keeps_the_pages_locked);
}

/* ======================================================================================
 * GUARD_HANDLER — installing the SIGSEGV handler for guard pages (every PAGE_GUARD
 * request asks; the first one in a process installs it).
 * ==================================================================================== */

START_TEST(guard_handler_failure_fails_every_guard_request)
{
    char *b = alloc_ok(NULL, 8 * P, MEM_RESERVE, PAGE_READWRITE);
    alloc_ok(b, 4 * P, MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 4 * P, 101);
    snap_t before, after;
    snap_take(&before, b, 8 * P);
    void *p;
    BOOL ok;
    DWORD err, old;

    fi_reset();
    fi_fail(HM_SITE_GUARD_HANDLER, ENOMEM);
    FI_CALL(p, err, VirtualAlloc(NULL, 4 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_GUARD_HANDLER, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_MAP], 0);

    fi_reset();
    fi_fail(HM_SITE_GUARD_HANDLER, ENOMEM);
    FI_CALL(p, err, VirtualAlloc(b + 5 * P, P, MEM_COMMIT, PAGE_READONLY | PAGE_GUARD));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_GUARD_HANDLER, 1);

    fi_reset();
    fi_fail(HM_SITE_GUARD_HANDLER, ENOMEM);
    FI_CALL(ok, err, VirtualProtect(b + P, P, PAGE_READWRITE | PAGE_GUARD, &old));
    ck_assert_int_eq(ok, FALSE);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_GUARD_HANDLER, 1);

    snap_take(&after, b, 8 * P);
    snap_assert_same(&before, &after);
    pattern_check(b, 4 * P, 101);
    release_ok(b);
}
END_TEST

static volatile sig_atomic_t guard_callbacks;
static void count_guard(void *addr, void *ctx)
{
    (void)addr;
    (void)ctx;
    guard_callbacks++;
}

START_TEST(fresh_guard_handler_failure_then_first_touch_works)
{
    hm_stats_t before = stats_now();
    fi_reset();
    fi_fail(HM_SITE_GUARD_HANDLER, ENOMEM);
    void *p;
    DWORD err;
    FI_CALL(p, err, VirtualAlloc(NULL, 4 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_GUARD_HANDLER, 1);
    hm_stats_t after = stats_now();
    stats_assert_same(&before, &after);
    /* The handler was not installed by the failed call; the next request installs it. */
    struct sigaction sa;
    ck_assert_int_eq(sigaction(SIGSEGV, NULL, &sa), 0);
    ck_assert(!(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_DFL);
    hm_set_guard_page_callback(count_guard, NULL);
    char *b = alloc_ok(NULL, 4 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    *(volatile char *)(b + P) = 1;
    ck_assert_int_eq(guard_callbacks, 1);
    ck_assert_uint_eq(stats_now().guard_pages_hit, 1);
    ck_assert_region(b + P, b + P, b, PAGE_READWRITE | PAGE_GUARD, P, MEM_COMMIT, PAGE_READWRITE,
                     MEM_PRIVATE);
    hm_set_guard_page_callback(NULL, NULL);
    release_ok(b);
}
END_TEST

START_TEST(guard_handler_failure_in_a_fresh_process)
{
    run_fresh("fresh_guard_handler_failure_then_first_touch_works");
}
END_TEST

static void site_GUARD_HANDLER(TCase *tc)
{
    tcase_add_test(tc, guard_handler_failure_fails_every_guard_request);
    tcase_add_test(tc, guard_handler_failure_in_a_fresh_process);
}

/* ======================================================================================
 * GUARD_CLEAR / GUARD_RUNS — the guard-page fault path. If clearing the guard fails the
 * fault is not handled: it goes on to the previous handler, here the default (SIGSEGV).
 * ==================================================================================== */

static void child_touch_with_fault(void *arg)
{
    volatile char *a = arg;
    hm_os = fake_ops;
    /* The fault reads hm_os behind the compiler's back: keep the stores around the access. */
    atomic_signal_fence(memory_order_seq_cst);
    *a = 1; /* must not return */
    atomic_signal_fence(memory_order_seq_cst);
    hm_os = hm_os_default;
    fprintf(stderr, "child: the guard page access completed\n");
}

static void child_touch(void *arg)
{
    volatile char *a = arg;
    *a = 1;
    CHILD_REQUIRE(*a == 1);
}

START_TEST(guard_clear_failure_in_the_fault_path_is_a_segfault)
{
    char *b = alloc_ok(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    uint32_t n, cap;
    /* Make room in the runs so that the fault path needs no mapping (GUARD_RUNS). */
    protect_ok(b + 6 * P, P, PAGE_READONLY | PAGE_GUARD);
    protect_ok(b + 6 * P, P, PAGE_READWRITE | PAGE_GUARD);
    runs_of(b, &n, &cap);
    ck_assert_uint_le(n + 2, cap);
    snap_t before, after;
    snap_take(&before, b, 8 * P);
    fi_reset();
    fi_fail(HM_SITE_GUARD_CLEAR, ENOMEM);
    child_result_t r;
    run_in_child(child_touch_with_fault, b + 2 * P, &r);
    expect_signal(&r, SIGSEGV, NULL);
    fi_assert_failed(HM_SITE_GUARD_CLEAR, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_GUARD_RUNS], 0);
    snap_take(&after, b, 8 * P);
    snap_assert_same(&before, &after);
    /* Without the fault the same touch clears the guard. */
    run_in_child(child_touch, b + 2 * P, &r);
    expect_exit0(&r);
    release_ok(b);
}
END_TEST

START_TEST(guard_clear_failure_in_virtual_lock_keeps_the_guard)
{
    char *b = alloc_ok(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 8 * P, 111);
    protect_ok(b + 3 * P, P, PAGE_READWRITE | PAGE_GUARD);
    snap_t before, after;
    snap_take(&before, b, 8 * P);
    fi_reset();
    fi_fail(HM_SITE_GUARD_CLEAR, ENOMEM);
    BOOL ok;
    DWORD err;
    FI_CALL(ok, err, VirtualLock(b, 8 * P));
    ck_assert_int_eq(ok, FALSE);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_GUARD_CLEAR, 1);
    snap_take(&after, b, 8 * P);
    snap_assert_same(&before, &after);
    ck_assert_int_eq(hm_probe_read(b + 3 * P), 0); /* the guard is still armed (and handled) */
    ck_assert_int_eq(VirtualLock(b, 8 * P), FALSE);
    ck_assert_last_error((DWORD)STATUS_GUARD_PAGE_VIOLATION);
    ck_assert_region(b, b, b, PAGE_READWRITE, 8 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    pattern_check(b, 8 * P, 111);
    release_ok(b);
}
END_TEST

static void site_GUARD_CLEAR(TCase *tc)
{
    tcase_add_test(tc, guard_clear_failure_in_the_fault_path_is_a_segfault);
    tcase_add_test(tc, guard_clear_failure_in_virtual_lock_keeps_the_guard);
}

START_TEST(guard_runs_failure_in_the_fault_path_is_a_segfault)
{
    char *b = alloc_ok(NULL, 16 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    assert_runs_must_grow(b);
    snap_t before, after;
    snap_take(&before, b, 16 * P);
    fi_reset();
    fi_fail(HM_SITE_GUARD_RUNS, ENOMEM);
    child_result_t r;
    run_in_child(child_touch_with_fault, b + 5 * P, &r);
    expect_signal(&r, SIGSEGV, NULL);
    fi_assert_failed(HM_SITE_GUARD_RUNS, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_GUARD_CLEAR], 0);
    snap_take(&after, b, 16 * P);
    snap_assert_same(&before, &after);
    /* Without the fault the runs grow in the handler and the touch succeeds. */
    fi_reset();
    hm_os = fake_ops;
    atomic_signal_fence(memory_order_seq_cst);
    run_in_child(child_touch, b + 5 * P, &r);
    atomic_signal_fence(memory_order_seq_cst);
    hm_os = hm_os_default;
    expect_exit0(&r);
    ck_assert_int_eq(fi->calls[HM_SITE_GUARD_RUNS], 1);
    ck_assert_int_eq(fi->calls[HM_SITE_GUARD_CLEAR], 1);
    release_ok(b);
}
END_TEST

static void site_GUARD_RUNS(TCase *tc)
{
    tcase_add_test(tc, guard_runs_failure_in_the_fault_path_is_a_segfault);
}

/* ======================================================================================
 * FOREIGN_* — memory hostmem did not allocate, answered from the kernel's view.
 * ==================================================================================== */

START_TEST(foreign_maps_failure_fails_virtual_query)
{
    int on_stack = 0;
    char *page = foreign_page();
    const void *addrs[] = {&on_stack, page, (void *)(uintptr_t)0x10000};
    for (size_t k = 0; k < 3; k++) {
        MEMORY_BASIC_INFORMATION mbi;
        memset(&mbi, 0xAB, sizeof mbi);
        fi_reset();
        fi_fail(HM_SITE_FOREIGN_MAPS, ENOMEM);
        SIZE_T got;
        DWORD err;
        FI_CALL(got, err, VirtualQuery(addrs[k], &mbi, sizeof mbi));
        ck_assert_uint_eq(got, 0);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_FOREIGN_MAPS, 1);
        const unsigned char *bytes = (const unsigned char *)&mbi;
        for (size_t i = 0; i < sizeof mbi; i++)
            ck_assert_uint_eq(bytes[i], 0xAB); /* buffer untouched */
    }
    foreign_free(page);
}
END_TEST

START_TEST(foreign_maps_failure_fails_protect_lock_and_unlock)
{
    char *page = foreign_page();
    pattern_fill(page, P, 121);
    snap_t before, after;
    snap_take(&before, page, P);
    BOOL ok;
    DWORD err, old = 0x12345;

    fi_reset();
    fi_fail(HM_SITE_FOREIGN_MAPS, ENOMEM);
    FI_CALL(ok, err, VirtualProtect(page, P, PAGE_READONLY, &old));
    ck_assert_int_eq(ok, FALSE);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_FOREIGN_MAPS, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_FOREIGN_PROTECT], 0);
    still_writable(&page[0]); /* still writable */

    fi_reset();
    fi_fail(HM_SITE_FOREIGN_MAPS, ENOMEM);
    FI_CALL(ok, err, VirtualLock(page, P));
    ck_assert_int_eq(ok, FALSE);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_FOREIGN_MAPS, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_FOREIGN_LOCK], 0);
    ck_assert(!kernel_locked(page));

    ck_assert(VirtualLock(page, P));
    fi_reset();
    fi_fail(HM_SITE_FOREIGN_MAPS, ENOMEM);
    FI_CALL(ok, err, VirtualUnlock(page, P));
    ck_assert_msg(!ok, "VirtualUnlock succeeded although reading /proc/self/maps failed");
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_FOREIGN_MAPS, 1);
    ck_assert(kernel_locked(page));
    ck_assert(VirtualUnlock(page, P));

    snap_take(&after, page, P);
    snap_assert_same(&before, &after);
    pattern_check(page, P, 121);
    foreign_free(page);
}
END_TEST

static void site_FOREIGN_MAPS(TCase *tc)
{
    tcase_add_test(tc, foreign_maps_failure_fails_virtual_query);
    tcase_add_test(tc, foreign_maps_failure_fails_protect_lock_and_unlock);
}

START_TEST(foreign_protect_failure_keeps_the_protection)
{
    char *page = foreign_page();
    pattern_fill(page, P, 131);
    static const struct {
        int err;
        DWORD win;
    } cases[] = {{ENOMEM, ERROR_NOT_ENOUGH_MEMORY},
                 {EAGAIN, ERROR_NOT_ENOUGH_MEMORY},
                 {EPERM, ERROR_NOT_ENOUGH_MEMORY},
                 {EACCES, ERROR_ACCESS_DENIED}};
    for (size_t k = 0; k < 4; k++) {
        snap_t before, after;
        snap_take(&before, page, P);
        fi_reset();
        fi_fail(HM_SITE_FOREIGN_PROTECT, cases[k].err);
        BOOL ok;
        DWORD err, old = 0x12345;
        FI_CALL(ok, err, VirtualProtect(page, P, PAGE_READONLY, &old));
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, cases[k].win);
        fi_assert_failed(HM_SITE_FOREIGN_PROTECT, 1);
        snap_take(&after, page, P);
        snap_assert_same(&before, &after);
        ck_assert_uint_eq(before.r[0].Protect, PAGE_READWRITE);
        still_writable(&page[0]);
        pattern_check(page, P, 131);
    }
    foreign_free(page);
}
END_TEST

static void site_FOREIGN_PROTECT(TCase *tc)
{
    tcase_add_test(tc, foreign_protect_failure_keeps_the_protection);
}

START_TEST(foreign_lock_failure_is_working_set_quota_and_locks_nothing)
{
    char *page = foreign_page();
    unsigned long lck = vm_lck_kb();
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        fi_reset();
        fi_fail(HM_SITE_FOREIGN_LOCK, no_memory_errnos[e]);
        BOOL ok;
        DWORD err;
        FI_CALL(ok, err, VirtualLock(page, P));
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, ERROR_WORKING_SET_QUOTA);
        fi_assert_failed(HM_SITE_FOREIGN_LOCK, 1);
        ck_assert(!kernel_locked(page));
        ck_assert_uint_eq(vm_lck_kb(), lck);
    }
    foreign_free(page);
}
END_TEST

static void site_FOREIGN_LOCK(TCase *tc)
{
    tcase_add_test(tc, foreign_lock_failure_is_working_set_quota_and_locks_nothing);
}

static void foreign_unlock_failure(hm_os_site_t site)
{
    char *page = foreign_page();
    pattern_fill(page, P, 141);
    unsigned long lck0 = vm_lck_kb();
    ck_assert(VirtualLock(page, P));
    unsigned long lck = vm_lck_kb();
    ck_assert_uint_eq(lck, lck0 + 4);
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        fi_reset();
        fi_fail(site, no_memory_errnos[e]);
        BOOL ok;
        DWORD err;
        FI_CALL(ok, err, VirtualUnlock(page, P));
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(site, 1);
        ck_assert(kernel_locked(page));
        ck_assert_uint_eq(vm_lck_kb(), lck);
    }
    ck_assert(VirtualUnlock(page, P));
    ck_assert(!kernel_locked(page));
    pattern_check(page, P, 141);
    foreign_free(page);
}

START_TEST(foreign_unlock_failure_keeps_the_page_locked)
{
    foreign_unlock_failure(HM_SITE_FOREIGN_UNLOCK);
}
END_TEST

static void site_FOREIGN_UNLOCK(TCase *tc)
{
    tcase_add_test(tc, foreign_unlock_failure_keeps_the_page_locked);
}

START_TEST(foreign_smaps_failure_keeps_the_page_locked)
{
    foreign_unlock_failure(HM_SITE_FOREIGN_SMAPS);
}
END_TEST

static void site_FOREIGN_SMAPS(TCase *tc)
{
    tcase_add_test(tc, foreign_smaps_failure_keeps_the_page_locked);
}

/* ======================================================================================
 * MEMINFO_READ — /proc/meminfo: GlobalMemoryStatusEx, and the default commit limit.
 * ==================================================================================== */

START_TEST(meminfo_read_failure_fails_global_memory_status)
{
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        MEMORYSTATUSEX ms;
        memset(&ms, 0xCD, sizeof ms);
        ms.dwLength = sizeof ms;
        fi_reset();
        fi_fail(HM_SITE_MEMINFO_READ, no_memory_errnos[e]);
        BOOL ok;
        DWORD err;
        FI_CALL(ok, err, GlobalMemoryStatusEx(&ms));
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_MEMINFO_READ, 1);
        ck_assert_uint_eq(ms.dwLength, sizeof ms);
        const unsigned char *bytes = (const unsigned char *)&ms;
        for (size_t i = sizeof ms.dwLength; i < sizeof ms; i++)
            ck_assert_uint_eq(bytes[i], 0xCD); /* nothing filled in */
    }
}
END_TEST

START_TEST(fresh_commit_limit_without_meminfo_is_unlimited)
{
    fi_reset();
    fi_fail(HM_SITE_MEMINFO_READ, ENOMEM);
    uint64_t limit;
    DWORD err;
    FI_CALL(limit, err, hm_commit_limit());
    (void)err;
    fi_assert_failed(HM_SITE_MEMINFO_READ, 1);
    ck_assert_uint_eq(limit, 0); /* documented: else unlimited */
    char *b = alloc_ok(NULL, 4 * G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    release_ok(b);
}
END_TEST

START_TEST(fresh_commit_limit_defaults_to_commit_limit_of_meminfo)
{
    char *mi = slurp("/proc/meminfo");
    const char *p = strstr(mi, "CommitLimit:");
    ck_assert_ptr_nonnull(p);
    uint64_t kb = strtoull(p + 12, NULL, 10);
    free(mi);
    ck_assert_uint_eq(hm_commit_limit(), kb * 1024);
}
END_TEST

START_TEST(meminfo_read_failure_for_the_default_commit_limit)
{
    run_fresh("fresh_commit_limit_without_meminfo_is_unlimited");
    run_fresh("fresh_commit_limit_defaults_to_commit_limit_of_meminfo");
}
END_TEST

static void site_MEMINFO_READ(TCase *tc)
{
    tcase_add_test(tc, meminfo_read_failure_fails_global_memory_status);
    tcase_add_test(tc, meminfo_read_failure_for_the_default_commit_limit);
}

/* ======================================================================================
 * HOST_LOAD_READ — GetMemoryLoad reads cgroup v2 and meminfo files. A view it cannot read
 * is left out; the budget view still answers.
 * ==================================================================================== */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "we");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(host_load_read_failure_leaves_only_the_budget_view)
{
    char dir[] = "/tmp/hm_fi_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    write_file(dir, "memory.max", "1048576000\n");
    write_file(dir, "memory.high", "max\n");
    write_file(dir, "memory.current", "943718400\n"); /* 90 % */
    write_file(dir, "meminfo", "MemTotal:  1000000 kB\nMemFree: 1 kB\nMemAvailable:  500000 kB\n");
    char meminfo[600];
    snprintf(meminfo, sizeof meminfo, "%s/meminfo", dir);

    hm_host_config_t hc = {sizeof hc, dir, meminfo, "", 0};
    hm_host_t *host;
    ck_assert_int_eq(hm_host_create(&hc, &host), 0);
    hm_runtime_config_t rc = {.cb_size = sizeof rc, .name = "fi", .hard_limit = 8 << 20};
    hm_runtime_t *rt;
    ck_assert_int_eq(hm_runtime_create(host, &rc, &rt), 0);
    ck_assert_int_eq(hm_runtime_start(rt), 0);
    IHostMemoryManager *mgr = hm_runtime_memory_manager(rt);
    ck_assert_ptr_nonnull(mgr);
    void *mem = NULL;
    ck_assert_int_eq(mgr->lpVtbl->VirtualAlloc(mgr, NULL, 1 << 20, MEM_RESERVE | MEM_COMMIT,
                                               PAGE_READWRITE, eTaskCritical, &mem),
                     S_OK);

    DWORD load = 0;
    SIZE_T avail = 0;
    ck_assert_int_eq(mgr->lpVtbl->GetMemoryLoad(mgr, &load, &avail), S_OK);
    ck_assert_uint_eq(load, 90);         /* the cgroup is the tightest */
    ck_assert_uint_eq(avail, 7u << 20);  /* the budget has the least left */

    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        fi_reset();
        fi_fail(HM_SITE_HOST_LOAD_READ, no_memory_errnos[e]);
        HRESULT hr;
        DWORD err;
        load = 77;
        avail = 77;
        FI_CALL(hr, err, mgr->lpVtbl->GetMemoryLoad(mgr, &load, &avail));
        (void)err;
        ck_assert_int_eq(hr, S_OK);
        ck_assert_int_ge(fi->failed[HM_SITE_HOST_LOAD_READ], 1);
        ck_assert_int_eq(fi->failed[HM_SITE_HOST_LOAD_READ], fi->calls[HM_SITE_HOST_LOAD_READ]);
        fi_assert_slots_clean();
        ck_assert_uint_eq(load, 12);        /* 1 MiB of 8 MiB */
        ck_assert_uint_eq(avail, 7u << 20);
    }

    ck_assert_int_eq(mgr->lpVtbl->VirtualFree(mgr, mem, 0, MEM_RELEASE), S_OK);
    mgr->lpVtbl->Release(mgr);
    ck_assert_int_eq(hm_runtime_stop(rt), 0);
    hm_host_destroy(host);
    const char *names[] = {"memory.max", "memory.high", "memory.current", "meminfo"};
    for (size_t i = 0; i < 4; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}
END_TEST

static void site_HOST_LOAD_READ(TCase *tc)
{
    tcase_add_test(tc, host_load_read_failure_leaves_only_the_budget_view);
}

/* ======================================================================================
 * KERNEL_VIEW_SMAPS — hm_walk_regions of another process reads /proc/PID/smaps.
 * ==================================================================================== */

static int count_region(const hm_region_t *r, void *ctx)
{
    (void)r;
    ++*(int *)ctx;
    return 0;
}

START_TEST(kernel_view_smaps_failure_fails_the_walk_before_any_visit)
{
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    int n = 0;
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        fi_reset();
        fi_fail(HM_SITE_KERNEL_VIEW_SMAPS, no_memory_errnos[e]);
        uint32_t rc;
        DWORD err;
        FI_CALL(rc, err, hm_walk_regions(child, count_region, &n));
        /* EPERM reading another process's maps means "not allowed to look". */
        DWORD want = no_memory_errnos[e] == EPERM ? ERROR_ACCESS_DENIED : ERROR_NOT_ENOUGH_MEMORY;
        ck_assert_uint_eq(rc, want);
        ck_assert_uint_eq(err, want);
        fi_assert_failed(HM_SITE_KERNEL_VIEW_SMAPS, 1);
        ck_assert_int_eq(n, 0);
    }
    ck_assert_uint_eq(hm_walk_regions(child, count_region, &n), 0);
    ck_assert_int_gt(n, 0);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
}
END_TEST

static void site_KERNEL_VIEW_SMAPS(TCase *tc)
{
    tcase_add_test(tc, kernel_view_smaps_failure_fails_the_walk_before_any_visit);
}

/* ======================================================================================
 * Large pages, AWE physical pages and the right to lock memory (HM_OS_SITES_PHYS).
 * HM_USES_HUGE_PAGES: with HOSTMEM_LARGE_PAGES=thp, large pages come from the pool if it
 * has any (tests/CMakeLists.txt keeps these cases apart from the one that sizes it).
 * ==================================================================================== */

#define LP ((size_t)2 << 20)
#define PROC GetCurrentProcess()

static void phys_alloc(ULONG_PTR n, ULONG_PTR *pfns)
{
    ULONG_PTR got = n;
    ck_assert_msg(AllocateUserPhysicalPages(PROC, &got, pfns), "allocate: %u", GetLastError());
    ck_assert_uint_eq(got, n);
}

static void phys_free(ULONG_PTR n, ULONG_PTR *pfns)
{
    ULONG_PTR got = n;
    ck_assert_msg(FreeUserPhysicalPages(PROC, &got, pfns), "free: %u", GetLastError());
    ck_assert_uint_eq(got, n);
}

static char *phys_window(size_t pages)
{
    return alloc_ok(NULL, pages * P, MEM_RESERVE | MEM_PHYSICAL, PAGE_READWRITE);
}

static void map_ok(void *addr, ULONG_PTR n, ULONG_PTR *pfns)
{
    ck_assert_msg(MapUserPhysicalPages(addr, n, pfns), "map %p: %u", addr, GetLastError());
}

/* A 2 MiB-aligned address with 4 MiB free after it, in an area nothing else uses. */
static char *large_at(void)
{
    return (char *)untouched_area() + 4 * LP;
}

/* A large-page allocation at `at` failed with `want` and left nothing behind. */
static void large_failed(void *p, DWORD err, DWORD want, const snap_t *before, char *at)
{
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, want);
    snap_t after;
    snap_take(&after, at, 2 * LP);
    snap_assert_same(before, &after);
    ck_assert(!kernel_overlap((uintptr_t)at, 2 * LP));
    assert_nothing_left_mapped();
}

/* ---- PRIV_CAPS, PRIV_VMLCK ----------------------------------------------------------- */

START_TEST(priv_caps_failure_means_no_right_and_changes_nothing)
{
    char *at = large_at();
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        snap_t before;
        snap_take(&before, at, 2 * LP);
        fi_reset();
        fi_fail(HM_SITE_PRIV_CAPS, no_memory_errnos[e]);
        ULONG_PTR pfns[4] = {0}, n = 4;
        BOOL ok;
        DWORD err;
        FI_CALL(ok, err, AllocateUserPhysicalPages(PROC, &n, pfns));
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, ERROR_PRIVILEGE_NOT_HELD);
        ck_assert_uint_eq(n, 4);
        fi_assert_failed(HM_SITE_PRIV_CAPS, 1);
        ck_assert_int_eq(fi->calls[HM_SITE_PHYS_MEMFD], 0);
        void *p;
        FI_CALL(p, err, VirtualAlloc(at, 2 * LP, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
                                     PAGE_READWRITE));
        fi_assert_failed(HM_SITE_PRIV_CAPS, 2);
        ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_MAP], 0);
        large_failed(p, err, ERROR_PRIVILEGE_NOT_HELD, &before, at);
    }
}
END_TEST

/* Without CAP_IPC_LOCK and with a finite RLIMIT_MEMLOCK the right depends on VmLck. */
static void child_vmlck_fails(void *arg)
{
    char *at = arg;
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    CHILD_REQUIRE(syscall(SYS_capget, &h, d) == 0);
    d[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
    CHILD_REQUIRE(syscall(SYS_capset, &h, d) == 0);
    struct rlimit rl;
    CHILD_REQUIRE(getrlimit(RLIMIT_MEMLOCK, &rl) == 0);
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? (rlim_t)64 << 20 : rl.rlim_max;
    CHILD_REQUIRE(setrlimit(RLIMIT_MEMLOCK, &rl) == 0);
    ULONG_PTR pfns[4], n = 4;
    fi_fail(HM_SITE_PRIV_VMLCK, ENOMEM);
    hm_os = fake_ops;
    BOOL ok = AllocateUserPhysicalPages(PROC, &n, pfns);
    DWORD err1 = GetLastError();
    void *p = VirtualAlloc(at, LP, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE);
    DWORD err2 = GetLastError();
    hm_os = hm_os_default;
    CHILD_REQUIRE(!ok && err1 == ERROR_PRIVILEGE_NOT_HELD && n == 4);
    CHILD_REQUIRE(!p && err2 == ERROR_PRIVILEGE_NOT_HELD);
    CHILD_REQUIRE(!kernel_overlap((uintptr_t)at, LP));
    /* and with /proc readable the right is there */
    CHILD_REQUIRE(AllocateUserPhysicalPages(PROC, &n, pfns) && n == 4);
}

START_TEST(priv_vmlck_failure_means_no_right)
{
    fi_reset();
    child_result_t r;
    run_in_child(child_vmlck_fails, large_at(), &r);
    expect_exit0(&r);
    ck_assert_int_eq(fi->failed[HM_SITE_PRIV_VMLCK], 2);
    fi_assert_slots_clean();
}
END_TEST

static void site_PRIV_CAPS(TCase *tc)
{
    tcase_add_test(tc, priv_caps_failure_means_no_right_and_changes_nothing);
}

static void site_PRIV_VMLCK(TCase *tc)
{
    tcase_add_test(tc, priv_vmlck_failure_means_no_right);
}

/* ---- LARGE_TRIM, LARGE_MAP, LARGE_MOVE, LARGE_DROP, LARGE_UNDO, LARGE_THP_* ------------- */

/* The over-reservation is trimmed to 2 MiB in one or two unmaps (two when placement's base
 * is not 2 MiB aligned; small reservations move placement's cursor until it is not).
 * Either failing unmaps everything. */
START_TEST(large_trim_failure_undoes_the_over_reservation)
{
    setenv("HOSTMEM_LARGE_PAGES", "thp", 1);
    fi_reset();
    for (int nth = 0; nth < 2; nth++) {
        for (int attempt = 0;; attempt++) {
            ck_assert_int_lt(attempt, 64);
            hm_stats_t before = stats_now();
            fi_reset();
            fi_fail_nth(HM_SITE_LARGE_TRIM, ENOMEM, nth, 1);
            void *p;
            DWORD err;
            FI_CALL(p, err, VirtualAlloc(NULL, LP, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
                                         PAGE_READWRITE));
            if (p) { /* only one trim this time: shift placement's cursor and try again */
                ck_assert_int_eq(fi->calls[HM_SITE_LARGE_TRIM], 1);
                release_ok(p);
                alloc_ok(NULL, G, MEM_RESERVE, PAGE_NOACCESS);
                continue;
            }
            ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
            fi_assert_failed(HM_SITE_LARGE_TRIM, 1);
            ck_assert_int_eq(fi->calls[HM_SITE_LARGE_UNDO], 1);
            ck_assert_int_eq(fi->calls[HM_SITE_LARGE_MAP], 0);
            hm_stats_t after = stats_now();
            stats_assert_same(&before, &after);
            assert_nothing_left_mapped();
            break;
        }
    }
    unsetenv("HOSTMEM_LARGE_PAGES");
}
END_TEST

static void site_LARGE_TRIM(TCase *tc)
{
    tcase_add_test(tc, large_trim_failure_undoes_the_over_reservation);
}

/* The pool cannot supply the pages: 1450 by default (any errno); with
 * HOSTMEM_LARGE_PAGES=thp, ENOMEM (an empty pool) commits ordinary pages instead. */
START_TEST(large_map_failure_fails_with_no_system_resources)
{
    char *at = large_at();
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        for (int thp = 0; thp < 2; thp++) {
            if (thp)
                setenv("HOSTMEM_LARGE_PAGES", "thp", 1);
            else
                unsetenv("HOSTMEM_LARGE_PAGES");
            snap_t before;
            snap_take(&before, at, 2 * LP);
            fi_reset();
            fi_fail(HM_SITE_LARGE_MAP, no_memory_errnos[e]);
            void *p;
            DWORD err;
            FI_CALL(p, err, VirtualAlloc(at, 2 * LP, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
                                         PAGE_READWRITE));
            fi_assert_failed(HM_SITE_LARGE_MAP, 1);
            if (thp && no_memory_errnos[e] == ENOMEM) {
                ck_assert_ptr_eq(p, at);
                ck_assert_region(at, at, at, PAGE_READWRITE, 2 * LP, MEM_COMMIT, PAGE_READWRITE,
                                 MEM_PRIVATE);
                ck_assert_int_eq(fi->calls[HM_SITE_LARGE_THP_ADVISE], 1);
                still_writable(at + LP);
                release_ok(p);
                continue;
            }
            ck_assert_int_eq(fi->calls[HM_SITE_LARGE_THP_COMMIT], 0);
            large_failed(p, err, ERROR_NO_SYSTEM_RESOURCES, &before, at);
        }
    }
    unsetenv("HOSTMEM_LARGE_PAGES");
}
END_TEST

static void site_LARGE_MAP(TCase *tc)
{
    tcase_add_test(tc, large_map_failure_fails_with_no_system_resources);
}

/* Huge pages were mapped but cannot be moved onto the reservation: both are unmapped. */
START_TEST(large_move_failure_unmaps_both)
{
    char *at = large_at();
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        snap_t before;
        snap_take(&before, at, 2 * LP);
        fi_reset();
        fi->huge_stand_in = 1;
        fi_fail(HM_SITE_LARGE_MOVE, no_memory_errnos[e]);
        void *p;
        DWORD err;
        FI_CALL(p, err, VirtualAlloc(at, 2 * LP, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
                                     PAGE_READWRITE));
        fi_assert_failed(HM_SITE_LARGE_MOVE, 1);
        ck_assert_int_eq(fi->calls[HM_SITE_LARGE_DROP], 1);
        ck_assert_int_eq(fi->calls[HM_SITE_LARGE_UNDO], 1);
        large_failed(p, err, ERROR_NO_SYSTEM_RESOURCES, &before, at);
    }
    /* without the fault the stand-in pages land on the reservation */
    fi_reset();
    fi->huge_stand_in = 1;
    void *p;
    DWORD err;
    FI_CALL(p, err, VirtualAlloc(at, 2 * LP, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
                                 PAGE_READWRITE));
    (void)err;
    ck_assert_ptr_eq(p, at);
    ck_assert_int_eq(fi->calls[HM_SITE_LARGE_MOVE], 1);
    ck_assert_region(at, at, at, PAGE_READWRITE, 2 * LP, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    still_writable(at);
    release_ok(p);
}
END_TEST

static void site_LARGE_MOVE(TCase *tc)
{
    tcase_add_test(tc, large_move_failure_unmaps_both);
}

static void child_move_and_drop_fail(void *arg)
{
    fi->huge_stand_in = 1;
    fi_fail(HM_SITE_LARGE_MOVE, ENOMEM);
    fi_fail(HM_SITE_LARGE_DROP, ENOMEM);
    hm_os = fake_ops;
    void *p = VirtualAlloc(arg, LP, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE);
    hm_os = hm_os_default;
    fprintf(stderr, "child: VirtualAlloc returned %p, error %u\n", p, GetLastError());
}

START_TEST(large_drop_failure_aborts)
{
    fi_reset();
    child_result_t r;
    run_in_child(child_move_and_drop_fail, large_at(), &r);
    expect_signal(&r, SIGABRT, "hostmem: fatal: large pages: cannot unmap huge pages");
    fi_assert_failed(HM_SITE_LARGE_DROP, 1);
}
END_TEST

static void site_LARGE_DROP(TCase *tc)
{
    tcase_add_test(tc, large_drop_failure_aborts);
}

static void child_map_and_undo_fail(void *arg)
{
    unsetenv("HOSTMEM_LARGE_PAGES");
    fi_fail(HM_SITE_LARGE_MAP, ENOMEM);
    fi_fail(HM_SITE_LARGE_UNDO, ENOMEM);
    hm_os = fake_ops;
    void *p = VirtualAlloc(arg, LP, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE);
    hm_os = hm_os_default;
    fprintf(stderr, "child: VirtualAlloc returned %p, error %u\n", p, GetLastError());
}

START_TEST(large_undo_failure_aborts)
{
    fi_reset();
    child_result_t r;
    run_in_child(child_map_and_undo_fail, large_at(), &r);
    expect_signal(&r, SIGABRT, "hostmem: fatal: large pages: cannot undo the mapping");
    fi_assert_failed(HM_SITE_LARGE_UNDO, 1);
}
END_TEST

static void site_LARGE_UNDO(TCase *tc)
{
    tcase_add_test(tc, large_undo_failure_aborts);
}

/* THP policy: committing the ordinary pages fails (8) or advising them huge fails (1450). */
static void thp_step_fails(hm_os_site_t site, DWORD want)
{
    char *at = large_at();
    setenv("HOSTMEM_LARGE_PAGES", "thp", 1);
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        snap_t before;
        snap_take(&before, at, 2 * LP);
        fi_reset();
        fi_fail(HM_SITE_LARGE_MAP, ENOMEM);
        fi_fail(site, no_memory_errnos[e]);
        void *p;
        DWORD err;
        FI_CALL(p, err, VirtualAlloc(at, 2 * LP, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
                                     PAGE_READWRITE));
        fi_assert_failed(site, 1);
        ck_assert_int_eq(fi->calls[HM_SITE_LARGE_UNDO], 1);
        large_failed(p, err, want, &before, at);
    }
    unsetenv("HOSTMEM_LARGE_PAGES");
}

START_TEST(large_thp_commit_failure_fails_with_not_enough_memory)
{
    thp_step_fails(HM_SITE_LARGE_THP_COMMIT, ERROR_NOT_ENOUGH_MEMORY);
}
END_TEST

START_TEST(large_thp_advise_failure_fails_with_no_system_resources)
{
    thp_step_fails(HM_SITE_LARGE_THP_ADVISE, ERROR_NO_SYSTEM_RESOURCES);
}
END_TEST

static void site_LARGE_THP_COMMIT(TCase *tc)
{
    tcase_add_test(tc, large_thp_commit_failure_fails_with_not_enough_memory);
}

static void site_LARGE_THP_ADVISE(TCase *tc)
{
    tcase_add_test(tc, large_thp_advise_failure_fails_with_no_system_resources);
}

/* ---- PHYS_MEMFD, PHYS_TABLE_GROW, PHYS_FALLOCATE: AllocateUserPhysicalPages ------------ */

/* An allocation that failed: FALSE, `want`, the count untouched, no charge. */
static void alloc_fails(hm_os_site_t site, int err_no, ULONG_PTR n, DWORD want)
{
    hm_stats_t before = stats_now();
    fi_reset();
    fi_fail(site, err_no);
    ULONG_PTR pfns[300], got = n;
    BOOL ok;
    DWORD err;
    FI_CALL(ok, err, AllocateUserPhysicalPages(PROC, &got, pfns));
    ck_assert_int_eq(ok, FALSE);
    ck_assert_uint_eq(err, want);
    ck_assert_uint_eq(got, n);
    fi_assert_failed(site, 1);
    hm_stats_t after = stats_now();
    stats_assert_same(&before, &after);
}

/* The first allocation creates the pool (a memfd): if it cannot, 1450 and no pool. */
START_TEST(phys_memfd_failure_fails_with_no_system_resources)
{
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++)
        alloc_fails(HM_SITE_PHYS_MEMFD, no_memory_errnos[e], 4, ERROR_NO_SYSTEM_RESOURCES);
    char *w = phys_window(2);
    ULONG_PTR made_up = 1;
    ck_assert_int_eq(MapUserPhysicalPages(w, 1, &made_up), FALSE);
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER); /* still no AWE state */
    ULONG_PTR pfns[4];
    phys_alloc(4, pfns);
    map_ok(w, 1, pfns);
    release_ok(w);
    phys_free(4, pfns);
}
END_TEST

static void site_PHYS_MEMFD(TCase *tc)
{
    tcase_add_test(tc, phys_memfd_failure_fails_with_no_system_resources);
}

/* The page table grows in steps (256 slots first). Nothing from the free list and no
 * room: 1450. Some pages from the free list, no room for the rest: fewer pages, TRUE. */
START_TEST(phys_table_grow_failure_fails_or_returns_fewer)
{
    alloc_fails(HM_SITE_PHYS_TABLE_GROW, ENOMEM, 4, ERROR_NO_SYSTEM_RESOURCES);
    static ULONG_PTR pfns[256];
    phys_alloc(256, pfns);
    alloc_fails(HM_SITE_PHYS_TABLE_GROW, ENOMEM, 300, ERROR_NO_SYSTEM_RESOURCES);
    phys_free(10, pfns);
    uint64_t committed = stats_now().committed_bytes;
    fi_reset();
    fi_fail(HM_SITE_PHYS_TABLE_GROW, ENOMEM);
    ULONG_PTR more[20], n = 20;
    BOOL ok;
    DWORD err;
    FI_CALL(ok, err, AllocateUserPhysicalPages(PROC, &n, more));
    (void)err;
    ck_assert_int_eq(ok, TRUE);
    ck_assert_uint_eq(n, 10);
    fi_assert_failed(HM_SITE_PHYS_TABLE_GROW, 1);
    ck_assert_uint_eq(stats_now().committed_bytes, committed + 10 * P);
    char *w = phys_window(10);
    map_ok(w, 10, more);
    release_ok(w);
    phys_free(10, more);
    phys_free(246, pfns + 10);
}
END_TEST

static void site_PHYS_TABLE_GROW(TCase *tc)
{
    tcase_add_test(tc, phys_table_grow_failure_fails_or_returns_fewer);
}

/* fallocate: the first failing is 1450 and nothing allocated; a later one (pages from the
 * free list take one call each) leaves the pages allocated so far: fewer pages, TRUE. */
START_TEST(phys_fallocate_failure_fails_or_returns_fewer)
{
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++)
        alloc_fails(HM_SITE_PHYS_FALLOCATE, no_memory_errnos[e], 8, ERROR_NO_SYSTEM_RESOURCES);
    ULONG_PTR pfns[8];
    phys_alloc(8, pfns);
    phys_free(3, pfns);
    uint64_t committed = stats_now().committed_bytes;
    fi_reset();
    fi_fail_nth(HM_SITE_PHYS_FALLOCATE, ENOSPC, 3, 1);
    ULONG_PTR more[6], n = 6;
    BOOL ok;
    DWORD err;
    FI_CALL(ok, err, AllocateUserPhysicalPages(PROC, &n, more));
    (void)err;
    ck_assert_int_eq(ok, TRUE);
    ck_assert_uint_eq(n, 3);
    fi_assert_failed(HM_SITE_PHYS_FALLOCATE, 1);
    ck_assert_uint_eq(stats_now().committed_bytes, committed + 3 * P);
    char *w = phys_window(3);
    map_ok(w, 3, more);
    for (size_t i = 0; i < 3 * P; i++) /* reused pages read zero */
        ck_assert_int_eq(w[i], 0);
    release_ok(w);
    phys_free(3, more);
    phys_free(5, pfns + 3);
}
END_TEST

static void site_PHYS_FALLOCATE(TCase *tc)
{
    tcase_add_test(tc, phys_fallocate_failure_fails_or_returns_fewer);
}

/* ---- PHYS_WINDOW: the MEM_PHYSICAL reservation's page map ---------------------------- */

START_TEST(phys_window_failure_fails_with_no_system_resources)
{
    char *at = (char *)untouched_area() + 16 * G;
    snap_t before, after;
    snap_take(&before, at, 8 * G);
    fi_reset();
    fi_fail(HM_SITE_PHYS_WINDOW, ENOMEM);
    void *p;
    DWORD err;
    FI_CALL(p, err, VirtualAlloc(at, 4 * G, MEM_RESERVE | MEM_PHYSICAL, PAGE_READWRITE));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, ERROR_NO_SYSTEM_RESOURCES);
    fi_assert_failed(HM_SITE_PHYS_WINDOW, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_MAP], 0);
    snap_take(&after, at, 8 * G);
    snap_assert_same(&before, &after);
    ck_assert(!kernel_overlap((uintptr_t)at, 4 * G));
    release_ok(alloc_ok(at, 4 * G, MEM_RESERVE | MEM_PHYSICAL, PAGE_READWRITE));
}
END_TEST

static void site_PHYS_WINDOW(TCase *tc)
{
    tcase_add_test(tc, phys_window_failure_fails_with_no_system_resources);
}

/* ---- The map calls ------------------------------------------------------------------- */

/* A window of 8 pages in a known state: pages 0-1 mapped (A, B; B read-only), pages 2-3
 * unmapped, pages 4-5 mapped (C, D), 6-7 unmapped; four more allocated pages E-H unmapped.
 * Every mapped page holds a pattern. */
typedef struct awe_scene {
    char *w;
    ULONG_PTR pg[8]; /* A B C D E F G H */
    snap_t snap;
} awe_scene_t;

static void scene_make(awe_scene_t *s)
{
    phys_alloc(8, s->pg);
    s->w = phys_window(8);
    map_ok(s->w, 2, s->pg);
    map_ok(s->w + 4 * P, 2, s->pg + 2);
    pattern_fill(s->w, 2 * P, 91);
    pattern_fill(s->w + 4 * P, 2 * P, 92);
    protect_ok(s->w + P, P, PAGE_READONLY);
    snap_take(&s->snap, s->w, 8 * P);
}

/* Nothing changed: the map, the statistics, the contents, and which pages are free. */
static void scene_same(awe_scene_t *s)
{
    snap_t now;
    snap_take(&now, s->w, 8 * P);
    snap_assert_same(&s->snap, &now);
    pattern_check(s->w, 2 * P, 91);
    pattern_check(s->w + 4 * P, 2 * P, 92);
    ck_assert_int_eq(hm_probe_write(s->w + P), SIGSEGV);
    /* E-H are still unmapped: they map (in a window of their own) */
    char *v = phys_window(4);
    map_ok(v, 4, s->pg + 4);
    release_ok(v);
}

static void scene_done(awe_scene_t *s)
{
    release_ok(s->w);
    phys_free(8, s->pg);
}

/* Maps (pfns) or unmaps (NULL) with the fakes; returns the result and sets *err. */
static BOOL map_faked(void *addr, ULONG_PTR n, ULONG_PTR *pfns, DWORD *err)
{
    BOOL ok;
    FI_CALL(ok, *err, MapUserPhysicalPages(addr, n, pfns));
    return ok;
}

/* A long page array is copied to a buffer (more than 32 entries): without it, 1450. */
START_TEST(phys_map_buffer_failure_fails_with_no_system_resources)
{
    awe_scene_t s;
    scene_make(&s);
    static ULONG_PTR many[40];
    phys_alloc(40, many);
    char *v = phys_window(40);
    snap_t before, after;
    snap_take(&before, v, 40 * P);
    static PVOID addrs[40];
    for (int i = 0; i < 40; i++)
        addrs[i] = v + i * P;
    for (int call = 0; call < 3; call++) {
        fi_reset();
        fi_fail(HM_SITE_PHYS_MAP_BUFFER, ENOMEM);
        BOOL ok;
        DWORD err;
        if (call == 0)
            FI_CALL(ok, err, MapUserPhysicalPages(v, 40, many));
        else if (call == 1)
            FI_CALL(ok, err, MapUserPhysicalPages(v, 40, NULL));
        else
            FI_CALL(ok, err, MapUserPhysicalPagesScatter(addrs, 40, many));
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, ERROR_NO_SYSTEM_RESOURCES);
        fi_assert_failed(HM_SITE_PHYS_MAP_BUFFER, 1);
        snap_take(&after, v, 40 * P);
        snap_assert_same(&before, &after);
    }
    /* short arrays need no buffer */
    fi_reset();
    fi_fail(HM_SITE_PHYS_MAP_BUFFER, ENOMEM);
    DWORD err;
    ck_assert_int_eq(map_faked(s.w + 2 * P, 2, s.pg + 4, &err), TRUE);
    ck_assert_int_eq(fi->calls[HM_SITE_PHYS_MAP_BUFFER], 0);
    release_ok(v);
    phys_free(40, many);
    ck_assert_int_ne(MapUserPhysicalPages(s.w + 2 * P, 2, NULL), 0);
    scene_done(&s);
}
END_TEST

static void site_PHYS_MAP_BUFFER(TCase *tc)
{
    tcase_add_test(tc, phys_map_buffer_failure_fails_with_no_system_resources);
}

/* One mmap per run of consecutive pool pages: map E H G F over pages 0-3 (four runs, over
 * mapped, read-only and unmapped pages) and fail the k-th; the earlier ones are put back. */
START_TEST(phys_map_failure_puts_back_what_was_replaced)
{
    awe_scene_t s;
    scene_make(&s);
    ULONG_PTR order[4] = {s.pg[4], s.pg[7], s.pg[6], s.pg[5]};
    for (int k = 0; k < 4; k++) {
        for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
            fi_reset();
            fi_fail_nth(HM_SITE_PHYS_MAP, no_memory_errnos[e], k, 1);
            DWORD err;
            ck_assert_int_eq(map_faked(s.w, 4, order, &err), FALSE);
            ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
            fi_assert_failed(HM_SITE_PHYS_MAP, 1);
            ck_assert_int_eq(fi->calls[HM_SITE_PHYS_MAP], k + 1);
            /* pages 0..k are restored: 0 and 1 were mapped, 2 and 3 were not */
            int remapped = k >= 1 ? 2 : 1, unmapped = k >= 2 ? k - 1 : 0;
            ck_assert_int_eq(fi->calls[HM_SITE_PHYS_UNDO_REMAP], remapped);
            ck_assert_int_eq(fi->calls[HM_SITE_PHYS_UNDO_UNMAP], unmapped);
            scene_same(&s);
        }
    }
    /* the same over a second window, one run (consecutive pages) */
    char *v = phys_window(4);
    fi_reset();
    fi_fail(HM_SITE_PHYS_MAP, ENOMEM);
    DWORD err;
    ck_assert_int_eq(map_faked(v, 4, s.pg + 4, &err), FALSE);
    ck_assert_int_eq(fi->calls[HM_SITE_PHYS_MAP], 1);
    ck_assert_region(v, v, v, PAGE_READWRITE, 4 * P, MEM_RESERVE, 0, MEM_PRIVATE);
    release_ok(v);
    scene_same(&s);
    scene_done(&s);
}
END_TEST

/* Scatter: the same, across two windows. */
START_TEST(phys_map_failure_in_scatter_puts_back_every_window)
{
    char *v = phys_window(2);
    awe_scene_t s;
    scene_make(&s);
    snap_t vb, va;
    snap_take(&vb, v, 2 * P);
    PVOID addrs[4] = {v, s.w, v + P, s.w + 2 * P};
    ULONG_PTR pfns[4] = {s.pg[4], s.pg[5], s.pg[6], s.pg[7]};
    for (int k = 0; k < 4; k++) {
        fi_reset();
        fi_fail_nth(HM_SITE_PHYS_MAP, ENOMEM, k, 1);
        BOOL ok;
        DWORD err;
        FI_CALL(ok, err, MapUserPhysicalPagesScatter(addrs, 4, pfns));
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_PHYS_MAP, 1);
        snap_take(&va, v, 2 * P);
        snap_assert_same(&vb, &va);
        scene_same(&s);
    }
    release_ok(v);
    scene_done(&s);
}
END_TEST

static void site_PHYS_MAP(TCase *tc)
{
    tcase_add_test(tc, phys_map_failure_puts_back_what_was_replaced);
    tcase_add_test(tc, phys_map_failure_in_scatter_puts_back_every_window);
}

/* Unmapping (NULL array, or 0 entries in a scatter) fails: nothing unmapped. */
START_TEST(phys_unmap_failure_changes_nothing)
{
    awe_scene_t s;
    scene_make(&s);
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        fi_reset();
        fi_fail(HM_SITE_PHYS_UNMAP, no_memory_errnos[e]);
        DWORD err;
        ck_assert_int_eq(map_faked(s.w, 8, NULL, &err), FALSE);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_PHYS_UNMAP, 1);
        scene_same(&s);
        /* scatter: map E at page 2, then unmap page 0: the second step fails, E goes away */
        PVOID addrs[2] = {s.w + 2 * P, s.w};
        ULONG_PTR pfns[2] = {s.pg[4], 0};
        fi_reset();
        fi_fail(HM_SITE_PHYS_UNMAP, no_memory_errnos[e]);
        BOOL ok;
        FI_CALL(ok, err, MapUserPhysicalPagesScatter(addrs, 2, pfns));
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        ck_assert_int_eq(fi->calls[HM_SITE_PHYS_MAP], 1);
        ck_assert_int_eq(fi->calls[HM_SITE_PHYS_UNDO_UNMAP], 1);
        scene_same(&s);
    }
    scene_done(&s);
}
END_TEST

static void site_PHYS_UNMAP(TCase *tc)
{
    tcase_add_test(tc, phys_unmap_failure_changes_nothing);
}

/* Putting a page back can fail too: the library cannot keep its promise and aborts. The
 * rules are set by the parent (fi is shared); the child runs the call. */
static void child_map_four(void *arg)
{
    awe_scene_t *s = arg;
    ULONG_PTR order[4] = {s->pg[4], s->pg[7], s->pg[6], s->pg[5]};
    hm_os = fake_ops;
    BOOL ok = MapUserPhysicalPages(s->w, 4, order);
    hm_os = hm_os_default;
    fprintf(stderr, "child: MapUserPhysicalPages returned %d, error %u\n", ok, GetLastError());
}

static void restore_fails(hm_os_site_t site)
{
    awe_scene_t s;
    scene_make(&s);
    fi_reset();
    fi_fail_nth(HM_SITE_PHYS_MAP, ENOMEM, 3, 1);
    fi_fail(site, ENOMEM);
    child_result_t r;
    run_in_child(child_map_four, &s, &r);
    expect_signal(&r, SIGABRT, "hostmem: fatal: MapUserPhysicalPages: cannot restore a page");
    fi_assert_failed(site, 1);
    scene_same(&s);
    scene_done(&s);
}

START_TEST(phys_undo_remap_failure_aborts)
{
    restore_fails(HM_SITE_PHYS_UNDO_REMAP);
}
END_TEST

START_TEST(phys_undo_unmap_failure_aborts)
{
    restore_fails(HM_SITE_PHYS_UNDO_UNMAP);
}
END_TEST

static void site_PHYS_UNDO_REMAP(TCase *tc)
{
    tcase_add_test(tc, phys_undo_remap_failure_aborts);
}

static void site_PHYS_UNDO_UNMAP(TCase *tc)
{
    tcase_add_test(tc, phys_undo_unmap_failure_aborts);
}

/* ---- FreeUserPhysicalPages ------------------------------------------------------------ */

static BOOL free_faked(ULONG_PTR *n, ULONG_PTR *pfns, DWORD *err)
{
    BOOL ok;
    FI_CALL(ok, *err, FreeUserPhysicalPages(PROC, n, pfns));
    return ok;
}

/* Windows frees in order and reports how many were freed: a failure on the first page
 * frees nothing; on the second, the first is freed (unmapped, uncharged) and no other. */
START_TEST(phys_free_unmap_failure_stops_with_the_pages_freed_so_far)
{
    awe_scene_t s;
    scene_make(&s);
    ULONG_PTR list[3] = {s.pg[0], s.pg[2], s.pg[4]};
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        fi_reset();
        fi_fail(HM_SITE_PHYS_FREE_UNMAP, no_memory_errnos[e]);
        ULONG_PTR n = 3;
        DWORD err;
        ck_assert_int_eq(free_faked(&n, list, &err), FALSE);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        ck_assert_uint_eq(n, 0);
        fi_assert_failed(HM_SITE_PHYS_FREE_UNMAP, 1);
        ck_assert_int_eq(fi->calls[HM_SITE_PHYS_FREE_PUNCH], 0);
        scene_same(&s);
    }
    uint64_t committed = stats_now().committed_bytes;
    fi_reset();
    fi_fail_nth(HM_SITE_PHYS_FREE_UNMAP, ENOMEM, 1, 1);
    ULONG_PTR n = 3;
    DWORD err;
    ck_assert_int_eq(free_faked(&n, list, &err), FALSE);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    ck_assert_uint_eq(n, 1);
    ck_assert_region(s.w, s.w, s.w, PAGE_READWRITE, P, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_region(s.w + P, s.w + P, s.w, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READONLY,
                     MEM_PRIVATE);
    ck_assert_region(s.w + 4 * P, s.w + 4 * P, s.w, PAGE_READWRITE, 2 * P, MEM_COMMIT,
                     PAGE_READWRITE, MEM_PRIVATE);
    pattern_check(s.w + 4 * P, 2 * P, 92);
    ck_assert_uint_eq(stats_now().committed_bytes, committed - P);
    ck_assert_int_eq(MapUserPhysicalPages(s.w, 1, &s.pg[0]), FALSE); /* A is gone */
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_ADDRESS);
    release_ok(s.w);
    phys_free(7, s.pg + 1);
}
END_TEST

static void site_PHYS_FREE_UNMAP(TCase *tc)
{
    tcase_add_test(tc, phys_free_unmap_failure_stops_with_the_pages_freed_so_far);
}

/* The punch fails: an unmapped page stays allocated; a mapped one is mapped back where it
 * was, with its protection and its data. */
START_TEST(phys_free_punch_failure_keeps_the_page)
{
    awe_scene_t s;
    scene_make(&s);
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        for (int which = 0; which < 3; which++) {
            ULONG_PTR page = which == 0 ? s.pg[5] : which == 1 ? s.pg[1] : s.pg[3];
            fi_reset();
            fi_fail(HM_SITE_PHYS_FREE_PUNCH, no_memory_errnos[e]);
            ULONG_PTR n = 1;
            DWORD err;
            ck_assert_int_eq(free_faked(&n, &page, &err), FALSE);
            ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
            ck_assert_uint_eq(n, 0);
            fi_assert_failed(HM_SITE_PHYS_FREE_PUNCH, 1);
            ck_assert_int_eq(fi->calls[HM_SITE_PHYS_FREE_REMAP], which ? 1 : 0);
            scene_same(&s);
        }
    }
    scene_done(&s);
}
END_TEST

static void site_PHYS_FREE_PUNCH(TCase *tc)
{
    tcase_add_test(tc, phys_free_punch_failure_keeps_the_page);
}

static void child_free_b(void *arg)
{
    awe_scene_t *s = arg;
    ULONG_PTR n = 1;
    hm_os = fake_ops;
    BOOL ok = FreeUserPhysicalPages(PROC, &n, &s->pg[1]);
    hm_os = hm_os_default;
    fprintf(stderr, "child: FreeUserPhysicalPages returned %d, error %u\n", ok, GetLastError());
}

START_TEST(phys_free_remap_failure_aborts)
{
    awe_scene_t s;
    scene_make(&s);
    fi_reset();
    fi_fail(HM_SITE_PHYS_FREE_PUNCH, ENOMEM);
    fi_fail(HM_SITE_PHYS_FREE_REMAP, ENOMEM);
    child_result_t r;
    run_in_child(child_free_b, &s, &r);
    expect_signal(&r, SIGABRT, "hostmem: fatal: FreeUserPhysicalPages: cannot map a page back");
    fi_assert_failed(HM_SITE_PHYS_FREE_REMAP, 1);
    scene_same(&s);
    scene_done(&s);
}
END_TEST

static void site_PHYS_FREE_REMAP(TCase *tc)
{
    tcase_add_test(tc, phys_free_remap_failure_aborts);
}

/* ======================================================================================
 * PLACE — VirtualAlloc2's address requirements and NUMA node, and placeholders: replace,
 * free back (PRESERVE_MAP), split (records, index nodes, run lists). None of these paths
 * has a second syscall to undo: every fallible step comes before the one syscall.
 * ==================================================================================== */

#define PH_RESERVE (MEM_RESERVE | MEM_RESERVE_PLACEHOLDER)
#define PH_PRESERVE (MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER)

/* VirtualAlloc2 of size within [lo, hi] (NULL: no bound), 64 KiB-aligned. */
static void *alloc_within(char *lo, char *hi, size_t size, DWORD type)
{
    MEM_ADDRESS_REQUIREMENTS a = {lo, hi, 0};
    MEM_EXTENDED_PARAMETER p;
    memset(&p, 0, sizeof p);
    p.Type = MemExtendedParameterAddressRequirements;
    p.Pointer = &a;
    return VirtualAlloc2(NULL, NULL, size, type, PAGE_READWRITE, &p, 1);
}

static char *placeholder_ok(void *at, size_t size)
{
    char *p = VirtualAlloc2(NULL, at, size, PH_RESERVE, PAGE_NOACCESS, NULL, 0);
    ck_assert_msg(p != NULL, "placeholder %p: %u", at, GetLastError());
    return p;
}

static char *replace_ok(void *at, size_t size)
{
    char *p = VirtualAlloc2(NULL, at, size, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                            PAGE_READWRITE, NULL, 0);
    ck_assert_msg(p == at, "replace %p: %u", at, GetLastError());
    return p;
}

static void preserve_ok(void *at, size_t size)
{
    ck_assert_msg(VirtualFree(at, size, PH_PRESERVE), "preserve %p: %u", at, GetLastError());
}

START_TEST(place_maps_failure_fails_with_not_enough_memory_and_maps_nothing)
{
    char *r = (char *)untouched_area();
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        for (int commit = 0; commit < 2; commit++) {
            hm_stats_t before = stats_now();
            fi_reset();
            fi_fail(HM_SITE_PLACE_MAPS, no_memory_errnos[e]);
            void *p;
            DWORD err;
            FI_CALL(p, err, alloc_within(r, r + 64 * G - 1, 4 * G,
                                         MEM_RESERVE | (commit ? MEM_COMMIT : 0)));
            ck_assert_ptr_null(p);
            ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
            fi_assert_failed(HM_SITE_PLACE_MAPS, 1);
            ck_assert_int_eq(fi->calls[HM_SITE_PLACE_MAP], 0);
            hm_stats_t after = stats_now();
            stats_assert_same(&before, &after);
            ck_assert(!kernel_overlap((uintptr_t)r, 64 * G));
        }
    }
    /* Without the fault: the lowest fit. */
    char *p = alloc_within(r, r + 64 * G - 1, 4 * G, MEM_RESERVE);
    ck_assert_ptr_eq(p, r);
    release_ok(p);
}
END_TEST

static void site_PLACE_MAPS(TCase *tc)
{
    tcase_add_test(tc, place_maps_failure_fails_with_not_enough_memory_and_maps_nothing);
}

START_TEST(place_map_failure_fails_with_not_enough_memory_and_changes_nothing)
{
    char *r = (char *)untouched_area();
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        snap_t before, after;
        snap_take(&before, r, 64 * G);
        fi_reset();
        fi_fail(HM_SITE_PLACE_MAP, no_memory_errnos[e]);
        void *p;
        DWORD err;
        FI_CALL(p, err, alloc_within(r, r + 64 * G - 1, 4 * G, MEM_RESERVE | MEM_COMMIT));
        ck_assert_ptr_null(p);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_PLACE_MAP, 1);
        ck_assert_int_eq(fi->calls[HM_SITE_PLACE_MAPS], 1);
        snap_take(&after, r, 64 * G);
        snap_assert_same(&before, &after);
        assert_nothing_left_mapped();
        ck_assert(!kernel_overlap((uintptr_t)r, 64 * G));
    }
}
END_TEST

/* Something took the hole between the search and the map (EEXIST): search again; if that
 * keeps happening, give up after a few rounds with ERROR_NOT_ENOUGH_MEMORY. */
START_TEST(place_map_lost_race_searches_again_then_gives_up)
{
    char *r = (char *)untouched_area();
    fi_reset();
    fi_fail_nth(HM_SITE_PLACE_MAP, EEXIST, 0, 1);
    char *p;
    DWORD err;
    FI_CALL(p, err, alloc_within(r, r + 64 * G - 1, 4 * G, MEM_RESERVE));
    (void)err;
    ck_assert_ptr_eq(p, r);
    fi_assert_failed(HM_SITE_PLACE_MAP, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_PLACE_MAPS], 2);
    ck_assert_region(p, p, p, PAGE_READWRITE, 4 * G, MEM_RESERVE, 0, MEM_PRIVATE);
    release_ok(p);

    hm_stats_t before = stats_now();
    fi_reset();
    fi_fail(HM_SITE_PLACE_MAP, EEXIST);
    FI_CALL(p, err, alloc_within(r, r + 64 * G - 1, 4 * G, MEM_RESERVE));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    ck_assert_int_eq(fi->failed[HM_SITE_PLACE_MAP], 8);
    ck_assert_int_eq(fi->calls[HM_SITE_PLACE_MAPS], 8);
    fi_assert_slots_clean();
    hm_stats_t after = stats_now();
    stats_assert_same(&before, &after);
}
END_TEST

static void site_PLACE_MAP(TCase *tc)
{
    tcase_add_test(tc, place_map_failure_fails_with_not_enough_memory_and_changes_nothing);
    tcase_add_test(tc, place_map_lost_race_searches_again_then_gives_up);
}

static void *alloc_on_node(ULONG node)
{
    MEM_EXTENDED_PARAMETER p;
    memset(&p, 0, sizeof p);
    p.Type = MemExtendedParameterNumaNode;
    p.ULong = node;
    return VirtualAlloc2(NULL, NULL, 4 * G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, &p, 1);
}

/* The node list cannot be read: ERROR_NOT_ENOUGH_MEMORY, nothing allocated. A kernel
 * without it (ENOENT) has node 0 only. */
START_TEST(place_numa_failure_fails_and_a_missing_list_means_node_0)
{
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        hm_stats_t before = stats_now();
        fi_reset();
        fi_fail(HM_SITE_PLACE_NUMA, no_memory_errnos[e]);
        void *p;
        DWORD err;
        FI_CALL(p, err, alloc_on_node(0));
        ck_assert_ptr_null(p);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_PLACE_NUMA, 1);
        ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_MAP], 0);
        hm_stats_t after = stats_now();
        stats_assert_same(&before, &after);
    }
    fi_reset();
    fi_fail(HM_SITE_PLACE_NUMA, ENOENT);
    char *p;
    DWORD err;
    FI_CALL(p, err, alloc_on_node(0));
    ck_assert_ptr_nonnull(p);
    fi_assert_failed(HM_SITE_PLACE_NUMA, 1);
    p[0] = 1;
    release_ok(p);
    fi_reset();
    fi_fail(HM_SITE_PLACE_NUMA, ENOENT);
    FI_CALL(p, err, alloc_on_node(1));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, ERROR_INVALID_PARAMETER);
    fi_assert_failed(HM_SITE_PLACE_NUMA, 1);
}
END_TEST

static void site_PLACE_NUMA(TCase *tc)
{
    tcase_add_test(tc, place_numa_failure_fails_and_a_missing_list_means_node_0);
}

START_TEST(replace_protect_failure_keeps_the_placeholder_uncharged)
{
    char *p = placeholder_ok(NULL, 8 * G);
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        snap_t before, after;
        snap_take(&before, p, 8 * G);
        fi_reset();
        fi_fail(HM_SITE_REPLACE_PROTECT, no_memory_errnos[e]);
        void *q;
        DWORD err;
        FI_CALL(q, err, VirtualAlloc2(NULL, p, 8 * G,
                                      MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                                      PAGE_READWRITE, NULL, 0));
        ck_assert_ptr_null(q);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_REPLACE_PROTECT, 1);
        snap_take(&after, p, 8 * G);
        snap_assert_same(&before, &after);
        ck_assert_region(p, p, p, PAGE_NOACCESS, 8 * G, MEM_RESERVE, 0, MEM_PRIVATE);
    }
    replace_ok(p, 8 * G);
    still_writable(p + 8 * G - 1);
    release_ok(p);
}
END_TEST

/* A watched replacement (W28): the write-watch state made before the mprotect goes again. */
START_TEST(replace_protect_failure_with_write_watch_leaves_nothing_watched)
{
    char *p = placeholder_ok(NULL, 8 * G);
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        snap_t before, after;
        snap_take(&before, p, 8 * G);
        fi_reset();
        fi_fail(HM_SITE_REPLACE_PROTECT, no_memory_errnos[e]);
        void *q;
        DWORD err;
        FI_CALL(q, err, VirtualAlloc2(NULL, p, 8 * G,
                                      MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER |
                                          MEM_WRITE_WATCH,
                                      PAGE_READWRITE, NULL, 0));
        ck_assert_ptr_null(q);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_REPLACE_PROTECT, 1);
        snap_take(&after, p, 8 * G);
        snap_assert_same(&before, &after);
        void *addrs[4];
        ULONG_PTR count = 4;
        DWORD gran;
        ck_assert_uint_ne(GetWriteWatch(0, p, 8 * G, addrs, &count, &gran), 0);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
    }
    release_ok(p);
}
END_TEST

static void site_REPLACE_PROTECT(TCase *tc)
{
    tcase_add_test(tc, replace_protect_failure_keeps_the_placeholder_uncharged);
    tcase_add_test(tc, replace_protect_failure_with_write_watch_leaves_nothing_watched);
}

/* Freeing a replaced allocation back (whole, or the middle of it: then the records and
 * index nodes for the pieces were taken first and go back) */
START_TEST(preserve_map_failure_keeps_the_allocation_and_its_contents)
{
    char *p = placeholder_ok(NULL, 16 * P);
    replace_ok(p, 16 * P);
    pattern_fill(p, 16 * P, 41);
    protect_ok(p + 9 * P, P, PAGE_READONLY);
    ck_assert(VirtualLock(p + 2 * P, 8 * P));
    static const size_t offs[] = {0, 4 * P, 0, 12 * P}, lens[] = {16 * P, 4 * P, 4 * P, 4 * P};
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        for (size_t k = 0; k < 4; k++) {
            snap_t before, after;
            snap_take(&before, p, 16 * P);
            fi_reset();
            fi_fail(HM_SITE_PRESERVE_MAP, no_memory_errnos[e]);
            BOOL ok;
            DWORD err;
            FI_CALL(ok, err, VirtualFree(p + offs[k], lens[k], PH_PRESERVE));
            ck_assert_int_eq(ok, FALSE);
            ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
            fi_assert_failed(HM_SITE_PRESERVE_MAP, 1);
            snap_take(&after, p, 16 * P);
            snap_assert_same(&before, &after);
            pattern_check(p, 16 * P, 41);
            ck_assert(kernel_locked(p + 5 * P));
        }
    }
    preserve_ok(p + 4 * P, 4 * P);
    pattern_check(p, 4 * P, 41);
    preserve_ok(p, 4 * P);
    preserve_ok(p + 8 * P, 8 * P);
    ck_assert(VirtualFree(p, 16 * P, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS));
    ck_assert_region(p, p, p, PAGE_NOACCESS, 16 * P, MEM_RESERVE, 0, MEM_PRIVATE);
    release_ok(p);
}
END_TEST

/* A watched replacement keeps its written pages when it cannot go back. */
START_TEST(preserve_map_failure_keeps_the_write_watch)
{
    char *p = placeholder_ok(NULL, 4 * G);
    ck_assert_ptr_eq(VirtualAlloc2(NULL, p, 4 * G,
                                   MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER |
                                       MEM_WRITE_WATCH,
                                   PAGE_READWRITE, NULL, 0),
                     p);
    p[G + 1] = 1;
    fi_reset();
    fi_fail(HM_SITE_PRESERVE_MAP, ENOMEM);
    BOOL ok;
    DWORD err;
    FI_CALL(ok, err, VirtualFree(p, 4 * G, PH_PRESERVE));
    ck_assert_int_eq(ok, FALSE);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_PRESERVE_MAP, 1);
    void *addrs[4];
    ULONG_PTR count = 4;
    DWORD gran;
    ck_assert_uint_eq(GetWriteWatch(0, p, 4 * G, addrs, &count, &gran), 0);
    ck_assert_uint_eq(count, 1);
    ck_assert_ptr_eq(addrs[0], p + G);
    ck_assert_int_eq(p[G + 1], 1);
    preserve_ok(p, 4 * G);
    release_ok(p);
}
END_TEST

static void site_PRESERVE_MAP(TCase *tc)
{
    tcase_add_test(tc, preserve_map_failure_keeps_the_allocation_and_its_contents);
    tcase_add_test(tc, preserve_map_failure_keeps_the_write_watch);
}

/* Each split takes one record from the pool (splitting off the lowest page); once the
 * pool is empty the next split must grow it, and that fails. */
START_TEST(split_record_failure_fails_with_not_enough_memory_and_changes_nothing)
{
    const size_t np = 1024;
    char *p = placeholder_ok(NULL, np * P);
    size_t k = 0;
    bool failed = false;
    for (; k + 1 < np && !failed; k++) {
        snap_t before, after;
        snap_take(&before, p + k * P, (np - k) * P);
        fi_reset();
        fi_fail(HM_SITE_SPLIT_RECORD, ENOMEM);
        BOOL ok;
        DWORD err;
        FI_CALL(ok, err, VirtualFree(p + k * P, P, PH_PRESERVE));
        if (ok) {
            ck_assert_int_eq(fi->calls[HM_SITE_SPLIT_RECORD], 0);
            continue;
        }
        failed = true;
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_SPLIT_RECORD, 1);
        snap_take(&after, p + k * P, (np - k) * P);
        snap_assert_same(&before, &after);
    }
    ck_assert_msg(failed, "the record pool never grew in %zu splits", k);
    printf("SPLIT_RECORD reached after %zu splits\n", k - 1);
    preserve_ok(p + (k - 1) * P, P); /* the pool grows on the next try */
    ck_assert(VirtualFree(p, np * P, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS));
    ck_assert_region(p, p, p, PAGE_NOACCESS, np * P, MEM_RESERVE, 0, MEM_PRIVATE);
    release_ok(p);
}
END_TEST

static void site_SPLIT_RECORD(TCase *tc)
{
    tcase_add_test(tc, split_record_failure_fails_with_not_enough_memory_and_changes_nothing);
}

/* A 4 MiB placeholder 1 MiB into an untouched area holds its middle 2 MiB as one
 * whole-subtree index entry; splitting one page there needs a granule node and a page
 * node (the entry is pushed down). The k-th of them fails, in a fresh area each time. */
START_TEST(split_index_failure_changes_no_lookup)
{
    int failures = 0;
    for (int k = 0; k < 8; k++) {
        char *at = (char *)untouched_area() + 16 * G;
        char *p = placeholder_ok(at, 64 * G);
        char *mid = p + 32 * G + 5 * P;
        snap_t before, after;
        snap_take(&before, p, 64 * G);
        fi_reset();
        fi_fail_nth(HM_SITE_SPLIT_INDEX, ENOMEM, k, 1);
        BOOL ok;
        DWORD err;
        FI_CALL(ok, err, VirtualFree(mid, P, PH_PRESERVE));
        if (ok) {
            ck_assert_int_eq(fi->failed[HM_SITE_SPLIT_INDEX], 0);
            ck_assert_region(mid, mid, mid, PAGE_NOACCESS, P, MEM_RESERVE, 0, MEM_PRIVATE);
            ck_assert_region(mid + P, mid + P, mid + P, PAGE_NOACCESS, 32 * G - 6 * P,
                             MEM_RESERVE, 0, MEM_PRIVATE);
            release_ok(p);
            release_ok(mid);
            release_ok(mid + P);
            break;
        }
        failures++;
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_SPLIT_INDEX, 1);
        ck_assert_int_eq(fi->calls[HM_SITE_SPLIT_INDEX], k + 1);
        snap_take(&after, p, 64 * G);
        snap_assert_same(&before, &after);
        for (size_t off = 0; off < 64 * G; off += P)
            ck_assert_ptr_eq(hm_index_lookup(((uintptr_t)p + off) >> 12),
                             hm_index_lookup((uintptr_t)p >> 12));
        release_ok(p);
    }
    ck_assert_int_ge(failures, 2);
    printf("SPLIT_INDEX: %d node allocations failed one by one, then the split succeeded\n",
           failures);
}
END_TEST

static void site_SPLIT_INDEX(TCase *tc)
{
    tcase_add_test(tc, split_index_failure_changes_no_lookup);
}

/* The upper piece of a split replaced allocation takes a copy of its part of the run list:
 * with more runs than fit in the record, that copy allocates. */
START_TEST(split_runs_failure_keeps_the_allocation)
{
    char *p = placeholder_ok(NULL, 32 * P);
    replace_ok(p, 32 * P);
    pattern_fill(p, 32 * P, 43);
    for (size_t pg = 17; pg < 32; pg += 2)
        protect_ok(p + pg * P, P, PAGE_READONLY);
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        hm_stats_t st0 = stats_now();
        snap_t before, after;
        snap_take(&before, p, 32 * P);
        fi_reset();
        fi_fail(HM_SITE_SPLIT_RUNS, no_memory_errnos[e]);
        BOOL ok;
        DWORD err;
        FI_CALL(ok, err, VirtualFree(p + 8 * P, 8 * P, PH_PRESERVE));
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_SPLIT_RUNS, 1);
        ck_assert_int_eq(fi->calls[HM_SITE_PRESERVE_MAP], 0);
        snap_take(&after, p, 32 * P);
        snap_assert_same(&before, &after);
        hm_stats_t st1 = stats_now();
        stats_assert_same(&st0, &st1);
        pattern_check(p, 32 * P, 43);
    }
    char *upper = malloc(16 * P);
    ck_assert_ptr_nonnull(upper);
    memcpy(upper, p + 16 * P, 16 * P);
    preserve_ok(p + 8 * P, 8 * P);
    ck_assert_region(p + 16 * P, p + 16 * P, p + 16 * P, PAGE_READWRITE, P, MEM_COMMIT,
                     PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_region(p + 17 * P, p + 17 * P, p + 16 * P, PAGE_READWRITE, P, MEM_COMMIT,
                     PAGE_READONLY, MEM_PRIVATE);
    pattern_check(p, 8 * P, 43);
    ck_assert(memcmp(upper, p + 16 * P, 16 * P) == 0);
    free(upper);
    release_ok(p);
    release_ok(p + 8 * P);
    release_ok(p + 16 * P);
}
END_TEST

static void site_SPLIT_RUNS(TCase *tc)
{
    tcase_add_test(tc, split_runs_failure_keeps_the_allocation);
}

/* ======================================================================================
 * WATCH_* — write watch (src/watch/, src/vm/watched.c). The engine is chosen once per
 * process at the first MEM_WRITE_WATCH use, and each case runs in its own forked child
 * (Check's fork mode): a case picks its engine by setting HOSTMEM_WRITE_WATCH before it
 * first touches write watch. Kernel-engine cases say so and skip where the kernel has no
 * async userfaultfd write-protect (before 6.7).
 * ==================================================================================== */

static bool ww_engine(const char *want)
{
    setenv("HOSTMEM_WRITE_WATCH", want, 1);
    const char *why;
    const char *got = hm_write_watch_engine(&why);
    if (strcmp(got, want) != 0) {
        printf("skipped: the %s write-watch engine is not available here (%s: %s)\n", want,
               got, why);
        return false;
    }
    return true;
}

static char *ww_alloc(void *addr, size_t size, DWORD type, DWORD prot)
{
    return alloc_ok(addr, size, MEM_RESERVE | MEM_WRITE_WATCH | type, prot);
}

static void *ww_res[512];

/* GetWriteWatch that must succeed; returns the count. */
static ULONG_PTR ww_get(DWORD flags, char *base, size_t size)
{
    ULONG_PTR count = 512;
    DWORD gran;
    ck_assert_uint_eq(GetWriteWatch(flags, base, size, ww_res, &count, &gran), 0);
    return count;
}

/* The pages GetWriteWatch reports (no reset), as a bit mask of page indexes < 64. */
static uint64_t ww_mask(char *base, size_t size)
{
    ULONG_PTR n = ww_get(0, base, size);
    uint64_t m = 0;
    for (ULONG_PTR i = 0; i < n; i++)
        m |= 1ull << (((char *)ww_res[i] - base) / (long)P);
    return m;
}

static int count_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        n += fcntl(fd, F_GETFD) != -1;
    return n;
}

/* A first use whose engine setup fails at `site`: "auto" falls back to mprotect and says
 * why; no descriptor is left open. */
static void ww_first_use_falls_back(hm_os_site_t site, int err, const char *why_want)
{
    hm_test_skip_under_valgrind("skipped: the engine is mprotect at once, no userfaultfd tried");
    unsetenv("HOSTMEM_WRITE_WATCH");
    int fds = count_fds();
    fi_reset();
    fi_fail(site, err);
    char *p;
    DWORD e;
    FI_CALL(p, e, VirtualAlloc(NULL, 4 * G, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
                               PAGE_READWRITE));
    (void)e;
    ck_assert_ptr_nonnull(p);
    fi_assert_failed(site, 1);
    const char *why;
    ck_assert_str_eq(hm_write_watch_engine(&why), "mprotect");
    ck_assert_str_eq(why, why_want);
    ck_assert_int_eq(count_fds(), fds);
    p[3 * P] = 1;
    ck_assert_uint_eq(ww_mask(p, 4 * G), 1ull << 3);
    release_ok(p);
}

START_TEST(watch_uffd_open_failure_falls_back_to_mprotect)
{
    ww_first_use_falls_back(HM_SITE_WATCH_UFFD_OPEN, EPERM, "userfaultfd: EPERM");
}
END_TEST

/* HOSTMEM_WRITE_WATCH=kernel and no kernel engine: MEM_WRITE_WATCH fails, nothing made. */
START_TEST(watch_uffd_open_failure_with_kernel_forced_fails_write_watch)
{
    setenv("HOSTMEM_WRITE_WATCH", "kernel", 1);
    hm_stats_t before = stats_now();
    for (int k = 0; k < 2; k++) { /* decided once: the second call fails the same way */
        fi_reset();
        fi_fail(HM_SITE_WATCH_UFFD_OPEN, ENOMEM);
        void *p;
        DWORD err;
        FI_CALL(p, err, VirtualAlloc(NULL, 4 * G, MEM_RESERVE | MEM_WRITE_WATCH, PAGE_READWRITE));
        ck_assert_ptr_null(p);
        ck_assert_uint_eq(err, ERROR_NOT_SUPPORTED);
        ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_MAP], 0);
        hm_stats_t after = stats_now();
        stats_assert_same(&before, &after);
    }
    const char *why;
    ck_assert_str_eq(hm_write_watch_engine(&why), "none");
    ck_assert_str_eq(why, "HOSTMEM_WRITE_WATCH=kernel, but userfaultfd: ENOMEM");
    char *plain = alloc_ok(NULL, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    release_ok(plain);
}
END_TEST

/* After fork the child opens its own userfaultfd; if it cannot, its GetWriteWatch fails
 * (ERROR_NOT_ENOUGH_MEMORY) and a later one reports every inherited page written. */
typedef struct ww_fork_arg {
    char *base;
    hm_os_site_t site;
} ww_fork_arg_t;

static void child_watch_after_fork(void *arg)
{
    ww_fork_arg_t *a = arg;
    ULONG_PTR count = 64;
    DWORD gran;
    fi_fail(a->site, ENOMEM);
    hm_os = fake_ops;
    UINT r = GetWriteWatch(0, a->base, 16 * P, ww_res, &count, &gran);
    DWORD err = GetLastError();
    hm_os = hm_os_default;
    CHILD_REQUIRE(r == (UINT)~0u && err == ERROR_NOT_ENOUGH_MEMORY && count == 64);
    CHILD_REQUIRE(GetWriteWatch(WRITE_WATCH_FLAG_RESET, a->base, 16 * P, ww_res, &count,
                                &gran) == 0);
    CHILD_REQUIRE(count == 16); /* what the parent wrote is unknown here: all of it */
    a->base[9 * P] = 1;
    count = 64;
    CHILD_REQUIRE(GetWriteWatch(0, a->base, 16 * P, ww_res, &count, &gran) == 0);
    CHILD_REQUIRE(count == 1 && ww_res[0] == a->base + 9 * P);
}

static void ww_fork_failure(hm_os_site_t site)
{
    if (!ww_engine("kernel"))
        return;
    char *b = ww_alloc(NULL, 16 * P, MEM_COMMIT, PAGE_READWRITE);
    b[2 * P] = 1;
    fi_reset();
    ww_fork_arg_t a = {b, site};
    child_result_t r;
    run_in_child(child_watch_after_fork, &a, &r);
    expect_exit0(&r);
    ck_assert_int_eq(fi->failed[site], 1);
    fi_assert_slots_clean();
    ck_assert_uint_eq(ww_mask(b, 16 * P), 1ull << 2); /* the parent's state is its own */
    release_ok(b);
}

START_TEST(watch_uffd_open_failure_after_fork_fails_the_child_call)
{
    ww_fork_failure(HM_SITE_WATCH_UFFD_OPEN);
}
END_TEST

static void site_WATCH_UFFD_OPEN(TCase *tc)
{
    tcase_add_test(tc, watch_uffd_open_failure_falls_back_to_mprotect);
    tcase_add_test(tc, watch_uffd_open_failure_with_kernel_forced_fails_write_watch);
    tcase_add_test(tc, watch_uffd_open_failure_after_fork_fails_the_child_call);
}

START_TEST(watch_uffd_api_failure_falls_back_and_closes_the_fd)
{
    ww_first_use_falls_back(HM_SITE_WATCH_UFFD_API, EOPNOTSUPP,
                            "UFFDIO_API (async write-protect, Linux 6.7+): EOPNOTSUPP");
}
END_TEST

static void site_WATCH_UFFD_API(TCase *tc)
{
    tcase_add_test(tc, watch_uffd_api_failure_falls_back_and_closes_the_fd);
}

START_TEST(watch_pagemap_open_failure_falls_back_and_closes_the_fd)
{
    ww_first_use_falls_back(HM_SITE_WATCH_PAGEMAP_OPEN, EACCES, "/proc/self/pagemap: EACCES");
}
END_TEST

START_TEST(watch_pagemap_open_failure_after_fork_fails_the_child_call)
{
    ww_fork_failure(HM_SITE_WATCH_PAGEMAP_OPEN);
}
END_TEST

static void site_WATCH_PAGEMAP_OPEN(TCase *tc)
{
    tcase_add_test(tc, watch_pagemap_open_failure_falls_back_and_closes_the_fd);
    tcase_add_test(tc, watch_pagemap_open_failure_after_fork_fails_the_child_call);
}

/* A MEM_WRITE_WATCH VirtualAlloc (reserve only, from `from`, and reserve+commit) failing
 * at `site` (err): ERROR_NOT_ENOUGH_MEMORY, the range free again, nothing mapped,
 * statistics unchanged; then the same call works. */
static void ww_alloc_fails_cleanly(hm_os_site_t site, int err, size_t from)
{
    char *at = (char *)untouched_area() + 16 * G;
    static const DWORD types[] = {0, MEM_COMMIT};
    for (size_t t = from; t < 2; t++) {
        snap_t before, after;
        snap_take(&before, at, 8 * G);
        fi_reset();
        fi_fail(site, err);
        void *p;
        DWORD e;
        FI_CALL(p, e, VirtualAlloc(at, 8 * G, MEM_RESERVE | MEM_WRITE_WATCH | types[t],
                                   PAGE_READWRITE));
        ck_assert_ptr_null(p);
        ck_assert_uint_eq(e, ERROR_NOT_ENOUGH_MEMORY);
        ck_assert_int_ge(fi->failed[site], 1);
        fi_assert_slots_clean();
        snap_take(&after, at, 8 * G);
        snap_assert_same(&before, &after);
        assert_nothing_left_mapped();
        ck_assert(!kernel_overlap((uintptr_t)at, 8 * G));
    }
    char *p = ww_alloc(at, 8 * G, MEM_COMMIT, PAGE_READWRITE);
    p[5 * P] = 1;
    ck_assert_uint_eq(ww_mask(p, 16 * P), 1ull << 5);
    release_ok(p);
}

START_TEST(watch_state_failure_fails_the_allocation_kernel)
{
    if (ww_engine("kernel"))
        ww_alloc_fails_cleanly(HM_SITE_WATCH_STATE, ENOMEM, 0);
}
END_TEST

START_TEST(watch_state_failure_fails_the_allocation_mprotect)
{
    ck_assert(ww_engine("mprotect"));
    ww_alloc_fails_cleanly(HM_SITE_WATCH_STATE, ENOMEM, 0);
}
END_TEST

static void site_WATCH_STATE(TCase *tc)
{
    tcase_add_test(tc, watch_state_failure_fails_the_allocation_kernel);
    tcase_add_test(tc, watch_state_failure_fails_the_allocation_mprotect);
}

/* The mprotect engine needs hostmem's SIGSEGV handler: if it cannot be installed, the
 * allocation fails before anything is mapped, and the next one installs it. */
START_TEST(watch_handler_failure_fails_the_allocation_first)
{
    ck_assert(ww_engine("mprotect"));
    hm_stats_t before = stats_now();
    fi_reset();
    fi_fail(HM_SITE_WATCH_HANDLER, ENOMEM);
    void *p;
    DWORD err;
    FI_CALL(p, err, VirtualAlloc(NULL, 4 * G, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
                                 PAGE_READWRITE));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_WATCH_HANDLER, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_MAP], 0);
    hm_stats_t after = stats_now();
    stats_assert_same(&before, &after);
    struct sigaction sa;
    ck_assert_int_eq(sigaction(SIGSEGV, NULL, &sa), 0);
    ck_assert(!(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_DFL);
    char *b = ww_alloc(NULL, 4 * G, MEM_COMMIT, PAGE_READWRITE);
    b[P] = 1;
    ck_assert_uint_eq(ww_mask(b, 16 * P), 1ull << 1);
    release_ok(b);
}
END_TEST

static void site_WATCH_HANDLER(TCase *tc)
{
    tcase_add_test(tc, watch_handler_failure_fails_the_allocation_first);
}

/* A commit after a decommit registers the reservation again (kernel engine); failing
 * there fails the commit with nothing changed. */
static void ww_recommit_fails_cleanly(hm_os_site_t site)
{
    char *b = ww_alloc(NULL, 16 * P, MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 8 * P, 201);
    ck_assert_int_ne(VirtualFree(b + 10 * P, 2 * P, MEM_DECOMMIT), 0);
    ck_assert_uint_eq(ResetWriteWatch(b, 16 * P), 0);
    b[3 * P] = 7;
    snap_t before, after;
    snap_take(&before, b, 16 * P);
    fi_reset();
    fi_fail(site, ENOMEM);
    void *p;
    DWORD err;
    FI_CALL(p, err, VirtualAlloc(b + 10 * P, 2 * P, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(site, 1);
    snap_take(&after, b, 16 * P);
    snap_assert_same(&before, &after);
    ck_assert_uint_eq(ww_mask(b, 16 * P), 1ull << 3);
    ck_assert_ptr_eq(VirtualAlloc(b + 10 * P, 2 * P, MEM_COMMIT, PAGE_READWRITE), b + 10 * P);
    ck_assert_uint_eq(ww_mask(b, 16 * P), 1ull << 3);
    b[11 * P] = 1;
    ck_assert_uint_eq(ww_mask(b, 16 * P), (1ull << 3) | (1ull << 11));
    release_ok(b);
}

START_TEST(watch_nohugepage_failure_fails_allocation_and_recommit)
{
    if (!ww_engine("kernel"))
        return;
    ww_alloc_fails_cleanly(HM_SITE_WATCH_NOHUGEPAGE, EAGAIN, 0);
    ww_recommit_fails_cleanly(HM_SITE_WATCH_NOHUGEPAGE);
}
END_TEST

static void site_WATCH_NOHUGEPAGE(TCase *tc)
{
    tcase_add_test(tc, watch_nohugepage_failure_fails_allocation_and_recommit);
}

START_TEST(watch_register_failure_fails_allocation_and_recommit)
{
    if (!ww_engine("kernel"))
        return;
    ww_alloc_fails_cleanly(HM_SITE_WATCH_REGISTER, ENOMEM, 0);
    ww_recommit_fails_cleanly(HM_SITE_WATCH_REGISTER);
}
END_TEST

START_TEST(watch_register_failure_after_fork_fails_the_child_call)
{
    ww_fork_failure(HM_SITE_WATCH_REGISTER);
}
END_TEST

static void site_WATCH_REGISTER(TCase *tc)
{
    tcase_add_test(tc, watch_register_failure_fails_allocation_and_recommit);
    tcase_add_test(tc, watch_register_failure_after_fork_fails_the_child_call);
}

/* Arming fresh pages: the committed allocation, and a commit of reserved pages. */
START_TEST(watch_protect_failure_fails_allocation_and_commit)
{
    if (!ww_engine("kernel"))
        return;
    ww_alloc_fails_cleanly(HM_SITE_WATCH_PROTECT, ENOMEM, 1); /* reserve only arms nothing */
    char *b = ww_alloc(NULL, 16 * P, 0, PAGE_READWRITE);
    ck_assert_ptr_eq(VirtualAlloc(b, 4 * P, MEM_COMMIT, PAGE_READWRITE), b);
    b[P] = 1;
    snap_t before, after;
    snap_take(&before, b, 16 * P);
    fi_reset();
    fi_fail(HM_SITE_WATCH_PROTECT, ENOMEM);
    void *p;
    DWORD err;
    FI_CALL(p, err, VirtualAlloc(b, 12 * P, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_WATCH_PROTECT, 1);
    snap_take(&after, b, 16 * P);
    snap_assert_same(&before, &after);
    ck_assert_int_eq(hm_probe_write(b + 6 * P), SIGSEGV); /* still reserved */
    /* Without the fault: the fresh pages are armed, the written page keeps its state. */
    ck_assert_ptr_eq(VirtualAlloc(b, 12 * P, MEM_COMMIT, PAGE_READWRITE), b);
    ck_assert_uint_eq(ww_mask(b, 16 * P), 1ull << 1);
    ck_assert_int_eq(b[6 * P], 0);
    ck_assert_uint_eq(ww_mask(b, 16 * P), 1ull << 1); /* a read is not a write */
    release_ok(b);
}
END_TEST

static void site_WATCH_PROTECT(TCase *tc)
{
    tcase_add_test(tc, watch_protect_failure_fails_allocation_and_commit);
}

/* A watched reservation of 16 pages, pages 1, 6 and 12 written; 8..9 decommitted so
 * that the committed pages form two spans. */
static char *ww_two_spans(void)
{
    char *b = ww_alloc(NULL, 16 * P, MEM_COMMIT, PAGE_READWRITE);
    ck_assert_int_ne(VirtualFree(b + 8 * P, 2 * P, MEM_DECOMMIT), 0);
    b[P] = b[6 * P] = b[12 * P] = 1;
    return b;
}

START_TEST(watch_scan_failure_fails_get_and_reset_and_loses_nothing)
{
    if (!ww_engine("kernel"))
        return;
    char *b = ww_two_spans();
    const uint64_t written = (1ull << 1) | (1ull << 6) | (1ull << 12);
    for (int reset = 0; reset < 2; reset++) {
        fi_reset();
        fi_fail(HM_SITE_WATCH_SCAN, ENOMEM);
        ULONG_PTR count = 64;
        DWORD gran = 77;
        UINT r;
        DWORD err;
        FI_CALL(r, err, GetWriteWatch(reset ? WRITE_WATCH_FLAG_RESET : 0, b, 16 * P, ww_res,
                                      &count, &gran));
        ck_assert_uint_eq(r, (UINT)~0u);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        ck_assert_uint_eq(count, 64);
        ck_assert_uint_eq(gran, 77);
        fi_assert_failed(HM_SITE_WATCH_SCAN, 1);
        ck_assert_uint_eq(ww_mask(b, 16 * P), written);
        fi_reset();
        fi_fail(HM_SITE_WATCH_SCAN, ENOMEM);
        FI_CALL(r, err, ResetWriteWatch(b, 16 * P));
        ck_assert_uint_eq(r, (UINT)~0u);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        ck_assert_uint_eq(ww_mask(b, 16 * P), written);
    }
    /* The second span fails after the first was reset: the first span's committed pages
     * all read written again (a superset: no write is lost). */
    fi_reset();
    fi_fail_nth(HM_SITE_WATCH_SCAN, ENOMEM, 1, 1);
    UINT r;
    DWORD err;
    FI_CALL(r, err, ResetWriteWatch(b, 16 * P));
    ck_assert_uint_eq(r, (UINT)~0u);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    ck_assert_uint_eq(ww_mask(b, 16 * P), 0xFFull | (1ull << 12));
    ck_assert_uint_eq(ResetWriteWatch(b, 16 * P), 0);
    ck_assert_uint_eq(ww_mask(b, 16 * P), 0);
    release_ok(b);
}
END_TEST

static void site_WATCH_SCAN(TCase *tc)
{
    tcase_add_test(tc, watch_scan_failure_fails_get_and_reset_and_loses_nothing);
}

/* VirtualProtect cannot ask the kernel which pages to latch: it latches the whole range
 * (conservative, W25), and the protection change itself succeeds. */
START_TEST(watch_latch_failure_latches_the_whole_range)
{
    if (!ww_engine("kernel"))
        return;
    char *b = ww_alloc(NULL, 16 * P, MEM_COMMIT, PAGE_READWRITE);
    b[2 * P] = 1;
    fi_reset();
    fi_fail(HM_SITE_WATCH_LATCH, ENOMEM);
    BOOL ok;
    DWORD err, old = 0;
    FI_CALL(ok, err, VirtualProtect(b, 4 * P, PAGE_READONLY, &old));
    ck_assert_int_ne(ok, FALSE);
    ck_assert_uint_eq(old, PAGE_READWRITE);
    fi_assert_failed(HM_SITE_WATCH_LATCH, 1);
    ck_assert_region(b, b, b, PAGE_READWRITE, 4 * P, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    ck_assert_int_ne(VirtualFree(b, 16 * P, MEM_DECOMMIT), 0);
    ck_assert_uint_eq(ww_mask(b, 16 * P), 0xFull);
    release_ok(b);
}
END_TEST

static void site_WATCH_LATCH(TCase *tc)
{
    tcase_add_test(tc, watch_latch_failure_latches_the_whole_range);
}

START_TEST(watch_unprotect_failure_fails_mark_written)
{
    if (!ww_engine("kernel"))
        return;
    char *b = ww_alloc(NULL, 16 * P, MEM_COMMIT, PAGE_READWRITE);
    b[P] = 1;
    fi_reset();
    fi_fail(HM_SITE_WATCH_UNPROTECT, ENOMEM);
    BOOL ok;
    DWORD err;
    FI_CALL(ok, err, hm_watch_mark_written(b, 16 * P));
    ck_assert_int_eq(ok, FALSE);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_WATCH_UNPROTECT, 1);
    ck_assert_uint_eq(ww_mask(b, 16 * P), 1ull << 1);
    ck_assert_int_ne(hm_watch_mark_written(b, 16 * P), FALSE);
    ck_assert_uint_eq(ww_mask(b, 16 * P), 0xFFFFull);
    release_ok(b);
}
END_TEST

static void site_WATCH_UNPROTECT(TCase *tc)
{
    tcase_add_test(tc, watch_unprotect_failure_fails_mark_written);
}

/* GetWriteWatch needs a buffer of its own when the caller's array lies in a hostmem
 * reservation (it is filled after unlocking). */
START_TEST(watch_results_failure_fails_get_and_changes_nothing)
{
    char *b = ww_alloc(NULL, 64 * G, MEM_COMMIT, PAGE_READWRITE); /* 1024 pages */
    b[3 * P] = b[700 * P] = 1;
    void **many = (void **)alloc_ok(NULL, 1024 * sizeof(void *), MEM_RESERVE | MEM_COMMIT,
                                    PAGE_READWRITE);
    for (int reset = 0; reset < 2; reset++) {
        fi_reset();
        fi_fail(HM_SITE_WATCH_RESULTS, ENOMEM);
        ULONG_PTR count = 1024;
        DWORD gran = 77;
        UINT r;
        DWORD err;
        FI_CALL(r, err, GetWriteWatch(reset ? WRITE_WATCH_FLAG_RESET : 0, b, 64 * G, many,
                                      &count, &gran));
        ck_assert_uint_eq(r, (UINT)~0u);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        ck_assert_uint_eq(count, 1024);
        fi_assert_failed(HM_SITE_WATCH_RESULTS, 1);
    }
    ck_assert_uint_eq(ww_get(0, b, 64 * G), 2);
    /* Up to 256 results need no buffer. */
    fi_reset();
    fi_fail(HM_SITE_WATCH_RESULTS, ENOMEM);
    ULONG_PTR count = 256;
    DWORD gran;
    UINT r;
    DWORD err;
    FI_CALL(r, err, GetWriteWatch(0, b, 64 * G, many, &count, &gran));
    ck_assert_uint_eq(r, 0);
    ck_assert_uint_eq(count, 2);
    ck_assert_int_eq(fi->calls[HM_SITE_WATCH_RESULTS], 0);
    release_ok(many);
    release_ok(b);
}
END_TEST

/* Merging the kernel's pages with latched ones copies the kernel's aside (a buffer past
 * 256 pages); if that fails, what the kernel re-armed is reported written again. */
START_TEST(watch_results_failure_in_the_merge_loses_nothing)
{
    if (!ww_engine("kernel"))
        return;
    char *b = ww_alloc(NULL, 64 * G, MEM_COMMIT, PAGE_READWRITE);
    for (int i = 0; i < 600; i++)
        b[i * P] = 1;
    b[1000 * P] = 1;
    protect_ok(b + 1000 * P, P, PAGE_READWRITE); /* latches page 1000 */
    static void *many[1024];
    for (int reset = 0; reset < 2; reset++) {
        fi_reset();
        fi_fail(HM_SITE_WATCH_RESULTS, ENOMEM);
        ULONG_PTR count = 1024;
        DWORD gran;
        UINT r;
        DWORD err;
        FI_CALL(r, err, GetWriteWatch(reset ? WRITE_WATCH_FLAG_RESET : 0, b, 64 * G, many,
                                      &count, &gran));
        ck_assert_uint_eq(r, (UINT)~0u);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_WATCH_RESULTS, 1);
        ULONG_PTR again = 1024;
        ck_assert_uint_eq(GetWriteWatch(0, b, 64 * G, many, &again, &gran), 0);
        ck_assert_uint_eq(again, 601);
        ck_assert_ptr_eq(many[599], b + 599 * P);
        ck_assert_ptr_eq(many[600], b + 1000 * P);
    }
    release_ok(b);
}
END_TEST

static void site_WATCH_RESULTS(TCase *tc)
{
    tcase_add_test(tc, watch_results_failure_fails_get_and_changes_nothing);
    tcase_add_test(tc, watch_results_failure_in_the_merge_loses_nothing);
}

/* The mprotect engine's fault path: if it cannot make the page writable the fault is not
 * handled (SIGSEGV) and nothing is recorded. */
static void child_write_with_fault(void *arg)
{
    volatile char *a = arg;
    hm_os = fake_ops;
    atomic_signal_fence(memory_order_seq_cst);
    *a = 1; /* must not return */
    atomic_signal_fence(memory_order_seq_cst);
    hm_os = hm_os_default;
    fprintf(stderr, "child: the write to an armed page completed\n");
}

START_TEST(watch_fault_failure_is_a_segfault_and_records_nothing)
{
    ck_assert(ww_engine("mprotect"));
    char *b = ww_alloc(NULL, 16 * P, MEM_COMMIT, PAGE_READWRITE);
    snap_t before, after;
    snap_take(&before, b, 16 * P);
    fi_reset();
    fi_fail(HM_SITE_WATCH_FAULT, EAGAIN);
    child_result_t r;
    run_in_child(child_write_with_fault, b + 4 * P, &r);
    expect_signal(&r, SIGSEGV, NULL);
    fi_assert_failed(HM_SITE_WATCH_FAULT, 1);
    snap_take(&after, b, 16 * P);
    snap_assert_same(&before, &after);
    ck_assert_uint_eq(ww_mask(b, 16 * P), 0);
    b[4 * P] = 1;
    ck_assert_uint_eq(ww_mask(b, 16 * P), 1ull << 4);
    release_ok(b);
}
END_TEST

static void site_WATCH_FAULT(TCase *tc)
{
    tcase_add_test(tc, watch_fault_failure_is_a_segfault_and_records_nothing);
}

/* The mprotect engine's reset cannot write-protect the pages again: the call fails and
 * every written page stays reported. */
START_TEST(watch_rearm_failure_fails_the_reset_and_keeps_the_pages)
{
    ck_assert(ww_engine("mprotect"));
    char *b = ww_two_spans();
    const uint64_t written = (1ull << 1) | (1ull << 6) | (1ull << 12);
    for (int k = 0; k < 2; k++) {
        fi_reset();
        fi_fail(HM_SITE_WATCH_REARM, ENOMEM);
        ULONG_PTR count = 64;
        DWORD gran;
        UINT r;
        DWORD err;
        if (k == 0)
            FI_CALL(r, err, GetWriteWatch(WRITE_WATCH_FLAG_RESET, b, 16 * P, ww_res, &count, &gran));
        else
            FI_CALL(r, err, ResetWriteWatch(b, 16 * P));
        ck_assert_uint_eq(r, (UINT)~0u);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_WATCH_REARM, 1);
        ck_assert_uint_eq(ww_mask(b, 16 * P), written);
    }
    /* A failure on the second span after the first was re-armed: still all reported. */
    fi_reset();
    fi_fail_nth(HM_SITE_WATCH_REARM, ENOMEM, 1, 1);
    UINT r;
    DWORD err;
    FI_CALL(r, err, ResetWriteWatch(b, 16 * P));
    ck_assert_uint_eq(r, (UINT)~0u);
    ck_assert_uint_eq(ww_mask(b, 16 * P), written);
    b[6 * P] = 2; /* re-armed page: recorded again, still reported once */
    ck_assert_uint_eq(ww_mask(b, 16 * P), written);
    ck_assert_uint_eq(ResetWriteWatch(b, 16 * P), 0);
    ck_assert_uint_eq(ww_mask(b, 16 * P), 0);
    b[12 * P] = 3;
    ck_assert_uint_eq(ww_mask(b, 16 * P), 1ull << 12);
    release_ok(b);
}
END_TEST

static void site_WATCH_REARM(TCase *tc)
{
    tcase_add_test(tc, watch_rearm_failure_fails_the_reset_and_keeps_the_pages);
}

/* hm_watch_mark_written with the mprotect engine: bits first, then the protection; if the
 * protection cannot change the call fails, and the pages it touched read written (never
 * writable without being recorded). */
START_TEST(watch_mark_failure_fails_mark_written_conservatively)
{
    ck_assert(ww_engine("mprotect"));
    char *b = ww_alloc(NULL, 16 * P, MEM_COMMIT, PAGE_READWRITE);
    protect_ok(b + 8 * P, 8 * P, PAGE_EXECUTE_READWRITE); /* two runs */
    ck_assert_uint_eq(ResetWriteWatch(b, 16 * P), 0);
    fi_reset();
    fi_fail(HM_SITE_WATCH_MARK, ENOMEM);
    BOOL ok;
    DWORD err;
    FI_CALL(ok, err, hm_watch_mark_written(b, 16 * P));
    ck_assert_int_eq(ok, FALSE);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_WATCH_MARK, 1);
    ck_assert_uint_eq(ww_mask(b, 16 * P), 0xFFull); /* the first run only */
    ck_assert_int_ne(hm_watch_mark_written(b, 16 * P), FALSE);
    ck_assert_uint_eq(ww_mask(b, 16 * P), 0xFFFFull);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(write(fds[1], "abc", 3), 3);
    ck_assert_int_eq(read(fds[0], b + 9 * P, 3), 3); /* writable for the kernel now */
    close(fds[0]);
    close(fds[1]);
    release_ok(b);
}
END_TEST

static void site_WATCH_MARK(TCase *tc)
{
    tcase_add_test(tc, watch_mark_failure_fails_mark_written_conservatively);
}

/* ======================================================================================
 * The scenario table and coverage.
 * ==================================================================================== */

typedef void (*site_scenario_t)(TCase *tc);

/* A site in HM_OS_SITE_LIST without a site_<NAME> function does not compile. */
static const site_scenario_t scenarios[HM_SITE_COUNT] = {
#define HM_X_SCENARIO(site, call, what) [HM_SITE_##site] = site_##site,
    HM_OS_SITE_LIST(HM_X_SCENARIO)
#undef HM_X_SCENARIO
};

static bool registered[HM_SITE_COUNT]; /* set while the suite is built, before any fork */

/* Adds the site's tests to a tcase named after it (the literal name makes it a ctest). */
static void add_site(Suite *s, TCase *tc, const char *name, hm_os_site_t site)
{
    if ((unsigned)site >= HM_SITE_COUNT || strcmp(name, hm_os_site_name(site)) != 0) {
        fprintf(stderr, "case %s is not the name of site %d\n", name, (int)site);
        abort();
    }
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    scenarios[site](tc);
    registered[site] = true;
    suite_add_tcase(s, tc);
}

START_TEST(every_site_has_a_scenario_and_a_case)
{
    int covered = 0;
    for (int i = 0; i < HM_SITE_COUNT; i++) {
        ck_assert_msg(scenarios[i] != NULL, "site %s has no scenario", hm_os_site_name(i));
        ck_assert_msg(registered[i], "site %s has no test case", hm_os_site_name(i));
        covered++;
    }
    printf("fault-injection sites covered: %d of %d\n", covered, (int)HM_SITE_COUNT);
    fflush(stdout);
}
END_TEST

static const TTest *const *fresh_cases(size_t *n)
{
    static const TTest *table[4];
    table[0] = fresh_first_reserve_with_record_failure_fails_then_succeeds;
    table[1] = fresh_guard_handler_failure_then_first_touch_works;
    table[2] = fresh_commit_limit_without_meminfo_is_unlimited;
    table[3] = fresh_commit_limit_defaults_to_commit_limit_of_meminfo;
    *n = sizeof table / sizeof table[0];
    return table;
}

static Suite *make_suite(void)
{
    Suite *s = suite_create("fault_injection");
    /* ctest registers each literal tcase_create of a site name below: keep one per site. */
    add_site(s, tcase_create("RESERVE_MAP"), "RESERVE_MAP", HM_SITE_RESERVE_MAP);
    add_site(s, tcase_create("RESERVE_TRIM"), "RESERVE_TRIM", HM_SITE_RESERVE_TRIM);
    add_site(s, tcase_create("RESERVE_RECORD"), "RESERVE_RECORD", HM_SITE_RESERVE_RECORD);
    add_site(s, tcase_create("RESERVE_INDEX"), "RESERVE_INDEX", HM_SITE_RESERVE_INDEX);
    add_site(s, tcase_create("RESERVE_UNDO"), "RESERVE_UNDO", HM_SITE_RESERVE_UNDO);
    add_site(s, tcase_create("TOPDOWN_MAPS"), "TOPDOWN_MAPS", HM_SITE_TOPDOWN_MAPS);
    add_site(s, tcase_create("RUNS_GROW"), "RUNS_GROW", HM_SITE_RUNS_GROW);
    add_site(s, tcase_create("COMMIT_PROTECT"), "COMMIT_PROTECT", HM_SITE_COMMIT_PROTECT);
    add_site(s, tcase_create("DECOMMIT_MAP"), "DECOMMIT_MAP", HM_SITE_DECOMMIT_MAP);
    add_site(s, tcase_create("RELEASE_UNMAP"), "RELEASE_UNMAP", HM_SITE_RELEASE_UNMAP);
    add_site(s, tcase_create("PROTECT_PROTECT"), "PROTECT_PROTECT", HM_SITE_PROTECT_PROTECT);
    add_site(s, tcase_create("RESET_ADVISE"), "RESET_ADVISE", HM_SITE_RESET_ADVISE);
    add_site(s, tcase_create("UNDO_PAGEMAP"), "UNDO_PAGEMAP", HM_SITE_UNDO_PAGEMAP);
    add_site(s, tcase_create("UNDO_UNPROTECT"), "UNDO_UNPROTECT", HM_SITE_UNDO_UNPROTECT);
    add_site(s, tcase_create("UNDO_REPROTECT"), "UNDO_REPROTECT", HM_SITE_UNDO_REPROTECT);
    add_site(s, tcase_create("LOCK_MLOCK"), "LOCK_MLOCK", HM_SITE_LOCK_MLOCK);
    add_site(s, tcase_create("UNLOCK_MUNLOCK"), "UNLOCK_MUNLOCK", HM_SITE_UNLOCK_MUNLOCK);
    add_site(s, tcase_create("GUARD_HANDLER"), "GUARD_HANDLER", HM_SITE_GUARD_HANDLER);
    add_site(s, tcase_create("GUARD_CLEAR"), "GUARD_CLEAR", HM_SITE_GUARD_CLEAR);
    add_site(s, tcase_create("GUARD_RUNS"), "GUARD_RUNS", HM_SITE_GUARD_RUNS);
    add_site(s, tcase_create("FOREIGN_MAPS"), "FOREIGN_MAPS", HM_SITE_FOREIGN_MAPS);
    add_site(s, tcase_create("FOREIGN_PROTECT"), "FOREIGN_PROTECT", HM_SITE_FOREIGN_PROTECT);
    add_site(s, tcase_create("FOREIGN_LOCK"), "FOREIGN_LOCK", HM_SITE_FOREIGN_LOCK);
    add_site(s, tcase_create("FOREIGN_UNLOCK"), "FOREIGN_UNLOCK", HM_SITE_FOREIGN_UNLOCK);
    add_site(s, tcase_create("FOREIGN_SMAPS"), "FOREIGN_SMAPS", HM_SITE_FOREIGN_SMAPS);
    add_site(s, tcase_create("MEMINFO_READ"), "MEMINFO_READ", HM_SITE_MEMINFO_READ);
    add_site(s, tcase_create("HOST_LOAD_READ"), "HOST_LOAD_READ", HM_SITE_HOST_LOAD_READ);
    add_site(s, tcase_create("WATCH_UFFD_OPEN"), "WATCH_UFFD_OPEN", HM_SITE_WATCH_UFFD_OPEN);
    add_site(s, tcase_create("WATCH_UFFD_API"), "WATCH_UFFD_API", HM_SITE_WATCH_UFFD_API);
    add_site(s, tcase_create("WATCH_PAGEMAP_OPEN"), "WATCH_PAGEMAP_OPEN", HM_SITE_WATCH_PAGEMAP_OPEN);
    add_site(s, tcase_create("WATCH_STATE"), "WATCH_STATE", HM_SITE_WATCH_STATE);
    add_site(s, tcase_create("WATCH_HANDLER"), "WATCH_HANDLER", HM_SITE_WATCH_HANDLER);
    add_site(s, tcase_create("WATCH_NOHUGEPAGE"), "WATCH_NOHUGEPAGE", HM_SITE_WATCH_NOHUGEPAGE);
    add_site(s, tcase_create("WATCH_REGISTER"), "WATCH_REGISTER", HM_SITE_WATCH_REGISTER);
    add_site(s, tcase_create("WATCH_PROTECT"), "WATCH_PROTECT", HM_SITE_WATCH_PROTECT);
    add_site(s, tcase_create("WATCH_SCAN"), "WATCH_SCAN", HM_SITE_WATCH_SCAN);
    add_site(s, tcase_create("WATCH_LATCH"), "WATCH_LATCH", HM_SITE_WATCH_LATCH);
    add_site(s, tcase_create("WATCH_UNPROTECT"), "WATCH_UNPROTECT", HM_SITE_WATCH_UNPROTECT);
    add_site(s, tcase_create("WATCH_RESULTS"), "WATCH_RESULTS", HM_SITE_WATCH_RESULTS);
    add_site(s, tcase_create("WATCH_FAULT"), "WATCH_FAULT", HM_SITE_WATCH_FAULT);
    add_site(s, tcase_create("WATCH_REARM"), "WATCH_REARM", HM_SITE_WATCH_REARM);
    add_site(s, tcase_create("WATCH_MARK"), "WATCH_MARK", HM_SITE_WATCH_MARK);
    add_site(s, tcase_create("KERNEL_VIEW_SMAPS"), "KERNEL_VIEW_SMAPS", HM_SITE_KERNEL_VIEW_SMAPS);
    add_site(s, tcase_create("PLACE_MAPS"), "PLACE_MAPS", HM_SITE_PLACE_MAPS);
    add_site(s, tcase_create("PLACE_MAP"), "PLACE_MAP", HM_SITE_PLACE_MAP);
    add_site(s, tcase_create("PLACE_NUMA"), "PLACE_NUMA", HM_SITE_PLACE_NUMA);
    add_site(s, tcase_create("REPLACE_PROTECT"), "REPLACE_PROTECT", HM_SITE_REPLACE_PROTECT);
    add_site(s, tcase_create("PRESERVE_MAP"), "PRESERVE_MAP", HM_SITE_PRESERVE_MAP);
    add_site(s, tcase_create("SPLIT_RECORD"), "SPLIT_RECORD", HM_SITE_SPLIT_RECORD);
    add_site(s, tcase_create("SPLIT_INDEX"), "SPLIT_INDEX", HM_SITE_SPLIT_INDEX);
    add_site(s, tcase_create("SPLIT_RUNS"), "SPLIT_RUNS", HM_SITE_SPLIT_RUNS);
    add_site(s, tcase_create("PRIV_CAPS"), "PRIV_CAPS", HM_SITE_PRIV_CAPS);
    add_site(s, tcase_create("PRIV_VMLCK"), "PRIV_VMLCK", HM_SITE_PRIV_VMLCK);
    add_site(s, tcase_create("LARGE_TRIM"), "LARGE_TRIM", HM_SITE_LARGE_TRIM);
    add_site(s, tcase_create("LARGE_MAP"), "LARGE_MAP", HM_SITE_LARGE_MAP);
    add_site(s, tcase_create("LARGE_MOVE"), "LARGE_MOVE", HM_SITE_LARGE_MOVE);
    add_site(s, tcase_create("LARGE_DROP"), "LARGE_DROP", HM_SITE_LARGE_DROP);
    add_site(s, tcase_create("LARGE_UNDO"), "LARGE_UNDO", HM_SITE_LARGE_UNDO);
    add_site(s, tcase_create("LARGE_THP_COMMIT"), "LARGE_THP_COMMIT", HM_SITE_LARGE_THP_COMMIT);
    add_site(s, tcase_create("LARGE_THP_ADVISE"), "LARGE_THP_ADVISE", HM_SITE_LARGE_THP_ADVISE);
    add_site(s, tcase_create("PHYS_MEMFD"), "PHYS_MEMFD", HM_SITE_PHYS_MEMFD);
    add_site(s, tcase_create("PHYS_TABLE_GROW"), "PHYS_TABLE_GROW", HM_SITE_PHYS_TABLE_GROW);
    add_site(s, tcase_create("PHYS_FALLOCATE"), "PHYS_FALLOCATE", HM_SITE_PHYS_FALLOCATE);
    add_site(s, tcase_create("PHYS_WINDOW"), "PHYS_WINDOW", HM_SITE_PHYS_WINDOW);
    add_site(s, tcase_create("PHYS_MAP_BUFFER"), "PHYS_MAP_BUFFER", HM_SITE_PHYS_MAP_BUFFER);
    add_site(s, tcase_create("PHYS_MAP"), "PHYS_MAP", HM_SITE_PHYS_MAP);
    add_site(s, tcase_create("PHYS_UNMAP"), "PHYS_UNMAP", HM_SITE_PHYS_UNMAP);
    add_site(s, tcase_create("PHYS_UNDO_REMAP"), "PHYS_UNDO_REMAP", HM_SITE_PHYS_UNDO_REMAP);
    add_site(s, tcase_create("PHYS_UNDO_UNMAP"), "PHYS_UNDO_UNMAP", HM_SITE_PHYS_UNDO_UNMAP);
    add_site(s, tcase_create("PHYS_FREE_UNMAP"), "PHYS_FREE_UNMAP", HM_SITE_PHYS_FREE_UNMAP);
    add_site(s, tcase_create("PHYS_FREE_PUNCH"), "PHYS_FREE_PUNCH", HM_SITE_PHYS_FREE_PUNCH);
    add_site(s, tcase_create("PHYS_FREE_REMAP"), "PHYS_FREE_REMAP", HM_SITE_PHYS_FREE_REMAP);

    TCase *tc = tcase_create("coverage");
    tcase_add_test(tc, every_site_has_a_scenario_and_a_case);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *fresh = getenv("HM_FI_FRESH");
    if (fresh)
        return fresh_main(fresh);
    return hm_test_run(make_suite());
}
