/*
 * procmaps.h — a process's mappings as the kernel lists them (/proc/<pid>/maps), parsed
 * into an array sorted by address. Used by foreign.c (this process, memory hostmem did not
 * allocate) and kernel_view.c (any process). No state, no locks: each read is a snapshot.
 */
#ifndef HM_VM_PROCMAPS_H
#define HM_VM_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "os/os.h"
#include "vm/vm.h"

typedef struct hm_vma {
    uintptr_t s, e;
    uint32_t prot;  /* hm_vm bits incl. COW */
    bool shared, file;
    uint64_t inode;
    char dev[16];
    const char *name; /* path or [special], "" if none */
    uint64_t rss_kb, locked_kb; /* from an smaps file's Rss: and Locked: lines, else 0 */
} hm_vma_t;

typedef struct hm_maps {
    char *text;
    hm_vma_t *v;
    size_t n;
} hm_maps_t;

/* Reads and parses path ("/proc/<pid>/maps", or "smaps": then the Rss and Locked lines
 * under each VMA are kept too); 0 or a positive errno. */
int hm_maps_read(hm_os_site_t site, const char *path, hm_maps_t *m);
void hm_maps_free(hm_maps_t *m);
/* Index of the first VMA ending above addr (m->n if none). */
size_t hm_maps_find(const hm_maps_t *m, uintptr_t addr);
/* Both map the same file. */
bool hm_maps_same_file(const hm_vma_t *a, const hm_vma_t *b);
/* Windows' type of VMA i: a file mapped executable anywhere is an image, other files are
 * mapped, anonymous memory is private ([vdso] image, [vvar]/[vsyscall] mapped). */
hm_vm_type_t hm_maps_type_of(const hm_maps_t *m, size_t i);
/* Index of the first VMA of the run of adjacent VMAs of the same file as VMA i (i itself
 * for anonymous memory): Windows' AllocationBase of a mapped file. */
size_t hm_maps_first_of_file(const hm_maps_t *m, size_t i);
/* Index of the last VMA adjacent to i with the same file and protection: one region. */
size_t hm_maps_last_alike(const hm_maps_t *m, size_t i);

#endif
