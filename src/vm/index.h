/*
 * index.h — which reservation holds a page: a 5-level radix tree over page numbers
 * (47-bit user space = 35 bits of page number: 8 + 9 + 9 + 5 granule bits + 4 page
 * bits), read without any lock.
 *
 * A slot is empty (0), a child node, or a reservation tagged with bit 0 meaning "every
 * page under this slot belongs to it", so a 1 TiB reservation fills a few dozen slots.
 * Readers load slots with acquire; live reservations own disjoint ranges (the kernel
 * mapping makes them disjoint: insert after mmap, remove after munmap). A dying
 * reservation's tags may still sit in slots a new one inserts over: insert overwrites
 * them (release stores; child nodes installed with CAS), and remove clears a slot only if
 * it still holds its own tag (CAS). Nodes are never freed, so a
 * reader never follows a dangling pointer; a reader that finds a reservation must lock it
 * and re-check that it still covers the address (see record.c).
 */
#ifndef HM_VM_INDEX_H
#define HM_VM_INDEX_H

#include <stdint.h>

struct hm_reservation;

/* The reservation covering page number `page`, or NULL. Lock-free. */
struct hm_reservation *hm_index_lookup(uint64_t page);
/* Maps pages [first, end) to r. Returns 0 or ENOMEM (then nothing is mapped). */
int hm_index_insert(uint64_t first, uint64_t end, struct hm_reservation *r);
/* Unmaps pages [first, end) that map to r. Never fails. */
void hm_index_remove(uint64_t first, uint64_t end, struct hm_reservation *r);
/* First page in [first, end) that is mapped, or end. */
uint64_t hm_index_next_used(uint64_t first, uint64_t end);
/* One past the last mapped page in [first, end), or first if none. */
uint64_t hm_index_last_used_end(uint64_t first, uint64_t end);

#endif
