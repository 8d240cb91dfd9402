/*
 * labels.h — what a region holds, where the tool can tell: "stack" (the main thread's
 * stack), "heap" (malloc's), or the file name of the image (executable or shared library)
 * mapped there. Windows' VMMap shows the same in its Details column.
 */
#ifndef HM_TOOL_LABELS_H
#define HM_TOOL_LABELS_H

#include <stdint.h>

#include "hostmem/memoryapi.h"

typedef struct hm_tool_labels {
    uintptr_t stack; /* an address on the calling thread's stack */
    void *heap;      /* a live malloc block */
} hm_tool_labels_t;

/* Takes the reference addresses. Returns 0, or -1 if malloc fails. */
int hm_tool_labels_init(hm_tool_labels_t *l);

/* The label of a region, or "" if none. The string lives until the next call. */
const char *hm_tool_label(const hm_tool_labels_t *l, const MEMORY_BASIC_INFORMATION *mbi);

void hm_tool_labels_fini(hm_tool_labels_t *l);

#endif
