/*
 * jit.c — the smallest honest JIT: write machine code into memory from VirtualAlloc, flip
 * it to PAGE_EXECUTE_READ with VirtualProtect (W^X: never writable and executable at once),
 * call FlushInstructionCache, run it, and check with VirtualQuery what the page became.
 *
 * It compiles "f(a, b) = a * k + b" for a few constants k, the way a JIT specializes a
 * function once a value is known, then checks every result against C.
 *
 * Build: cc jit.c $(pkg-config --cflags --libs hostmem) -o jit
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <hostmem/memoryapi.h>

typedef int32_t (*fn2_t)(int32_t a, int32_t b);

/* Emits "return a * k + b" for the machine we run on; returns the code size, 0 if this
 * architecture has no encoder here. */
static size_t emit(uint8_t *p, int32_t k)
{
#if defined(__x86_64__)
    /* imul eax, edi, imm32 ; add eax, esi ; ret */
    size_t n = 0;
    p[n++] = 0x69;
    p[n++] = 0xC7;
    memcpy(p + n, &k, 4);
    n += 4;
    p[n++] = 0x01;
    p[n++] = 0xF0;
    p[n++] = 0xC3;
    return n;
#elif defined(__aarch64__)
    /* mov w9, #lo ; movk w9, #hi, lsl 16 ; madd w0, w0, w9, w1 ; ret */
    uint32_t u = (uint32_t)k;
    uint32_t code[4] = {
        0x52800009u | (u & 0xFFFFu) << 5, /* movz w9, #lo */
        0x72A00009u | (u >> 16) << 5,     /* movk w9, #hi, lsl 16 */
        0x1B090400u,                      /* madd w0, w0, w9, w1 */
        0xD65F03C0u,                      /* ret */
    };
    memcpy(p, code, sizeof code);
    return sizeof code;
#else
    (void)p;
    (void)k;
    return 0;
#endif
}

/* Compiles one specialization into its own page; returns the entry point or NULL. */
static fn2_t compile(int32_t k)
{
    uint8_t *page = VirtualAlloc(NULL, 4096, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!page) {
        fprintf(stderr, "VirtualAlloc failed: error %u\n", (unsigned)GetLastError());
        return NULL;
    }
    size_t n = emit(page, k);
    DWORD old;
    if (n == 0 || !VirtualProtect(page, n, PAGE_EXECUTE_READ, &old) ||
        !FlushInstructionCache(GetCurrentProcess(), page, n)) {
        fprintf(stderr, "cannot make the code executable: error %u\n", (unsigned)GetLastError());
        VirtualFree(page, 0, MEM_RELEASE);
        return NULL;
    }
    printf("compiled a*%d+b: %zu bytes at %p, protection %s -> PAGE_EXECUTE_READ\n", k, n,
           (void *)page, old == PAGE_READWRITE ? "PAGE_READWRITE" : "?");
    fn2_t fn;
    memcpy(&fn, &page, sizeof fn); /* object pointer → function pointer, as JITs do */
    return fn;
}

static int check(fn2_t fn, int32_t k)
{
    static const int32_t args[][2] = {{0, 0}, {1, 2}, {-7, 3}, {1000, -1}, {46340, 1}};
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) {
        int32_t a = args[i][0], b = args[i][1];
        int32_t want = (int32_t)((uint32_t)a * (uint32_t)k + (uint32_t)b);
        int32_t got = fn(a, b);
        if (got != want) {
            fprintf(stderr, "a*%d+b at (%d, %d): got %d, want %d\n", k, a, b, got, want);
            return 1;
        }
    }
    printf("  ran it on 5 inputs: all match C\n");
    return 0;
}

int main(void)
{
    static const int32_t ks[] = {3, -5, 1 << 20};
    int failed = 0;
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        fn2_t fn = compile(ks[i]);
        if (!fn)
            return 1;
        failed |= check(fn, ks[i]);
        void *page;
        memcpy(&page, &fn, sizeof page);
        MEMORY_BASIC_INFORMATION mbi;
        if (VirtualQuery(page, &mbi, sizeof mbi) != sizeof mbi || mbi.Protect != PAGE_EXECUTE_READ) {
            fprintf(stderr, "VirtualQuery does not show PAGE_EXECUTE_READ\n");
            failed = 1;
        }
        if (!VirtualFree(page, 0, MEM_RELEASE)) {
            fprintf(stderr, "VirtualFree failed: error %u\n", (unsigned)GetLastError());
            failed = 1;
        }
    }
    printf(failed ? "jit: FAILED\n" : "jit: ok\n");
    return failed;
}
