/* Unicode helpers for the tokenizers (internal). */
#ifndef PLEXUS_LLM_UNICODE_H
#define PLEXUS_LLM_UNICODE_H

#include <stddef.h>
#include <stdint.h>

enum { PX_UC_L = 1, PX_UC_N = 2, PX_UC_P = 4, PX_UC_S = 8, PX_UC_M = 16, PX_UC_WS = 32 };

typedef struct px_ucd_run {
    uint32_t first;
    uint8_t flags;
} px_ucd_run;

extern const px_ucd_run px_ucd_runs[];
extern const int32_t px_ucd_n_runs;

/* Class flags of a code point (0 for unassigned and out of range). */
int px_uc_flags(uint32_t cp);
/* Decode one UTF-8 character at s[0..n) (n >= 1): returns the code point and
 * its length in *len; an invalid or truncated sequence gives U+FFFD with
 * length 1. */
uint32_t px_utf8_decode(const char *s, size_t n, size_t *len);
/* Encode cp as UTF-8 into out (room for 4); returns the length. */
size_t px_utf8_encode(uint32_t cp, char *out);
/* GPT-2 byte-level mapping: the code point that stands for byte b. */
uint32_t px_byte_to_cp(uint8_t b);
/* ... and back: the byte of code point cp, -1 if cp stands for none. */
int px_cp_to_byte(uint32_t cp);

#endif
