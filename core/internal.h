/* Internal helpers shared by the core's files. Not installed. */
#ifndef PLEXUS_CORE_INTERNAL_H
#define PLEXUS_CORE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "plexus/plexus.h"
#include "plexus/plugin.h"

/* Record `fmt` as this thread's last error and return `status`. */
px_status px_set_error(px_status status, const char *fmt, ...) PX_PRINTF(2, 3);
px_status px_set_errorv(px_status status, const char *fmt, va_list ap);
/* Prefix the current last-error message with "<prefix>: ". */
void px_error_prefix(const char *fmt, ...) PX_PRINTF(1, 2);
void px_clear_error(void);

/* Logging to stderr. level <= px_log_threshold is printed. */
extern int px_log_threshold;
void px_log(px_log_level level, const char *who, const char *fmt, ...) PX_PRINTF(3, 4);

/* Checked allocation helpers (NULL on failure or overflow, error set). */
void *px_malloc(size_t n);
void *px_calloc(size_t n, size_t size);
void *px_realloc_array(void *p, size_t n, size_t size);
char *px_strdup(const char *s);
void *px_aligned_alloc(size_t size, size_t align);
void px_aligned_free(void *p);

/* Testing: make the Nth checked allocation from now on fail (0: never).
 * Returns how many checked allocations were made since the last call. */
int64_t px_debug_fail_alloc_after(int64_t n);

/* Round `x` up to a multiple of `a` (a power of two). */
static inline uint64_t px_align_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

#endif
