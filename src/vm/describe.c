/*
 * describe.c — what introspection adds to a VirtualQuery answer: the reservation's kind
 * and its owner's name; and one account's statistics, summed over its reservations. The name is copied under the reservation's lock: an account
 * (a hosted runtime) releases all its reservations, taking each lock, before it goes
 * away, so while we hold the lock of a live reservation its account is alive.
 */
#include <string.h>

#include "vm/internal.h"

int hm_vm_describe(uintptr_t addr, unsigned *kind, char *owner, size_t len)
{
    hm_reservation_t *r = hm_record_lookup_lock(addr);
    if (!r)
        return HM_E_NOT_ALLOCATED;
    *kind = r->kind;
    const char *name = r->account && r->account->name ? r->account->name : "";
    if (len) {
        strncpy(owner, name, len - 1);
        owner[len - 1] = '\0';
    }
    hm_record_unlock(r);
    return HM_OK;
}

typedef struct account_sum {
    hm_vm_account_t *a;
    hm_vm_stats_t *out;
} account_sum_t;

static void add_if_owned(hm_reservation_t *r, void *ctx)
{
    account_sum_t *sum = ctx;
    if (r->account != sum->a)
        return;
    uint64_t n = hm_record_npages(r);
    sum->out->reservations++;
    sum->out->reserved_bytes += r->size;
    sum->out->committed_bytes +=
        hm_runs_count(&r->runs, n, 0, n, HM_RUN_COMMITTED, HM_RUN_COMMITTED) << HM_PAGE_SHIFT;
    sum->out->locked_bytes +=
        hm_runs_count(&r->runs, n, 0, n, HM_RUN_LOCKED, HM_RUN_LOCKED) << HM_PAGE_SHIFT;
    if (r->kind & HM_KIND_WATCH)
        sum->out->watched_bytes += r->size;
}

void hm_vm_account_stats(hm_vm_account_t *a, hm_vm_stats_t *out)
{
    memset(out, 0, sizeof *out);
    account_sum_t sum = {a, out};
    hm_record_for_each(add_if_owned, &sum);
}
