/*
 * demo.h — what the steps of `hostmem demo` (demo.c) share with its printer
 * (demo_print.c): the demo's reservation and the narration functions.
 */
#ifndef HM_TOOL_DEMO_H
#define HM_TOOL_DEMO_H

#include <stdbool.h>
#include <stdint.h>

#include "hostmem/memoryapi.h"
#include "names.h"

#define HM_DEMO_KIB ((SIZE_T)1024)
#define HM_DEMO_RESERVE_SIZE (256 * HM_DEMO_KIB)

typedef struct hm_demo {
    volatile char *p; /* the reservation, HM_DEMO_RESERVE_SIZE bytes */
} hm_demo_t;

/* "\n<n>. <title>" */
void hm_demo_step(int n, const char *title);
/* One line of explanation. */
void hm_demo_say(const char *line);
/* A call as a Windows programmer writes it. */
void hm_demo_call(const char *code);
/* One line of result. */
__attribute__((format(printf, 1, 2))) void hm_demo_result(const char *fmt, ...);
/* Reports a result that differs from Windows', with GetLastError(); returns false. */
bool hm_demo_unexpected(const char *what);
/* "p", "p+4K": an address as an offset from the reservation. */
const char *hm_demo_offset_name(const hm_demo_t *d, uintptr_t addr, char buf[HM_TOOL_NAME_LEN]);
/* Prints the map of [p, p+256K), one line per region, as VirtualQuery reports it. Returns
 * false (after reporting it) if a VirtualQuery fails. */
bool hm_demo_show_map(const hm_demo_t *d);

/* The write-watch step (demo_watch.c). Returns false after reporting a result that
 * differs from Windows'. */
bool hm_demo_step_watch(int n);

/* The host step (demo_host.c): two runtimes under budgets. Returns false after reporting a
 * result that differs from what it should be. */
bool hm_demo_step_host(int n);

#endif
