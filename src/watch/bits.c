/*
 * bits.c — bitmaps of pages (bit p of word p/64) for the write-watch state: set, clear and
 * OR a range counting the bits that changed, and find the next bit set in either of two
 * bitmaps. Word at a time, so a range costs O(range/64).
 *
 * Invariant: only bits inside [s, e) change. Pure functions of memory the caller owns
 * (under the reservation's lock); async-signal-safe (the mprotect engine's fault path).
 */
#include "watch/engine.h"

/* Mask of the bits [s, e) of word w (s < e, both inside or at the edges of the word). */
static inline uint64_t word_mask(uint64_t w, uint64_t s, uint64_t e)
{
    uint64_t lo = s > w * 64 ? s - w * 64 : 0;
    uint64_t hi = e < (w + 1) * 64 ? e - w * 64 : 64;
    uint64_t m = hi == 64 ? ~0ull : ((1ull << hi) - 1);
    return m & ~((1ull << lo) - 1);
}

uint64_t hm_bits_set(uint64_t *b, uint64_t s, uint64_t e)
{
    uint64_t changed = 0;
    for (uint64_t w = s / 64; s < e && w * 64 < e; w++) {
        uint64_t m = word_mask(w, s, e);
        changed += (uint64_t)__builtin_popcountll(~b[w] & m);
        b[w] |= m;
    }
    return changed;
}

uint64_t hm_bits_clear(uint64_t *b, uint64_t s, uint64_t e)
{
    uint64_t changed = 0;
    for (uint64_t w = s / 64; s < e && w * 64 < e; w++) {
        uint64_t m = word_mask(w, s, e);
        if (!(b[w] & m))
            continue; /* no store: leaves untouched bitmap pages unpopulated */
        changed += (uint64_t)__builtin_popcountll(b[w] & m);
        b[w] &= ~m;
    }
    return changed;
}

uint64_t hm_bits_or(uint64_t *dst, const uint64_t *src, uint64_t s, uint64_t e)
{
    uint64_t changed = 0;
    for (uint64_t w = s / 64; s < e && w * 64 < e; w++) {
        uint64_t add = src[w] & word_mask(w, s, e) & ~dst[w];
        if (!add)
            continue;
        changed += (uint64_t)__builtin_popcountll(add);
        dst[w] |= add;
    }
    return changed;
}

uint64_t hm_bits_next(const uint64_t *a, const uint64_t *b, uint64_t from, uint64_t end)
{
    for (uint64_t w = from / 64; from < end && w * 64 < end; w++) {
        uint64_t m = (a[w] | b[w]) & word_mask(w, from, end);
        if (m)
            return w * 64 + (uint64_t)__builtin_ctzll(m);
    }
    return end;
}
