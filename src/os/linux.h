/*
 * linux.h — declarations shared by the files of src/os/ that build hm_os_default.
 */
#ifndef HM_OS_LINUX_H
#define HM_OS_LINUX_H

#include <sys/mman.h>

#include "os/os.h"

/* PROT_* bits for hm_os R/W/X bits (x86 cannot write or execute without read). */
static inline int hm_os_linux_prot(unsigned prot)
{
    int p = PROT_NONE;
    if (prot & HM_OS_R)
        p |= PROT_READ;
    if (prot & HM_OS_W)
        p |= PROT_READ | PROT_WRITE;
    if (prot & HM_OS_X)
        p |= PROT_EXEC | PROT_READ;
    return p;
}

int hm_os_linux_read_file(hm_os_site_t site, const char *path, char **buf, size_t *len);
int hm_os_linux_fault_handler(hm_os_site_t site, hm_os_fault_hook_t hook);

/* Write watch (linux_watch.c): designated initializers of the watch ops, each ending in
 * a comma, for LINUX_OPS in linux_mem.c. */
int hm_os_linux_uffd_open(hm_os_site_t site, int *fd);
int hm_os_linux_uffd_api(hm_os_site_t site, int fd);
int hm_os_linux_uffd_register(hm_os_site_t site, int fd, void *addr, size_t len);
int hm_os_linux_uffd_protect(hm_os_site_t site, int fd, void *addr, size_t len, bool protect);
int hm_os_linux_pagemap_open(hm_os_site_t site, int *fd);
int hm_os_linux_pagemap_scan(hm_os_site_t site, int fd, uintptr_t start, uintptr_t end,
                             bool reset, uint64_t max_pages, hm_os_page_region_t *vec,
                             size_t vec_len, size_t *n, uintptr_t *walk_end);
int hm_os_linux_nohugepage(hm_os_site_t site, void *addr, size_t len);
#define HM_OS_LINUX_WATCH_OPS                                                             \
    .uffd_open = hm_os_linux_uffd_open, .uffd_api = hm_os_linux_uffd_api,                 \
    .uffd_register = hm_os_linux_uffd_register, .uffd_protect = hm_os_linux_uffd_protect, \
    .pagemap_open = hm_os_linux_pagemap_open, .pagemap_scan = hm_os_linux_pagemap_scan,   \
    .nohugepage = hm_os_linux_nohugepage,

/* Large and physical pages (linux_phys.c): likewise. */
int hm_os_linux_map_huge(hm_os_site_t site, size_t len, unsigned prot, void **out);
int hm_os_linux_move(hm_os_site_t site, void *from, size_t len, void *to);
int hm_os_linux_advise_huge(hm_os_site_t site, void *addr, size_t len);
int hm_os_linux_memfd(hm_os_site_t site, int *fd);
int hm_os_linux_fd_alloc(hm_os_site_t site, int fd, uint64_t off, uint64_t len);
int hm_os_linux_fd_punch(hm_os_site_t site, int fd, uint64_t off, uint64_t len);
int hm_os_linux_map_fd(hm_os_site_t site, void *addr, size_t len, unsigned prot, int fd,
                       uint64_t off);
int hm_os_linux_lock_right(hm_os_site_t site, hm_os_lock_right_t *out);
#define HM_OS_LINUX_PHYS_OPS                                                              \
    .map_huge = hm_os_linux_map_huge, .move = hm_os_linux_move,                           \
    .advise_huge = hm_os_linux_advise_huge,                                               \
    .memfd = hm_os_linux_memfd, .fd_alloc = hm_os_linux_fd_alloc,                         \
    .fd_punch = hm_os_linux_fd_punch, .map_fd = hm_os_linux_map_fd,                       \
    .lock_right = hm_os_linux_lock_right,

#endif
