/*
 * linux_phys.c — the system calls behind large pages and AWE physical pages: MAP_HUGETLB,
 * mremap, MADV_HUGEPAGE, the memfd that holds physical pages (memfd_create, fallocate, shared
 * fixed mappings of it) and the right to lock memory (capget, getrlimit).
 *
 * Invariant: as linux_mem.c — each function makes exactly the system call its name says,
 * translates hm_os flags to Linux ones and returns 0 or errno; no state, no locks. The
 * site argument is for fault injection only.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "os/linux.h"

#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001u
#endif
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif

int hm_os_linux_map_huge(hm_os_site_t site, size_t len, unsigned prot, void **out)
{
    (void)site;
    void *p = mmap(NULL, len, hm_os_linux_prot(prot), MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
                   -1, 0);
    if (p == MAP_FAILED)
        return errno;
    *out = p;
    return 0;
}

int hm_os_linux_move(hm_os_site_t site, void *from, size_t len, void *to)
{
    (void)site;
    void *p = mremap(from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
    return p == MAP_FAILED ? errno : 0;
}

int hm_os_linux_advise_huge(hm_os_site_t site, void *addr, size_t len)
{
    (void)site;
    return madvise(addr, len, MADV_HUGEPAGE) == 0 ? 0 : errno;
}

/* memfd_create through syscall(): glibc before 2.27 has no wrapper. */
int hm_os_linux_memfd(hm_os_site_t site, int *fd)
{
    (void)site;
    long r = syscall(SYS_memfd_create, "hostmem-awe", MFD_CLOEXEC);
    if (r < 0)
        return errno;
    *fd = (int)r;
    return 0;
}

static int falloc(int fd, int mode, uint64_t off, uint64_t len)
{
    int r;
    do
        r = fallocate(fd, mode, (off_t)off, (off_t)len);
    while (r != 0 && errno == EINTR);
    return r == 0 ? 0 : errno;
}

int hm_os_linux_fd_alloc(hm_os_site_t site, int fd, uint64_t off, uint64_t len)
{
    (void)site;
    return falloc(fd, 0, off, len);
}

int hm_os_linux_fd_punch(hm_os_site_t site, int fd, uint64_t off, uint64_t len)
{
    (void)site;
    return falloc(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
}

int hm_os_linux_map_fd(hm_os_site_t site, void *addr, size_t len, unsigned prot, int fd,
                       uint64_t off)
{
    (void)site;
    void *p = mmap(addr, len, hm_os_linux_prot(prot), MAP_SHARED | MAP_FIXED, fd, (off_t)off);
    return p == MAP_FAILED ? errno : 0;
}

int hm_os_linux_lock_right(hm_os_site_t site, hm_os_lock_right_t *out)
{
    (void)site;
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
    if (syscall(SYS_capget, &h, d) != 0)
        return errno;
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0)
        return errno;
    out->cap_ipc_lock = (d[CAP_IPC_LOCK / 32].effective >> (CAP_IPC_LOCK % 32)) & 1u;
    out->memlock_max = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
    return 0;
}
