/* Op conformance test: one-node cases (inputs, attributes) generated per op
 * by conf_cases.c and run by test_conformance.c on every device, checked
 * against the oracle (oracle.h) and against the CPU's output. */
#ifndef PXTEST_CONF_H
#define PXTEST_CONF_H

#include <stdint.h>

#include "oracle.h"
#include "plexus/plexus.h"

#define CONF_MAX_IN 8
#define CONF_MAX_ATTRS 10

/* ---- deterministic RNG (splitmix64) ------------------------------------------ */

typedef struct crng {
    uint64_t s;
} crng;

uint64_t rng_next(crng *r);
/* Uniform in [lo, hi). */
double rng_uniform(crng *r, double lo, double hi);
/* Uniform integer in [lo, hi] (inclusive). */
int64_t rng_int(crng *r, int64_t lo, int64_t hi);
/* One of the n values. */
int64_t rng_pick(crng *r, const int64_t *v, int n);

/* ---- a case ----------------------------------------------------------------------- */

enum { IN_ABSENT = 0, IN_INPUT = 1, IN_CONST = 2, IN_STATE = 3 };

typedef struct ccase {
    char label[200];     /* dtypes, shapes, attributes: printed on failure */
    px_op op;
    int32_t n_in;
    otensor in[CONF_MAX_IN];
    int kind[CONF_MAX_IN];
    void *buf[CONF_MAX_IN];
    px_attr attrs[CONF_MAX_ATTRS];
    int32_t n_attrs;      /* attributes of the node */
    int32_t n_oracle_attrs; /* attrs[n_attrs .. n_oracle_attrs): oracle only (arange n) */
    int64_t ints[CONF_MAX_ATTRS][PX_MAX_DIMS];
    int64_t arange_n;     /* ARANGE: output length */
    /* After the run, also read these state inputs back by name and check
     * them (SET_ROWS dst, ATTENTION caches: expected = set_rows(state, rows,
     * positions) with rows = input state_src[i], positions = input state_idx). */
    int n_state_checks;
    int state_in[2], state_src[2], state_idx;
    int tol_scale_pct;    /* 0 = 100 */
} ccase;

void case_init(ccase *c, px_op op);
void case_free(ccase *c);
/* Append to the label (printf). */
void case_label(ccase *c, const char *fmt, ...) PX_PRINTF(2, 3);

/* Input slot i: random values. Floats uniform in [lo, hi); integers uniform
 * in [lo, hi] (rounded); BOOL 0/1; block types quantize floats in [lo, hi). */
int case_rand(ccase *c, int i, int kind, px_dtype dt, int32_t rank, const int64_t *ne, crng *r, double lo, double hi);
/* Input slot i from explicit values (converted like px_convert). */
int case_values(ccase *c, int i, int kind, px_dtype dt, int32_t rank, const int64_t *ne, const double *v);
/* Mark slot i absent (an optional input left out). */
void case_absent(ccase *c, int i);

void case_attr_i(ccase *c, const char *name, int64_t v);
void case_attr_f(ccase *c, const char *name, double v);
void case_attr_ints(ccase *c, const char *name, const int64_t *v, int32_t n);
/* An attribute only the oracle sees. */
void case_oracle_attr_i(ccase *c, const char *name, int64_t v);

/* Human-readable shape "[3,0,5]". */
const char *shape_str(int32_t rank, const int64_t *ne, char *buf, size_t cap);

/* ---- generators (conf_cases.c) -------------------------------------------------------- */

/* Called once per generated case; the case is freed by the generator. */
typedef void (*case_sink)(ccase *c, void *ctx);

/* Generate the cases of op `op` with the RNG `r` (call again with another
 * RNG state for more), and the few large ones (once). */
void conf_generate(px_op op, crng *r, case_sink sink, void *ctx);
void conf_generate_large(px_op op, crng *r, case_sink sink, void *ctx);
/* Cases of the ops appended for the ONNX importer (conf_cases_index.c:
 * EXPAND..TOPK, conf_cases_vision.c: CONV..LRN); nothing for other ops. */
void conf_generate_index(px_op op, crng *r, case_sink sink, void *ctx);
void conf_generate_vision(px_op op, crng *r, case_sink sink, void *ctx);
void conf_generate_grid(px_op op, crng *r, case_sink sink, void *ctx); /* conf_cases_grid.c */

#endif
