/*
 * linux_watch.c — the system calls of the kernel write-watch engine (src/watch/): a
 * userfaultfd in asynchronous write-protect mode, /proc/self/pagemap's PAGEMAP_SCAN ioctl
 * (both Linux 6.7+), and madvise(MADV_NOHUGEPAGE).
 *
 * Invariant: each function makes the system call its name says (userfaultfd falls back to
 * /dev/userfaultfd when the syscall is refused) and returns 0 or errno; nothing is kept
 * between calls, no locks. The UAPI constants are defined here when the installed kernel
 * headers predate them (Debian 12 ships 6.1 headers); their values are the kernel's ABI.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "os/linux.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif
#define HM_UFFD_FEATURE_WP_UNPOPULATED (1ull << 13)
#define HM_UFFD_FEATURE_WP_ASYNC (1ull << 15)

/* PAGEMAP_SCAN (include/uapi/linux/fs.h, 6.7). */
struct hm_pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
_Static_assert(sizeof(struct hm_pm_scan_arg) == 96, "struct pm_scan_arg is 96 bytes");
_Static_assert(sizeof(hm_os_page_region_t) == 24, "struct page_region is 24 bytes");
#define HM_PAGEMAP_SCAN _IOWR('f', 16, struct hm_pm_scan_arg)
#define HM_PAGE_IS_WRITTEN (1ull << 1)
#define HM_PM_SCAN_WP_MATCHING (1ull << 0)
#define HM_PM_SCAN_CHECK_WPASYNC (1ull << 1)

static int uffd_syscall(int flags)
{
    long fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | flags);
    return fd < 0 ? -errno : (int)fd;
}

/* /dev/userfaultfd (Linux 6.1+): access is by the device node's permissions. */
static int uffd_device(void)
{
    int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    if (dev < 0)
        return -errno;
    int fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
    int err = fd < 0 ? -errno : fd;
    close(dev);
    return err;
}

int hm_os_linux_uffd_open(hm_os_site_t site, int *fd)
{
    (void)site;
    /* User-mode-only faults need no privilege (vm.unprivileged_userfaultfd=0 allows them);
     * kernels before 5.11 reject the flag with EINVAL. */
    int r = uffd_syscall(UFFD_USER_MODE_ONLY);
    if (r == -EINVAL)
        r = uffd_syscall(0);
    if (r == -EPERM || r == -EACCES) {
        int d = uffd_device();
        if (d >= 0)
            r = d;
    }
    if (r < 0)
        return -r;
    *fd = r;
    return 0;
}

int hm_os_linux_uffd_api(hm_os_site_t site, int fd)
{
    (void)site;
    struct uffdio_api api = {.api = UFFD_API,
                             .features = HM_UFFD_FEATURE_WP_ASYNC | HM_UFFD_FEATURE_WP_UNPOPULATED};
    if (ioctl(fd, UFFDIO_API, &api) != 0)
        return errno == EINVAL ? EOPNOTSUPP : errno;
    const uint64_t need = (1ull << _UFFDIO_REGISTER);
    return (api.ioctls & need) == need ? 0 : EOPNOTSUPP;
}

int hm_os_linux_uffd_register(hm_os_site_t site, int fd, void *addr, size_t len)
{
    (void)site;
    struct uffdio_register reg = {.range = {(uintptr_t)addr, len},
                                  .mode = UFFDIO_REGISTER_MODE_WP};
    return ioctl(fd, UFFDIO_REGISTER, &reg) == 0 ? 0 : errno;
}

int hm_os_linux_uffd_protect(hm_os_site_t site, int fd, void *addr, size_t len, bool protect)
{
    (void)site;
    struct uffdio_writeprotect wp = {.range = {(uintptr_t)addr, len},
                                     .mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0};
    return ioctl(fd, UFFDIO_WRITEPROTECT, &wp) == 0 ? 0 : errno;
}

int hm_os_linux_pagemap_open(hm_os_site_t site, int *fd)
{
    (void)site;
    int r = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (r < 0)
        return errno;
    *fd = r;
    return 0;
}

int hm_os_linux_pagemap_scan(hm_os_site_t site, int fd, uintptr_t start, uintptr_t end,
                             bool reset, uint64_t max_pages, hm_os_page_region_t *vec,
                             size_t vec_len, size_t *n, uintptr_t *walk_end)
{
    (void)site;
    struct hm_pm_scan_arg a = {
        .size = sizeof a,
        .flags = HM_PM_SCAN_CHECK_WPASYNC | (reset ? HM_PM_SCAN_WP_MATCHING : 0),
        .start = start,
        .end = end,
        .vec = (uintptr_t)vec,
        .vec_len = vec_len,
        .max_pages = max_pages,
        .category_mask = HM_PAGE_IS_WRITTEN,
        .return_mask = HM_PAGE_IS_WRITTEN,
    };
    long r;
    do
        r = ioctl(fd, HM_PAGEMAP_SCAN, &a);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return errno;
    *n = (size_t)r;
    *walk_end = (uintptr_t)a.walk_end;
    return 0;
}

int hm_os_linux_nohugepage(hm_os_site_t site, void *addr, size_t len)
{
    (void)site;
    return madvise(addr, len, MADV_NOHUGEPAGE) == 0 ? 0 : errno;
}
