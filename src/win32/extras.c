/*
 * extras.c — hostmem's own exported functions (hostmem/hostmem.h): version, commit limit,
 * guard-page callback, statistics. Thin wrappers over src/vm/.
 */
#include "hostmem/hostmem.h"
#include "vm/vm.h"

#define STR2(x) #x
#define STR(x) STR2(x)

unsigned hm_version(void)
{
    return HM_VERSION_HEX;
}

const char *hm_version_string(void)
{
    return STR(HM_VERSION_MAJOR) "." STR(HM_VERSION_MINOR) "." STR(HM_VERSION_PATCH);
}

void hm_set_commit_limit(uint64_t bytes)
{
    hm_vm_set_commit_limit(bytes);
}

uint64_t hm_commit_limit(void)
{
    return hm_vm_commit_limit();
}

void hm_set_guard_page_callback(hm_guard_page_callback_t callback, void *context)
{
    hm_vm_set_guard_callback(callback, context);
}

int hm_get_stats(hm_stats_t *stats)
{
    if (!stats || stats->cb_size < HM_STATS_SIZE_V1)
        return -1;
    hm_vm_stats_t s;
    hm_vm_get_stats(&s);
    stats->reservations = s.reservations;
    stats->reserved_bytes = s.reserved_bytes;
    stats->committed_bytes = s.committed_bytes;
    stats->commit_limit = hm_vm_commit_limit();
    stats->locked_bytes = s.locked_bytes;
    stats->guard_pages_hit = s.guard_hits;
    if (stats->cb_size >= offsetof(hm_stats_t, watched_bytes) + sizeof stats->watched_bytes)
        stats->watched_bytes = s.watched_bytes;
    return 0;
}
