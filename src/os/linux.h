/*
 * linux.h — declarations shared by the files of src/os/ that build hm_os_default.
 */
#ifndef HM_OS_LINUX_H
#define HM_OS_LINUX_H

#include "os/os.h"

int hm_os_linux_read_file(hm_os_site_t site, const char *path, char **buf, size_t *len);
int hm_os_linux_fault_handler(hm_os_site_t site, hm_os_fault_hook_t hook);

#endif
