/*
 * names.c — spelling of Windows states, types, protections and sizes for the hostmem
 * tool's tables, JSON and narration (see names.h).
 *
 * Invariant: every name is a pure function of its value, so the tool's output is
 * deterministic; names never exceed HM_TOOL_NAME_LEN. Calls only snprintf; no state.
 */
#include "names.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct prot_name {
    DWORD value;
    const char *brief; /* table word */
    const char *name;  /* C constant */
} prot_name_t;

static const prot_name_t base_prots[] = {
    {PAGE_NOACCESS, "NA", "PAGE_NOACCESS"},
    {PAGE_READONLY, "R", "PAGE_READONLY"},
    {PAGE_READWRITE, "RW", "PAGE_READWRITE"},
    {PAGE_WRITECOPY, "WC", "PAGE_WRITECOPY"},
    {PAGE_EXECUTE, "X", "PAGE_EXECUTE"},
    {PAGE_EXECUTE_READ, "RX", "PAGE_EXECUTE_READ"},
    {PAGE_EXECUTE_READWRITE, "RWX", "PAGE_EXECUTE_READWRITE"},
    {PAGE_EXECUTE_WRITECOPY, "XWC", "PAGE_EXECUTE_WRITECOPY"},
};

static const prot_name_t modifiers[] = {
    {PAGE_GUARD, "+G", " | PAGE_GUARD"},
    {PAGE_NOCACHE, "+NC", " | PAGE_NOCACHE"},
    {PAGE_WRITECOMBINE, "+WCB", " | PAGE_WRITECOMBINE"},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define BASE_MASK 0xFFu

const char *hm_tool_state_name(DWORD state)
{
    switch (state) {
    case MEM_COMMIT: return "commit";
    case MEM_RESERVE: return "reserve";
    case MEM_FREE: return "free";
    default: return "?";
    }
}

const char *hm_tool_type_name(DWORD type)
{
    switch (type) {
    case 0: return "-";
    case MEM_PRIVATE: return "private";
    case MEM_MAPPED: return "mapped";
    case MEM_IMAGE: return "image";
    default: return "?";
    }
}

static const prot_name_t *find_base(DWORD base)
{
    for (size_t i = 0; i < N_OF(base_prots); i++)
        if (base_prots[i].value == base)
            return &base_prots[i];
    return NULL;
}

/* The bits that neither a base protection nor a known modifier explains. */
static DWORD unknown_bits(DWORD protect)
{
    DWORD rest = protect & ~BASE_MASK;
    for (size_t i = 0; i < N_OF(modifiers); i++)
        rest &= ~modifiers[i].value;
    return rest;
}

/* Writes base + modifiers, choosing the brief or the C spelling; hex if not nameable. */
static const char *protect_words(DWORD protect, bool brief, char buf[HM_TOOL_NAME_LEN])
{
    const prot_name_t *base = find_base(protect & BASE_MASK);
    if (!base || unknown_bits(protect)) {
        snprintf(buf, HM_TOOL_NAME_LEN, "0x%x", protect);
        return buf;
    }
    snprintf(buf, HM_TOOL_NAME_LEN, "%s", brief ? base->brief : base->name);
    for (size_t i = 0; i < N_OF(modifiers); i++)
        if (protect & modifiers[i].value)
            strcat(buf, brief ? modifiers[i].brief : modifiers[i].name);
    return buf;
}

const char *hm_tool_protect_name(DWORD protect, char buf[HM_TOOL_NAME_LEN])
{
    if (protect == 0)
        return "-";
    return protect_words(protect, true, buf);
}

const char *hm_tool_protect_const(DWORD protect, char buf[HM_TOOL_NAME_LEN])
{
    if (protect == 0)
        return "0";
    return protect_words(protect, false, buf);
}

const char *hm_tool_size_name(uint64_t size, char buf[HM_TOOL_NAME_LEN])
{
    static const char units[] = "MGTPE";
    if (size < ((uint64_t)1 << 20)) {
        snprintf(buf, HM_TOOL_NAME_LEN, "%lluK", (unsigned long long)((size + 512) >> 10));
        return buf;
    }
    unsigned shift = 20;
    size_t u = 0;
    while (u + 1 < sizeof units - 1 && (size >> shift) >= 1024) {
        shift += 10;
        u++;
    }
    /* Tenths of the unit, rounded. (size % unit) * 10 < 10 * 2^60 cannot overflow. */
    uint64_t unit = (uint64_t)1 << shift;
    uint64_t tenths = (size / unit) * 10 + ((size % unit) * 10 + unit / 2) / unit;
    snprintf(buf, HM_TOOL_NAME_LEN, "%llu.%llu%c", (unsigned long long)(tenths / 10),
             (unsigned long long)(tenths % 10), units[u]);
    return buf;
}
