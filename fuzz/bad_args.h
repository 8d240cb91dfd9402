/*
 * bad_args.h — argument pools for the bad-input fuzzer: pointers of every kind (NULL,
 * valid, misaligned, read-only, NOACCESS, reserved, free, kernel, -1, too short), sizes
 * and flags near the edges, and snapshots of the state a failed call must leave alone
 * (the VirtualQuery map of the fuzzer's reservations, hm_get_stats, the runtimes' stats).
 */
#ifndef HM_FUZZ_BAD_ARGS_H
#define HM_FUZZ_BAD_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostmem/host.h"
#include "hostmem/hostmem.h"

typedef struct hm_brd {
    const uint8_t *p;
    size_t n, i;
} hm_brd_t;

uint8_t hm_b_u8(hm_brd_t *r);
uint32_t hm_b_u32(hm_brd_t *r);
uint64_t hm_b_u64(hm_brd_t *r);

/* Pointer kinds. The first HM_PTR_SAFE kinds are writable (or NULL). */
enum hm_ptr_kind {
    HM_PTR_NULL,
    HM_PTR_SCRATCH,    /* a writable 16 KiB buffer */
    HM_PTR_MISALIGNED, /* scratch + 1 */
    HM_PTR_ODD,        /* scratch + 3 */
    HM_PTR_HOSTMEM_RW, /* a committed read-write hostmem page */
    HM_PTR_SAFE,
    HM_PTR_READONLY = HM_PTR_SAFE, /* a committed read-only hostmem page */
    HM_PTR_NOACCESS,   /* a committed PAGE_NOACCESS page */
    HM_PTR_RESERVED,   /* a reserved, uncommitted page */
    HM_PTR_FREE,       /* released address space */
    HM_PTR_LOW,        /* 0x10 */
    HM_PTR_KERNEL,     /* 0xffff800000000000 */
    HM_PTR_MINUS1,     /* (void *)-1 */
    HM_PTR_SHORT,      /* the last 4 bytes of scratch: too short for any structure */
    HM_PTR_RODATA,     /* the executable's read-only data */
    HM_PTR_KINDS
};

typedef struct hm_bad_env {
    void *victim;      /* 16 pages: 0 RW, 1 READONLY, 2 NOACCESS, 3 RW, 4.. reserved */
    void *watch;       /* a 64 KiB MEM_WRITE_WATCH allocation, or NULL */
    void *rw_page;     /* a committed read-write page no call is aimed at */
    void *free_addr;   /* released address space */
    bool hostile_out;  /* out- and in-structure pointers may be of the hostile kinds */
    bool misaligned_out; /* ... or misaligned (UB in C; UBSan reports hostmem's stores: B2) */
} hm_bad_env_t;

extern hm_bad_env_t hm_bad_env;

void hm_bad_env_init(void);
const char *hm_ptr_kind_name(int kind);
/* A pointer of a decoded kind; `deref` says hostmem will read or write through it, so the
 * hostile kinds are used only when hm_bad_env.hostile_out is set. */
void *hm_b_ptr(hm_brd_t *r, bool deref, int *kind);
uint64_t hm_b_size(hm_brd_t *r);
uint32_t hm_b_flags(hm_brd_t *r);
uint32_t hm_b_prot(hm_brd_t *r);
/* An address: a pointer of any kind, or an edge of the victim allocation. A `mutating`
 * call (one that acts on memory it did not allocate, like VirtualProtect) never gets the
 * fuzzer's own memory. */
void *hm_b_addr(hm_brd_t *r, bool mutating);

typedef struct hm_bad_snap {
    MEMORY_BASIC_INFORMATION r[40];
    size_t n;
    hm_stats_t st;
    uint64_t rt_committed[2], rt_space[2];
    uint32_t rt_state[2];
    uint64_t ro_sum;
} hm_bad_snap_t;

void hm_bad_snap(hm_bad_snap_t *s, hm_runtime_t *const rt[2]);
/* NULL if equal, else what differs. */
const char *hm_bad_snap_diff(const hm_bad_snap_t *a, const hm_bad_snap_t *b);

#endif
