/*
 * linux.h — declarations shared by the files of src/os/ that build hm_os_default.
 */
#ifndef HM_OS_LINUX_H
#define HM_OS_LINUX_H

#include "os/os.h"

int hm_os_linux_read_file(hm_os_site_t site, const char *path, char **buf, size_t *len);
int hm_os_linux_fault_handler(hm_os_site_t site, hm_os_fault_hook_t hook);

/* Write watch (linux_watch.c): designated initializers of the watch ops, each ending in
 * a comma, for LINUX_OPS in linux_mem.c. */
#define HM_OS_LINUX_WATCH_OPS

/* Large and physical pages (linux_phys.c): likewise. */
#define HM_OS_LINUX_PHYS_OPS

#endif
