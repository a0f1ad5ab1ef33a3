/* Unicode classes (generated table in unicode_data.c), UTF-8 and the GPT-2
 * byte-level mapping. */
#include "unicode.h"

int px_uc_flags(uint32_t cp) {
    if (cp > 0x10FFFF) return 0;
    int32_t lo = 0, hi = px_ucd_n_runs - 1;
    while (lo < hi) { /* last run with first <= cp */
        int32_t mid = (lo + hi + 1) / 2;
        if (px_ucd_runs[mid].first <= cp) lo = mid;
        else hi = mid - 1;
    }
    return px_ucd_runs[lo].flags;
}

uint32_t px_utf8_decode(const char *s, size_t n, size_t *len) {
    const uint8_t *u = (const uint8_t *)s;
    uint32_t c = u[0];
    size_t k;
    if (c < 0x80) {
        *len = 1;
        return c;
    }
    if ((c & 0xE0) == 0xC0) k = 2, c &= 0x1F;
    else if ((c & 0xF0) == 0xE0) k = 3, c &= 0x0F;
    else if ((c & 0xF8) == 0xF0) k = 4, c &= 0x07;
    else k = 0;
    if (k == 0 || k > n) {
        *len = 1;
        return 0xFFFD;
    }
    for (size_t i = 1; i < k; i++) {
        if ((u[i] & 0xC0) != 0x80) {
            *len = 1;
            return 0xFFFD;
        }
        c = (c << 6) | (u[i] & 0x3F);
    }
    *len = k;
    return c;
}

size_t px_utf8_encode(uint32_t cp, char *o) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Bytes that are printable Latin-1 ('!'..'~', 0xA1..0xAC, 0xAE..0xFF) stand
 * for themselves; the other 68, in order, for U+0100, U+0101, ... */
static int printable(int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }

uint32_t px_byte_to_cp(uint8_t b) {
    if (printable(b)) return b;
    uint32_t n = 0;
    for (int i = 0; i < b; i++) n += !printable(i);
    return 256 + n;
}

int px_cp_to_byte(uint32_t cp) {
    if (cp < 256) return printable((int)cp) ? (int)cp : -1;
    if (cp >= 256 + 68) return -1;
    uint32_t n = cp - 256;
    for (int b = 0; b < 256; b++)
        if (!printable(b) && n-- == 0) return b;
    return -1;
}
