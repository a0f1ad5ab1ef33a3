/* ONNX importer on bad input: truncated, bit-flipped and structurally
 * corrupted copies of real models from ../shared/onnx-tests must give an
 * error whose message names the file, never a crash, a hang or a leak.
 *
 * Each copy is written to a file in a private temporary folder, opened with
 * px_model_open, its metadata and tensors walked, its graph built with the
 * test's input files as build options (input.NAME = FILE.pb) and without,
 * and when the graph builds, compiled and run with the inputs (zeros for an
 * input without a file), as `plexus onnx-run` does. Successes are fine; a
 * failure must come with a message (naming the file for open and build).
 *
 * Corruptions, per model: every prefix up to 4 KiB and strided prefixes
 * after it; then seeded mutations: bit flips, byte overwrites, and
 * structure-aware ones made on a parse of the protobuf (a wrong length
 * prefix, a varint/fixed field set to an edge value, a field dropped or
 * repeated or given another wire type, a string grown long) with every enclosing length kept right, so
 * that they reach the importer and not only the wire-format reader.
 *
 * Environment: PLEXUS_ONNX_BAD_ITERS = mutations per model (default 3000,
 * 1000 under a sanitizer), PLEXUS_ONNX_BAD_TIMEOUT = seconds one copy may
 * take before the test reports a hang (default 60), PLEXUS_ONNX_BAD_VERBOSE
 * = 1 prints every copy before it is tried, PLEXUS_ONNX_BAD_SAVE = a folder
 * that receives every copy that fails a check, PLEXUS_ONNX_BAD_MODELS = a
 * comma-separated list: only the models whose name contains one of them. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "onnx_pb.h"
#include "plexus/dtype.h"
#include "plexus/plexus.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

void px_clear_error(void); /* libplexus: a stale message must not pass for a new one */

/* Memory: the models are a few KiB, so no copy has a reason to need much.
 * The process's address space is capped (a sanitizer's allocator is told
 * the same below), so an allocation sized by a corrupted field fails at
 * once instead of taking the machine; such a failure ("out of memory" for
 * a file of a few KiB) is reported, as is a copy that makes the peak
 * resident size grow by more than PEAK_GROWTH. */
#define AS_LIMIT ((rlim_t)4 << 30)
#define PEAK_GROWTH_KIB (1L << 20)
#if SANITIZED
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1:max_allocation_size_mb=2048"; }
#endif

/* Models: subgraphs (Scan, Loop, If), many-node attention graphs, IR 3
 * models with initializers listed as inputs, and small simple ones. */
static const char *const models[] = {
    "node/test_scan9_multi_state",
    "node/test_scan9_scalar",
    "node/test_range_int32_type_negative_delta_expanded",
    "node/test_affine_grid_2d_expanded",
    "node/test_if_seq",
    "node/test_attention_4d_causal_expanded",
    "node/test_linear_attention_gated_expanded",
    "node/test_layer_normalization_3d_axis0_epsilon_expanded",
    "pytorch-converted/test_Conv2d",
    "pytorch-converted/test_BatchNorm2d_eval",
    "simple/test_expand_shape_model1",
    "simple/test_single_relu_model",
};

/* Graphs whose values need more than this are built but not run. */
#define RUN_LIMIT_BYTES ((uint64_t)256 << 20)
#define MAX_INPUTS 16

static px_context *ctx;
static char tmpdir[64], tmp[128];
static const char *save_dir;
static int verbose;

typedef struct outcome {
    long copies, open_err, opened, build_err, built, too_big, prog_err, run_err, ran;
} outcome;
static outcome total;

/* ---- the case in progress (for the hang report) ------------------------------- */

static char current[512];
static unsigned timeout_s;

static void on_alarm(int sig) {
    (void)sig;
    static const char a[] = "\ntest_onnx_bad: HANG: one copy took longer than PLEXUS_ONNX_BAD_TIMEOUT: ";
    if (write(2, a, sizeof a - 1) < 0) _exit(1);
    if (write(2, current, strlen(current)) < 0) _exit(1);
    static const char b[] = "\n(the copy is left in the file named above)\n";
    if (write(2, b, sizeof b - 1) < 0) _exit(1);
    _exit(1);
}

#if !SANITIZED
/* A crash: say which copy (sanitizer builds have their own report). */
static void on_crash(int sig) {
    static const char a[] = "\ntest_onnx_bad: CRASH on ";
    if (write(2, a, sizeof a - 1) < 0 || write(2, current, strlen(current)) < 0 || write(2, "\n", 1) < 0) _exit(1);
    raise(sig); /* SA_RESETHAND: the default action now */
}
#endif

/* ---- files -------------------------------------------------------------------- */

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *b = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long sz = ftell(f);
        if (sz >= 0 && fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)sz + 1))) {
            if (fread(b, 1, (size_t)sz, f) != (size_t)sz) {
                free(b);
                b = NULL;
            } else {
                *n = (size_t)sz;
            }
        }
    }
    fclose(f);
    return b;
}

static int spill(const char *path, const uint8_t *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(b, 1, n, f) == n;
    ok &= fclose(f) == 0;
    return ok ? 0 : -1;
}

/* ---- one model's inputs ----------------------------------------------------------- */

typedef struct input {
    char name[256];
    char path[2048];
    uint8_t *file;    /* the .pb bytes (kept alive for data) */
    onx_arena *arena;
    const void *data; /* decoded elements; NULL when the file is not a tensor */
    uint64_t nbytes;
} input;

typedef struct model {
    const char *name;
    char path[2048];
    uint8_t *bytes;
    size_t n;
    input in[MAX_INPUTS];
    int n_in;
    const char *keys[MAX_INPUTS], *vals[MAX_INPUTS];
    char keybuf[MAX_INPUTS][300];
} model;

/* input_K.pb belongs to graph input K (the official runner's rule). */
static int load_model(model *md, const char *root, const char *name) {
    memset(md, 0, sizeof *md);
    md->name = name;
    snprintf(md->path, sizeof md->path, "%s/%s/model.onnx", root, name);
    if (!(md->bytes = slurp(md->path, &md->n))) return -1;
    onx_arena *a = onx_arena_create();
    onx_model m;
    char err[400];
    if (!a || onx_decode_model(a, md->bytes, md->n, &m, err, sizeof err) != PX_OK) {
        onx_arena_destroy(a);
        return -1;
    }
    for (int k = 0; k < m.graph->n_inputs && md->n_in < MAX_INPUTS; k++) {
        input *in = &md->in[md->n_in];
        snprintf(in->path, sizeof in->path, "%s/%s/test_data_set_0/input_%d.pb", root, name, k);
        size_t len;
        if (!(in->file = slurp(in->path, &len))) break;
        snprintf(in->name, sizeof in->name, "%s", m.graph->inputs[k].name);
        onx_tensor t;
        if ((in->arena = onx_arena_create()) && onx_decode_tensor(in->arena, in->file, len, &t, err, sizeof err) == PX_OK &&
            onx_tensor_data(in->arena, &t, NULL, 0, &in->data, &in->nbytes, err, sizeof err) != PX_OK)
            in->data = NULL;
        char key[sizeof md->keybuf[0]];
        snprintf(key, sizeof key, "input.%s", in->name);
        memcpy(md->keybuf[md->n_in], key, sizeof key);
        md->keys[md->n_in] = md->keybuf[md->n_in];
        md->vals[md->n_in] = in->path;
        md->n_in++;
    }
    onx_arena_destroy(a);
    return 0;
}

static void free_model(model *md) {
    for (int i = 0; i < md->n_in; i++) {
        onx_arena_destroy(md->in[i].arena);
        free(md->in[i].file);
    }
    free(md->bytes);
}

/* ---- one copy --------------------------------------------------------------------- */

static void save_failure(const model *md, const uint8_t *b, size_t n) {
    static int saved;
    if (!save_dir) return;
    char p[1200];
    snprintf(p, sizeof p, "%s/%s-%d.onnx", save_dir, strrchr(md->name, '/') + 1, saved++);
    if (spill(p, b, n) == 0) fprintf(stderr, "  saved as %s\n", p);
}

/* Compile and run g; inputs from the test's files, zeros otherwise. */
static void run_graph(const model *md, const px_graph *g, outcome *o, const uint8_t *b, size_t n) {
    uint64_t need = 0;
    int32_t nv = px_graph_value_count(g);
    for (px_value v = 0; v < nv; v++) {
        px_value_info vi;
        if (px_graph_value_info(g, v, &vi) != PX_OK) continue;
        /* a graph the importer accepts must have sizes that fit: one that
         * overflows would be planned too small and overrun at run time */
        uint64_t bytes = (uint64_t)px_dtype_row_size(vi.dtype, 1);
        int ok = vi.shape.rank >= 0 && vi.shape.rank <= PX_MAX_DIMS;
        for (int32_t d = 0; d < vi.shape.rank && ok; d++) {
            int64_t c = vi.shape.d[d].c;
            ok = c >= 0 && !__builtin_mul_overflow(bytes, (uint64_t)c, &bytes);
        }
        CHECK_MSG(ok, "%s: the graph built has value '%s' whose size overflows", current, vi.name ? vi.name : "");
        if (!ok) {
            save_failure(md, b, n);
            return;
        }
        if (__builtin_add_overflow(need, vi.nbytes > bytes ? vi.nbytes : bytes, &need)) need = UINT64_MAX;
    }
    if (need > RUN_LIMIT_BYTES) {
        o->too_big++;
        return;
    }
    px_program_options po = px_program_options_default();
    px_program *p = NULL;
    px_clear_error();
    px_status st = px_program_create(ctx, g, &po, &p);
    if (st != PX_OK) {
        o->prog_err++;
        CHECK_MSG(px_last_error()[0] != 0, "%s: px_program_create failed (%d) without a message", current, (int)st);
        if (!px_last_error()[0]) save_failure(md, b, n);
        return;
    }
    void *zeros = NULL;
    for (px_value v = 0; v < nv && st == PX_OK; v++) {
        px_value_info vi;
        if (px_graph_value_info(g, v, &vi) != PX_OK || vi.kind != PX_VALUE_INPUT) continue;
        const void *data = NULL;
        size_t nb = vi.nbytes;
        for (int k = 0; k < md->n_in && !data; k++)
            if (!strcmp(md->in[k].name, vi.name) && md->in[k].data) {
                data = md->in[k].data;
                nb = (size_t)md->in[k].nbytes;
            }
        if (!data) {
            free(zeros);
            data = zeros = calloc(1, nb ? nb : 1);
            if (!zeros) break;
        }
        px_clear_error();
        st = px_program_set_input(p, vi.name, data, nb);
    }
    free(zeros);
    if (st == PX_OK) {
        px_clear_error();
        st = px_program_run(p);
    }
    if (st == PX_OK) {
        o->ran++;
    } else {
        o->run_err++;
        CHECK_MSG(px_last_error()[0] != 0, "%s: run failed (%d) without a message", current, (int)st);
        if (!px_last_error()[0]) save_failure(md, b, n);
    }
    px_program_destroy(p);
}

static void try_open(const model *md, const uint8_t *b, size_t n, outcome *o) {
    px_model *m = NULL;
    px_clear_error();
    px_status st = px_model_open(ctx, tmp, &m);
    if (st != PX_OK) {
        o->open_err++;
        int named = strstr(px_last_error(), tmp) != NULL;
        CHECK_MSG(named, "%s: open failed (%d) with a message that does not name the file: '%s'", current, (int)st,
                  px_last_error());
        CHECK_MSG(st != PX_ERR_NO_MEMORY, "%s: open ran out of memory (an allocation sized by the file?): '%s'", current,
                  px_last_error());
        if (!named || st == PX_ERR_NO_MEMORY) save_failure(md, b, n);
        return;
    }
    o->opened++;
    volatile unsigned sum = 0;
    for (int64_t i = 0; i < px_model_meta_count(m); i++) {
        const char *k;
        px_meta_value v;
        if (px_model_meta_get(m, i, &k, &v) == PX_OK && k) sum += (unsigned char)k[0];
        if (v.type == PX_META_STRING && v.u.str.len) sum += (unsigned char)v.u.str.ptr[v.u.str.len - 1];
    }
    for (int64_t i = 0; i < px_model_tensor_count(m); i++) {
        px_tensor_info t;
        if (px_model_tensor_get(m, i, &t) == PX_OK && t.data && t.nbytes) sum += ((const unsigned char *)t.data)[t.nbytes - 1];
    }
    (void)sum;
    for (int with = md->n_in ? 1 : 0; with >= 0; with--) {
        px_graph *g = NULL;
        px_clear_error();
        st = px_model_build_graph_with(m, md->keys, md->vals, with ? md->n_in : 0, &g);
        if (st != PX_OK) {
            o->build_err++;
            int named = strstr(px_last_error(), tmp) != NULL;
            CHECK_MSG(named, "%s: build %s inputs failed (%d) with a message that does not name the file: '%s'", current,
                      with ? "with" : "without", (int)st, px_last_error());
            CHECK_MSG(st != PX_ERR_NO_MEMORY, "%s: build ran out of memory (an allocation sized by the file?): '%s'",
                      current, px_last_error());
            if (!named || st == PX_ERR_NO_MEMORY) save_failure(md, b, n);
            continue;
        }
        o->built++;
        run_graph(md, g, o, b, n);
        px_graph_destroy(g);
    }
    px_model_close(m);
}

static long peak_kib(void) {
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
}

static void try_copy(const model *md, const uint8_t *b, size_t n, outcome *o, const char *what) {
    static long peak;
    if (!peak) peak = peak_kib();
    snprintf(current, sizeof current, "%s, %s (%zu bytes, in %s)", md->name, what, n, tmp);
    if (verbose) fprintf(stderr, "try %s\n", current);
    o->copies++;
    if (spill(tmp, b, n)) {
        CHECK_MSG(0, "cannot write %s", tmp);
        return;
    }
    alarm(timeout_s);
    try_open(md, b, n, o);
    alarm(0);
    long now = peak_kib();
    CHECK_MSG(now - peak <= PEAK_GROWTH_KIB, "%s: the peak resident size grew by %ld MiB", current, (now - peak) >> 10);
    if (now - peak > PEAK_GROWTH_KIB) save_failure(md, b, n);
    peak = now;
}

/* ---- a protobuf tree for the structure-aware mutations ------------------------------ */

typedef struct pnode {
    uint64_t key;      /* field number << 3 | wire type */
    uint64_t v;        /* varint or fixed value */
    const uint8_t *p;  /* payload of a length-delimited field */
    size_t n;
    size_t at;         /* offset of the field's key in the file */
    int32_t kid, next; /* first field of the payload parsed as a message; next sibling */
} pnode;

typedef struct ptree {
    const uint8_t *base;
    pnode *nd;
    int32_t n, cap, root;
} ptree;

static int get_varint(const uint8_t **pp, const uint8_t *e, uint64_t *out) {
    uint64_t v = 0;
    for (int s = 0; s < 64 && *pp < e; s += 7) {
        uint8_t c = *(*pp)++;
        v |= (uint64_t)(c & 0x7f) << s;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Parse [p, e) as a message; its first field's index, -1 when empty. A
 * payload that does not parse as a message is a leaf (rolled back). */
static int32_t parse_msg(ptree *t, const uint8_t *p, const uint8_t *e, int depth, int *ok) {
    int32_t first = -1, last = -1, save = t->n;
    *ok = 0;
    while (p < e) {
        pnode nd = {.kid = -1, .next = -1, .at = (size_t)(p - t->base)};
        if (get_varint(&p, e, &nd.key) || (nd.key >> 3) == 0 || (nd.key >> 3) > 0x1fffffff) goto bad;
        switch (nd.key & 7) {
        case 0:
            if (get_varint(&p, e, &nd.v)) goto bad;
            break;
        case 1:
            if (e - p < 8) goto bad;
            memcpy(&nd.v, p, 8);
            p += 8;
            break;
        case 5: {
            uint32_t w;
            if (e - p < 4) goto bad;
            memcpy(&w, p, 4);
            nd.v = w;
            p += 4;
            break;
        }
        case 2: {
            uint64_t len;
            if (get_varint(&p, e, &len) || len > (uint64_t)(e - p)) goto bad;
            nd.p = p;
            nd.n = (size_t)len;
            p += len;
            break;
        }
        default: goto bad;
        }
        if (t->n == t->cap) {
            int32_t nc = t->cap ? t->cap * 2 : 256;
            if (nc > 1 << 20) goto bad;
            pnode *x = realloc(t->nd, (size_t)nc * sizeof *x);
            if (!x) goto bad;
            t->nd = x;
            t->cap = nc;
        }
        int32_t i = t->n++;
        t->nd[i] = nd;
        if ((nd.key & 7) == 2 && nd.n && depth < 40) {
            int sub_ok;
            int32_t k = parse_msg(t, nd.p, nd.p + nd.n, depth + 1, &sub_ok);
            if (sub_ok) t->nd[i].kid = k;
        }
        if (last >= 0) t->nd[last].next = i;
        else first = i;
        last = i;
    }
    *ok = 1;
    return first;
bad:
    t->n = save;
    return -1;
}

enum { M_VALUE, M_LEN, M_DROP, M_DUP, M_CUT, M_GROW, M_RETYPE };
typedef struct mut {
    int32_t node;
    int kind;
    uint64_t val;  /* M_VALUE: the new value; M_CUT, M_GROW: the payload's new size; M_RETYPE: the wire type */
    int64_t delta; /* M_LEN: added to the length written */
} mut;

typedef struct obuf {
    uint8_t *b;
    size_t n, cap;
    int bad;
} obuf;

static void put(obuf *o, const void *p, size_t n) {
    if (o->bad) return;
    if (o->n + n > o->cap) {
        size_t nc = o->cap ? o->cap : 4096;
        while (nc < o->n + n) nc *= 2;
        uint8_t *x = realloc(o->b, nc);
        if (!x) {
            o->bad = 1;
            return;
        }
        o->b = x;
        o->cap = nc;
    }
    if (n) memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void put_varint(obuf *o, uint64_t v) {
    uint8_t tmpb[10];
    size_t k = 0;
    while (v >= 0x80) {
        tmpb[k++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmpb[k++] = (uint8_t)v;
    put(o, tmpb, k);
}

static void emit(const ptree *t, int32_t i, const mut *ms, int nm, obuf *o);

static void emit_one(const ptree *t, int32_t i, const mut *ms, int nm, obuf *o) {
    const pnode *nd = &t->nd[i];
    uint64_t v = nd->v;
    int64_t delta = 0;
    size_t cut = nd->n, grow = 0;
    int retype = -1;
    for (int k = 0; k < nm; k++) {
        if (ms[k].node != i) continue;
        if (ms[k].kind == M_VALUE) v = ms[k].val;
        if (ms[k].kind == M_LEN) delta = ms[k].delta;
        if (ms[k].kind == M_CUT && ms[k].val < cut) cut = (size_t)ms[k].val;
        if (ms[k].kind == M_GROW) grow = (size_t)ms[k].val;
        if (ms[k].kind == M_RETYPE) retype = (int)ms[k].val;
    }
    if (retype >= 0) { /* the same field number with another wire type (and a value of that type) */
        uint64_t one = 1;
        put_varint(o, (nd->key & ~7ull) | (uint64_t)retype);
        if (retype == 0) put_varint(o, one);
        else if (retype == 1) put(o, &one, 8);
        else if (retype == 5) put(o, &one, 4);
        else put_varint(o, 0);
        return;
    }
    put_varint(o, nd->key);
    switch (nd->key & 7) {
    case 0: put_varint(o, v); break;
    case 1: put(o, &v, 8); break;
    case 5: {
        uint32_t w = (uint32_t)v;
        put(o, &w, 4);
        break;
    }
    default: {
        obuf sub = {0};
        if (grow) { /* the payload repeated (a name, a string) up to `grow` bytes */
            for (size_t k = 0; k < grow; k++) put(&sub, nd->n ? &nd->p[k % nd->n] : (const uint8_t *)"a", 1);
        } else if (nd->kid >= 0 && cut == nd->n) {
            emit(t, nd->kid, ms, nm, &sub);
        } else {
            put(&sub, nd->p, cut);
        }
        int64_t len = (int64_t)sub.n + delta;
        put_varint(o, (uint64_t)(len < 0 ? 0 : len));
        put(o, sub.b, sub.n);
        o->bad |= sub.bad;
        free(sub.b);
    }
    }
}

/* Emit the field list starting at i (with its siblings). */
static void emit(const ptree *t, int32_t i, const mut *ms, int nm, obuf *o) {
    for (; i >= 0; i = t->nd[i].next) {
        int drop = 0, dup = 0;
        for (int k = 0; k < nm; k++)
            if (ms[k].node == i) {
                drop |= ms[k].kind == M_DROP;
                dup |= ms[k].kind == M_DUP;
            }
        if (drop) continue;
        emit_one(t, i, ms, nm, o);
        if (dup) emit_one(t, i, ms, nm, o);
    }
}

/* ---- the corruptions ---------------------------------------------------------------------- */

static uint64_t rng;
static uint64_t rnd(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return rng >> 17;
}

static uint64_t edge_varint(uint64_t v) {
    static const uint64_t edges[] = {0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 127, 128, 255, 256, 1023,
                                     1024, 4095, 4096, 4097, 65535, 65536, 0x7fffffff, 0x80000000u, 0xffffffffu,
                                     1ull << 32, 1ull << 40, 1ull << 62, 1ull << 63, ~0ull, ~1ull, (uint64_t)-16,
                                     0x7fffffffffffffffull};
    size_t ne = sizeof edges / sizeof edges[0];
    size_t k = (size_t)(rnd() % (ne + 5));
    if (k < ne) return edges[k];
    switch (k - ne) {
    case 0: return v + 1;
    case 1: return v - 1;
    case 2: return v * 2;
    case 3: return v * 1000 + 7;
    default: return v ^ (1ull << (rnd() % 64));
    }
}

static uint64_t edge_fixed(uint64_t v, int is64) {
    static const uint32_t f32[] = {0x7fc00000u, 0x7f800000u, 0xff800000u, 0x80000000u, 0x7f7fffffu, 0x00000001u,
                                   0x501502f9u, 0xbf800000u, 0x4f000000u, 0x3f800000u, 0, 0xcf000000u};
    static const uint64_t f64[] = {0x7ff8000000000000ull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
                                   0x8000000000000000ull, 0x7fefffffffffffffull, 1, 0x43e0000000000000ull,
                                   0x3ff0000000000000ull, 0, 0xc3e0000000000000ull};
    uint64_t r = rnd();
    if (r % 5 == 0) return v ^ (1ull << (r / 5 % (is64 ? 64 : 32)));
    return is64 ? f64[r / 5 % (sizeof f64 / sizeof f64[0])] : f32[r / 5 % (sizeof f32 / sizeof f32[0])];
}

static const char *kind_name[] = {"bit flips", "byte overwrites", "length prefix", "field value", "field drop/repeat/retype",
                                  "mixed", "string grown"};

/* One seeded mutation of kind `kind`; *out is malloc'd. */
static size_t mutate(const model *md, const ptree *t, int kind, uint8_t **out, char *what, size_t wcap) {
    size_t n = md->n;
    if (kind <= 1 || t->n == 0) {
        uint8_t *c = malloc(n ? n : 1);
        if (!c) return 0;
        memcpy(c, md->bytes, n);
        int k = 1 + (int)(rnd() % 3);
        size_t used = (size_t)snprintf(what, wcap, "%s at", kind_name[kind <= 1 ? kind : 0]);
        for (int j = 0; j < k && n; j++) {
            size_t at = (size_t)(rnd() % n);
            if (kind == 1) c[at] = (uint8_t)rnd();
            else c[at] ^= (uint8_t)(1u << (rnd() % 8));
            if (used < wcap) used += (size_t)snprintf(what + used, wcap - used, " %zu", at);
        }
        *out = c;
        return n;
    }
    mut ms[3];
    int nm = kind == 5 ? 2 + (int)(rnd() % 2) : 1;
    size_t used = (size_t)snprintf(what, wcap, "%s:", kind_name[kind]);
    for (int j = 0; j < nm; j++) {
        int kk = kind == 5 ? 2 + (int)(rnd() % 3) : kind;
        mut *m = &ms[j];
        memset(m, 0, sizeof *m);
        /* a node of the right wire type: a few random picks */
        int32_t i = -1;
        for (int tries = 0; tries < 64; tries++) {
            int32_t c = (int32_t)(rnd() % (uint64_t)t->n);
            int wt = (int)(t->nd[c].key & 7);
            if (kk == 2 && wt != 2) continue;
            if (kk == 3 && wt == 2 && t->nd[c].kid >= 0) continue;
            if (kk == 6 && (wt != 2 || t->nd[c].kid >= 0)) continue;
            i = c;
            break;
        }
        if (i < 0) i = (int32_t)(rnd() % (uint64_t)t->n);
        const pnode *nd = &t->nd[i];
        int wt = (int)(nd->key & 7);
        m->node = i;
        if (kk == 2 && wt == 2) {
            static const int64_t deltas[] = {-3, -2, -1, 1, 2, 3, 7, 100, -100, 1 << 20};
            m->kind = M_LEN;
            m->delta = deltas[rnd() % (sizeof deltas / sizeof deltas[0])];
        } else if (kk == 4) {
            static const int wts[] = {0, 1, 2, 5};
            uint64_t r = rnd() % 4;
            m->kind = r < 2 ? M_DROP : r == 2 ? M_DUP : M_RETYPE;
            if (m->kind == M_RETYPE) { /* one of the three other wire types */
                int w = wts[rnd() % 4];
                m->val = (uint64_t)(w != wt ? w : wts[(rnd() % 3 + (wt == 5 ? 0 : 1)) % 4]);
                if ((int)m->val == wt) m->val = wt == 0 ? 2 : 0;
            }
        } else if (kk == 6 && wt == 2) {
            static const uint64_t sizes[] = {255, 256, 511, 512, 600, 1024, 1100, 4096, 5000, 70000};
            m->kind = M_GROW;
            m->val = sizes[rnd() % (sizeof sizes / sizeof sizes[0])];
        } else if (wt == 2) {
            m->kind = M_CUT; /* a leaf payload (name, raw_data, packed values) cut short */
            m->val = nd->n ? rnd() % nd->n : 0;
        } else {
            m->kind = M_VALUE;
            m->val = wt == 0 ? edge_varint(nd->v) : edge_fixed(nd->v, wt == 1);
        }
        static const char *const verb[] = {[M_VALUE] = "set to", [M_LEN] = "length changed by", [M_DROP] = "dropped",
                                           [M_DUP] = "repeated", [M_CUT] = "cut to", [M_GROW] = "grown to",
                                           [M_RETYPE] = "given wire type"};
        char arg[32] = "";
        if (m->kind == M_LEN) snprintf(arg, sizeof arg, " %+lld", (long long)m->delta);
        else if (m->kind == M_VALUE || m->kind == M_CUT || m->kind == M_GROW || m->kind == M_RETYPE) snprintf(arg, sizeof arg, " %llu", (unsigned long long)m->val);
        if (used < wcap)
            used += (size_t)snprintf(what + used, wcap - used, "%s field %u at byte %zu %s%s", j ? ";" : "",
                                     (unsigned)(nd->key >> 3), nd->at, verb[m->kind], arg);
    }
    obuf o = {0};
    emit(t, t->root, ms, nm, &o);
    if (o.bad) {
        free(o.b);
        return 0;
    }
    *out = o.b;
    return o.n;
}

static void corrupt(const model *md, long iters) {
    outcome o = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char what[256];
    /* The intact model first: it must open (build and run may fail: not every model is supported). */
    try_copy(md, md->bytes, md->n, &o, "intact");
    CHECK_MSG(o.opened == 1, "%s: the intact model does not open", md->name);
    long cuts = 0;
    for (size_t len = 0; len < md->n; len += len < 4096 ? 1 : md->n / 97 + 1, cuts++) {
        snprintf(what, sizeof what, "first %zu bytes", len);
        try_copy(md, md->bytes, len, &o, what);
    }
    ptree t = {.base = md->bytes};
    int ok;
    t.root = parse_msg(&t, md->bytes, md->bytes + md->n, 0, &ok);
    CHECK_MSG(ok, "%s: does not parse as protobuf", md->name);
    rng = 0x9e3779b97f4a7c15ull ^ md->n;
    for (long i = 0; i < iters; i++) {
        uint8_t *c = NULL;
        char w[200];
        size_t n = mutate(md, &t, (int)(i % 7), &c, w, sizeof w);
        if (!c) continue;
        snprintf(what, sizeof what, "mutation %ld: %s", i, w);
        try_copy(md, c, n, &o, what);
        free(c);
    }
    free(t.nd);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("%-58s %5zu B %6ld copies (%ld cuts): open err %ld, built %ld, build err %ld, ran %ld, run err %ld "
           "(program err %ld), not run (too big) %ld, %.1f s\n",
           md->name, md->n, o.copies, cuts, o.open_err, o.built, o.build_err, o.ran, o.run_err, o.prog_err, o.too_big, s);
    total.copies += o.copies;
    total.open_err += o.open_err;
    total.opened += o.opened;
    total.build_err += o.build_err;
    total.built += o.built;
    total.too_big += o.too_big;
    total.prog_err += o.prog_err;
    total.run_err += o.run_err;
    total.ran += o.ran;
}

/* 1 when `name` contains one of the comma-separated words of `list`. */
static int selected(const char *list, const char *name) {
    for (const char *p = list; *p;) {
        size_t l = strcspn(p, ",");
        for (const char *q = name; l && *q; q++)
            if (!strncmp(q, p, l)) return 1;
        p += l;
        if (*p) p++;
    }
    return 0;
}

int main(void) {
    const char *shared = getenv("PLEXUS_SHARED_DIR");
    char root[1024];
    snprintf(root, sizeof root, "%s/onnx-tests", shared ? shared : "../shared");
    struct stat sb;
    if (stat(root, &sb) != 0) {
        printf("test_onnx_bad: %s not found; skipped\n", root);
        return PX_TEST_SKIP;
    }
    const char *e = getenv("PLEXUS_ONNX_BAD_ITERS");
    long iters = e && *e ? atol(e) : SANITIZED ? 1000 : 3000;
    e = getenv("PLEXUS_ONNX_BAD_TIMEOUT");
    timeout_s = e && *e ? (unsigned)atoi(e) : 60;
    verbose = (e = getenv("PLEXUS_ONNX_BAD_VERBOSE")) && *e && strcmp(e, "0") != 0;
    save_dir = getenv("PLEXUS_ONNX_BAD_SAVE");
    if (save_dir && !*save_dir) save_dir = NULL;
    if (save_dir) mkdir(save_dir, 0777);

    /* a private folder: external-data locations in corrupted copies resolve inside it */
    snprintf(tmpdir, sizeof tmpdir, "%s/plexus-onnx-bad-XXXXXX", stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp");
    if (!mkdtemp(tmpdir)) {
        printf("test_onnx_bad: cannot make a temporary folder\n");
        return 1;
    }
    snprintf(tmp, sizeof tmp, "%s/model.onnx", tmpdir);
    setvbuf(stdout, NULL, _IOLBF, 0);
#if !SANITIZED
    struct rlimit rl = {AS_LIMIT, AS_LIMIT};
    setrlimit(RLIMIT_AS, &rl);
#endif
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
#if !SANITIZED
    sa.sa_handler = on_crash;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGABRT, &sa, NULL);
#endif

    px_context_options co = px_context_options_default();
    co.plugin_dir = PLUGIN_DIR;
    co.n_threads = 1;
    CHECK_OK(px_context_create(&co, &ctx));
    if (!ctx) return px_test_finish("test_onnx_bad");
    printf("test_onnx_bad: %ld mutations per model%s, copies in %s\n", iters, SANITIZED ? " (sanitizer build)" : "", tmp);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int n_models = 0;
    const char *only = getenv("PLEXUS_ONNX_BAD_MODELS");
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
        if (only && *only && !selected(only, models[i])) continue;
        model md;
        if (load_model(&md, root, models[i])) {
            CHECK_MSG(0, "%s/%s: cannot read or decode the model", root, models[i]);
            free_model(&md);
            continue;
        }
        n_models++;
        corrupt(&md, iters);
        free_model(&md);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("test_onnx_bad: %d models, %ld copies: %ld refused at open, %ld opened; graphs: %ld built, %ld refused; "
           "runs: %ld ran, %ld failed (%ld at compile), %ld not run (over %llu MiB); %.1f s\n",
           n_models, total.copies, total.open_err, total.opened, total.built, total.build_err, total.ran, total.run_err,
           total.prog_err, total.too_big, (unsigned long long)(RUN_LIMIT_BYTES >> 20), s);
    px_context_destroy(ctx);
    unlink(tmp);
    rmdir(tmpdir);
    return px_test_finish("test_onnx_bad");
}
