/*
 * test_model.c — the reference model (tests/model/) on its own, against the rows of the
 * specification it encodes: no hostmem call is made here. Each case replays rows of
 * windows-behaviour.md / memoryapi.md through m_predict + m_commit and asserts the
 * predicted return value, last error, out-parameters and VirtualQuery map.
 */
#include <string.h>

#include "model.h"
#include "testlib.h"

#define KLO ((uint64_t)0x100000000000) /* a known-free window for fixed addresses */
#define KHI (KLO + 0x10000000)
#define CUR UINT64_MAX

static m_model_t M;

static void setup(void)
{
    m_init(&M, KLO, KHI, M_FEAT_WATCH | M_FEAT_PLACEHOLDER);
}

static void teardown(void)
{
    m_fini(&M);
}

/* Predicts, "performs" (the actual result is the prediction; learned bases are given),
 * checks and commits one call. */
static m_expect_t run(m_call_t c, uint64_t learned)
{
    m_expect_t x;
    m_predict(&M, &c, &x);
    ck_assert_msg(!x.unmodelled, "unmodelled: %s", x.rule);
    m_result_t r = x.r;
    if (x.learn_base)
        r.ret = learned;
    char why[300];
    ck_assert_msg(m_check(&M, &c, &x, &r, why, sizeof why) == 0, "%s", why);
    m_commit(&M, &c, &x, &r);
    if (x.learn_base)
        x.r.ret = learned;
    return x;
}

static m_expect_t va(uint64_t addr, uint64_t size, uint32_t type, uint32_t prot)
{
    return run((m_call_t){.op = M_VIRTUAL_ALLOC, .addr = addr, .size = size, .type = type,
                          .prot = prot},
               0);
}

static m_expect_t va_at(uint64_t learned, uint64_t size, uint32_t type, uint32_t prot)
{
    return run((m_call_t){.op = M_VIRTUAL_ALLOC, .size = size, .type = type, .prot = prot},
               learned);
}

static m_expect_t vf(uint64_t addr, uint64_t size, uint32_t type)
{
    return run((m_call_t){.op = M_VIRTUAL_FREE, .addr = addr, .size = size, .type = type}, 0);
}

static m_expect_t vp(uint64_t addr, uint64_t size, uint32_t prot)
{
    return run((m_call_t){.op = M_VIRTUAL_PROTECT, .addr = addr, .size = size, .prot = prot}, 0);
}

static m_expect_t lock(uint64_t addr, uint64_t size)
{
    return run((m_call_t){.op = M_VIRTUAL_LOCK, .addr = addr, .size = size}, 0);
}

static m_expect_t unlock(uint64_t addr, uint64_t size)
{
    return run((m_call_t){.op = M_VIRTUAL_UNLOCK, .addr = addr, .size = size}, 0);
}

static m_expect_t gww(uint32_t flags, uint64_t addr, uint64_t size, uint64_t count)
{
    return run((m_call_t){.op = M_GET_WRITE_WATCH, .type = flags, .addr = addr, .size = size,
                          .length = count},
               0);
}

static m_expect_t rww(uint64_t addr, uint64_t size)
{
    return run((m_call_t){.op = M_RESET_WRITE_WATCH, .addr = addr, .size = size}, 0);
}

static m_expect_t va2(uint64_t addr, uint64_t size, uint32_t type, uint32_t prot,
                      uint64_t learned)
{
    return run((m_call_t){.op = M_VIRTUAL_ALLOC2, .process = CUR, .addr = addr, .size = size,
                          .type = type, .prot = prot},
               learned);
}

static void ok(m_expect_t x, uint64_t ret)
{
    ck_assert_msg(x.ok, "expected success, got error %u (%s)", x.r.error, x.rule);
    ck_assert_uint_eq(x.r.ret, ret);
}

static void fails(m_expect_t x, uint32_t err)
{
    ck_assert_msg(!x.ok, "expected failure %u, got success (%s)", err, x.rule);
    ck_assert_uint_eq(x.r.error, err);
}

static void region(uint64_t addr, uint64_t base, uint64_t abase, uint32_t aprot, uint64_t size,
                   uint32_t state, uint32_t prot)
{
    MEMORY_BASIC_INFORMATION mbi;
    ck_assert_uint_eq(m_region(&M, addr, &mbi), M_K_MBI);
    ck_assert_uint_eq((uint64_t)(uintptr_t)mbi.BaseAddress, base);
    ck_assert_uint_eq((uint64_t)(uintptr_t)mbi.AllocationBase, abase);
    ck_assert_uint_eq(mbi.AllocationProtect, aprot);
    ck_assert_uint_eq(mbi.RegionSize, size);
    ck_assert_uint_eq(mbi.State, state);
    ck_assert_uint_eq(mbi.Protect, prot);
    ck_assert_uint_eq(mbi.Type, state == MEM_FREE ? 0 : MEM_PRIVATE);
}

/* §1.2 table: the six valid bases; everything else in the low byte is 87 */
START_TEST(protection_validity)
{
    for (uint32_t b = 0; b < 0x100; b++) {
        bool valid = b == 1 || b == 2 || b == 4 || b == 0x10 || b == 0x20 || b == 0x40;
        setup();
        m_expect_t x = va_at(KLO, P, MEM_COMMIT, b);
        ck_assert_int_eq(x.ok, valid);
        if (!valid)
            ck_assert_uint_eq(x.r.error, ERROR_INVALID_PARAMETER);
        teardown();
    }
    setup();
    fails(va(0, P, MEM_COMMIT, PAGE_NOACCESS | PAGE_GUARD), ERROR_INVALID_PARAMETER);
    fails(va(0, P, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD | PAGE_NOCACHE), ERROR_INVALID_PARAMETER);
    fails(va(0, P, MEM_COMMIT, PAGE_READWRITE | PAGE_NOCACHE | PAGE_WRITECOMBINE), ERROR_INVALID_PARAMETER);
    fails(va(0, P, MEM_COMMIT, PAGE_READWRITE | PAGE_TARGETS_INVALID), ERROR_INVALID_PARAMETER);
    fails(va(0, P, MEM_COMMIT, PAGE_READWRITE | PAGE_GRAPHICS_READONLY), ERROR_INVALID_PARAMETER);
    ok(va_at(KLO, P, MEM_COMMIT, PAGE_EXECUTE_READ | PAGE_TARGETS_INVALID), KLO);
    region(KLO, KLO, KLO, PAGE_EXECUTE_READ, P, MEM_COMMIT, PAGE_EXECUTE_READ);
    ok(va_at(KLO + G, P, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD), KLO + G);
    region(KLO + G, KLO + G, KLO + G, PAGE_READWRITE | PAGE_GUARD, P, MEM_COMMIT,
           PAGE_READWRITE | PAGE_GUARD); /* G1 */
    teardown();
}
END_TEST

/* A1–A8, A12–A14, A17 */
START_TEST(alloc_rows)
{
    setup();
    fails(va(0, 0, MEM_RESERVE, PAGE_NOACCESS), ERROR_INVALID_PARAMETER);          /* A1 */
    ok(va_at(KLO, 0xFFFC, MEM_RESERVE, PAGE_NOACCESS), KLO);                        /* A2 */
    region(KLO, KLO, KLO, PAGE_NOACCESS, G, MEM_RESERVE, 0);
    fails(vp(KLO, 0xFFFC, PAGE_READONLY), ERROR_INVALID_ADDRESS);                    /* A3 */
    ok(va(KLO, 0x1000, MEM_COMMIT, PAGE_NOACCESS), KLO);                            /* A4 */
    region(KLO, KLO, KLO, PAGE_NOACCESS, P, MEM_COMMIT, PAGE_NOACCESS);
    fails(vp(KLO, 0xFFFC, PAGE_READONLY), ERROR_INVALID_ADDRESS);                    /* A5 */
    m_expect_t x = vp(KLO, 0x1000, PAGE_READONLY);                                  /* A6 */
    ok(x, 1);
    ck_assert_uint_eq(x.r.old_prot, PAGE_NOACCESS);
    x = vp(KLO, 0x1000, PAGE_READWRITE);
    ck_assert_uint_eq(x.r.old_prot, PAGE_READONLY);
    region(KLO, KLO, KLO, PAGE_NOACCESS, P, MEM_COMMIT, PAGE_READWRITE);
    fails(va(0, P, MEM_RESERVE, 0), ERROR_INVALID_PARAMETER);                        /* A7 */
    fails(va(0, P, MEM_COMMIT, 0), ERROR_INVALID_PARAMETER);
    fails(va(KLO, P, MEM_COMMIT, PAGE_READONLY | PAGE_EXECUTE), ERROR_INVALID_PARAMETER); /* A8 */
    ok(va(KLO, P, MEM_COMMIT, PAGE_READONLY), KLO);                                 /* A13 */
    region(KLO, KLO, KLO, PAGE_NOACCESS, P, MEM_COMMIT, PAGE_READONLY);
    fails(va(KLO + P, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_ADDRESS); /* A14 */
    ok(va(KLO + 2 * G + 0x1234, 0x2000, MEM_RESERVE, PAGE_READWRITE), KLO + 2 * G);  /* A17 */
    region(KLO + 2 * G, KLO + 2 * G, KLO + 2 * G, PAGE_READWRITE, 0x4000, MEM_RESERVE, 0);
    fails(va(0x8000, P, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    fails(va(KLO, UINT64_MAX - KLO + P, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    fails(va(0x7FFFFFFE0000, 0x20000, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    fails(va(0, SIZE_MAX, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    fails(va(0, 0x800000000000, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    fails(va(0, 0x7FFFFFFE0000, MEM_RESERVE, PAGE_READWRITE), ERROR_NOT_ENOUGH_MEMORY);
    fails(va(KLO + 5 * G, P, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_ADDRESS);    /* A15 */
    fails(va(KLO, P, MEM_RESERVE | MEM_DECOMMIT, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    fails(va(KLO, P, MEM_TOP_DOWN, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    /* the tail of the last granule is free, but reserving there rounds onto the allocation */
    ok(va(KLO + 3 * G, G, MEM_RESERVE, PAGE_READONLY), KLO + 3 * G);
    region(KLO + 2 * G + 0x4000, KLO + 2 * G + 0x4000, 0, 0, G - 0x4000, MEM_FREE, PAGE_NOACCESS);
    fails(va(KLO + 2 * G + 0x8000, P, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    fails(va(KLO + 2 * G + 0x8000, P, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    teardown();
}
END_TEST

/* A12, X1/X2: commit with a NULL address reserves; FromApp refuses execute */
START_TEST(alloc_anywhere_and_from_app)
{
    setup();
    m_call_t c = {.op = M_VIRTUAL_ALLOC, .size = 3 * P, .type = MEM_COMMIT, .prot = PAGE_READONLY};
    m_expect_t x;
    m_predict(&M, &c, &x);
    ck_assert(x.ok && x.learn_base);
    m_result_t r = x.r;
    char why[200];
    r.ret = KLO + 0x1000; /* not 64 KiB aligned */
    ck_assert_int_ne(m_check(&M, &c, &x, &r, why, sizeof why), 0);
    ok(va_at(KLO, 3 * P, MEM_COMMIT, PAGE_READONLY), KLO);
    region(KLO, KLO, KLO, PAGE_READONLY, 3 * P, MEM_COMMIT, PAGE_READONLY);
    r.ret = KLO; /* overlaps the allocation just made */
    ck_assert_int_ne(m_check(&M, &c, &x, &r, why, sizeof why), 0);
    c.from_app = true;
    c.prot = PAGE_EXECUTE_READ;
    m_predict(&M, &c, &x);
    fails(x, ERROR_INVALID_PARAMETER);
    c.prot = PAGE_READWRITE;
    m_predict(&M, &c, &x);
    ck_assert(x.ok);
    teardown();
}
END_TEST

/* R1–R5 and MEM_RESET_UNDO */
START_TEST(reset_rows)
{
    setup();
    ok(va(KLO, G, MEM_RESERVE, PAGE_READWRITE), KLO);
    ok(va(KLO, P, MEM_COMMIT, PAGE_READWRITE), KLO);
    m_write(&M, KLO, 7);
    ok(va(KLO, P, MEM_RESET, PAGE_NOACCESS), KLO);                                  /* R1 */
    region(KLO, KLO, KLO, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE);
    uint8_t tag;
    bool or_zero;
    m_expected_content(&M, KLO, &tag, &or_zero);
    ck_assert(tag == 7 && or_zero);
    ok(va(KLO + P, P, MEM_RESET, PAGE_NOACCESS), KLO + P);                          /* R2 */
    region(KLO + P, KLO + P, KLO, PAGE_READWRITE, 0xF000, MEM_RESERVE, 0);
    fails(va(KLO + 0xF000, 0x2000, MEM_RESET, PAGE_NOACCESS), ERROR_INVALID_ADDRESS); /* R3 */
    fails(va(KLO, P, MEM_RESET | MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    fails(va(KLO, P, MEM_RESET | MEM_RESET_UNDO, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    fails(va(KLO, P, MEM_RESET, 0), ERROR_INVALID_PARAMETER);
    fails(va(0, P, MEM_RESET, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    m_expect_t x = va(KLO, P, MEM_RESET_UNDO, PAGE_READWRITE);
    ok(x, KLO);
    ck_assert_uint_eq(x.may_fail, ERROR_INVALID_ADDRESS);
    m_expected_content(&M, KLO, &tag, &or_zero);
    ck_assert(tag == 7 && !or_zero);
    teardown();
}
END_TEST

/* F1–F10, F16, F17 */
START_TEST(free_rows)
{
    setup();
    ok(va(KLO, G, MEM_RESERVE, PAGE_READWRITE), KLO);
    ok(va(KLO, 2 * P, MEM_COMMIT, PAGE_READWRITE), KLO);
    fails(vf(KLO, G, 0), ERROR_INVALID_PARAMETER);                                  /* F1 */
    fails(vf(KLO, 0, MEM_FREE), ERROR_INVALID_PARAMETER);                           /* F2 */
    fails(vf(KLO, 0, MEM_DECOMMIT | MEM_RELEASE), ERROR_INVALID_PARAMETER);          /* F6 */
    fails(vf(KLO, 1, MEM_RELEASE), ERROR_INVALID_PARAMETER);                        /* F4 */
    fails(vf(KLO + 0x1001, 0, MEM_DECOMMIT), ERROR_INVALID_ADDRESS);                 /* F8 */
    fails(vf(KLO + 0x1001, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    ok(vf(KLO + 0xfff, 2, MEM_DECOMMIT), 1);                                        /* F7 */
    region(KLO, KLO, KLO, PAGE_READWRITE, G, MEM_RESERVE, 0);
    ok(vf(KLO, G, MEM_DECOMMIT), 1);                                                /* F3 */
    ok(vf(KLO + 0xffe, 0, MEM_DECOMMIT), 1);                                        /* F9 */
    fails(vf(KLO, 0x11000, MEM_DECOMMIT), ERROR_INVALID_PARAMETER);                  /* F11 */
    ok(va(KLO + G, G, MEM_RESERVE, PAGE_READWRITE), KLO + G);
    fails(vf(KLO + 0x8000, G, MEM_DECOMMIT), ERROR_INVALID_PARAMETER);               /* F16 */
    ok(vf(KLO + 0xfff, 0, MEM_RELEASE), 1);                                         /* F10 */
    region(KLO, KLO, 0, 0, G, MEM_FREE, PAGE_NOACCESS);
    fails(vf(KLO, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);                          /* F17 */
    fails(vf(KLO, P, MEM_DECOMMIT), ERROR_INVALID_ADDRESS);
    fails(vf(0x800000000000, 0, MEM_RELEASE), ERROR_INVALID_PARAMETER);              /* SD */
    fails(vf(0, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    fails(vf(KLO + G, SIZE_MAX, MEM_DECOMMIT), ERROR_INVALID_PARAMETER);
    teardown();
}
END_TEST

/* Q1–Q4, Q8, Q9 and the SD order */
START_TEST(query_rows)
{
    setup();
    m_call_t c = {.op = M_VIRTUAL_QUERY, .addr = KLO, .length = 47};
    m_expect_t x;
    m_predict(&M, &c, &x);
    fails(x, ERROR_BAD_LENGTH);
    c.length = 48;
    c.addr = M_MAX + 1;
    m_predict(&M, &c, &x);
    fails(x, ERROR_INVALID_PARAMETER);
    c.addr = KLO;
    c.null_out = true;
    m_predict(&M, &c, &x);
    fails(x, ERROR_NOACCESS);
    ok(va(KLO + 2 * G, 16 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE), KLO + 2 * G);
    ok(vp(KLO + 2 * G, 3 * P, PAGE_READONLY), 1);                                   /* Q3 */
    region(KLO + 2 * G + 5, KLO + 2 * G, KLO + 2 * G, PAGE_READWRITE, 3 * P, MEM_COMMIT,
           PAGE_READONLY);
    region(KLO + 100, KLO, 0, 0, 2 * G, MEM_FREE, PAGE_NOACCESS);                    /* Q4 */
    c.null_out = false;
    c.addr = 0;
    m_predict(&M, &c, &x);
    ok(x, 48);
    ck_assert(x.known & M_K_MBI_PART);
    ck_assert_uint_eq(x.r.mbi.State, MEM_FREE);
    c.addr = KHI + G; /* outside the known window */
    m_predict(&M, &c, &x);
    ck_assert(x.known & M_K_MBI_BASE);
    teardown();
}
END_TEST

/* §1.2: old protection, failures, NULL old pointer, NOCACHE stickiness, FromApp */
START_TEST(protect_rows)
{
    setup();
    ok(va(KLO, 0x2000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_NOCACHE), KLO);
    m_expect_t x = vp(KLO, 0x1000, PAGE_READWRITE);
    ck_assert_uint_eq(x.r.old_prot, PAGE_READWRITE | PAGE_NOCACHE);
    region(KLO, KLO, KLO, PAGE_READWRITE | PAGE_NOCACHE, 0x2000, MEM_COMMIT,
           PAGE_READWRITE | PAGE_NOCACHE);
    ok(vp(KLO, 0x1000, PAGE_READONLY), 1);
    region(KLO, KLO, KLO, PAGE_READWRITE | PAGE_NOCACHE, P, MEM_COMMIT, PAGE_READONLY | PAGE_NOCACHE);
    ok(vp(KLO, P, PAGE_NOACCESS), 1); /* §6: never NOACCESS|NOCACHE */
    region(KLO, KLO, KLO, PAGE_READWRITE | PAGE_NOCACHE, P, MEM_COMMIT, PAGE_NOACCESS);
    ok(vp(KLO, P, PAGE_READONLY | PAGE_WRITECOMBINE), 1); /* the allocation's attribute */
    region(KLO, KLO, KLO, PAGE_READWRITE | PAGE_NOCACHE, P, MEM_COMMIT, PAGE_READONLY | PAGE_NOCACHE);
    ok(va(KLO + G, 0x2000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE), KLO + G);
    ok(vp(KLO + G, 1, PAGE_READONLY | PAGE_NOCACHE), 1);
    region(KLO + G, KLO + G, KLO + G, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READONLY);
    x = vp(KLO + G, 0x100000, PAGE_READWRITE);                                      /* X5 */
    fails(x, ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(x.r.old_prot, PAGE_NOACCESS);
    x = vp(KLO + G, P, 0);
    fails(x, ERROR_INVALID_PARAMETER);
    ck_assert_uint_eq(x.r.old_prot, M_SENTINEL_OLD);
    fails(vp(KLO + G, 0, PAGE_READONLY), ERROR_INVALID_PARAMETER);
    x = run((m_call_t){.op = M_VIRTUAL_PROTECT, .addr = KLO + G, .size = P, .prot = PAGE_READONLY,
                       .null_out = true},
            0);
    fails(x, ERROR_NOACCESS);
    x = run((m_call_t){.op = M_VIRTUAL_PROTECT, .from_app = true, .addr = KLO + G, .size = P,
                       .prot = PAGE_EXECUTE_READWRITE},
            0);
    fails(x, ERROR_INVALID_PARAMETER);
    fails(vp(KLO + G, P, PAGE_GUARD), ERROR_INVALID_PARAMETER);                      /* X7 */
    ok(vp(KLO + G, P, PAGE_EXECUTE_READ | PAGE_TARGETS_NO_UPDATE), 1);
    x = vp(0, P, PAGE_READWRITE);
    fails(x, ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(x.r.old_prot, PAGE_NOACCESS);
    ok(vp(KLO + G, P, PAGE_READWRITE | PAGE_GUARD), 1);                             /* G2 */
    x = vp(KLO + G, P, PAGE_READWRITE);
    ck_assert_uint_eq(x.r.old_prot, PAGE_READWRITE | PAGE_GUARD);
    teardown();
}
END_TEST

/* §5.9, G3, SD lock rows */
START_TEST(lock_rows)
{
    setup();
    ok(va(KLO, G, MEM_RESERVE, PAGE_READWRITE), KLO);
    ok(va(KLO, 4 * P, MEM_COMMIT, PAGE_READWRITE), KLO);
    fails(lock(KLO, 0), ERROR_INVALID_PARAMETER);
    fails(lock(KLO, 5 * P), ERROR_INVALID_ADDRESS);
    ok(lock(KLO, P), 1);
    ok(lock(KLO, 2 * P), 1);
    ck_assert_uint_eq(M.locked, 2 * P);
    ok(unlock(KLO + 1, 1), 1); /* no lock count */
    fails(unlock(KLO, P), ERROR_NOT_LOCKED);
    fails(unlock(KLO, 2 * P), ERROR_NOT_LOCKED);
    ck_assert_uint_eq(M.locked, P);
    fails(unlock(KLO + 4 * P, P), ERROR_NOT_LOCKED); /* reserved */
    ok(vp(KLO + 2 * P, P, PAGE_NOACCESS), 1);
    ok(vp(KLO + 3 * P, P, PAGE_READWRITE | PAGE_GUARD), 1);
    fails(lock(KLO + 2 * P, P), ERROR_NOACCESS);
    fails(lock(KLO + 2 * P, 2 * P), (uint32_t)STATUS_GUARD_PAGE_VIOLATION); /* guard first */
    ok(vp(KLO + 3 * P, P, PAGE_READWRITE | PAGE_GUARD), 1);
    fails(lock(KLO + 3 * P, P), (uint32_t)STATUS_GUARD_PAGE_VIOLATION);              /* G3 */
    region(KLO + 3 * P, KLO + 3 * P, KLO, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE);
    ok(lock(KLO + 3 * P, P), 1);
    fails(lock(0, P), ERROR_INVALID_ADDRESS);
    fails(lock(0x800000000000, P), ERROR_INVALID_PARAMETER);
    ok(vf(KLO, 0, MEM_DECOMMIT), 1);
    ck_assert_uint_eq(M.locked, 0);
    ck_assert_uint_eq(M.committed, 0);
    teardown();
}
END_TEST

static void dirty(uint64_t addr)
{
    ck_assert(m_writable(&M, addr));
    m_write(&M, addr, 1);
}

static void watch_count(uint64_t base, uint64_t size, uint64_t n)
{
    m_expect_t x = gww(0, base, size, M_WW_MAX);
    ok(x, 0);
    ck_assert_uint_eq(x.r.count, n);
}

/* W1–W7, W10–W17, W22–W26 */
START_TEST(write_watch_rows)
{
    setup();
    uint64_t b = KLO;
    ok(va(b, G, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE), b);
    watch_count(b, G, 0);                                                           /* W1 */
    dirty(b + P + 1);
    m_expect_t x = gww(0, b, G, M_WW_MAX);                                          /* W2 */
    ck_assert_uint_eq(x.r.count, 1);
    ck_assert_uint_eq(x.r.addrs[0], b + P);
    ck_assert_uint_eq(x.r.gran, P);
    x = gww(WRITE_WATCH_FLAG_RESET, b, G, M_WW_MAX);                                /* W3 */
    ck_assert_uint_eq(x.r.count, 1);
    watch_count(b, G, 0);
    dirty(b + 2 * P);
    dirty(b + 4 * P);
    x = gww(0, b + 3 * P, 2 * P, M_WW_MAX);                                         /* W4 */
    ck_assert_uint_eq(x.r.count, 1);
    ck_assert_uint_eq(x.r.addrs[0], b + 4 * P);
    ok(rww(b, 3 * P), 0);                                                           /* W5 */
    watch_count(b, G, 1);
    dirty(b + 1 * P);
    dirty(b + 2 * P);
    x = gww(WRITE_WATCH_FLAG_RESET, b, G, 1);                                       /* W7 */
    ck_assert_uint_eq(x.r.count, 1);
    ck_assert_uint_eq(x.r.addrs[0], b + P);
    watch_count(b, G, 2);
    ok(vp(b, 6 * P, PAGE_READONLY), 1);                                             /* W8 */
    ok(vp(b, 6 * P, PAGE_READWRITE), 1);
    watch_count(b, G, 2);
    fails(gww(0, 0, G, M_WW_MAX), ERROR_INVALID_PARAMETER);                          /* W10 */
    fails(gww(0, b, G, 0), ERROR_INVALID_PARAMETER);                                /* W12 */
    fails(run((m_call_t){.op = M_GET_WRITE_WATCH, .addr = b, .size = G, .length = 64,
                         .null_count = true}, 0), ERROR_NOACCESS);                 /* W13 */
    fails(run((m_call_t){.op = M_GET_WRITE_WATCH, .addr = b, .size = G, .length = 64,
                         .null_gran = true}, 0), ERROR_NOACCESS);
    fails(run((m_call_t){.op = M_GET_WRITE_WATCH, .addr = b, .size = G, .length = 64,
                         .null_out = true}, 0), ERROR_NOACCESS);
    fails(run((m_call_t){.op = M_GET_WRITE_WATCH, .addr = b, .size = G, .length = 0,
                         .null_out = true}, 0), ERROR_INVALID_PARAMETER);          /* W14 */
    fails(gww(0xdeadbeef, b, G, M_WW_MAX), ERROR_INVALID_PARAMETER);                 /* W15 */
    fails(gww(0, b, 0, M_WW_MAX), ERROR_INVALID_PARAMETER);                          /* W16 */
    fails(gww(0, b, 2 * G, M_WW_MAX), ERROR_INVALID_PARAMETER);
    fails(gww(0, b + G - P, P + 1, M_WW_MAX), ERROR_INVALID_PARAMETER);
    fails(rww(b, 0), ERROR_INVALID_PARAMETER);                                      /* W17 */
    ok(rww(b, G), 0);
    /* W22: decommit and protect make no hits */
    ok(vf(b + P, P, MEM_DECOMMIT), 1);
    ok(vp(b + 2 * P, P, PAGE_READWRITE), 1);
    watch_count(b, G, 0);
    /* W23: decommit clears watch state */
    dirty(b + 3 * P);
    dirty(b + 5 * P);
    ok(vf(b, G, MEM_DECOMMIT), 1);
    watch_count(b, G, 0);
    ok(va(b, G, MEM_COMMIT, PAGE_READWRITE), b);                                     /* W24 */
    watch_count(b, G, 0);
    /* W25/W26: a VirtualProtect latches the dirty bit through decommit */
    dirty(b + 3 * P);
    ok(vp(b, 6 * P, PAGE_READWRITE), 1);
    dirty(b + 5 * P);
    ok(vf(b, G, MEM_DECOMMIT), 1);
    watch_count(b, G, 1);
    ok(va(b, G, MEM_COMMIT, PAGE_READWRITE), b);
    dirty(b + 4 * P);
    dirty(b + 2 * P);
    dirty(b + 6 * P);
    watch_count(b, G, 4);
    /* W20: a reserve-only NOACCESS watch region */
    ok(va(b + G, G, MEM_RESERVE | MEM_WRITE_WATCH, PAGE_NOACCESS), b + G);
    watch_count(b + G, G, 0);
    ok(rww(b + G, G), 0);
    fails(va(0, G, MEM_WRITE_WATCH, PAGE_READWRITE), ERROR_INVALID_PARAMETER);       /* W19 */
    fails(va(b, P, MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    /* G6: a successful lock reports a writable page written */
    ok(rww(b, G), 0);
    ok(lock(b, P), 1);
    watch_count(b, G, 1);
    teardown();
}
END_TEST

/* P5–P23 */
START_TEST(placeholder_rows)
{
    setup();
    uint64_t p = KLO, s = 4 * G;
    fails(va2(0, s, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, PAGE_READWRITE, 0),
          ERROR_INVALID_PARAMETER);                                                 /* P5 */
    ok(va2(p, s, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS, 0), p);      /* P6 */
    region(p, p, p, PAGE_NOACCESS, s, MEM_RESERVE, 0);
    fails(va2(p, s, MEM_RESERVE, PAGE_READWRITE, 0), ERROR_INVALID_ADDRESS);          /* P10 */
    fails(va2(p, s, MEM_COMMIT, PAGE_READWRITE, 0), ERROR_INVALID_ADDRESS);
    fails(va(p, P, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    fails(va2(p, G, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, 0),
          ERROR_INVALID_ADDRESS);                                                   /* P11 */
    fails(va2(p, s, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, 0), ERROR_INVALID_PARAMETER); /* P12 */
    fails(va2(p, s, MEM_COMMIT | MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, 0),
          ERROR_INVALID_PARAMETER);
    fails(vf(p, 0, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER), ERROR_INVALID_PARAMETER); /* P15 */
    fails(vf(p, s, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER), ERROR_INVALID_ADDRESS);   /* P14 */
    ok(vf(p + 2 * G, G, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER), 1);                /* P16 */
    region(p, p, p, PAGE_NOACCESS, 2 * G, MEM_RESERVE, 0);
    region(p + 2 * G, p + 2 * G, p + 2 * G, PAGE_NOACCESS, G, MEM_RESERVE, 0);
    region(p + 3 * G, p + 3 * G, p + 3 * G, PAGE_NOACCESS, G, MEM_RESERVE, 0);
    fails(vf(p, 0, MEM_COALESCE_PLACEHOLDERS), ERROR_INVALID_PARAMETER);             /* P18 */
    fails(vf(p, 0, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS), ERROR_INVALID_PARAMETER); /* P19 */
    fails(vf(p, 2 * G, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS), ERROR_INVALID_ADDRESS); /* P20 */
    fails(vf(p, 3 * G + P, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS), ERROR_INVALID_ADDRESS);
    ok(va2(p + 2 * G, G, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, 0),
       p + 2 * G);                                                                  /* P7 */
    region(p + 2 * G, p + 2 * G, p + 2 * G, PAGE_READWRITE, G, MEM_COMMIT, PAGE_READWRITE);
    fails(vf(p, s, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS), ERROR_INVALID_ADDRESS); /* P23 */
    m_write(&M, p + 2 * G, 9);
    ok(vf(p + 2 * G, G, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER), 1);                /* P8 */
    region(p + 2 * G, p + 2 * G, p + 2 * G, PAGE_NOACCESS, G, MEM_RESERVE, 0);
    ck_assert_uint_eq(M.committed, 0);
    ok(vf(p, s, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS), 1);                       /* P22 */
    region(p, p, p, PAGE_NOACCESS, s, MEM_RESERVE, 0);
    ok(vf(p + G, G, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER), 1);
    ok(vf(p, 0, MEM_RELEASE), 1);                                                   /* P16 */
    region(p, p, 0, 0, G, MEM_FREE, PAGE_NOACCESS);
    ok(va(KLO + 8 * G, G, MEM_RESERVE, PAGE_READWRITE), KLO + 8 * G);
    fails(vf(KLO + 8 * G, G, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER), ERROR_INVALID_ADDRESS); /* P13 */
    m_call_t c = {.op = M_VIRTUAL_ALLOC2, .process = 0x1234, .size = G, .type = MEM_RESERVE,
                  .prot = PAGE_READWRITE};
    m_expect_t x;
    m_predict(&M, &c, &x);
    fails(x, ERROR_INVALID_HANDLE);
    c.process = CUR;
    c.addr = KLO + 0x1000;
    m_predict(&M, &c, &x);
    fails(x, ERROR_INVALID_PARAMETER);
    teardown();
}
END_TEST

static m_expect_t va2_req(uint64_t lo, uint64_t hi, uint64_t align, uint64_t learned)
{
    m_call_t c = {.op = M_VIRTUAL_ALLOC2, .process = CUR, .size = G, .type = MEM_RESERVE,
                  .prot = PAGE_READWRITE, .nparams = 1};
    c.param[0] = (m_param_t){.type = MemExtendedParameterAddressRequirements, .lowest = lo,
                             .highest = hi, .alignment = align};
    return run(c, learned);
}

/* M1–M13 */
START_TEST(address_requirement_rows)
{
    setup();
    m_call_t c = {.op = M_VIRTUAL_ALLOC2, .process = CUR, .size = G, .type = MEM_RESERVE,
                  .prot = PAGE_READWRITE, .nparams = 1};
    m_expect_t x;
    m_predict(&M, &c, &x);
    fails(x, ERROR_INVALID_PARAMETER);                                              /* M1 */
    c.param[0].type = MemExtendedParameterMax;
    m_predict(&M, &c, &x);
    fails(x, ERROR_INVALID_PARAMETER);
    c.nparams = 2;
    c.param[0].type = c.param[1].type = MemExtendedParameterAddressRequirements;
    m_predict(&M, &c, &x);
    fails(x, ERROR_INVALID_PARAMETER);                                              /* M3 */
    c.nparams = 1;
    c.params_null = true;
    m_predict(&M, &c, &x);
    fails(x, ERROR_INVALID_PARAMETER);                                              /* P2 */
    ok(va2_req(0, 0, 0, KLO), KLO);                                                 /* M2 */
    fails(va2_req(0, 0x20001001, 0, 0), ERROR_INVALID_PARAMETER);                    /* M4 */
    fails(va2_req(0, 0x20000FFE, 0, 0), ERROR_INVALID_PARAMETER);
    fails(va2_req(0, M_MAX + 0x1000, 0, 0), ERROR_INVALID_PARAMETER);                /* M5 */
    ok(va2_req(0, M_MAX, 0, KLO + G), KLO + G);
    fails(va2_req(0, 0x20000FFF, 0x8000, 0), ERROR_INVALID_PARAMETER);               /* M9 */
    fails(va2_req(0, 0x20000FFF, 0x30000, 0), ERROR_INVALID_PARAMETER);
    fails(va2_req(0x20001000, 0, 0, 0), ERROR_INVALID_PARAMETER);                    /* M10 */
    fails(va2_req(0x30000000, 0x20000000 - 1, 0, 0), ERROR_INVALID_PARAMETER);       /* M11 */
    fails(va2_req(M_MAX + 1, 0, 0, 0), ERROR_INVALID_PARAMETER);                     /* M13 */
    fails(va2_req(0, 0x20000FFF, 0x20000000, 0), ERROR_NOT_ENOUGH_MEMORY);           /* M8 */
    x = va2_req(KLO + 4 * G, KLO + 8 * G - 1, 0x40000, KLO + 4 * G);                 /* M9, M12 */
    ck_assert(x.learn_base && x.learn_align == 0x40000 && x.learn_lo == KLO + 4 * G);
    c.params_null = false;
    c.param[0] = (m_param_t){.type = MemExtendedParameterAddressRequirements, .lowest = KLO};
    c.addr = KLO + 16 * G;
    m_predict(&M, &c, &x);
    fails(x, ERROR_INVALID_PARAMETER);                                              /* M7 */
    c.param[0].lowest = 0; /* all zero: no constraint, also with an address ([VA2]) */
    m_predict(&M, &c, &x);
    ck_assert(x.ok);
    teardown();
}
END_TEST

/* §5.3 commit limit; SD: the address conflict is found before the charge */
START_TEST(commit_limit)
{
    setup();
    m_set_commit_limit(&M, 4 * P);
    ok(va(KLO, G, MEM_RESERVE, PAGE_READWRITE), KLO);
    ok(va(KLO, 3 * P, MEM_COMMIT, PAGE_READWRITE), KLO);
    fails(va(KLO, 5 * P, MEM_COMMIT, PAGE_READWRITE), ERROR_COMMITMENT_LIMIT);
    ok(va(KLO, 4 * P, MEM_COMMIT, PAGE_READONLY), KLO);
    ck_assert_uint_eq(M.committed, 4 * P);
    fails(va(KLO, 2 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    fails(va(0, P, MEM_COMMIT, PAGE_READWRITE), ERROR_COMMITMENT_LIMIT);
    m_set_commit_limit(&M, P); /* below what is committed: re-commit still works */
    ok(va(KLO, P, MEM_COMMIT, PAGE_READWRITE), KLO);
    fails(va(KLO + 5 * P, P, MEM_COMMIT, PAGE_READWRITE), ERROR_COMMITMENT_LIMIT);
    teardown();
}
END_TEST

/* memory the model does not know is not predicted */
START_TEST(unknown_memory_is_unmodelled)
{
    setup();
    uint64_t far = KHI + 16 * G;
    m_call_t calls[] = {
        {.op = M_VIRTUAL_ALLOC, .addr = far, .size = P, .type = MEM_RESERVE, .prot = PAGE_READWRITE},
        {.op = M_VIRTUAL_ALLOC, .addr = far, .size = P, .type = MEM_RESET, .prot = PAGE_READWRITE},
        {.op = M_VIRTUAL_PROTECT, .addr = far, .size = P, .prot = PAGE_READWRITE},
        {.op = M_VIRTUAL_LOCK, .addr = far, .size = P},
        {.op = M_VIRTUAL_UNLOCK, .addr = far, .size = P},
        {.op = M_VIRTUAL_ALLOC, .size = (uint64_t)4 << 40, .type = MEM_RESERVE, .prot = PAGE_READWRITE},
        {.op = M_VIRTUAL_ALLOC, .size = P, .type = MEM_RESERVE | MEM_LARGE_PAGES | MEM_COMMIT,
         .prot = PAGE_READWRITE},
        {.op = M_VIRTUAL_ALLOC, .size = P, .type = MEM_RESERVE | MEM_PHYSICAL, .prot = PAGE_READWRITE},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        m_expect_t x;
        m_predict(&M, &calls[i], &x);
        ck_assert_msg(x.unmodelled, "call %zu predicted (%s)", i, x.rule);
    }
    /* ... but their certain failures are */
    fails(va(far, P, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    fails(vf(far, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    fails(va(0, P, MEM_PHYSICAL | MEM_RESERVE, PAGE_READONLY), ERROR_INVALID_PARAMETER);
    teardown();
}
END_TEST

/* SD rows of issue 4 the model follows where the spec is silent */
START_TEST(issue4_decision_rows)
{
    setup();
    uint64_t p = KLO;
    ok(va2(p, 4 * G, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS, 0), p);
    ok(vf(p, G, MEM_DECOMMIT), 1);                      /* a placeholder decommits: nothing to do */
    ok(va(p, G, MEM_RESET, PAGE_READWRITE), p);          /* ... and resets */
    fails(va2(p + 8 * G, G, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, 0),
          ERROR_INVALID_PARAMETER);                       /* free memory */
    ok(va(p + 8 * G, G, MEM_RESERVE, PAGE_READWRITE), p + 8 * G);
    fails(va2(p + 8 * G, G, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, 0),
          ERROR_INVALID_PARAMETER);                       /* exactly an allocation */
    fails(va2(p + 8 * G, P, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, 0),
          ERROR_INVALID_ADDRESS);                         /* size before kind */
    /* part of a replacement goes back to a placeholder; the rest stays allocated */
    ok(va2(p, 4 * G, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, 0), p);
    m_write(&M, p, 3);
    m_write(&M, p + 3 * G, 4);
    ok(vf(p + G, 2 * G, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER), 1);
    region(p, p, p, PAGE_READWRITE, G, MEM_COMMIT, PAGE_READWRITE);
    region(p + G, p + G, p + G, PAGE_NOACCESS, 2 * G, MEM_RESERVE, 0);
    region(p + 3 * G, p + 3 * G, p + 3 * G, PAGE_READWRITE, G, MEM_COMMIT, PAGE_READWRITE);
    ck_assert_uint_eq(M.committed, 2 * G);
    uint8_t tag;
    bool or_zero;
    m_expected_content(&M, p + 3 * G, &tag, &or_zero);
    ck_assert_uint_eq(tag, 4);
    /* §5.5 exact base and size (M_RULE_VA2_EXACT), or VirtualAlloc's rounding without it */
    m_expect_t x = va2(KLO + 16 * G + P, P, MEM_RESERVE, PAGE_READWRITE, 0);
    fails(x, ERROR_INVALID_PARAMETER);
    M.rules_off |= M_RULE_VA2_EXACT;
    ok(va2(KLO + 16 * G + P, P, MEM_RESERVE, PAGE_READWRITE, 0), KLO + 16 * G);
    region(KLO + 16 * G, KLO + 16 * G, KLO + 16 * G, PAGE_READWRITE, 2 * P, MEM_RESERVE, 0);
    /* GetWriteWatch order: pointers before flags */
    uint64_t w = KLO + 32 * G;
    ok(va(w, G, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE), w);
    fails(run((m_call_t){.op = M_GET_WRITE_WATCH, .type = 0x10, .addr = w, .size = G, .length = 64,
                         .null_count = true}, 0), ERROR_NOACCESS);
    /* MEM_RESET: a page may read written (kernel engine); GetWriteWatch decides */
    m_write(&M, w, 1);
    ok(rww(w, G), 0);
    ok(va(w, 2 * P, MEM_RESET, PAGE_READWRITE), w);
    m_call_t g = {.op = M_GET_WRITE_WATCH, .addr = w, .size = G, .length = 64};
    m_predict(&M, &g, &x);
    ck_assert(x.ok && x.ww_fuzzy);
    m_result_t r = x.r;
    r.count = 1;
    r.addrs[0] = w + P; /* page 1 was never written: reported anyway is allowed (maybe) */
    char why[300];
    ck_assert_int_eq(m_check(&M, &g, &x, &r, why, sizeof why), 0);
    r.addrs[0] = w + 2 * P; /* page 2 was not reset: never */
    ck_assert_int_ne(m_check(&M, &g, &x, &r, why, sizeof why), 0);
    r.addrs[0] = w + P;
    m_commit(&M, &g, &x, &r);
    watch_count(w, G, 1); /* decided: page 1 written, page 0 not */
    /* MEM_RESET_UNDO re-dirties: a write */
    ok(rww(w, G), 0);
    ok(va(w + 4 * P, P, MEM_RESET_UNDO, PAGE_READWRITE), w + 4 * P);
    watch_count(w, G, 1);
    teardown();
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("model");
    hm_add(s, tcase_create("protection_validity"), protection_validity);
    hm_add(s, tcase_create("alloc_rows"), alloc_rows);
    hm_add(s, tcase_create("alloc_anywhere_and_from_app"), alloc_anywhere_and_from_app);
    hm_add(s, tcase_create("reset_rows"), reset_rows);
    hm_add(s, tcase_create("free_rows"), free_rows);
    hm_add(s, tcase_create("query_rows"), query_rows);
    hm_add(s, tcase_create("protect_rows"), protect_rows);
    hm_add(s, tcase_create("lock_rows"), lock_rows);
    hm_add(s, tcase_create("write_watch_rows"), write_watch_rows);
    hm_add(s, tcase_create("placeholder_rows"), placeholder_rows);
    hm_add(s, tcase_create("address_requirement_rows"), address_requirement_rows);
    hm_add(s, tcase_create("commit_limit"), commit_limit);
    hm_add(s, tcase_create("unknown_memory_is_unmodelled"), unknown_memory_is_unmodelled);
    hm_add(s, tcase_create("issue4_decision_rows"), issue4_decision_rows);
    return s;
}

HM_TEST_MAIN(make_suite)
