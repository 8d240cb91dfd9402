/*
 * model.h — a reference model of the Windows x64 address space, written from the
 * specification (../shared/spec/memoryapi.md §5–§6, windows-behaviour.md) and NOT from
 * src/: a second derivation of every rule, so that hostmem can be compared with it call by
 * call (fuzz/). Pure C: no system calls, no hostmem calls; only the public constants and
 * structures of hostmem/memoryapi.h are shared.
 *
 * What it models: allocations (reservations) with their base, size, allocation protect,
 * write-watch flag and placeholder kind; per page: reserved/committed, protection with its
 * modifiers (PAGE_GUARD one-shot, PAGE_NOCACHE/WRITECOMBINE), locked, a content tag (what
 * the driver last wrote; zero after commit) and write-watch dirty bits. Placement is the
 * kernel's choice: a reserve-anywhere returns a base the model learns, after checking it is
 * free, 64 KiB aligned and inside user space.
 *
 * Address space outside allocations is either KNOWN FREE (below 0x10000, or inside the
 * [known_lo, known_hi) window the driver verified free) or UNKNOWN (other people's
 * mappings may be there). Calls whose outcome depends on unknown memory are predicted as
 * M_UNMODELLED and the driver does not make them.
 *
 * Use: m_predict() says what a call must do (pure); the driver makes the call; m_check()
 * compares; m_commit() applies the predicted change (taking the learned base, or which of
 * two allowed outcomes happened, from the actual result). Rows named in comments (A13,
 * F16, W7, ...) are windows-behaviour.md's; "§" are memoryapi.md's; "SD" is
 * docs/semantics-decisions.md (hostmem's documented choices where the spec is silent);
 * "MODEL" marks a choice the spec leaves open that the model makes on its own (listed in
 * fuzz/README.md).
 *
 * Not thread-safe: one model per driver.
 */
#ifndef HM_MODEL_H
#define HM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostmem/memoryapi.h"

#define M_PAGE ((uint64_t)4096)
#define M_GRAN ((uint64_t)65536)
#define M_MIN ((uint64_t)0x10000)
#define M_MAX ((uint64_t)0x7FFFFFFEFFFF) /* lpMaximumApplicationAddress (inclusive) */
#define M_TOP (M_MAX + 1)

/* Features switched on in the model (and so in the driver). */
#define M_FEAT_WATCH 0x1u       /* MEM_WRITE_WATCH, GetWriteWatch, ResetWriteWatch */
#define M_FEAT_PLACEHOLDER 0x2u /* VirtualAlloc2 and the placeholder free types */

/* Rules that can be switched off one by one (each names its row). */
#define M_RULE_LOCK_MARKS_WATCH 0x1u     /* G6: a successful VirtualLock marks writable pages written */
#define M_RULE_PROTECT_LATCHES_WATCH 0x2u /* W25: VirtualProtect keeps dirty bits through decommit */
#define M_RULE_CACHE_VALID 0x4u /* §6: VirtualProtect never makes NOCACHE/WRITECOMBINE with NOACCESS/GUARD */
#define M_RULE_VA2_EXACT 0x8u   /* §5.5: VirtualAlloc2 base a multiple of 64 KiB, size of the page */
#define M_RULE_UNDO_MARKS_LOCKED 0x10u /* SD: MEM_RESET_UNDO marks locked watched pages written too */
#define M_RULE_NO_SPURIOUS_WATCH 0x20u /* W22: re-protecting locked watched pages reports nothing */

#define M_MAX_ALLOCS 48
#define M_WW_MAX 64 /* most GetWriteWatch entries the driver asks for */

/* Content of a page as far as the model knows it. */
enum m_content { M_ZERO, M_TAG, M_TAG_OR_ZERO };

/* A write-watch bit the model cannot know (a page MEM_RESET may have discarded reads
 * written with the kernel engine: SD "MEM_RESET on watched pages"). GetWriteWatch
 * resolves it. */
#define M_MAYBE 2

/* Placeholder kind of an allocation. */
enum m_placeholder { M_PH_NONE, M_PH_FREE, M_PH_REPLACED };

typedef struct m_page {
    uint32_t prot;    /* committed: full protection (with modifiers); reserved: 0 */
    uint8_t committed;
    uint8_t locked;
    uint8_t content;  /* enum m_content; only meaningful when committed */
    uint8_t tag;
    uint8_t dirty;    /* write watch: written since the last reset (M_MAYBE: perhaps) */
    uint8_t latched;  /* write watch: dirty when a VirtualProtect covered it (W25) */
} m_page_t;

typedef struct m_run {
    uint64_t first; /* page number (address >> 12); the run lasts until the next one */
    m_page_t v;
} m_run_t;

typedef struct m_alloc {
    uint64_t base, end; /* [base, end), page aligned */
    uint32_t alloc_prot;
    uint8_t watch;
    uint8_t placeholder; /* enum m_placeholder */
    uint8_t pinned;      /* the driver's own fences: never released by fuzzed calls */
    m_run_t *runs;
    uint32_t nruns, cap;
} m_alloc_t;

typedef struct m_model {
    m_alloc_t a[M_MAX_ALLOCS]; /* sorted by base */
    uint32_t n;
    uint64_t known_lo, known_hi;
    uint64_t committed, locked; /* bytes */
    uint64_t commit_limit;      /* 0 = none */
    uint64_t lock_limit;        /* locks that would pass it are not modelled (0 = none) */
    uint32_t features;
    uint32_t rules_off;         /* M_RULE_* the driver switched off (known divergences) */
} m_model_t;

typedef enum m_op {
    M_VIRTUAL_ALLOC,
    M_VIRTUAL_ALLOC2,
    M_VIRTUAL_FREE,
    M_VIRTUAL_PROTECT,
    M_VIRTUAL_QUERY,
    M_VIRTUAL_LOCK,
    M_VIRTUAL_UNLOCK,
    M_GET_WRITE_WATCH,
    M_RESET_WRITE_WATCH,
    M_OP_COUNT
} m_op_t;

/* One VirtualAlloc2 extended parameter, decoded (the driver builds the real array). */
typedef struct m_param {
    uint64_t type;       /* MEM_EXTENDED_PARAMETER.Type (8 bits) */
    uint64_t reserved;   /* the 56 Reserved bits */
    bool pointer_null;   /* AddressRequirements with a NULL Pointer */
    uint64_t lowest, highest, alignment; /* AddressRequirements */
    uint64_t value;      /* ULong64 for other types */
} m_param_t;

#define M_MAX_PARAMS 6

typedef struct m_call {
    m_op_t op;
    bool from_app;       /* VirtualAllocFromApp, VirtualProtectFromApp, VirtualAlloc2FromApp */
    uint64_t addr, size;
    uint32_t type;       /* allocation type, free type, or GetWriteWatch flags */
    uint32_t prot;       /* allocation protection or new protection */
    bool null_out;       /* old-protect / query buffer / write-watch address array is NULL */
    bool null_count, null_gran; /* GetWriteWatch out-pointers */
    uint64_t length;     /* VirtualQuery dwLength; GetWriteWatch *lpdwCount on entry */
    uint64_t process;    /* VirtualAlloc2 handle (0 = NULL, UINT64_MAX = current) */
    bool params_null;    /* ExtendedParameters == NULL */
    uint32_t nparams;    /* ParameterCount */
    m_param_t param[M_MAX_PARAMS];
} m_call_t;

/* What a call did (filled by the driver from hostmem, or by the model as its prediction). */
typedef struct m_result {
    uint64_t ret;
    uint32_t error;      /* GetLastError() after the call; the driver sets a sentinel before */
    uint32_t old_prot;   /* VirtualProtect *lpflOldProtect after the call */
    MEMORY_BASIC_INFORMATION mbi;
    uint64_t count;      /* GetWriteWatch *lpdwCount after the call */
    uint64_t addrs[M_WW_MAX];
    uint32_t gran;
} m_result_t;

#define M_SENTINEL_ERROR 0xdeadbeefu
#define M_SENTINEL_OLD 0xfeedf00du
#define M_SENTINEL_COUNT 0x5a5a5a5a5a5a5a5aull
#define M_SENTINEL_GRAN 0xa5a5a5a5u

/* The state change a call makes (internal plan, applied by m_commit). */
typedef enum m_effect_kind {
    M_E_NONE,
    M_E_RESERVE,     /* new allocation (base fixed or learned), maybe committed */
    M_E_COMMIT,
    M_E_DECOMMIT,
    M_E_RELEASE,
    M_E_PROTECT,
    M_E_LOCK,
    M_E_UNLOCK,
    M_E_CLEAR_GUARD, /* failed VirtualLock on a guard page clears that guard (G3) */
    M_E_RESET,
    M_E_RESET_UNDO,
    M_E_WATCH_RESET, /* GetWriteWatch(RESET) / ResetWriteWatch over [lo, hi) */
    M_E_SPLIT,       /* placeholder split: [lo, hi) becomes its own placeholder */
    M_E_COALESCE,    /* free placeholders [lo, hi) become one */
    M_E_TO_PLACEHOLDER, /* a replaced allocation becomes a free placeholder again */
    M_E_REPLACE,     /* a free placeholder becomes a normal allocation */
} m_effect_kind_t;

typedef struct m_effect {
    m_effect_kind_t kind;
    uint64_t lo, hi;  /* byte range (page aligned) */
    uint32_t prot;    /* protection to apply / allocation protect */
    bool commit, watch;
    uint8_t placeholder; /* M_E_RESERVE: enum m_placeholder of the new allocation */
    bool fuzzy, reset;   /* M_E_WATCH_RESET after a GetWriteWatch over M_MAYBE pages */
    uint64_t cap;        /* ... whose array held this many entries */
} m_effect_t;

/* Fields of the result the prediction pins. */
#define M_K_RET 0x01u
#define M_K_ERROR 0x02u
#define M_K_OLD 0x04u
#define M_K_MBI 0x08u      /* every MBI field */
#define M_K_MBI_PART 0x10u /* BaseAddress, AllocationBase, State, Protect, Type (size unknown) */
#define M_K_MBI_BASE 0x20u /* BaseAddress only (unknown memory) */
#define M_K_WW 0x40u

typedef struct m_expect {
    bool unmodelled;     /* outcome depends on what the model does not know: skip the call */
    const char *rule;    /* the spec row that decided it */
    bool ok;             /* the call succeeds */
    m_result_t r;        /* expected values (ret, error, old_prot, mbi, write watch) */
    uint32_t known;      /* M_K_* */
    bool learn_base;     /* ok: ret is a base hostmem chooses (checked, then learned) */
    uint64_t learn_size; /* ... of this many bytes */
    uint64_t learn_align, learn_lo, learn_hi; /* placement bounds [lo, hi) and alignment */
    uint32_t may_fail;   /* nonzero: failure with this error is allowed instead of ok */
    bool ww_fuzzy;       /* GetWriteWatch over M_MAYBE pages: checked by rule, not by list */
    uint64_t ww_lo, ww_hi, ww_cap;
    m_effect_t e;
} m_expect_t;

/* ---- model lifecycle and state ----------------------------------------------------- */
void m_init(m_model_t *m, uint64_t known_lo, uint64_t known_hi, uint32_t features);
void m_fini(m_model_t *m);
/* Adds an allocation the driver made itself (a fence) with no fuzzed call. */
void m_add_reserved(m_model_t *m, uint64_t base, uint64_t size, uint32_t alloc_prot, bool pinned);
m_alloc_t *m_find(const m_model_t *m, uint64_t addr); /* allocation holding addr, or NULL */
bool m_known_free(const m_model_t *m, uint64_t addr); /* not in an allocation, and known */
m_page_t m_page_at(const m_alloc_t *a, uint64_t addr);
uint64_t m_reserved_bytes(const m_model_t *m);

/* ---- calls -------------------------------------------------------------------------- */
void m_predict(const m_model_t *m, const m_call_t *c, m_expect_t *x);
/* 0 = the actual result is one the prediction allows; else writes why into `why`. */
int m_check(const m_model_t *m, const m_call_t *c, const m_expect_t *x, const m_result_t *actual,
            char *why, size_t whylen);
void m_commit(m_model_t *m, const m_call_t *c, const m_expect_t *x, const m_result_t *actual);

/* ---- the driver's own actions on memory (not API calls) ------------------------------ */
bool m_readable(const m_model_t *m, uint64_t addr); /* committed, readable base, no guard */
bool m_writable(const m_model_t *m, uint64_t addr);
/* A write of `tag` over the whole page (only if m_writable). Marks write watch. */
void m_write(m_model_t *m, uint64_t addr, uint8_t tag);
/* What the page must read as: *tag, and whether zero is allowed instead (after MEM_RESET). */
void m_expected_content(const m_model_t *m, uint64_t addr, uint8_t *tag, bool *or_zero);
void m_set_commit_limit(m_model_t *m, uint64_t limit);

/* ---- helpers shared with the driver ------------------------------------------------ */
/* The region VirtualQuery must report at addr; returns M_K_MBI/M_K_MBI_PART/M_K_MBI_BASE. */
uint32_t m_region(const m_model_t *m, uint64_t addr, MEMORY_BASIC_INFORMATION *mbi);
const char *m_op_name(m_op_t op);
/* Pages touching [addr, addr+size): false if addr+size wraps. */
bool m_page_range(uint64_t addr, uint64_t size, uint64_t *lo, uint64_t *hi);
/* Formats a call as C source (for reproducers). */
int m_format_call(const m_call_t *c, char *buf, size_t n);

#endif
