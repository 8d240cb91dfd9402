/*
 * linux_events.c — the notifier thread's events: an eventfd to wake it and a PSI trigger
 * on /proc/pressure/memory (or a cgroup's memory.pressure) that fires when tasks stall on
 * memory for stall_us within window_us. Descriptors are O_CLOEXEC and closed by their
 * owner (host destroy). No state; no locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "os/os.h"

int hm_os_event_open(void)
{
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return fd >= 0 ? fd : -errno;
}

void hm_os_event_signal(int fd)
{
    uint64_t one = 1;
    ssize_t n = write(fd, &one, sizeof one);
    (void)n; /* EAGAIN: the counter is already non-zero, the wake is pending */
}

void hm_os_event_drain(int fd)
{
    uint64_t v;
    ssize_t n = read(fd, &v, sizeof v);
    (void)n;
}

int hm_os_psi_open(const char *path, unsigned stall_us, unsigned window_us)
{
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char trig[64];
    int len = snprintf(trig, sizeof trig, "some %u %u", stall_us, window_us);
    if (write(fd, trig, (size_t)len + 1) < 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

unsigned hm_os_wait_events(int wake_fd, int psi_fd, unsigned timeout_ms)
{
    struct pollfd p[2] = {{.fd = wake_fd, .events = POLLIN}, {.fd = psi_fd, .events = POLLPRI}};
    int n = poll(p, psi_fd >= 0 ? 2 : 1, (int)timeout_ms);
    if (n <= 0)
        return 0;
    unsigned bits = (p[0].revents & POLLIN) ? 1u : 0u;
    if (psi_fd >= 0 && (p[1].revents & POLLPRI))
        bits |= 2u;
    return bits;
}

void hm_os_yield(void)
{
    sched_yield();
}

void hm_os_close(int fd)
{
    if (fd >= 0)
        close(fd);
}
