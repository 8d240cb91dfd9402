/*
 * names.h — how the hostmem tool spells Windows values: region states, types and
 * protections as short table words ("commit", "RW+G", "image"), protections as the
 * constants a Windows programmer writes (PAGE_READWRITE | PAGE_GUARD), and sizes in
 * human units (64K, 1.0M).
 */
#ifndef HM_TOOL_NAMES_H
#define HM_TOOL_NAMES_H

#include <stddef.h>

#include "hostmem/memoryapi.h"

/* Room for any name these functions write, NUL included. */
#define HM_TOOL_NAME_LEN 64

/* "commit", "reserve", "free"; "?" for a value VirtualQuery never returns. */
const char *hm_tool_state_name(DWORD state);

/* "private", "mapped", "image"; "-" for 0 (free memory); "?" otherwise. */
const char *hm_tool_type_name(DWORD type);

/* Short protection: "NA", "R", "RW", "WC", "X", "RX", "RWX", "XWC", then "+G" (guard),
 * "+NC" (no cache), "+WCB" (write combine); "-" for 0; hex for anything else. */
const char *hm_tool_protect_name(DWORD protect, char buf[HM_TOOL_NAME_LEN]);

/* The C spelling: "PAGE_READWRITE | PAGE_GUARD"; "0" for 0; hex for unknown bits. */
const char *hm_tool_protect_const(DWORD protect, char buf[HM_TOOL_NAME_LEN]);

/* Human size: "4K" … "1020K" below 1 MiB, then one decimal: "1.0M", "2.5G", "127.9T". */
const char *hm_tool_size_name(uint64_t size, char buf[HM_TOOL_NAME_LEN]);

#endif
