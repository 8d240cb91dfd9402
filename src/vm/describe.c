/*
 * describe.c — what introspection adds to a VirtualQuery answer: the reservation's kind
 * and its owner's name. The name is copied under the reservation's lock: an account
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
