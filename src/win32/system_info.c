/*
 * system_info.c — hm_get_system_info (hostmem.h): gathers what `hostmem info` prints from
 * the layers that know it: sizes (sysinfo), the huge-page pool (/proc/meminfo), the
 * large-page policy and the right to lock memory (src/vm/ large.c, src/os/), the
 * write-watch engine (src/watch/), the commit limit and charge (charge.c), the cgroup v2
 * limits (src/host/load.c) and PSI. Reads files each call; no state, no locks.
 */
#include <string.h>

#include "hostmem/hostmem.h"
#include "host/runtime.h"
#include "vm/phys.h"
#include "watch/watch.h"
#include "win32/win32.h"

static void fill_memory(hm_system_info_t *out)
{
    hm_vm_meminfo_t mi;
    if (hm_vm_read_meminfo(&mi) == 0) {
        out->huge_pages_total = mi.huge_total;
        out->huge_pages_free = mi.huge_free;
    }
    out->large_page_policy = hm_large_thp_policy() ? "thp" : "hugetlb";
    hm_os_lock_right_t right;
    if (hm_os.lock_right(HM_SITE_PRIV_CAPS, &right) == 0) {
        out->lock_memory_right = right.cap_ipc_lock;
        out->memlock_limit = right.memlock_max;
    }
    out->commit_limit = hm_vm_commit_limit();
    out->committed = hm_vm_committed();
}

static void fill_watch(hm_system_info_t *out)
{
    const char *why = "";
    hm_watch_engine_t e = hm_watch_engine(&why);
    out->write_watch_engine = hm_watch_engine_name(e);
    out->write_watch_reason = why;
    bool uffd = false, scan = false;
    hm_watch_kernel_support(&uffd, &scan);
    out->userfaultfd = uffd;
    out->pagemap_scan = scan;
}

static void fill_cgroup(hm_system_info_t *out)
{
    out->cgroup_max = out->cgroup_high = out->cgroup_current = UINT64_MAX;
    if (!hm_load_own_cgroup(out->cgroup, sizeof out->cgroup, &out->cgroup_max,
                            &out->cgroup_high, &out->cgroup_current))
        out->cgroup[0] = '\0';
}

int hm_get_system_info(hm_system_info_t *info)
{
    if (!info || info->cb_size < sizeof *info)
        return -1;
    memset(info, 0, sizeof *info);
    info->cb_size = sizeof *info;
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    info->page_size = si.dwPageSize;
    info->allocation_granularity = si.dwAllocationGranularity;
    info->large_page_minimum = GetLargePageMinimum();
    info->psi = hm_os_readable("/proc/pressure/memory");
    fill_memory(info);
    fill_watch(info);
    fill_cgroup(info);
    return 0;
}
