/*
 * linux_mem.c — the memory system calls behind hm_os_default: mmap, munmap, mprotect,
 * madvise, mlock, munlock, /proc/self/pagemap, and metadata allocation.
 *
 * Invariant: each function makes exactly the system call its name says (plus close() for
 * pagemap), translates hm_os_* flags to Linux ones, and returns 0 or errno. No state is
 * kept between calls; no locks. The site argument is for fault injection only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "os/linux.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static int os_map(hm_os_site_t site, void *addr, size_t len, unsigned prot,
                  hm_os_map_mode_t mode, void **out)
{
    (void)site;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS;
    if (mode == HM_OS_MAP_NOREPLACE)
        flags |= MAP_FIXED_NOREPLACE;
    else if (mode == HM_OS_MAP_REPLACE)
        flags |= MAP_FIXED;
    void *p = mmap(addr, len, hm_os_linux_prot(prot), flags, -1, 0);
    if (p == MAP_FAILED)
        return errno;
    if (mode == HM_OS_MAP_NOREPLACE && p != addr) {
        /* Kernels before 4.17 treat the unknown flag as a hint. */
        munmap(p, len);
        return EEXIST;
    }
    *out = p;
    return 0;
}

static int os_unmap(hm_os_site_t site, void *addr, size_t len)
{
    (void)site;
    return munmap(addr, len) == 0 ? 0 : errno;
}

static int os_protect(hm_os_site_t site, void *addr, size_t len, unsigned prot)
{
    (void)site;
    return mprotect(addr, len, hm_os_linux_prot(prot)) == 0 ? 0 : errno;
}

static int os_advise(hm_os_site_t site, void *addr, size_t len, hm_os_advice_t advice)
{
    (void)site;
    int a = advice == HM_OS_ADV_FREE ? MADV_FREE : MADV_DONTNEED;
    if (madvise(addr, len, a) == 0)
        return 0;
    if (errno == EINVAL && a == MADV_FREE) /* kernels before 4.5 */
        return madvise(addr, len, MADV_DONTNEED) == 0 ? 0 : errno;
    return errno;
}

/* mlock/munlock go straight to the kernel: sanitizer runtimes intercept the libc
 * wrappers and turn them into no-ops, which would make VirtualLock lie in those builds. */
static int os_lock(hm_os_site_t site, void *addr, size_t len)
{
    (void)site;
    return syscall(SYS_mlock, addr, len) == 0 ? 0 : errno;
}

static int os_unlock(hm_os_site_t site, void *addr, size_t len)
{
    (void)site;
    return syscall(SYS_munlock, addr, len) == 0 ? 0 : errno;
}

static int os_pagemap(hm_os_site_t site, uintptr_t addr, size_t npages, uint64_t *entries)
{
    (void)site;
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    size_t want = npages * sizeof(uint64_t), got = 0;
    off_t off = (off_t)((addr / 4096) * sizeof(uint64_t));
    int err = 0;
    while (got < want) {
        ssize_t n = pread(fd, (char *)entries + got, want - got, off + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? errno : EIO;
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    return err;
}

static int os_alloc(hm_os_site_t site, size_t size, void **out)
{
    (void)site;
    void *p = calloc(1, size);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

void hm_os_free(void *p)
{
    free(p);
}

void hm_os_flush_icache(void *addr, size_t len)
{
    __builtin___clear_cache((char *)addr, (char *)addr + len);
}

#define LINUX_OPS                                                                        \
    {                                                                                    \
        .map = os_map, .unmap = os_unmap, .protect = os_protect, .advise = os_advise,    \
        .lock = os_lock, .unlock = os_unlock, .pagemap = os_pagemap,                     \
        .read_file = hm_os_linux_read_file, .alloc = os_alloc,                           \
        .fault_handler = hm_os_linux_fault_handler,                                      \
        HM_OS_LINUX_WATCH_OPS                                                            \
        HM_OS_LINUX_PHYS_OPS                                                             \
    }

const hm_os_ops_t hm_os_default = LINUX_OPS;
hm_os_ops_t hm_os = LINUX_OPS;

static const char *const site_names[] = {
#define HM_X_NAME(site, call, what) #site,
    HM_OS_SITE_LIST(HM_X_NAME)
#undef HM_X_NAME
};
static const char *const site_calls[] = {
#define HM_X_CALL(site, call, what) #call,
    HM_OS_SITE_LIST(HM_X_CALL)
#undef HM_X_CALL
};

const char *hm_os_site_name(hm_os_site_t site)
{
    return (unsigned)site < HM_SITE_COUNT ? site_names[site] : "?";
}

const char *hm_os_site_call(hm_os_site_t site)
{
    return (unsigned)site < HM_SITE_COUNT ? site_calls[site] : "?";
}
