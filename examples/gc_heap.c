/*
 * gc_heap.c — a toy generational garbage collector whose card table is GetWriteWatch.
 *
 * The old generation lives in one large MEM_RESERVE | MEM_WRITE_WATCH reservation and is
 * committed 1 MiB at a time as it grows; the nursery is plain memory. The program first
 * loads 16 MiB of long-lived objects; then the mutator allocates young objects and, now
 * and then, stores a pointer to one into an old object.
 * There is no write barrier: at each minor collection GetWriteWatch(WRITE_WATCH_FLAG_RESET)
 * names the old pages written since the last one, and only those are scanned for pointers
 * into the nursery (the "remembered set"). Survivors are copied into the old generation
 * (Cheney's algorithm), after which ResetWriteWatch forgets the collector's own writes.
 * After every collection the whole old generation is checked: a pointer still into the
 * nursery would be a write the card table missed (the program then exits 1). It prints
 * how few old pages each collection had to scan.
 *
 * Build: cc gc_heap.c $(pkg-config --cflags --libs hostmem) -o gc_heap
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <hostmem/hostmem.h>
#include <hostmem/memoryapi.h>

#define MIB ((SIZE_T)1 << 20)
#define HEAP_RESERVE (1024 * MIB)
#define COMMIT_STEP MIB
#define NURSERY_SIZE MIB
#define PAGE 4096
#define NREFS 6
#define NROOTS 64
#define COLLECTIONS 40
#define LOADED_OBJECTS (256 * 1024) /* 16 MiB of long-lived objects before the first GC */

typedef struct obj {
    struct obj *forward; /* set in a nursery object once it is copied */
    uint32_t id, payload;
    struct obj *ref[NREFS];
} obj_t; /* 64 bytes: an object never straddles a page */

_Static_assert(sizeof(obj_t) == 64, "objects are 64 bytes");

static struct {
    char *old, *old_top, *old_committed; /* the watched old generation */
    char *nursery, *young_top;
    obj_t *roots[NROOTS];
    uint32_t next_id;
    uint64_t rng;
} heap;

static void *written[4096]; /* GetWriteWatch results, one batch */

static uint64_t next_random(void)
{
    heap.rng ^= heap.rng << 13;
    heap.rng ^= heap.rng >> 7;
    heap.rng ^= heap.rng << 17;
    return heap.rng;
}

static int in_nursery(const obj_t *o)
{
    return (const char *)o >= heap.nursery && (const char *)o < heap.nursery + NURSERY_SIZE;
}

static obj_t *old_alloc(void)
{
    if (heap.old_top + sizeof(obj_t) > heap.old_committed) {
        if (!VirtualAlloc(heap.old_committed, COMMIT_STEP, MEM_COMMIT, PAGE_READWRITE)) {
            fprintf(stderr, "gc_heap: commit failed: %u\n", (unsigned)GetLastError());
            return NULL;
        }
        heap.old_committed += COMMIT_STEP;
    }
    obj_t *o = (obj_t *)heap.old_top;
    heap.old_top += sizeof(obj_t);
    return o;
}

/* Copies a nursery object into the old generation once; returns where it lives now. */
static obj_t *promote(obj_t *o)
{
    if (!o || !in_nursery(o))
        return o;
    if (!o->forward) {
        obj_t *copy = old_alloc();
        if (!copy)
            return NULL;
        memcpy(copy, o, sizeof *copy);
        copy->forward = NULL;
        o->forward = copy;
    }
    return o->forward;
}

static void forward_refs(obj_t *o)
{
    for (int i = 0; i < NREFS; i++)
        o->ref[i] = promote(o->ref[i]);
}

/* The remembered set: forwards the nursery pointers of every old object below `end` on a
 * page written since the last collection. Batches of at most 4096 pages: a full batch
 * resets only up to its last page, so the next call starts right after it. Returns how
 * many pages it scanned, or (size_t)-1 if GetWriteWatch failed. */
static size_t scan_written_pages(char *end)
{
    size_t pages = 0;
    for (char *from = heap.old; from < end;) {
        ULONG_PTR count = sizeof written / sizeof written[0];
        DWORD granularity;
        if (GetWriteWatch(WRITE_WATCH_FLAG_RESET, from, (SIZE_T)(end - from), written, &count,
                          &granularity) != 0) {
            fprintf(stderr, "gc_heap: GetWriteWatch failed: %u\n", (unsigned)GetLastError());
            return (size_t)-1;
        }
        for (ULONG_PTR i = 0; i < count; i++)
            for (obj_t *o = written[i]; (char *)o < (char *)written[i] + granularity &&
                                        (char *)o < end; o++)
                forward_refs(o);
        pages += count;
        if (count < sizeof written / sizeof written[0])
            break;
        from = (char *)written[count - 1] + granularity;
    }
    return pages;
}

/* One minor collection; returns how many dirty old pages it scanned. */
static size_t minor_gc(void)
{
    char *scan = heap.old_top; /* objects copied from here on are scanned by Cheney's loop */
    for (int r = 0; r < NROOTS; r++)
        heap.roots[r] = promote(heap.roots[r]);
    size_t dirty = scan_written_pages(scan);
    for (; scan < heap.old_top; scan += sizeof(obj_t))
        forward_refs((obj_t *)scan);
    heap.young_top = heap.nursery;
    /* The copies hold no pointer into the (now empty) nursery: forget those writes. */
    if (heap.old_top > heap.old)
        ResetWriteWatch(heap.old, (SIZE_T)(heap.old_top - heap.old));
    return dirty;
}

/* A pointer from the old generation into the nursery after a collection is a miss. */
static size_t check_old_generation(void)
{
    size_t misses = 0;
    for (obj_t *o = (obj_t *)heap.old; (char *)o < heap.old_top; o++)
        for (int i = 0; i < NREFS; i++)
            misses += o->ref[i] && in_nursery(o->ref[i]);
    return misses;
}

/* The program's long-lived data: old objects pointing at each other. */
static int load(void)
{
    for (uint32_t n = 0; n < LOADED_OBJECTS; n++) {
        obj_t *o = old_alloc();
        if (!o)
            return -1;
        o->id = ++heap.next_id;
        o->payload = o->id * 2654435761u;
        if (n)
            o->ref[0] = (obj_t *)heap.old + next_random() % n;
    }
    /* Loading is not mutation: the first collection starts from a clean card table. */
    return ResetWriteWatch(heap.old, (SIZE_T)(heap.old_top - heap.old)) == 0 ? 0 : -1;
}

/* The mutator: young objects; one in 256 is stored into a random old object. */
static void mutate(void)
{
    while (heap.young_top + sizeof(obj_t) <= heap.nursery + NURSERY_SIZE) {
        obj_t *o = (obj_t *)heap.young_top;
        heap.young_top += sizeof(obj_t);
        memset(o, 0, sizeof *o);
        o->id = ++heap.next_id;
        o->payload = o->id * 2654435761u;
        uint64_t r = next_random();
        if (r % 8 == 0) /* one young object in 8 becomes a root */
            heap.roots[(r >> 8) % NROOTS] = o;
        size_t old_objs = (size_t)(heap.old_top - heap.old) / sizeof(obj_t);
        if (old_objs && r % 256 == 1) /* an old object now points at it */
            ((obj_t *)heap.old)[(r >> 16) % old_objs].ref[(r >> 40) % NREFS] = o;
    }
}

int main(void)
{
    const char *why;
    const char *engine = hm_write_watch_engine(&why);
    printf("gc_heap: write-watch engine: %s (%s)\n", engine, why);
    heap.old = VirtualAlloc(NULL, HEAP_RESERVE, MEM_RESERVE | MEM_WRITE_WATCH, PAGE_READWRITE);
    heap.nursery = VirtualAlloc(NULL, NURSERY_SIZE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!heap.old || !heap.nursery) {
        fprintf(stderr, "gc_heap: VirtualAlloc failed: %u\n", (unsigned)GetLastError());
        return 1;
    }
    heap.old_top = heap.old_committed = heap.old;
    heap.young_top = heap.nursery;
    heap.rng = 0x9e3779b97f4a7c15u;
    printf("heap: %zu MiB reserved with MEM_WRITE_WATCH, committed %zu MiB at a time; "
           "nursery %zu MiB\n", (size_t)(HEAP_RESERVE / MIB), (size_t)(COMMIT_STEP / MIB),
           (size_t)(NURSERY_SIZE / MIB));
    if (load() != 0) {
        fprintf(stderr, "gc_heap: loading failed: %u\n", (unsigned)GetLastError());
        return 1;
    }
    printf("loaded %d long-lived objects (%.1f MiB)\n", LOADED_OBJECTS,
           (double)(heap.old_top - heap.old) / (double)MIB);
    size_t scanned = 0, old_pages_total = 0, misses = 0;
    for (int gc = 1; gc <= COLLECTIONS; gc++) {
        mutate();
        size_t before = (size_t)(heap.old_top - heap.old);
        size_t dirty = minor_gc();
        if (dirty == (size_t)-1)
            return 1;
        size_t old_pages = (before + PAGE - 1) / PAGE;
        size_t promoted = ((size_t)(heap.old_top - heap.old) - before) / sizeof(obj_t);
        misses += check_old_generation();
        scanned += dirty;
        old_pages_total += old_pages;
        if (gc <= 3 || gc % 10 == 0)
            printf("minor GC %2d: %4zu of %5zu old pages written since the last one; "
                   "%5zu objects promoted; old generation %5.1f MiB committed\n",
                   gc, dirty, old_pages, promoted,
                   (double)(heap.old_committed - heap.old) / (double)MIB);
    }
    printf("%d collections scanned %zu dirty pages instead of %zu (%.1f%% of the old "
           "generation); pointers into the nursery left behind: %zu\n",
           COLLECTIONS, scanned, old_pages_total,
           old_pages_total ? 100.0 * (double)scanned / (double)old_pages_total : 0.0, misses);
    VirtualFree(heap.nursery, 0, MEM_RELEASE);
    VirtualFree(heap.old, 0, MEM_RELEASE);
    return misses == 0 ? 0 : 1;
}
