/*
 * numa.c — which NUMA nodes exist, for VirtualAlloc2's MemExtendedParameterNumaNode.
 *
 * A node exists if the kernel lists it online (/sys/devices/system/node/online, a list
 * such as "0-3,8"). A kernel without NUMA support has no such file: node 0 alone exists,
 * as GetNumaHighestNodeNumber reports 0 on a machine without NUMA. The preference itself
 * is not applied: the kernel's first-touch policy places the pages (as Windows does when
 * no node is given). No state, no locks: each check reads the file afresh (nodes can go
 * online and offline).
 */
#include <errno.h>
#include <stdlib.h>

#include "vm/internal.h"

/* True if node appears in a node list ("0-3,8"). */
static bool list_has(const char *p, uint32_t node)
{
    while (*p >= '0' && *p <= '9') {
        char *next;
        unsigned long lo = strtoul(p, &next, 10), hi = lo;
        if (*next == '-')
            hi = strtoul(next + 1, &next, 10);
        if (node >= lo && node <= hi)
            return true;
        p = *next == ',' ? next + 1 : next;
    }
    return false;
}

int hm_vm_numa_node_check(uint32_t node)
{
    char *buf;
    size_t len;
    int err = hm_os.read_file(HM_SITE_PLACE_NUMA, "/sys/devices/system/node/online", &buf, &len);
    if (err == ENOENT)
        return node == 0 ? HM_OK : HM_E_INVALID_PARAMETER;
    if (err)
        return hm_status_of_errno(err);
    bool found = list_has(buf, node);
    free(buf);
    return found ? HM_OK : HM_E_INVALID_PARAMETER;
}
