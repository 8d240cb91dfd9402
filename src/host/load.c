/*
 * load.c — GetMemoryLoad's answer: a 0–100 load and the bytes still available, from three
 * views, the tightest winning: the runtime's budget (used / hard_limit), the process's
 * cgroup v2 (memory.current against the lower of memory.max and memory.high), and the
 * machine (/proc/meminfo MemAvailable / MemTotal). Files are read through hm_os (so they
 * can be pointed at test files via hm_host_config_t). Stateless; no locks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/runtime.h"
#include "os/os.h"

typedef struct view {
    uint64_t limit, used;
} view_t;

static bool read_u64(const char *dir, const char *file, uint64_t *out)
{
    char path[512], *buf;
    size_t len;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (hm_os.read_file(HM_SITE_HOST_LOAD_READ, path, &buf, &len) != 0)
        return false;
    bool ok = strncmp(buf, "max", 3) != 0;
    if (ok)
        *out = strtoull(buf, NULL, 10);
    free(buf);
    return ok;
}

/* The process's own cgroup v2 directory, from /proc/self/cgroup ("0::/path"), under
 * /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid v1/v2 system. */
static bool own_cgroup_dir(char *out, size_t cap)
{
    char *buf;
    size_t len;
    if (hm_os.read_file(HM_SITE_HOST_LOAD_READ, "/proc/self/cgroup", &buf, &len) != 0)
        return false;
    char *p = strstr(buf, "0::");
    bool ok = p != NULL;
    if (ok) {
        p[strcspn(p, "\n")] = '\0';
        snprintf(out, cap, "/sys/fs/cgroup%s", p + 3);
        uint64_t probe;
        if (!read_u64(out, "memory.current", &probe))
            snprintf(out, cap, "/sys/fs/cgroup/unified%s", p + 3);
    }
    free(buf);
    return ok;
}

bool hm_load_own_cgroup(char *dir, size_t cap, uint64_t *max, uint64_t *high, uint64_t *current)
{
    if (!own_cgroup_dir(dir, cap))
        return false;
    uint64_t *out[] = {max, high, current};
    const char *files[] = {"memory.max", "memory.high", "memory.current"};
    for (int i = 0; i < 3; i++)
        if (!read_u64(dir, files[i], out[i]))
            *out[i] = UINT64_MAX;
    return true;
}

static bool cgroup_view(const hm_host_t *host, view_t *v)
{
    char dir[400];
    if (host->cgroup_dir)
        snprintf(dir, sizeof dir, "%s", host->cgroup_dir);
    else if (!own_cgroup_dir(dir, sizeof dir))
        return false;
    uint64_t max = UINT64_MAX, high = UINT64_MAX;
    bool has_max = read_u64(dir, "memory.max", &max), has_high = read_u64(dir, "memory.high", &high);
    if (!(has_max || has_high) || !read_u64(dir, "memory.current", &v->used))
        return false;
    v->limit = max < high ? max : high;
    return v->limit > 0;
}

static bool machine_view(const hm_host_t *host, view_t *v)
{
    char *buf;
    size_t len;
    const char *path = host->meminfo_path ? host->meminfo_path : "/proc/meminfo";
    if (hm_os.read_file(HM_SITE_HOST_LOAD_READ, path, &buf, &len) != 0)
        return false;
    const char *t = strstr(buf, "MemTotal:"), *a = strstr(buf, "MemAvailable:");
    bool ok = t && a;
    if (ok) {
        v->limit = strtoull(t + 9, NULL, 10) * 1024;
        uint64_t avail = strtoull(a + 13, NULL, 10) * 1024;
        v->used = v->limit > avail ? v->limit - avail : 0;
    }
    free(buf);
    return ok && v->limit > 0;
}

static void tighten(const view_t *v, DWORD *load, uint64_t *available)
{
    uint64_t avail = v->limit > v->used ? v->limit - v->used : 0;
    uint64_t pct = v->used >= v->limit ? 100 : (v->used * 100) / v->limit;
    if (pct > *load)
        *load = (DWORD)pct;
    if (avail < *available)
        *available = avail;
}

void hm_load_compute(hm_runtime_t *rt, DWORD *load, uint64_t *available)
{
    view_t v;
    *load = 0;
    *available = UINT64_MAX;
    if (rt->hard_limit) {
        v.limit = rt->hard_limit;
        v.used = atomic_load(&rt->used);
        tighten(&v, load, available);
    }
    if (cgroup_view(rt->host, &v))
        tighten(&v, load, available);
    if (machine_view(rt->host, &v))
        tighten(&v, load, available);
    if (*available == UINT64_MAX)
        *available = 0;
}
