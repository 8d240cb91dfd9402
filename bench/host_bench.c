/*
 * bench/host_bench.c — the host memory manager's scenarios: IHostMemoryManager::VirtualAlloc
 * + VirtualFree against plain VirtualAlloc + VirtualFree (target <= 1.05x), and IHostMalloc
 * Alloc + Free of small blocks against glibc malloc + free (target: at least as fast, i.e.
 * <= 1.00x), each side by side in the same run. The "raw" column is the baseline named.
 */
#include <stdlib.h>

#include <hostmem/host.h>

#include "bench.h"

#define GRANULE ((size_t)65536)

static void plain_valloc(void *ctx, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        void *p = VirtualAlloc(NULL, GRANULE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        if (!p || !VirtualFree(p, 0, MEM_RELEASE))
            die("VirtualAlloc/VirtualFree");
    }
}

static void host_valloc(void *ctx, size_t n)
{
    IHostMemoryManager *m = ctx;
    for (size_t i = 0; i < n; i++) {
        void *p;
        if (m->lpVtbl->VirtualAlloc(m, NULL, GRANULE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE,
                                    eTaskCritical, &p) != S_OK ||
            m->lpVtbl->VirtualFree(m, p, 0, MEM_RELEASE) != S_OK)
            die("IHostMemoryManager VirtualAlloc/VirtualFree");
    }
}

/* Small-block pattern: 64 blocks of 16..256 bytes allocated, then freed. */
static const size_t sizes[8] = {16, 24, 32, 48, 64, 96, 128, 256};

static void glibc_small(void *ctx, size_t n)
{
    (void)ctx;
    void *b[64];
    for (size_t i = 0; i < n; i += 64) {
        for (size_t k = 0; k < 64; k++)
            if (!(b[k] = malloc(sizes[k % 8])))
                die("malloc");
        for (size_t k = 0; k < 64; k++)
            free(b[k]);
    }
}

static void host_small(void *ctx, size_t n)
{
    IHostMalloc *h = ctx;
    void *b[64];
    for (size_t i = 0; i < n; i += 64) {
        for (size_t k = 0; k < 64; k++)
            if (h->lpVtbl->Alloc(h, sizes[k % 8], eTaskCritical, &b[k]) != S_OK)
                die("IHostMalloc::Alloc");
        for (size_t k = 0; k < 64; k++)
            if (h->lpVtbl->Free(h, b[k]) != S_OK)
                die("IHostMalloc::Free");
    }
}

static IHostMemoryManager *make_manager(hm_host_t **host)
{
    hm_host_config_t hc = {.cb_size = sizeof hc, .psi_path = ""};
    hm_runtime_config_t rc = {.cb_size = sizeof rc, .name = "bench"};
    hm_runtime_t *rt;
    if (hm_host_create(&hc, host) || hm_runtime_create(*host, &rc, &rt) || hm_runtime_start(rt))
        die("hm_host_create/hm_runtime_create");
    return hm_runtime_memory_manager(rt);
}

void bench_host_valloc(bench_result_t *r)
{
    r->id = "host_valloc_free_64k";
    r->name = "IHostMemoryManager VirtualAlloc+Free";
    r->unit = "ns/op";
    r->raw_label = "plain VirtualAlloc(64 KiB, MEM_RESERVE|MEM_COMMIT) + VirtualFree";
    r->kind = BENCH_TARGET_MAX_RATIO;
    r->target = 1.05;
    r->target_text = "<= 1.05x plain";
    hm_host_t *host;
    IHostMemoryManager *m = make_manager(&host);
    measure_pair(r, plain_valloc, NULL, host_valloc, m, 64, scaled(3000, 150));
    m->lpVtbl->Release(m);
    hm_host_destroy(host);
}

void bench_host_malloc(bench_result_t *r)
{
    r->id = "host_malloc_small";
    r->name = "IHostMalloc Alloc+Free 16-256 B";
    r->unit = "ns/op";
    r->raw_label = "glibc malloc + free, same sizes and order";
    r->kind = BENCH_TARGET_MAX_RATIO;
    r->target = 1.00;
    r->target_text = "<= 1.00x glibc";
    hm_host_t *host;
    IHostMemoryManager *m = make_manager(&host);
    IHostMalloc *h;
    if (m->lpVtbl->CreateMalloc(m, MALLOC_THREADSAFE, &h) != S_OK)
        die("CreateMalloc");
    measure_pair(r, glibc_small, NULL, host_small, h, 4096, scaled(2000, 100));
    h->lpVtbl->Release(h);
    m->lpVtbl->Release(m);
    hm_host_destroy(host);
}
