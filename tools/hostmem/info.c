/*
 * info.c — `hostmem info [--json]`: what hostmem finds on this machine and how it is
 * configured (hm_get_system_info): sizes, the huge-page pool and the large-page policy,
 * the write-watch engine and why, userfaultfd and PAGEMAP_SCAN, the right to lock memory,
 * the commit limit and charge, cgroup v2 limits, PSI.
 *
 * Invariant: the table and the JSON object carry the same facts; JSON field names are a
 * stable interface (add, never rename). Calls hm_get_system_info, uname, stdio.
 */
#include <stdio.h>
#include <sys/utsname.h>

#include "cli.h"
#include "hostmem/hostmem.h"
#include "names.h"

static const char help[] =
    "usage: hostmem info [--json]\n\n"
    "Print what hostmem finds on this machine and how it is configured: page size and\n"
    "allocation granularity, the large-page minimum, the kernel's huge-page pool and\n"
    "what MEM_LARGE_PAGES does when it is empty, which write-watch engine is in use and\n"
    "why, whether userfaultfd and PAGEMAP_SCAN work, the right to lock memory (needed by\n"
    "large pages and AWE), the commit limit and charge, cgroup v2 limits and PSI.\n\n"
    "options:\n"
    "  --json      print one JSON object (fields named as in hm_system_info_t)\n"
    "  -h, --help  show this help\n\n"
    "environment: HOSTMEM_WRITE_WATCH, HOSTMEM_LARGE_PAGES, HOSTMEM_COMMIT_LIMIT change\n"
    "what is reported (see hostmem(1)).\n\n"
    "example:\n"
    "  hostmem info --json\n";

/* "max" for UINT64_MAX (no limit), else a human size. */
static const char *limit_name(uint64_t v, char buf[HM_TOOL_NAME_LEN])
{
    return v == UINT64_MAX ? "max" : hm_tool_size_name(v, buf);
}

static const char *yes(uint32_t b)
{
    return b ? "yes" : "no";
}

static void print_text(const hm_system_info_t *i, const struct utsname *u)
{
    char a[HM_TOOL_NAME_LEN], b[HM_TOOL_NAME_LEN], c[HM_TOOL_NAME_LEN];
    printf("hostmem %s on Linux %s (%s)\n", hm_version_string(), u->release, u->machine);
    printf("%-22s %u bytes\n", "page size", i->page_size);
    printf("%-22s %u bytes\n", "allocation granularity", i->allocation_granularity);
    printf("%-22s %s; kernel pool %llu pages, %llu free; empty pool: %s\n", "large pages",
           hm_tool_size_name(i->large_page_minimum, a), (unsigned long long)i->huge_pages_total,
           (unsigned long long)i->huge_pages_free,
           i->large_page_policy[0] == 't' ? "transparent huge pages (thp)"
                                          : "fail with 1450 (hugetlb)");
    printf("%-22s %s: %s\n", "write watch", i->write_watch_engine, i->write_watch_reason);
    printf("%-22s userfaultfd %s, PAGEMAP_SCAN %s\n", "kernel support", yes(i->userfaultfd),
           yes(i->pagemap_scan));
    printf("%-22s CAP_IPC_LOCK %s, RLIMIT_MEMLOCK %s\n", "lock-memory right",
           yes(i->lock_memory_right), limit_name(i->memlock_limit, a));
    printf("%-22s %s committed, limit %s\n", "commit", hm_tool_size_name(i->committed, a),
           i->commit_limit ? hm_tool_size_name(i->commit_limit, b) : "none");
    if (i->cgroup[0])
        printf("%-22s %s: memory.max %s, memory.high %s, memory.current %s\n", "cgroup v2",
               i->cgroup, limit_name(i->cgroup_max, a), limit_name(i->cgroup_high, b),
               i->cgroup_current == UINT64_MAX ? "unknown" : hm_tool_size_name(i->cgroup_current, c));
    else
        printf("%-22s none\n", "cgroup v2");
    printf("%-22s %s\n", "PSI (memory pressure)", i->psi ? "/proc/pressure/memory" : "not available");
}

static void print_string(const char *key, const char *v, const char *sep)
{
    printf("  \"%s\": \"", key);
    for (; *v; v++)
        if (*v == '"' || *v == '\\')
            printf("\\%c", *v);
        else if ((unsigned char)*v < 0x20)
            printf("\\u%04x", *v);
        else
            putchar(*v);
    printf("\"%s\n", sep);
}

static void print_u64(const char *key, uint64_t v, const char *sep)
{
    if (v == UINT64_MAX)
        printf("  \"%s\": null%s\n", key, sep);
    else
        printf("  \"%s\": %llu%s\n", key, (unsigned long long)v, sep);
}

static void print_json(const hm_system_info_t *i)
{
    puts("{");
    print_string("version", hm_version_string(), ",");
    print_u64("page_size", i->page_size, ",");
    print_u64("allocation_granularity", i->allocation_granularity, ",");
    print_u64("large_page_minimum", i->large_page_minimum, ",");
    print_u64("huge_pages_total", i->huge_pages_total, ",");
    print_u64("huge_pages_free", i->huge_pages_free, ",");
    print_string("large_page_policy", i->large_page_policy, ",");
    print_string("write_watch_engine", i->write_watch_engine, ",");
    print_string("write_watch_reason", i->write_watch_reason, ",");
    printf("  \"userfaultfd\": %s,\n  \"pagemap_scan\": %s,\n", i->userfaultfd ? "true" : "false",
           i->pagemap_scan ? "true" : "false");
    printf("  \"lock_memory_right\": %s,\n", i->lock_memory_right ? "true" : "false");
    print_u64("memlock_limit", i->memlock_limit, ",");
    print_u64("commit_limit", i->commit_limit, ",");
    print_u64("committed", i->committed, ",");
    print_string("cgroup", i->cgroup, ",");
    print_u64("cgroup_max", i->cgroup_max, ",");
    print_u64("cgroup_high", i->cgroup_high, ",");
    print_u64("cgroup_current", i->cgroup_current, ",");
    printf("  \"psi\": %s\n}\n", i->psi ? "true" : "false");
}

int hm_tool_info(int argc, char **argv)
{
    bool json = false;
    const hm_tool_flag_t flags[] = {{"--json", &json}};
    int rc = hm_tool_parse_flags(argc, argv, flags, 1, help);
    if (rc >= 0)
        return rc;
    hm_system_info_t info = {.cb_size = sizeof info};
    struct utsname u;
    if (hm_get_system_info(&info) != 0 || uname(&u) != 0) {
        fprintf(stderr, "hostmem info: cannot read the system's facts\n");
        return HM_TOOL_FAILURE;
    }
    if (json)
        print_json(&info);
    else
        print_text(&info, &u);
    return HM_TOOL_OK;
}
