/*
 * host.c — hm_host_create / hm_host_destroy: a host owns its runtimes (a list under
 * host->lock), the paths it reads memory load from, and the notifier thread.
 * Destroy stops the notifier first (no callback runs after it returns), then destroys
 * every runtime still listed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host/runtime.h"

static int dup_opt(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    *out = strdup(s);
    return *out ? 0 : ENOMEM;
}

static void free_host(hm_host_t *h)
{
    free(h->cgroup_dir);
    free(h->meminfo_path);
    free(h->psi_path);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

int hm_host_create(const hm_host_config_t *cfg, hm_host_t **out)
{
    if (!out || (cfg && cfg->cb_size < sizeof *cfg))
        return EINVAL;
    hm_host_t *h = calloc(1, sizeof *h);
    if (!h)
        return ENOMEM;
    pthread_mutex_init(&h->lock, NULL);
    h->wake_fd = -1;
    h->poll_ms = cfg && cfg->poll_interval_ms ? cfg->poll_interval_ms : 250;
    int err = 0;
    if (cfg && ((err = dup_opt(cfg->cgroup_dir, &h->cgroup_dir)) ||
                (err = dup_opt(cfg->meminfo_path, &h->meminfo_path)) ||
                (err = dup_opt(cfg->psi_path, &h->psi_path)))) {
        free_host(h);
        return err;
    }
    *out = h;
    return 0;
}

void hm_host_destroy(hm_host_t *host)
{
    if (!host)
        return;
    hm_notifier_stop(host);
    for (;;) {
        pthread_mutex_lock(&host->lock);
        hm_runtime_t *rt = host->runtimes;
        pthread_mutex_unlock(&host->lock);
        if (!rt)
            break;
        hm_runtime_destroy(rt);
    }
    free_host(host);
}
