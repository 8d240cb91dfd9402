/*
 * valgrind_hooks.h — tells Valgrind's memcheck what hostmem does to pages, so that a
 * program run under memcheck gets Windows' rules checked: committed pages read zero
 * (defined), decommitted and released pages must not be touched (no access), reset pages
 * hold garbage (undefined). (IHostMalloc's blocks are not described: its heap keeps its
 * free lists inside free blocks, which memcheck would then report.)
 *
 * Where the calls are (src/vm/): a commit marks the pages it commits defined, whatever
 * their protection (memcheck leaves pages mprotect()ed to PROT_NONE inaccessible, and a
 * touch of a guard page would be reported before the fault that hostmem's handler takes);
 * decommit, release and a placeholder's pages going back are no access; MEM_RESET marks
 * the committed, unlocked pages undefined and a successful MEM_RESET_UNDO defined again.
 * AWE maps and unmaps are mmap()s over the window: memcheck tracks them by itself (a mapped
 * page is defined, an unmapped one no access). The fault paths need nothing: they only
 * change the kernel's protection of committed pages, which memcheck already sees defined.
 * (Resuming the faulting access needs valgrind's
 * --vex-iropt-register-updates=allregs-at-mem-access: docs/porting.md.)
 *
 * The client requests come from Debian's valgrind package (<valgrind/memcheck.h>); when
 * it is absent every hook compiles to nothing. Outside Valgrind a client request costs a
 * few instructions (no syscall) and changes nothing. hm_vg_running() also chooses the
 * write-watch engine.
 */
#ifndef HM_VALGRIND_HOOKS_H
#define HM_VALGRIND_HOOKS_H

#include <stdbool.h>
#include <stddef.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#define HM_HAVE_VALGRIND 1
#endif
#endif

#ifdef HM_HAVE_VALGRIND
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>

static inline int hm_vg_running(void)
{
    return RUNNING_ON_VALGRIND != 0;
}
static inline void hm_vg_defined(const void *p, size_t n)
{
    (void)VALGRIND_MAKE_MEM_DEFINED(p, n);
}
static inline void hm_vg_undefined(const void *p, size_t n)
{
    (void)VALGRIND_MAKE_MEM_UNDEFINED(p, n);
}
static inline void hm_vg_noaccess(const void *p, size_t n)
{
    (void)VALGRIND_MAKE_MEM_NOACCESS(p, n);
}
/* hostmem reading bytes it knows may be undefined (MEM_RESET_UNDO looks at reset pages):
 * hm_vg_unveil saves memcheck's view of [p, p+n) into saved[n] and marks the bytes
 * defined, so the read is not reported; hm_vg_veil puts the saved view back. */
static inline bool hm_vg_unveil(const void *p, unsigned char *saved, size_t n)
{
    if (VALGRIND_GET_VBITS(p, saved, n) != 1)
        return false;
    (void)VALGRIND_MAKE_MEM_DEFINED(p, n);
    return true;
}
static inline void hm_vg_veil(const void *p, const unsigned char *saved, size_t n, bool unveiled)
{
    if (unveiled)
        (void)VALGRIND_SET_VBITS(p, saved, n);
}
#else
static inline int hm_vg_running(void)
{
    return 0;
}
static inline void hm_vg_defined(const void *p, size_t n)
{
    (void)p;
    (void)n;
}
static inline void hm_vg_undefined(const void *p, size_t n)
{
    (void)p;
    (void)n;
}
static inline void hm_vg_noaccess(const void *p, size_t n)
{
    (void)p;
    (void)n;
}
static inline bool hm_vg_unveil(const void *p, unsigned char *saved, size_t n)
{
    (void)p;
    (void)saved;
    (void)n;
    return false;
}
static inline void hm_vg_veil(const void *p, const unsigned char *saved, size_t n, bool unveiled)
{
    (void)p;
    (void)saved;
    (void)n;
    (void)unveiled;
}
#endif

#endif /* HM_VALGRIND_HOOKS_H */
