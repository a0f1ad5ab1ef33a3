/* Minimal test helpers shared by the C tests: CHECK macros that count
 * failures, and a summary line CTest and CI can read. */
#ifndef PLEXUS_TEST_H
#define PLEXUS_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int px_test_failures = 0;
static int px_test_checks = 0;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        px_test_checks++;                                                                \
        if (!(cond)) {                                                                   \
            px_test_failures++;                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
        }                                                                                \
    } while (0)

#define CHECK_MSG(cond, ...)                                                             \
    do {                                                                                 \
        px_test_checks++;                                                                \
        if (!(cond)) {                                                                   \
            px_test_failures++;                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                                \
            fputc('\n', stderr);                                                         \
        }                                                                                \
    } while (0)

/* CHECK_OK(px call): the call must return PX_OK; prints px_last_error(). */
#define CHECK_OK(expr)                                                                   \
    do {                                                                                 \
        px_test_checks++;                                                                \
        px_status st_ = (expr);                                                          \
        if (st_ != PX_OK) {                                                              \
            px_test_failures++;                                                          \
            fprintf(stderr, "%s:%d: %s returned %d: %s\n", __FILE__, __LINE__, #expr,    \
                    (int)st_, px_last_error());                                          \
        }                                                                                \
    } while (0)

/* Print the summary and return the process exit code. */
static inline int px_test_finish(const char *name) {
    printf("%s: %d checks, %d failed\n", name, px_test_checks, px_test_failures);
    return px_test_failures ? 1 : 0;
}

/* Exit code CTest treats as "skipped". */
#define PX_TEST_SKIP 77

#endif
