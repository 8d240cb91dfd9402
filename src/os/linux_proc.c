/*
 * linux_proc.c — reading /proc files, the environment, resource limits and CPU facts.
 *
 * Invariant: no state; each call opens and closes what it reads (no descriptor outlives a
 * call). read_file returns a NUL-terminated malloc'd buffer the caller free()s.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "os/linux.h"

int hm_os_linux_read_file(hm_os_site_t site, const char *path, char **buf, size_t *len)
{
    (void)site;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    size_t cap = 16384, used = 0;
    char *b = malloc(cap);
    int err = b ? 0 : ENOMEM;
    while (!err) {
        if (used + 1 >= cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                err = ENOMEM;
                break;
            }
            b = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, b + used, cap - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            err = errno;
        else if (n == 0)
            break;
        else
            used += (size_t)n;
    }
    close(fd);
    if (err) {
        free(b);
        return err;
    }
    b[used] = '\0';
    *buf = b;
    *len = used;
    return 0;
}

unsigned hm_os_ncpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
}

uint64_t hm_os_cpu_mask(void)
{
    cpu_set_t set;
    uint64_t mask = 0;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    for (unsigned i = 0; i < 64; i++)
        if (CPU_ISSET(i, &set))
            mask |= 1ull << i;
    return mask ? mask : 1;
}

uint64_t hm_os_rlimit_stack(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_STACK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return UINT64_MAX;
    return (uint64_t)rl.rlim_cur;
}

bool hm_os_readable(const char *path)
{
    return access(path, R_OK) == 0;
}

const char *hm_os_getenv(const char *name)
{
    return secure_getenv(name);
}

int hm_os_parse_size(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *s == '-')
        return EINVAL;
    unsigned shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: break;
    }
    if (*end == 'i' || *end == 'I')
        end++;
    if (*end == 'b' || *end == 'B')
        end++;
    if (*end != '\0')
        return EINVAL;
    if (shift && v > (UINT64_MAX >> shift))
        return ERANGE;
    *out = (uint64_t)v << shift;
    return 0;
}
