/*
 * index.h — which reservation holds a page: a 5-level radix tree over page numbers
 * (47-bit user space = 35 bits of page number: 8 + 9 + 9 + 5 granule bits + 4 page
 * bits), read without any lock.
 *
 * A slot is empty (0), a child node, or a reservation tagged with bit 0 meaning "every
 * page under this slot belongs to it", so a 1 TiB reservation fills a few dozen slots.
 * Readers load slots with acquire. Invariant: every page of a live reservation maps to it
 * or, for an instant while ownership moves (a placeholder split or coalesced, see
 * placeholder.c), to the reservation that owned it before; never to nothing.
 *   - Moving pages between live owners is two steps: prepare (may allocate nodes, changes
 *     no lookup result: a tag over a slot that must be split is pushed down into a fresh
 *     child holding the same tag before the CAS that installs it) and store (allocates
 *     nothing: one release store per slot). A new reservation's pages are stored in one
 *     pass.
 *   - Live reservations own disjoint ranges (the kernel mapping, or the record lock of the
 *     owner being split, makes them disjoint). A dying reservation's tags may still sit in
 *     slots a new one stores over; remove clears a slot only if it still holds its own
 *     tag (CAS), and follows the tag into a child if a push-down won the race.
 * Nodes are never freed, so a reader never follows a dangling pointer; a reader that finds
 * a reservation must lock it and re-check that it still covers the address (record.c).
 */
#ifndef HM_VM_INDEX_H
#define HM_VM_INDEX_H

#include <stdint.h>

#include "os/os.h"

struct hm_reservation;

/* The reservation covering page number `page`, or NULL. Lock-free. */
struct hm_reservation *hm_index_lookup(uint64_t page);
/* Maps pages [first, end), which belong to no live reservation, to r (one pass). Returns
 * 0 or ENOMEM (then nothing maps to r). */
int hm_index_insert(uint64_t first, uint64_t end, struct hm_reservation *r);
/* Allocates the nodes a store over [first, end) needs, from `site`. 0 or an errno; either
 * way no lookup result changed. */
int hm_index_prepare(uint64_t first, uint64_t end, hm_os_site_t site);
/* Maps pages [first, end), prepared before, to r. Never fails, never allocates. */
void hm_index_store(uint64_t first, uint64_t end, struct hm_reservation *r);
/* Unmaps pages [first, end) that map to r. Never fails. */
void hm_index_remove(uint64_t first, uint64_t end, struct hm_reservation *r);
/* First page in [first, end) that is mapped, or end. */
uint64_t hm_index_next_used(uint64_t first, uint64_t end);
/* One past the last mapped page in [first, end), or first if none. */
uint64_t hm_index_last_used_end(uint64_t first, uint64_t end);

#endif
