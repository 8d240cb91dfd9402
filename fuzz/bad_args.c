/*
 * bad_args.c — pointer, size and flag pools and state snapshots for the bad-input fuzzer
 * (see bad_args.h). The victim allocation is made once, with hostmem's own calls.
 */
#include "bad_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define P ((uint64_t)4096)
#define G ((uint64_t)65536)


hm_bad_env_t hm_bad_env;

static unsigned char scratch[16384] __attribute__((aligned(4096)));
static const unsigned char rodata[8192] __attribute__((aligned(4096))) = {1, 2, 3};

uint8_t hm_b_u8(hm_brd_t *r)
{
    return r->i < r->n ? r->p[r->i++] : 0;
}

uint32_t hm_b_u32(hm_brd_t *r)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)hm_b_u8(r) << (8 * i);
    return v;
}

uint64_t hm_b_u64(hm_brd_t *r)
{
    return (uint64_t)hm_b_u32(r) | (uint64_t)hm_b_u32(r) << 32;
}

/* Address space nothing maps: from 40 TiB up, where neither the kernel (it works down from
 * the stack) nor hostmem's placement (below its last reservation) goes. A released
 * reservation would do only until a host heap reuses it. */
static uint64_t free_far_away(void)
{
    uint64_t cand = (uint64_t)40 << 40;
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        abort();
    char line[512];
    while (fgets(line, sizeof line, f)) {
        unsigned long long lo, hi;
        if (sscanf(line, "%llx-%llx", &lo, &hi) != 2 || hi <= cand)
            continue;
        if (lo >= cand + 16 * G)
            break;
        cand = (hi + 2 * G - 1) & ~(G - 1);
    }
    fclose(f);
    return cand + G;
}

void hm_bad_env_init(void)
{
    char *v = VirtualAlloc(NULL, 16 * P, MEM_RESERVE, PAGE_READWRITE);
    DWORD old;
    if (!v || !VirtualAlloc(v, 4 * P, MEM_COMMIT, PAGE_READWRITE))
        abort();
    memset(v + P, 0x5A, P);
    if (!VirtualProtect(v + P, P, PAGE_READONLY, &old) ||
        !VirtualProtect(v + 2 * P, P, PAGE_NOACCESS, &old))
        abort();
    hm_bad_env.victim = v;
    hm_bad_env.rw_page = VirtualAlloc(NULL, P, MEM_COMMIT, PAGE_READWRITE);
    if (!hm_bad_env.rw_page)
        abort();
    hm_bad_env.watch = VirtualAlloc(NULL, G, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
                                        PAGE_READWRITE);
    hm_bad_env.free_addr = (void *)(uintptr_t)free_far_away();
    hm_bad_env.hostile_out = getenv("HM_FUZZ_HOSTILE") != NULL;
    hm_bad_env.misaligned_out = getenv("HM_FUZZ_MISALIGNED") != NULL;
}

const char *hm_ptr_kind_name(int kind)
{
    static const char *const names[HM_PTR_KINDS] = {
        "NULL", "scratch", "misaligned", "odd", "hostmem-rw", "read-only", "noaccess",
        "reserved", "free", "low", "kernel", "minus1", "short", "rodata"};
    return kind >= 0 && kind < HM_PTR_KINDS ? names[kind] : "?";
}

static void *ptr_of(int kind)
{
    char *v = hm_bad_env.victim;
    switch (kind) {
    case HM_PTR_NULL: return NULL;
    case HM_PTR_SCRATCH: return scratch;
    case HM_PTR_MISALIGNED: return scratch + 1;
    case HM_PTR_ODD: return scratch + 3;
    case HM_PTR_HOSTMEM_RW: return hm_bad_env.rw_page;
    case HM_PTR_READONLY: return v + P;
    case HM_PTR_NOACCESS: return v + 2 * P;
    case HM_PTR_RESERVED: return v + 8 * P;
    case HM_PTR_FREE: return hm_bad_env.free_addr;
    case HM_PTR_LOW: return (void *)(uintptr_t)0x10;
    case HM_PTR_KERNEL: return (void *)(uintptr_t)0xffff800000000000ull;
    case HM_PTR_MINUS1: return (void *)(uintptr_t)-1;
    case HM_PTR_SHORT: return scratch + sizeof scratch - 4;
    default: return (void *)rodata;
    }
}

void *hm_b_ptr(hm_brd_t *r, bool deref, int *kind)
{
    uint8_t b = hm_b_u8(r);
    int k = b % 8 < 5 ? b % 8 : (int)(b % HM_PTR_KINDS);
    if (deref && !hm_bad_env.hostile_out && k >= HM_PTR_SAFE)
        k = HM_PTR_SCRATCH;
    if (deref && !hm_bad_env.misaligned_out && (k == HM_PTR_MISALIGNED || k == HM_PTR_ODD))
        k = HM_PTR_SCRATCH;
    if (kind)
        *kind = k;
    if (k == HM_PTR_SCRATCH)
        memset(scratch, 0xA5, sizeof scratch);
    return ptr_of(k);
}

uint64_t hm_b_size(hm_brd_t *r)
{
    static const uint64_t sizes[] = {0, 1, 47, 48, 49, P - 1, P, P + 1, G, 16 * P, 1 << 20,
                                     (uint64_t)1 << 31, (uint64_t)1 << 40, 0x800000000000,
                                     UINT64_MAX, UINT64_MAX - P + 1, UINT64_MAX / 8 + 1, 64};
    uint8_t b = hm_b_u8(r);
    return b < 200 ? sizes[b % (sizeof sizes / sizeof sizes[0])] : hm_b_u64(r);
}

uint32_t hm_b_flags(hm_brd_t *r)
{
    static const uint32_t flags[] = {0, 1, 2, 3, MEM_COMMIT, MEM_RESERVE, MEM_COMMIT | MEM_RESERVE,
                                     MEM_DECOMMIT, MEM_RELEASE, MEM_RESET, MEM_WRITE_WATCH,
                                     MEM_RESERVE | MEM_WRITE_WATCH, MEM_LARGE_PAGES, MEM_PHYSICAL,
                                     MEM_RESERVE | MEM_PHYSICAL, 0xFFFFFFFFu, 0x80000000u};
    uint8_t b = hm_b_u8(r);
    return b < 200 ? flags[b % (sizeof flags / sizeof flags[0])] : hm_b_u32(r);
}

uint32_t hm_b_prot(hm_brd_t *r)
{
    static const uint32_t prots[] = {PAGE_READWRITE, PAGE_READONLY, PAGE_NOACCESS,
                                     PAGE_EXECUTE_READWRITE, PAGE_READWRITE | PAGE_GUARD, 0,
                                     PAGE_WRITECOPY, 0xFFFFFFFFu};
    uint8_t b = hm_b_u8(r);
    return b < 200 ? prots[b % 8] : hm_b_u32(r);
}

void *hm_b_addr(hm_brd_t *r, bool mutating)
{
    char *v = hm_bad_env.victim;
    uint8_t b = hm_b_u8(r);
    switch (b % 8) {
    case 0: return v;
    case 1: return v + (b >> 3) % 16 * P;
    case 2: return v + (b >> 3);
    case 3: /* raw bits, kept out of user space: a mapped page of ours could be hit */
        return (void *)(uintptr_t)(hm_b_u64(r) | 0x800000000000ull);
    default: {
        int k = b % HM_PTR_KINDS;
        bool foreign = k == HM_PTR_SCRATCH || k == HM_PTR_MISALIGNED || k == HM_PTR_ODD ||
                       k == HM_PTR_SHORT || k == HM_PTR_RODATA;
        /* VirtualProtect/Lock act on foreign memory by design: not on the fuzzer's own */
        return (mutating && foreign) || k == HM_PTR_HOSTMEM_RW ? v + (b >> 3) : ptr_of(k);
    }
    }
}

static void snap_regions(hm_bad_snap_t *s, const char *from, uint64_t size)
{
    const char *at = from;
    while (at && at < from + size && s->n < sizeof s->r / sizeof s->r[0]) {
        MEMORY_BASIC_INFORMATION *m = &s->r[s->n++];
        if (VirtualQuery(at, m, sizeof *m) != sizeof *m || m->RegionSize == 0)
            abort();
        at = (const char *)m->BaseAddress + m->RegionSize;
    }
}

void hm_bad_snap(hm_bad_snap_t *s, hm_runtime_t *const rt[2])
{
    memset(s, 0, sizeof *s);
    snap_regions(s, hm_bad_env.victim, 16 * P);
    if (hm_bad_env.watch)
        snap_regions(s, hm_bad_env.watch, G);
    s->st.cb_size = sizeof s->st;
    hm_get_stats(&s->st);
    for (int i = 0; i < 2; i++) {
        hm_runtime_stats_t rs = {.cb_size = sizeof rs};
        if (rt[i] && hm_runtime_get_stats(rt[i], &rs) == 0) {
            s->rt_committed[i] = rs.committed;
            s->rt_space[i] = rs.address_space;
            s->rt_state[i] = rs.state;
        }
    }
    const unsigned char *ro = (const unsigned char *)hm_bad_env.victim + P;
    for (uint64_t i = 0; i < P; i++)
        s->ro_sum = s->ro_sum * 31 + ro[i];
}

const char *hm_bad_snap_diff(const hm_bad_snap_t *a, const hm_bad_snap_t *b)
{
    if (a->n != b->n || memcmp(a->r, b->r, a->n * sizeof a->r[0]) != 0)
        return "the VirtualQuery map of the fuzzer's reservations changed";
    if (a->st.reservations != b->st.reservations || a->st.reserved_bytes != b->st.reserved_bytes ||
        a->st.committed_bytes != b->st.committed_bytes || a->st.locked_bytes != b->st.locked_bytes ||
        a->st.commit_limit != b->st.commit_limit)
        return "hm_get_stats changed";
    for (int i = 0; i < 2; i++)
        if (a->rt_committed[i] != b->rt_committed[i] || a->rt_space[i] != b->rt_space[i] ||
            a->rt_state[i] != b->rt_state[i])
            return "a runtime's statistics changed";
    if (a->ro_sum != b->ro_sum)
        return "the read-only page's contents changed";
    return NULL;
}
