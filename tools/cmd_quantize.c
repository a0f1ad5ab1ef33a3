/* plexus quantize IN.gguf OUT.gguf TYPE [-t N] [--output-tensor-type T]
 * [--token-embedding-type T]: a GGUF with its matrices converted to TYPE.
 *
 * Tensor choices, as llama.cpp's llama-quantize makes them for the same
 * single types: only 2-D tensors whose name ends in "weight" are converted
 * (norms and biases keep their type); output.weight (or the token embedding
 * when it is tied) becomes Q8_0 when its rows are not a multiple of 256,
 * else Q6_K unless TYPE is Q8_0; a matrix whose rows are not a multiple of
 * TYPE's block falls back to F16 (llama-quantize refuses such files; the
 * fallback is what its own mixes do).
 *
 * Mixes (Q2_K, Q3_K_S/M/L, Q4_K_S/M, Q5_K_S/M; Q3_K, Q4_K, Q5_K name the _M
 * mixes as in llama-quantize) pick per tensor the types llama.cpp's
 * llama_tensor_get_type picks for a dense model: attn_v (and fused qkv) and
 * ffn_down get more bits in some layers (the "use_more_bits" layers: the
 * first and last eighth and every third in between), attn_output more for
 * Q2_K/Q3_K_M/Q3_K_L; a K-quant whose rows do not fit its 256 block falls
 * back as llama.cpp does (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, Q2_K and
 * Q3_K -> Q4_0, then F16).
 * Tensors are converted while the file is written, each split over the
 * threads; a progress line goes to stderr. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "gguf_write.h"

typedef struct qtensor {
    px_tensor_info ti;
    px_dtype to;
} qtensor;

typedef struct qjob {
    qtensor *t;
    int32_t n, threads;
    int64_t done_bytes, total_bytes;
} qjob;

typedef struct qpart {
    const qtensor *t;
    uint8_t *dst;
    int64_t r0, r1, cols;
    px_status st;
} qpart;

static void *convert_rows(void *arg) {
    qpart *p = arg;
    const qtensor *t = p->t;
    float *row = malloc(sizeof(float) * (size_t)p->cols);
    if (!row) {
        p->st = PX_ERR_NO_MEMORY;
        return NULL;
    }
    size_t in_row = (size_t)px_dtype_row_size(t->ti.dtype, p->cols), out_row = (size_t)px_dtype_row_size(t->to, p->cols);
    for (int64_t r = p->r0; r < p->r1 && !p->st; r++) {
        const uint8_t *src = (const uint8_t *)t->ti.data + (size_t)r * in_row;
        p->st = px_convert(t->ti.dtype, src, PX_F32, row, p->cols);
        if (!p->st) p->st = px_convert(PX_F32, row, t->to, p->dst + (size_t)r * out_row, p->cols);
    }
    free(row);
    return NULL;
}

static px_status fill(void *user, const char *name, void *dst, uint64_t nbytes) {
    qjob *J = user;
    qtensor *t = NULL;
    for (int32_t i = 0; i < J->n && !t; i++)
        if (strcmp(J->t[i].ti.name, name) == 0) t = &J->t[i];
    if (!t) return PX_ERR_INTERNAL;
    if (t->to == t->ti.dtype) {
        memcpy(dst, t->ti.data, nbytes);
    } else {
        int64_t cols = t->ti.ne[t->ti.rank - 1], rows = 1;
        for (int32_t d = 0; d + 1 < t->ti.rank; d++) rows *= t->ti.ne[d];
        int32_t nt = J->threads < rows ? J->threads : (int32_t)(rows > 0 ? rows : 1);
        pthread_t th[64];
        qpart parts[64];
        for (int32_t k = 0; k < nt; k++) {
            parts[k] = (qpart){t, dst, rows * k / nt, rows * (k + 1) / nt, cols, PX_OK};
            if (k > 0 && pthread_create(&th[k], NULL, convert_rows, &parts[k])) convert_rows(&parts[k]), th[k] = 0;
        }
        convert_rows(&parts[0]);
        for (int32_t k = 1; k < nt; k++)
            if (th[k]) pthread_join(th[k], NULL);
        for (int32_t k = 0; k < nt; k++)
            if (parts[k].st) return parts[k].st;
    }
    J->done_bytes += (int64_t)nbytes;
    if (isatty(2))
        fprintf(stderr, "\rplexus quantize: %5.1f%% %-40.40s", 100.0 * (double)J->done_bytes / (double)J->total_bytes, name);
    return PX_OK;
}

static int file_type_of(px_dtype t) {
    switch (t) {
    case PX_F32: return 0;
    case PX_F16: return 1;
    case PX_Q4_0: return 2;
    case PX_Q4_1: return 3;
    case PX_Q8_0: return 7;
    case PX_Q5_0: return 8;
    case PX_Q5_1: return 9;
    case PX_Q2_K: return 10;
    case PX_Q3_K: return 11;
    case PX_Q4_K: return 14;
    case PX_Q5_K: return 16;
    case PX_Q6_K: return 18;
    case PX_IQ4_NL: return 25;
    case PX_BF16: return 32;
    default: return -1;
    }
}

static void usage(void) {
    fprintf(stderr, "usage: plexus quantize IN.gguf OUT.gguf TYPE [-t THREADS] [--output-tensor-type T]\n"
                    "                       [--token-embedding-type T]\n"
                    "  TYPE: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q6_K IQ4_NL, or a mix: Q2_K Q3_K_S Q3_K_M Q3_K_L\n"
                    "        Q4_K_S Q4_K_M Q5_K_S Q5_K_M (Q3_K, Q4_K, Q5_K = the _M mixes)\n");
}

/* The mixes: name, llama.cpp file type, base type. */
typedef enum { MIX_NONE = 0, MIX_Q2_K, MIX_Q3_K_S, MIX_Q3_K_M, MIX_Q3_K_L, MIX_Q4_K_S, MIX_Q4_K_M, MIX_Q5_K_S, MIX_Q5_K_M } mix_kind;
static const struct {
    const char *name;
    mix_kind mix;
    int ftype;
    px_dtype base;
} mixes[] = {
    {"Q2_K", MIX_Q2_K, 10, PX_Q2_K},     {"Q3_K_S", MIX_Q3_K_S, 11, PX_Q3_K}, {"Q3_K_M", MIX_Q3_K_M, 12, PX_Q3_K},
    {"Q3_K", MIX_Q3_K_M, 12, PX_Q3_K},   {"Q3_K_L", MIX_Q3_K_L, 13, PX_Q3_K}, {"Q4_K_S", MIX_Q4_K_S, 14, PX_Q4_K},
    {"Q4_K_M", MIX_Q4_K_M, 15, PX_Q4_K}, {"Q4_K", MIX_Q4_K_M, 15, PX_Q4_K},   {"Q5_K_S", MIX_Q5_K_S, 16, PX_Q5_K},
    {"Q5_K_M", MIX_Q5_K_M, 17, PX_Q5_K}, {"Q5_K", MIX_Q5_K_M, 17, PX_Q5_K},
};

static int parse_type(const char *s, px_dtype *out) {
    if (px_dtype_from_name(s, out)) return -1;
    return file_type_of(*out) < 0 ? -1 : 0;
}

static int use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

static int name_has(const char *name, const char *part) { return strstr(name, part) != NULL; }

/* The type a mix gives one matrix (not output.weight / token_embd.weight),
 * from its role and position among the tensors of that role. */
static px_dtype mix_type(mix_kind mix, px_dtype base, const char *name, int *i_v, int n_v, int *i_down, int n_down, int64_t n_gqa) {
    px_dtype t = base;
    if (name_has(name, "attn_v.weight") || name_has(name, "attn_qkv.weight") || name_has(name, "attn_kv_b.weight")) {
        int i = (*i_v)++;
        if (mix == MIX_Q2_K) t = n_gqa >= 4 ? PX_Q4_K : PX_Q3_K;
        else if (mix == MIX_Q3_K_M) t = i < 2 ? PX_Q5_K : PX_Q4_K;
        else if (mix == MIX_Q3_K_L) t = PX_Q5_K;
        else if ((mix == MIX_Q4_K_M || mix == MIX_Q5_K_M) && use_more_bits(i, n_v)) t = PX_Q6_K;
        else if (mix == MIX_Q4_K_S && i < 4) t = PX_Q5_K;
    } else if (name_has(name, "ffn_down")) {
        int i = (*i_down)++, n = n_down;
        if (mix == MIX_Q2_K) t = PX_Q3_K;
        else if (mix == MIX_Q3_K_M) t = i < n / 16 ? PX_Q5_K : PX_Q4_K;
        else if (mix == MIX_Q3_K_L) t = PX_Q5_K;
        else if ((mix == MIX_Q4_K_M || mix == MIX_Q5_K_M) && use_more_bits(i, n)) t = PX_Q6_K;
        else if (mix == MIX_Q4_K_S && i < n / 8) t = PX_Q5_K;
    } else if (name_has(name, "attn_output.weight")) {
        if (mix == MIX_Q2_K) t = PX_Q3_K;
        else if (mix == MIX_Q3_K_M) t = PX_Q4_K;
        else if (mix == MIX_Q3_K_L) t = PX_Q5_K;
    }
    return t;
}

/* llama.cpp's fallback for rows that do not fit a 256-element K block. */
static px_dtype k_fallback(px_dtype t) {
    switch (t) {
    case PX_Q4_K: return PX_Q5_0;
    case PX_Q5_K: return PX_Q5_1;
    case PX_Q6_K: return PX_Q8_0;
    case PX_Q2_K: case PX_Q3_K: return PX_Q4_0;
    default: return t;
    }
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int px_cmd_quantize(int argc, char **argv) {
    px_cli_common c = {0};
    const char *pos[3] = {NULL, NULL, NULL};
    int npos = 0;
    px_dtype out_t = PX_DTYPE_COUNT, emb_t = PX_DTYPE_COUNT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r;
        if (a[0] != '-' && npos < 3) pos[npos++] = a;
        else if ((strcmp(a, "--output-tensor-type") == 0 || strcmp(a, "--token-embedding-type") == 0) && i + 1 < argc) {
            px_dtype *dst = a[2] == 'o' ? &out_t : &emb_t;
            if (parse_type(argv[++i], dst)) {
                fprintf(stderr, "plexus quantize: %s: unknown type '%s'\n", a, argv[i]);
                return 2;
            }
        } else if ((r = px_cli_tail_arg(&c, "quantize", argc, argv, &i, usage)) >= 0) {
            return r;
        }
    }
    if (npos != 3) {
        usage();
        return 2;
    }
    px_dtype to;
    mix_kind mix = MIX_NONE;
    int ftype = -1;
    for (size_t k = 0; k < sizeof mixes / sizeof mixes[0]; k++)
        if (strcasecmp(pos[2], mixes[k].name) == 0) {
            mix = mixes[k].mix;
            ftype = mixes[k].ftype;
            to = mixes[k].base;
        }
    if (mix == MIX_NONE && parse_type(pos[2], &to)) {
        fprintf(stderr, "plexus quantize: unknown or unsupported type '%s'\n", pos[2]);
        usage();
        return 2;
    }
    int threads = c.threads > 0 ? c.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    int rc = 1;
    px_context *ctx = px_cli_context(&c);
    px_model *m = NULL;
    px_gguf_writer *w = NULL;
    qjob J = {.threads = threads};
    if (!ctx) goto out;
    if (px_model_open(ctx, pos[0], &m)) {
        fprintf(stderr, "plexus quantize: %s\n", px_last_error());
        goto out;
    }
    if (px_gguf_writer_create(32, &w)) goto out;
    /* metadata: everything but the file type, which is set anew */
    for (int64_t i = 0; i < px_model_meta_count(m); i++) {
        const char *key;
        px_meta_value v;
        if (px_model_meta_get(m, i, &key, &v)) continue;
        if (strcmp(key, "general.file_type") == 0 || strcmp(key, "general.quantization_version") == 0 ||
            strcmp(key, "general.alignment") == 0)
            continue;
        if (px_gguf_add_meta(w, key, &v)) {
            fprintf(stderr, "plexus quantize: %s\n", px_gguf_writer_error(w));
            goto out;
        }
    }
    if (px_gguf_add_u32(w, "general.file_type", (uint32_t)(mix ? ftype : file_type_of(to))) ||
        px_gguf_add_u32(w, "general.quantization_version", 2))
        goto out;
    J.n = (int32_t)px_model_tensor_count(m);
    J.t = calloc((size_t)(J.n ? J.n : 1), sizeof *J.t);
    if (!J.t) goto out;
    int has_output = 0, n_v = 0, n_down = 0, i_v = 0, i_down = 0;
    for (int32_t i = 0; i < J.n; i++) {
        px_model_tensor_get(m, i, &J.t[i].ti);
        const char *nm = J.t[i].ti.name;
        has_output |= strcmp(nm, "output.weight") == 0;
        n_v += name_has(nm, "attn_v.weight") || name_has(nm, "attn_qkv.weight") || name_has(nm, "attn_kv_b.weight");
        n_down += name_has(nm, "ffn_down");
    }
    int64_t n_gqa = 1; /* heads per kv head, from the architecture's metadata */
    {
        px_meta_value arch, hv, kv;
        char key[160];
        if (px_model_meta_find(m, "general.architecture", &arch) == PX_OK && arch.type == PX_META_STRING) {
            snprintf(key, sizeof key, "%.*s.attention.head_count", (int)arch.u.str.len, arch.u.str.ptr);
            int ok = px_model_meta_find(m, key, &hv) == PX_OK;
            snprintf(key, sizeof key, "%.*s.attention.head_count_kv", (int)arch.u.str.len, arch.u.str.ptr);
            if (ok && px_model_meta_find(m, key, &kv) == PX_OK && kv.u.u64 > 0) n_gqa = (int64_t)(hv.u.u64 / kv.u.u64);
        }

    }
    int fallbacks = 0;
    for (int32_t i = 0; i < J.n; i++) {
        qtensor *t = &J.t[i];
        const char *name = t->ti.name;
        px_dtype src = t->ti.dtype;
        t->to = src;
        if (t->ti.rank < 2 || !ends_with(name, "weight")) continue; /* norms, biases, 1-D factors */
        if (src != PX_F32 && src != PX_F16 && src != PX_BF16) {
            fprintf(stderr, "plexus quantize: %s: tensor %s is already %s; give an F32, F16 or BF16 file\n", pos[0],
                    name, px_dtype_name(src));
            goto out;
        }
        int64_t cols = t->ti.ne[t->ti.rank - 1];
        int is_output = strcmp(name, "output.weight") == 0 || (!has_output && strcmp(name, "token_embd.weight") == 0);
        px_dtype want = to;
        if (is_output) {
            if (out_t != PX_DTYPE_COUNT) want = out_t;
            else if (cols % 256) want = PX_Q8_0;
            else if (to != PX_Q8_0 && px_dtype_get_traits(to)->is_quantized) want = PX_Q6_K;
        } else if (strcmp(name, "token_embd.weight") == 0 && emb_t != PX_DTYPE_COUNT) {
            want = emb_t;
        } else if (mix) {
            want = mix_type(mix, to, name, &i_v, n_v, &i_down, n_down, n_gqa);
        }
        if (cols % px_dtype_get_traits(want)->block_size && k_fallback(want) != want && cols % 32 == 0) {
            fprintf(stderr, "plexus quantize: %s: rows of %lld do not fit %s's block: %s\n", name, (long long)cols,
                    px_dtype_name(want), px_dtype_name(k_fallback(want)));
            want = k_fallback(want);
            fallbacks++;
        }
        if (cols % px_dtype_get_traits(want)->block_size) {
            fprintf(stderr, "plexus quantize: %s: rows of %lld are not a multiple of %s's block: F16\n", name,
                    (long long)cols, px_dtype_name(want));
            want = PX_F16;
            fallbacks++;
        }
        t->to = want;
    }
    for (int32_t i = 0; i < J.n; i++) {
        qtensor *t = &J.t[i];
        int64_t numel = 1;
        for (int32_t d = 0; d < t->ti.rank; d++) numel *= t->ti.ne[d];
        J.total_bytes += px_dtype_row_size(t->to, numel);
        if (px_gguf_add_tensor_fill(w, t->ti.name, t->to, t->ti.rank, t->ti.ne, fill, &J)) {
            fprintf(stderr, "plexus quantize: %s\n", px_gguf_writer_error(w));
            goto out;
        }
    }
    if (px_gguf_write(w, pos[1])) {
        fprintf(stderr, "\nplexus quantize: %s\n", px_gguf_writer_error(w));
        goto out;
    }
    fprintf(stderr, "%splexus quantize: wrote %s: %s, %d tensors, %.2f MiB (%d fell back to another type), %d threads\n",
            isatty(2) ? "\r" : "", pos[1], mix ? pos[2] : px_dtype_name(to), J.n, (double)J.total_bytes / (1 << 20),
            fallbacks, threads);
    rc = 0;
out:
    free(J.t);
    px_gguf_writer_destroy(w);
    px_model_close(m);
    px_context_destroy(ctx);
    return rc;
}
