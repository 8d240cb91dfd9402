/*
 * test_heap.c — the small-block heap behind IHostMalloc (src/host/heap*.c), in both modes
 * (threadsafe and caller-serialized), against a fake chunk source that counts chunks and
 * bytes, checks every put against its get, unmaps what is put back (so a heap touching a
 * released chunk faults), and can be told to fail.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "common.h"
#include "host/heap.h"
#include "host/heap_internal.h"
#include "testlib.h"

#define MAX_CHUNKS 16384
#define HR_OUTOFMEMORY ((int)0x8007000E)

typedef struct fake_src {
    pthread_mutex_t lock;
    size_t n_chunks, bytes, n_gets, n_puts;
    long fail_after;  /* gets left before failing; -1 = never */
    int fail_status;
    int last_level;
    struct {
        void *base;
        size_t size;
    } live[MAX_CHUNKS];
} fake_src_t;

static fake_src_t fake;

static void *map_aligned(size_t size)
{
    char *p = mmap(NULL, size + G, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    char *a = (char *)HM_ALIGN_UP((uintptr_t)p, G);
    if (a > p)
        munmap(p, (size_t)(a - p));
    munmap(a + size, (size_t)(p + G - a));
    return a;
}

static int fake_get(void *ctx, size_t size, int level, void **out)
{
    fake_src_t *f = ctx;
    pthread_mutex_lock(&f->lock);
    f->n_gets++;
    f->last_level = level;
    int st = f->fail_after == 0 ? f->fail_status : 0;
    if (f->fail_after > 0)
        f->fail_after--;
    if (st == 0) {
        ck_assert(size % G == 0 && size > 0);
        *out = map_aligned(size);
        size_t i = 0;
        while (f->live[i].base)
            i++;
        ck_assert_uint_lt(i, MAX_CHUNKS);
        f->live[i].base = *out;
        f->live[i].size = size;
        f->n_chunks++;
        f->bytes += size;
    }
    pthread_mutex_unlock(&f->lock);
    return st;
}

static void fake_put(void *ctx, void *base, size_t size)
{
    fake_src_t *f = ctx;
    pthread_mutex_lock(&f->lock);
    size_t i = 0;
    while (i < MAX_CHUNKS && f->live[i].base != base)
        i++;
    ck_assert_msg(i < MAX_CHUNKS, "put of %p, which get never returned", base);
    ck_assert_uint_eq(f->live[i].size, size);
    f->live[i].base = NULL;
    f->n_chunks--;
    f->bytes -= size;
    f->n_puts++;
    munmap(base, size);
    pthread_mutex_unlock(&f->lock);
}

static void fake_reset(void)
{
    memset(&fake, 0, sizeof fake);
    pthread_mutex_init(&fake.lock, NULL);
    fake.fail_after = -1;
}

static hm_heap_t *heap_new(bool threadsafe)
{
    fake_reset();
    hm_heap_source_t src = {fake_get, fake_put, &fake};
    hm_heap_t *h = NULL;
    ck_assert_int_eq(hm_heap_create(&src, threadsafe, &h), 0);
    ck_assert_ptr_nonnull(h);
    return h;
}

static size_t fake_chunks(void)
{
    pthread_mutex_lock(&fake.lock);
    size_t n = fake.n_chunks;
    pthread_mutex_unlock(&fake.lock);
    return n;
}

static void heap_end(hm_heap_t *h)
{
    hm_heap_destroy(h);
    ck_assert_uint_eq(fake.n_chunks, 0);
    ck_assert_uint_eq(fake.bytes, 0);
}

static void *alloc_ok(hm_heap_t *h, size_t size)
{
    void *p = NULL;
    ck_assert_int_eq(hm_heap_alloc(h, size, 0, &p), HM_OK);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p % 16, 0);
    ck_assert_uint_ge(hm_heap_usable_size(h, p), size);
    return p;
}

static void fill(void *p, size_t size, unsigned tag)
{
    memset(p, (int)(tag & 0xff), size);
}

static bool check_fill(const void *p, size_t size, unsigned tag)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < size; i++)
        if (c[i] != (unsigned char)tag)
            return false;
    return true;
}

static void assert_stats(hm_heap_t *h, size_t chunk_bytes, size_t live_bytes, size_t live_blocks)
{
    hm_heap_stats_t st;
    hm_heap_stats(h, &st);
    ck_assert_uint_eq(st.chunk_bytes, chunk_bytes);
    ck_assert_uint_eq(st.live_bytes, live_bytes);
    ck_assert_uint_eq(st.live_blocks, live_blocks);
}

/* ---- sizes, alignment, contents ---------------------------------------------------- */

typedef struct blk {
    char *p;
    size_t size;
} blk_t;

static int by_addr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const blk_t *)a)->p, y = (uintptr_t)((const blk_t *)b)->p;
    return x < y ? -1 : x > y;
}

static size_t size_list(size_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t s = 0; s <= 4096 && n < cap; s++)
        out[n++] = s;
    for (size_t s = 4097; s <= (size_t)1 << 20 && n < cap; s += s / 9 + 1)
        out[n++] = s;
    out[n++] = (size_t)1 << 20;
    return n;
}

static void sizes_round(bool ts)
{
    hm_heap_t *h = heap_new(ts);
    static size_t sizes[8192];
    static blk_t b[8192];
    size_t n = size_list(sizes, 8000);
    for (size_t i = 0; i < n; i++) {
        b[i] = (blk_t){alloc_ok(h, sizes[i]), sizes[i]};
        fill(b[i].p, b[i].size, (unsigned)i);
    }
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(check_fill(b[i].p, b[i].size, (unsigned)i), "block %zu overwritten", i);
    qsort(b, n, sizeof b[0], by_addr);
    for (size_t i = 0; i + 1 < n; i++)
        ck_assert_msg(b[i].p + hm_heap_usable_size(h, b[i].p) <= b[i + 1].p,
                      "blocks %p and %p overlap", (void *)b[i].p, (void *)b[i + 1].p);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(hm_heap_free(h, b[i].p), HM_OK);
    hm_heap_stats_t st;
    hm_heap_stats(h, &st);
    ck_assert_uint_eq(st.live_blocks, 0);
    ck_assert_uint_eq(st.live_bytes, 0);
    heap_end(h);
}

START_TEST(sizes_0_to_1mib_are_aligned_distinct_and_keep_contents)
{
    sizes_round(true);
    sizes_round(false);
}
END_TEST

START_TEST(every_size_up_to_past_small_max_fits_its_block)
{
    hm_heap_t *h = heap_new(true);
    for (size_t s = 0; s <= HEAP_SMALL_MAX + 64; s++) {
        char *p = alloc_ok(h, s);
        size_t u = hm_heap_usable_size(h, p);
        size_t slack = s > HEAP_SMALL_MAX ? G : s > HEAP_FIT(4) ? s / 2 : s / 4;
        ck_assert_msg(u <= s + slack + 16, "size %zu gets %zu", s, u);
        if (s) {
            p[0] = 1;
            p[s - 1] = 2;
        }
        ck_assert_int_eq(hm_heap_free(h, p), HM_OK);
    }
    heap_end(h);
}
END_TEST

START_TEST(zero_size_blocks_are_distinct_and_freeable)
{
    hm_heap_t *h = heap_new(false);
    void *a = alloc_ok(h, 0), *b = alloc_ok(h, 0);
    ck_assert_ptr_ne(a, b);
    ck_assert_uint_eq(hm_heap_usable_size(h, a), 16);
    ck_assert_int_eq(hm_heap_free(h, a), HM_OK);
    ck_assert_int_eq(hm_heap_free(h, b), HM_OK);
    heap_end(h);
}
END_TEST

START_TEST(usable_size_is_zero_for_what_is_not_live)
{
    hm_heap_t *h = heap_new(true);
    char *p = alloc_ok(h, 100), *q = alloc_ok(h, 200000);
    ck_assert_uint_eq(hm_heap_usable_size(h, p), 112);
    ck_assert_uint_eq(hm_heap_usable_size(h, q), 4 * G - HEAP_LARGE_HDR);
    ck_assert_uint_eq(hm_heap_usable_size(h, p + 16), 0);
    ck_assert_uint_eq(hm_heap_usable_size(h, q + 16), 0);
    int local;
    ck_assert_uint_eq(hm_heap_usable_size(h, &local), 0);
    ck_assert_int_eq(hm_heap_free(h, p), HM_OK);
    ck_assert_int_eq(hm_heap_free(h, q), HM_OK);
    ck_assert_uint_eq(hm_heap_usable_size(h, p), 0);
    ck_assert_uint_eq(hm_heap_usable_size(h, q), 0);
    heap_end(h);
}
END_TEST

/* ---- invalid frees ----------------------------------------------------------------- */

static void assert_invalid_changes_nothing(hm_heap_t *h, void *bad)
{
    hm_heap_stats_t before, after;
    hm_heap_stats(h, &before);
    size_t gets = fake.n_gets, puts = fake.n_puts;
    ck_assert_int_eq(hm_heap_free(h, bad), HM_E_INVALID_PARAMETER);
    hm_heap_stats(h, &after);
    ck_assert_mem_eq(&before, &after, sizeof before);
    ck_assert_uint_eq(fake.n_gets, gets);
    ck_assert_uint_eq(fake.n_puts, puts);
}

static void foreign_round(bool ts)
{
    hm_heap_t *h = heap_new(ts), *other = NULL;
    hm_heap_source_t src = {fake_get, fake_put, &fake};
    ck_assert_int_eq(hm_heap_create(&src, ts, &other), 0);
    char *mine = alloc_ok(h, 64), *theirs = alloc_ok(other, 64), *big = alloc_ok(other, G);
    int local;
    void *heap_mem = malloc(64);
    char *hole = map_aligned(G); /* then unmapped: touching it would fault */
    munmap(hole, G);
    void *bad[] = {NULL, &local, heap_mem, hole, hole + 64, theirs, big,
                   (void *)(uintptr_t)0x10000, (void *)~(uintptr_t)0xffff, (void *)~(uintptr_t)0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_invalid_changes_nothing(h, bad[i]);
    free(heap_mem);
    ck_assert_int_eq(hm_heap_free(other, theirs), HM_OK);
    ck_assert_int_eq(hm_heap_free(other, big), HM_OK);
    ck_assert_int_eq(hm_heap_free(h, mine), HM_OK);
    hm_heap_destroy(other);
    heap_end(h);
}

START_TEST(free_of_foreign_pointer_is_invalid_and_changes_nothing)
{
    foreign_round(true);
    foreign_round(false);
}
END_TEST

static void interior_round(bool ts)
{
    hm_heap_t *h = heap_new(ts);
    char *p = alloc_ok(h, 64), *q = alloc_ok(h, 3 * G);
    char *slab = (char *)((uintptr_t)p & ~(uintptr_t)(G - 1));
    char *chunk = (char *)((uintptr_t)q & ~(uintptr_t)(G - 1));
    void *bad[] = {p + 1, p + 8, p + 16, p + 63, slab, slab + 8, slab + G - 16,
                   q + 16, q - 16, chunk, chunk + G, chunk + 2 * G + 64};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_invalid_changes_nothing(h, bad[i]);
    ck_assert_int_eq(hm_heap_free(h, p), HM_OK);
    ck_assert_int_eq(hm_heap_free(h, q), HM_OK);
    heap_end(h);
}

START_TEST(free_of_interior_pointer_is_invalid_and_changes_nothing)
{
    interior_round(true);
    interior_round(false);
}
END_TEST

static void double_free_round(bool ts)
{
    hm_heap_t *h = heap_new(ts);
    void *keep = alloc_ok(h, 32);
    size_t sizes[] = {0, 32, 1000, HEAP_SMALL_MAX, HEAP_SMALL_MAX + 1, 5 * G};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = alloc_ok(h, sizes[i]);
        ck_assert_int_eq(hm_heap_free(h, p), HM_OK);
        assert_invalid_changes_nothing(h, p);
    }
    void *a = alloc_ok(h, 32), *b = alloc_ok(h, 32);
    ck_assert_ptr_ne(a, b);
    ck_assert_ptr_ne(a, keep);
    ck_assert_int_eq(hm_heap_free(h, a), HM_OK);
    ck_assert_int_eq(hm_heap_free(h, b), HM_OK);
    ck_assert_int_eq(hm_heap_free(h, keep), HM_OK);
    heap_end(h);
}

START_TEST(double_free_is_invalid_and_changes_nothing)
{
    double_free_round(true);
    double_free_round(false);
}
END_TEST

/* ---- the source -------------------------------------------------------------------- */

static void failure_round(bool ts, int status)
{
    hm_heap_t *h = heap_new(ts);
    fake.fail_after = 0;
    fake.fail_status = status;
    size_t sizes[] = {0, 100, HEAP_SMALL_MAX, HEAP_SMALL_MAX + 1, (size_t)1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = (void *)1;
        ck_assert_int_eq(hm_heap_alloc(h, sizes[i], 0, &p), status);
        ck_assert_ptr_null(p);
    }
    ck_assert_uint_eq(fake.n_chunks, 0);
    assert_stats(h, 0, 0, 0);
    fake.fail_after = -1;
    void *p = alloc_ok(h, 100);
    ck_assert_int_eq(hm_heap_free(h, p), HM_OK);
    heap_end(h);
}

START_TEST(source_failure_is_passed_through_and_leaks_nothing)
{
    failure_round(true, HM_E_BUDGET);
    failure_round(false, HM_E_COMMITMENT_LIMIT);
    failure_round(true, HR_OUTOFMEMORY);
}
END_TEST

START_TEST(source_failure_midway_keeps_every_earlier_block)
{
    hm_heap_t *h = heap_new(true);
    static blk_t b[20000];
    fake.fail_after = 5;
    fake.fail_status = HM_E_BUDGET;
    size_t n = 0;
    int st = HM_OK;
    while (n < 20000 && st == HM_OK) {
        size_t size = (n * 37) % 3000;
        void *p = NULL;
        st = hm_heap_alloc(h, size, 0, &p);
        if (st == HM_OK) {
            b[n] = (blk_t){p, size};
            fill(b[n].p, size, (unsigned)n);
            n++;
        }
    }
    ck_assert_int_eq(st, HM_E_BUDGET);
    ck_assert_uint_eq(fake.n_chunks, 5);
    for (size_t i = 0; i < n; i++) {
        ck_assert(check_fill(b[i].p, b[i].size, (unsigned)i));
        ck_assert_int_eq(hm_heap_free(h, b[i].p), HM_OK);
    }
    heap_end(h);
}
END_TEST

START_TEST(size_overflow_is_no_memory_without_asking_the_source)
{
    hm_heap_t *h = heap_new(true);
    size_t sizes[] = {SIZE_MAX, SIZE_MAX - 15, SIZE_MAX - G, (size_t)1 << 62};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = (void *)1;
        ck_assert_int_eq(hm_heap_alloc(h, sizes[i], 0, &p), HM_E_NO_MEMORY);
        ck_assert_ptr_null(p);
    }
    ck_assert_uint_eq(fake.n_gets, 0);
    heap_end(h);
}
END_TEST

START_TEST(level_is_passed_to_the_source)
{
    hm_heap_t *h = heap_new(true);
    void *p = NULL, *q = NULL;
    ck_assert_int_eq(hm_heap_alloc(h, 10, 3, &p), HM_OK);
    ck_assert_int_eq(fake.last_level, 3);
    ck_assert_int_eq(hm_heap_alloc(h, 100000, 2, &q), HM_OK);
    ck_assert_int_eq(fake.last_level, 2);
    ck_assert_int_eq(hm_heap_free(h, p), HM_OK);
    ck_assert_int_eq(hm_heap_free(h, q), HM_OK);
    heap_end(h);
}
END_TEST

/* ---- chunks coming back ------------------------------------------------------------ */

static void *leaker(void *arg)
{
    hm_heap_t *h = arg;
    for (size_t i = 0; i < 5000; i++)
        alloc_ok(h, (i * 53) % 40000);
    return NULL;
}

START_TEST(destroy_returns_every_chunk)
{
    for (int ts = 0; ts < 2; ts++) {
        hm_heap_t *h = heap_new(ts);
        for (size_t i = 0; i < 5000; i++)
            alloc_ok(h, (i * 31) % 40000);
        if (ts) {
            pthread_t th[3];
            for (int i = 0; i < 3; i++)
                ck_assert_int_eq(pthread_create(&th[i], NULL, leaker, h), 0);
            for (int i = 0; i < 3; i++)
                pthread_join(th[i], NULL);
        }
        ck_assert_uint_gt(fake.n_chunks, 10);
        heap_end(h);
    }
}
END_TEST

static void empty_round(bool ts)
{
    hm_heap_t *h = heap_new(ts);
    static void *p[60000];
    size_t n = sizeof p / sizeof p[0];
    for (size_t i = 0; i < n; i++)
        p[i] = alloc_ok(h, 48 + (i % 2) * 64); /* two classes: 48 and 112 */
    ck_assert_uint_gt(fake_chunks(), 60);
    for (size_t i = 0; i < n; i += 2)
        ck_assert_int_eq(hm_heap_free(h, p[i]), HM_OK);
    for (size_t i = n - 1; i < n; i -= 2)
        ck_assert_int_eq(hm_heap_free(h, p[i]), HM_OK);
    ck_assert_uint_le(fake_chunks(), 2); /* at most the current slab of each class */
    void *big = alloc_ok(h, 10 * G);
    ck_assert_int_eq(hm_heap_free(h, big), HM_OK);
    ck_assert_uint_le(fake_chunks(), 2);
    assert_stats(h, fake_chunks() * G, 0, 0);
    heap_end(h);
}

START_TEST(empty_slabs_are_given_back)
{
    empty_round(true);
    empty_round(false);
}
END_TEST

START_TEST(stats_count_blocks_and_chunks)
{
    hm_heap_t *h = heap_new(true);
    assert_stats(h, 0, 0, 0);
    void *a = alloc_ok(h, 100), *b = alloc_ok(h, 100), *c = alloc_ok(h, 1);
    assert_stats(h, 2 * G, 112 + 112 + 16, 3);
    void *d = alloc_ok(h, 100000); /* 100000 + 64 rounds up to 2 granules */
    assert_stats(h, 4 * G, 240 + 2 * G - HEAP_LARGE_HDR, 4);
    ck_assert_int_eq(hm_heap_free(h, d), HM_OK);
    ck_assert_int_eq(hm_heap_free(h, a), HM_OK);
    assert_stats(h, 2 * G, 128, 2);
    ck_assert_int_eq(hm_heap_free(h, b), HM_OK);
    ck_assert_int_eq(hm_heap_free(h, c), HM_OK);
    assert_stats(h, 2 * G, 0, 0);
    heap_end(h);
}
END_TEST

/* ---- threads ----------------------------------------------------------------------- */

#define N_THREADS 4
#define MAILBOX 256

typedef struct shared {
    hm_heap_t *h;
    pthread_mutex_t lock;
    blk_t mail[MAILBOX];
    size_t n_mail;
    atomic_int failures;
    struct timespec end;
} shared_t;

static bool past(const struct timespec *end)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > end->tv_sec || (now.tv_sec == end->tv_sec && now.tv_nsec >= end->tv_nsec);
}

static unsigned tag_of(const void *p)
{
    return (unsigned)((uintptr_t)p >> 4);
}

/* (No double free here: another thread may get the same address in between.) */
static void release(shared_t *sh, blk_t b)
{
    if (!check_fill(b.p, b.size, tag_of(b.p)) || hm_heap_free(sh->h, b.p) != HM_OK)
        atomic_fetch_add(&sh->failures, 1);
}

/* Posts b for another thread (true), or takes a posted block into *b (false). */
static bool mail(shared_t *sh, blk_t *b, bool post)
{
    bool done = false;
    pthread_mutex_lock(&sh->lock);
    if (post && sh->n_mail < MAILBOX) {
        sh->mail[sh->n_mail++] = *b;
        done = true;
    } else if (!post && sh->n_mail) {
        *b = sh->mail[--sh->n_mail];
        done = true;
    }
    pthread_mutex_unlock(&sh->lock);
    return done;
}

static size_t rand_size(unsigned *seed)
{
    unsigned r = (unsigned)rand_r(seed);
    if (r % 64 == 0)
        return r % (3 * G);
    return r % 8 == 0 ? r % 4000 : 16 + r % 256;
}

static void worker_step(shared_t *sh, blk_t *own, size_t *n, unsigned *seed)
{
    unsigned op = (unsigned)rand_r(seed) % 8;
    blk_t b;
    if (op < 4 && *n < 512) {
        void *p = NULL;
        b.size = rand_size(seed);
        if (hm_heap_alloc(sh->h, b.size, 0, &p) != HM_OK) {
            atomic_fetch_add(&sh->failures, 1);
            return;
        }
        b.p = p;
        fill(b.p, b.size, tag_of(b.p));
        own[(*n)++] = b;
    } else if (op < 6 && *n) {
        size_t i = (unsigned)rand_r(seed) % *n;
        b = own[i];
        own[i] = own[--*n];
        if (!mail(sh, &b, true))
            release(sh, b);
    } else if (op < 7 && mail(sh, &b, false)) {
        release(sh, b);
    } else if (*n) {
        release(sh, own[--*n]);
    }
}

static void *worker(void *arg)
{
    shared_t *sh = arg;
    static _Thread_local blk_t own[512];
    size_t n = 0;
    unsigned seed = (unsigned)(uintptr_t)&n;
    for (unsigned i = 0; (i & 1023) || !past(&sh->end); i++)
        worker_step(sh, own, &n, &seed);
    while (n)
        release(sh, own[--n]);
    return NULL;
}

START_TEST(threads_alloc_free_and_free_across_threads)
{
    shared_t sh = {.h = heap_new(true)};
    pthread_mutex_init(&sh.lock, NULL);
    clock_gettime(CLOCK_MONOTONIC, &sh.end);
    sh.end.tv_sec += 1;
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker, &sh), 0);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(atomic_load(&sh.failures), 0);
    ck_assert_uint_gt(fake.n_gets, 0);
    for (blk_t b; mail(&sh, &b, false);)
        release(&sh, b);
    ck_assert_int_eq(atomic_load(&sh.failures), 0);
    hm_heap_stats_t st;
    hm_heap_stats(sh.h, &st);
    ck_assert_uint_eq(st.live_blocks, 0);
    ck_assert_uint_eq(st.live_bytes, 0);
    heap_end(sh.h);
}
END_TEST

typedef struct batch {
    hm_heap_t *h;
    void *p[20000];
} batch_t;

static void *alloc_batch(void *arg)
{
    batch_t *bt = arg;
    for (size_t i = 0; i < 20000; i++)
        if (hm_heap_alloc(bt->h, 16 + (i % 5) * 100, 0, &bt->p[i]) != HM_OK)
            bt->p[i] = NULL;
    return NULL;
}

START_TEST(threads_that_exit_leave_blocks_others_free)
{
    static batch_t bt;
    bt.h = heap_new(true);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, alloc_batch, &bt), 0);
    pthread_join(th, NULL);
    size_t parked = fake_chunks();
    ck_assert_uint_gt(parked, 20);
    for (size_t i = 0; i < 20000; i++) {
        ck_assert_ptr_nonnull(bt.p[i]);
        ck_assert_int_eq(hm_heap_free(bt.h, bt.p[i]), HM_OK);
        ck_assert_int_eq(hm_heap_free(bt.h, bt.p[i]), HM_E_INVALID_PARAMETER);
    }
    ck_assert_uint_eq(fake_chunks(), 0); /* the parked owner's slabs went back as they emptied */
    ck_assert_int_eq(pthread_create(&th, NULL, alloc_batch, &bt), 0); /* takes the parked tlh */
    pthread_join(th, NULL);
    ck_assert_uint_le(fake_chunks(), parked);
    heap_end(bt.h);
}
END_TEST

/* Frees blocks another thread owns; a second free of each must fail (the owner is idle). */
static void *free_batch(void *arg)
{
    batch_t *bt = arg;
    for (size_t i = 0; i < 20000; i++)
        if (hm_heap_free(bt->h, bt->p[i]) != HM_OK ||
            hm_heap_free(bt->h, bt->p[i]) != HM_E_INVALID_PARAMETER)
            bt->p[i] = NULL;
    return NULL;
}

START_TEST(threads_free_blocks_of_a_live_owner)
{
    static batch_t bt;
    bt.h = heap_new(true);
    alloc_batch(&bt);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, free_batch, &bt), 0);
    pthread_join(th, NULL);
    for (size_t i = 0; i < 20000; i++) {
        ck_assert_ptr_nonnull(bt.p[i]);
        ck_assert_uint_eq(hm_heap_usable_size(bt.h, bt.p[i]), 0);
        ck_assert_int_eq(hm_heap_free(bt.h, bt.p[i]), HM_E_INVALID_PARAMETER);
    }
    assert_stats(bt.h, fake_chunks() * G, 0, 0);
    void *p = alloc_ok(bt.h, 16); /* the owner takes its blocks back and returns empty slabs */
    ck_assert_int_eq(hm_heap_free(bt.h, p), HM_OK);
    ck_assert_uint_le(fake_chunks(), 5);
    heap_end(bt.h);
}
END_TEST

typedef struct outliver {
    hm_heap_t *h;
    pthread_barrier_t allocated, destroyed;
    int st;
} outliver_t;

static void *outlive(void *arg)
{
    outliver_t *o = arg;
    void *p = NULL;
    o->st = hm_heap_alloc(o->h, 48, 0, &p);
    pthread_barrier_wait(&o->allocated);
    pthread_barrier_wait(&o->destroyed); /* exits holding a slot for a destroyed heap */
    return NULL;
}

START_TEST(threads_outliving_their_heap_exit_cleanly)
{
    outliver_t o = {.h = heap_new(true)};
    pthread_barrier_init(&o.allocated, NULL, 2);
    pthread_barrier_init(&o.destroyed, NULL, 2);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, outlive, &o), 0);
    pthread_barrier_wait(&o.allocated);
    ck_assert_int_eq(o.st, HM_OK);
    heap_end(o.h);
    hm_heap_t *next = heap_new(true); /* may reuse the address; ids differ */
    void *p = alloc_ok(next, 48);
    pthread_barrier_wait(&o.destroyed);
    pthread_join(th, NULL);
    ck_assert_int_eq(hm_heap_free(next, p), HM_OK);
    heap_end(next);
}
END_TEST

START_TEST(many_heaps_on_one_thread_stay_apart)
{
    enum { N = 20 };
    hm_heap_t *h[N];
    void *p[N][50];
    hm_heap_source_t src = {fake_get, fake_put, &fake};
    fake_reset();
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(hm_heap_create(&src, i % 3 != 0, &h[i]), 0);
    for (int k = 0; k < 50; k++)
        for (int i = 0; i < N; i++) {
            p[i][k] = alloc_ok(h[i], 24);
            fill(p[i][k], 24, (unsigned)(i * 50 + k));
        }
    for (int k = 0; k < 50; k++)
        for (int i = 0; i < N; i++) {
            ck_assert(check_fill(p[i][k], 24, (unsigned)(i * 50 + k)));
            ck_assert_int_eq(hm_heap_free(h[(i + 1) % N], p[i][k]), HM_E_INVALID_PARAMETER);
            ck_assert_int_eq(hm_heap_free(h[i], p[i][k]), HM_OK);
        }
    for (int i = 0; i < N; i++)
        hm_heap_destroy(h[i]);
    ck_assert_uint_eq(fake.n_chunks, 0);
}
END_TEST

static void add(Suite *s, TCase *tc, const TTest *t)
{
    tcase_add_test(tc, t);
    suite_add_tcase(s, tc);
}

static Suite *make_suite(void)
{
    Suite *s = suite_create("heap");
    add(s, tcase_create("heap_sizes_0_to_1mib_are_aligned_distinct_and_keep_contents"),
        sizes_0_to_1mib_are_aligned_distinct_and_keep_contents);
    add(s, tcase_create("heap_every_size_up_to_past_small_max_fits_its_block"),
        every_size_up_to_past_small_max_fits_its_block);
    add(s, tcase_create("heap_zero_size_blocks_are_distinct_and_freeable"),
        zero_size_blocks_are_distinct_and_freeable);
    add(s, tcase_create("heap_usable_size_is_zero_for_what_is_not_live"),
        usable_size_is_zero_for_what_is_not_live);
    add(s, tcase_create("heap_free_of_foreign_pointer_is_invalid_and_changes_nothing"),
        free_of_foreign_pointer_is_invalid_and_changes_nothing);
    add(s, tcase_create("heap_free_of_interior_pointer_is_invalid_and_changes_nothing"),
        free_of_interior_pointer_is_invalid_and_changes_nothing);
    add(s, tcase_create("heap_double_free_is_invalid_and_changes_nothing"),
        double_free_is_invalid_and_changes_nothing);
    add(s, tcase_create("heap_source_failure_is_passed_through_and_leaks_nothing"),
        source_failure_is_passed_through_and_leaks_nothing);
    add(s, tcase_create("heap_source_failure_midway_keeps_every_earlier_block"),
        source_failure_midway_keeps_every_earlier_block);
    add(s, tcase_create("heap_size_overflow_is_no_memory_without_asking_the_source"),
        size_overflow_is_no_memory_without_asking_the_source);
    add(s, tcase_create("heap_level_is_passed_to_the_source"), level_is_passed_to_the_source);
    add(s, tcase_create("heap_destroy_returns_every_chunk"), destroy_returns_every_chunk);
    add(s, tcase_create("heap_empty_slabs_are_given_back"), empty_slabs_are_given_back);
    add(s, tcase_create("heap_stats_count_blocks_and_chunks"), stats_count_blocks_and_chunks);
    add(s, tcase_create("heap_threads_alloc_free_and_free_across_threads"),
        threads_alloc_free_and_free_across_threads);
    add(s, tcase_create("heap_threads_that_exit_leave_blocks_others_free"),
        threads_that_exit_leave_blocks_others_free);
    add(s, tcase_create("heap_threads_free_blocks_of_a_live_owner"),
        threads_free_blocks_of_a_live_owner);
    add(s, tcase_create("heap_threads_outliving_their_heap_exit_cleanly"),
        threads_outliving_their_heap_exit_cleanly);
    add(s, tcase_create("heap_many_heaps_on_one_thread_stay_apart"),
        many_heaps_on_one_thread_stay_apart);
    return s;
}

HM_TEST_MAIN(make_suite)
