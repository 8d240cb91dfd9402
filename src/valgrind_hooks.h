/*
 * valgrind_hooks.h — tells Valgrind's memcheck what hostmem does to pages, so that a
 * program run under memcheck gets Windows' rules checked: committed pages read zero
 * (defined), decommitted and released pages must not be touched (no access), reset pages
 * hold garbage (undefined). (IHostMalloc's blocks are not described: its heap keeps its
 * free lists inside free blocks, which memcheck would then report.)
 *
 * The client requests come from Debian's valgrind package (<valgrind/memcheck.h>); when
 * it is absent every hook compiles to nothing. Outside Valgrind a client request costs a
 * few instructions (no syscall). hm_vg_running() also chooses the write-watch engine.
 */
#ifndef HM_VALGRIND_HOOKS_H
#define HM_VALGRIND_HOOKS_H

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
#endif

#endif /* HM_VALGRIND_HOOKS_H */
