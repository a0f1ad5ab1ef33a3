/* CPU plugin — entry point, probe, device, buffers and the kernel table.
 *
 * One device ("cpu"), host memory, a reference kernel for every op of ops.h
 * except RESHAPE (an alias that never needs a kernel). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cpu_common.h"

#define CPU_PLUGIN_VERSION "0.1.0"
#define CPU_ALIGN 64

const px_host_api *cpu_host;

/* ---- CPU features ------------------------------------------------------------ */

typedef struct cpu_features {
    int avx2, fma, f16c, avx512f, avx512vnni, neon, dotprod;
} cpu_features;

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

static cpu_features detect_features(void) {
    cpu_features f;
    memset(&f, 0, sizeof f);
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2") != 0;
    f.fma = __builtin_cpu_supports("fma") != 0;
    f.avx512f = __builtin_cpu_supports("avx512f") != 0;
#if (defined(__clang__) && __clang_major__ >= 7) || (!defined(__clang__) && __GNUC__ >= 8)
    f.avx512vnni = __builtin_cpu_supports("avx512vnni") != 0;
#endif
#if !defined(__clang__) || __clang_major__ >= 16
    f.f16c = __builtin_cpu_supports("f16c") != 0;
#endif
#elif defined(__aarch64__)
    f.neon = 1;
#if defined(__linux__) && defined(HWCAP_ASIMDDP)
    f.dotprod = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
#endif
    return f;
}

/* Space-separated feature names, e.g. "avx2 fma f16c". */
static void feature_text(const cpu_features *f, char *buf, size_t cap) {
    size_t o = 0;
    buf[0] = 0;
#define ADD(flag, name) \
    if ((flag) && o < cap) o += (size_t)snprintf(buf + o, cap - o, "%s%s", o ? " " : "", name);
    ADD(f->avx2, "avx2")
    ADD(f->fma, "fma")
    ADD(f->f16c, "f16c")
    ADD(f->avx512f, "avx512f")
    ADD(f->avx512vnni, "avx512vnni")
    ADD(f->neon, "neon")
    ADD(f->dotprod, "dotprod")
#undef ADD
    if (!buf[0]) snprintf(buf, cap, "generic");
}

/* ---- probe ---------------------------------------------------------------------- */

static px_status cpu_probe(px_probe_result *out) {
    if (!out) return PX_ERR_INVALID_ARG;
    cpu_features f = detect_features();
    out->n_devices = 1;
    /* Reference kernels only for now: the score says which build is the
     * better match for this machine once SIMD builds exist. */
    out->score = 100 + (f.avx2 ? 10 : 0) + (f.avx512f ? 10 : 0) + (f.neon ? 10 : 0);
    char feat[80];
    feature_text(&f, feat, sizeof feat);
    snprintf(out->detail, sizeof out->detail, "reference kernels; cpu features: %s", feat);
    return PX_OK;
}

/* ---- device ----------------------------------------------------------------------- */


/* "model name" from /proc/cpuinfo, or "" when not readable. */
static void read_model_name(char *buf, size_t cap) {
    buf[0] = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        const char *p = strchr(line, ':');
        if (!p) continue;
        p++;
        while (*p == ' ' || *p == '\t') p++;
        size_t n = strcspn(p, "\r\n");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
        if (n >= cap) n = cap - 1;
        memcpy(buf, p, n);
        buf[n] = 0;
        break;
    }
    fclose(f);
}

static px_status cpu_device_create(int32_t index, const px_config_section *config, void **out_dev) {
    (void)config;
    if (!out_dev) return cpu_host->set_error(PX_ERR_INVALID_ARG, "cpu: out_dev is NULL");
    if (index != 0) return cpu_host->set_error(PX_ERR_INVALID_ARG, "cpu: no device %d (there is one)", index);
    cpu_device *d = cpu_host->alloc(sizeof *d, 16);
    if (!d) return cpu_host->set_error(PX_ERR_NO_MEMORY, "cpu: out of memory creating the device");
    memset(d, 0, sizeof *d);
    pthread_mutex_init(&d->lock, NULL);
    char model[64];
    read_model_name(model, sizeof model);
    snprintf(d->name, sizeof d->name, "%s", model[0] ? model : "cpu");
    *out_dev = d;
    return PX_OK;
}

static void cpu_device_destroy(void *dev) {
    cpu_device *d = dev;
    if (!d) return;
    cpu_host->free(d->scratch);
    pthread_mutex_destroy(&d->lock);
    cpu_host->free(d);
}

static px_status cpu_get_info(void *dev, px_device_info *out) {
    const cpu_device *d = dev;
    if (!d || !out) return cpu_host->set_error(PX_ERR_INVALID_ARG, "cpu: get_info needs a device and out");
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    out->kind = PX_DEVICE_CPU;
    snprintf(out->name, sizeof out->name, "%s", d->name);
    long pages = sysconf(_SC_PHYS_PAGES), avail = sysconf(_SC_AVPHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    if (pages > 0 && psz > 0) out->mem_total = (uint64_t)pages * (uint64_t)psz;
    if (avail > 0 && psz > 0) out->mem_free = (uint64_t)avail * (uint64_t)psz;
    out->flags = PX_DEVICE_HOST_VISIBLE | PX_DEVICE_UNIFIED_MEMORY | PX_DEVICE_IMPORT_HOST;
    out->alignment = CPU_ALIGN;
    out->max_alloc = 0;
    return PX_OK;
}

/* ---- buffers ---------------------------------------------------------------------- */

/* A buffer handle. Owned buffers are one allocation: this header, padded to
 * CPU_ALIGN, then the data. Imported buffers point at the caller's memory. */
typedef struct cpu_buffer {
    uint8_t *base;
    size_t size;
    int owned;
} cpu_buffer;

#define CPU_BUF_HEADER ((sizeof(cpu_buffer) + CPU_ALIGN - 1) / CPU_ALIGN * CPU_ALIGN)

static px_status cpu_buffer_alloc(void *dev, size_t size, void **out_buffer) {
    (void)dev;
    if (!out_buffer) return cpu_host->set_error(PX_ERR_INVALID_ARG, "cpu: buffer_alloc: out_buffer is NULL");
    if (size > SIZE_MAX - CPU_BUF_HEADER)
        return cpu_host->set_error(PX_ERR_NO_MEMORY, "cpu: buffer of %zu bytes is too large", size);
    uint8_t *p = cpu_host->alloc(CPU_BUF_HEADER + size, CPU_ALIGN);
    if (!p) return cpu_host->set_error(PX_ERR_NO_MEMORY, "cpu: cannot allocate a buffer of %zu bytes", size);
    cpu_buffer *b = (cpu_buffer *)p;
    b->base = p + CPU_BUF_HEADER;
    b->size = size;
    b->owned = 1;
    *out_buffer = b;
    return PX_OK;
}

static void cpu_buffer_free(void *dev, void *buffer) {
    (void)dev;
    cpu_host->free(buffer); /* one allocation for owned and imported handles */
}

static void *cpu_buffer_base(void *dev, void *buffer) {
    (void)dev;
    return buffer ? ((cpu_buffer *)buffer)->base : NULL;
}

static px_status check_range(const cpu_buffer *b, uint64_t offset, size_t n, const char *what) {
    if (!b) return cpu_host->set_error(PX_ERR_INVALID_ARG, "cpu: %s: NULL buffer", what);
    if (offset > b->size || n > b->size - offset)
        return cpu_host->set_error(PX_ERR_INVALID_ARG, "cpu: %s of %zu bytes at offset %llu overruns a buffer of %zu bytes",
                                   what, n, (unsigned long long)offset, b->size);
    return PX_OK;
}

static px_status cpu_upload(void *dev, void *buffer, uint64_t offset, const void *src, size_t n) {
    (void)dev;
    cpu_buffer *b = buffer;
    px_status st = check_range(b, offset, n, "upload");
    if (st) return st;
    if (n) memcpy(b->base + offset, src, n);
    return PX_OK;
}

static px_status cpu_download(void *dev, void *buffer, uint64_t offset, void *dst, size_t n) {
    (void)dev;
    cpu_buffer *b = buffer;
    px_status st = check_range(b, offset, n, "download");
    if (st) return st;
    if (n) memcpy(dst, b->base + offset, n);
    return PX_OK;
}

static px_status cpu_copy(void *dev, void *dst_buffer, uint64_t dst_offset, void *src_buffer, uint64_t src_offset,
                          size_t n) {
    (void)dev;
    cpu_buffer *d = dst_buffer, *s = src_buffer;
    px_status st = check_range(d, dst_offset, n, "copy (destination)");
    if (!st) st = check_range(s, src_offset, n, "copy (source)");
    if (st) return st;
    if (n) memmove(d->base + dst_offset, s->base + src_offset, n);
    return PX_OK;
}

static px_status cpu_import_host(void *dev, void *host_ptr, size_t size, void **out_buffer) {
    (void)dev;
    if (!out_buffer || (!host_ptr && size))
        return cpu_host->set_error(PX_ERR_INVALID_ARG, "cpu: import_host needs a pointer and out_buffer");
    cpu_buffer *b = cpu_host->alloc(sizeof *b, 16);
    if (!b) return cpu_host->set_error(PX_ERR_NO_MEMORY, "cpu: out of memory importing host memory");
    b->base = host_ptr;
    b->size = size;
    b->owned = 0;
    *out_buffer = b;
    return PX_OK;
}

/* ---- kernels ------------------------------------------------------------------------ */

#define K(op_, name_, fam_)                                                         \
    {.struct_size = sizeof(px_kernel), .op = (op_), .name = (name_), .priority = 0, \
     .supports = cpu_##fam_##_supports, .run = cpu_##fam_##_run}
/* Kernels with per-run scratch sized in prepare(). */
#define KS(op_, name_, fam_)                                                             \
    {.struct_size = sizeof(px_kernel), .op = (op_), .name = (name_), .priority = 0,      \
     .supports = cpu_##fam_##_supports, .run = cpu_##fam_##_run, .prepare = cpu_prepare, \
     .release = cpu_release}

static const px_kernel cpu_kernels[] = {
    K(PX_OP_ADD, "add_ref", binary),
    K(PX_OP_SUB, "sub_ref", binary),
    K(PX_OP_MUL, "mul_ref", binary),
    K(PX_OP_DIV, "div_ref", binary),
    K(PX_OP_POW, "pow_ref", binary),
    K(PX_OP_MIN, "min_ref", binary),
    K(PX_OP_MAX, "max_ref", binary),
    K(PX_OP_NEG, "neg_ref", unary),
    K(PX_OP_ABS, "abs_ref", unary),
    K(PX_OP_EXP, "exp_ref", unary),
    K(PX_OP_LOG, "log_ref", unary),
    K(PX_OP_SQRT, "sqrt_ref", unary),
    K(PX_OP_RSQRT, "rsqrt_ref", unary),
    K(PX_OP_SIN, "sin_ref", unary),
    K(PX_OP_COS, "cos_ref", unary),
    K(PX_OP_TANH, "tanh_ref", unary),
    K(PX_OP_ERF, "erf_ref", unary),
    K(PX_OP_SIGMOID, "sigmoid_ref", unary),
    K(PX_OP_RELU, "relu_ref", unary),
    K(PX_OP_GELU, "gelu_ref", unary),
    K(PX_OP_SILU, "silu_ref", unary),
    K(PX_OP_SCALE, "scale_ref", unary),
    KS(PX_OP_MATMUL, "matmul_ref", matmul),
    {.struct_size = sizeof(px_kernel), .op = PX_OP_MATMUL, .name = "matmul_q", .priority = 2,
     .supports = cpu_matmul_q_supports, .run = cpu_matmul_q_run, .prepare = cpu_matmul_q_prepare,
     .release = cpu_matmul_q_release},
    {.struct_size = sizeof(px_kernel), .op = PX_OP_MATMUL, .name = "matmul_bf16", .priority = 2,
     .supports = cpu_matmul_bf16_supports, .run = cpu_matmul_bf16_run, .prepare = cpu_matmul_bf16_prepare,
     .release = cpu_matmul_bf16_release},
    {.struct_size = sizeof(px_kernel), .op = PX_OP_MATMUL, .name = "matmul_act", .priority = 1,
     .supports = cpu_matmul_act_supports, .run = cpu_matmul_act_run, .prepare = cpu_prepare, .release = cpu_release},
    K(PX_OP_GATHER, "gather_ref", gather),
    K(PX_OP_CONCAT, "concat_ref", concat),
    K(PX_OP_SLICE, "slice_ref", slice),
    K(PX_OP_PERMUTE, "permute_ref", permute),
    K(PX_OP_COPY, "copy_ref", copy),
    K(PX_OP_REDUCE_SUM, "reduce_sum_ref", reduce),
    K(PX_OP_REDUCE_MEAN, "reduce_mean_ref", reduce),
    K(PX_OP_REDUCE_MAX, "reduce_max_ref", reduce),
    K(PX_OP_REDUCE_MIN, "reduce_min_ref", reduce),
    KS(PX_OP_SOFTMAX, "softmax_ref", softmax),
    KS(PX_OP_LOG_SOFTMAX, "log_softmax_ref", log_softmax),
    KS(PX_OP_RMS_NORM, "rms_norm_ref", norm),
    KS(PX_OP_LAYER_NORM, "layer_norm_ref", norm),
    K(PX_OP_ROPE, "rope_ref", rope),
    KS(PX_OP_ATTENTION, "attention_ref", attention),
    {.struct_size = sizeof(px_kernel), .op = PX_OP_ATTENTION, .name = "attention_f32", .priority = 1,
     .supports = cpu_attention_f32_supports, .run = cpu_attention_f32_run, .prepare = cpu_prepare,
     .release = cpu_release},
    K(PX_OP_SWIGLU, "swiglu_ref", swiglu),
    K(PX_OP_CAST, "cast_ref", cast),
    K(PX_OP_WHERE, "where_ref", where),
    K(PX_OP_EQUAL, "equal_ref", compare),
    K(PX_OP_NOT_EQUAL, "not_equal_ref", compare),
    K(PX_OP_LESS, "less_ref", compare),
    K(PX_OP_LESS_EQUAL, "less_equal_ref", compare),
    K(PX_OP_GREATER, "greater_ref", compare),
    K(PX_OP_GREATER_EQUAL, "greater_equal_ref", compare),
    KS(PX_OP_CUMSUM, "cumsum_ref", cumsum),
    KS(PX_OP_ARGMAX, "argmax_ref", argmax),
    K(PX_OP_SET_ROWS, "set_rows_ref", set_rows),
    K(PX_OP_ARANGE, "arange_ref", arange),
    /* ops for the ONNX importer: logical, math, bitwise, gather/scatter, topk (k_index.c) */
    K(PX_OP_EXPAND, "expand_ref", expand),
    K(PX_OP_NOT, "not_ref", elementwise_ext),
    K(PX_OP_AND, "and_ref", elementwise_ext),
    K(PX_OP_OR, "or_ref", elementwise_ext),
    K(PX_OP_XOR, "xor_ref", elementwise_ext),
    K(PX_OP_FLOOR, "floor_ref", elementwise_ext),
    K(PX_OP_CEIL, "ceil_ref", elementwise_ext),
    K(PX_OP_ROUND, "round_ref", elementwise_ext),
    K(PX_OP_SIGN, "sign_ref", elementwise_ext),
    K(PX_OP_RECIPROCAL, "reciprocal_ref", elementwise_ext),
    K(PX_OP_TAN, "tan_ref", elementwise_ext),
    K(PX_OP_ASIN, "asin_ref", elementwise_ext),
    K(PX_OP_ACOS, "acos_ref", elementwise_ext),
    K(PX_OP_ATAN, "atan_ref", elementwise_ext),
    K(PX_OP_SINH, "sinh_ref", elementwise_ext),
    K(PX_OP_COSH, "cosh_ref", elementwise_ext),
    K(PX_OP_ASINH, "asinh_ref", elementwise_ext),
    K(PX_OP_ACOSH, "acosh_ref", elementwise_ext),
    K(PX_OP_ATANH, "atanh_ref", elementwise_ext),
    K(PX_OP_SOFTPLUS, "softplus_ref", elementwise_ext),
    K(PX_OP_ISNAN, "isnan_ref", elementwise_ext),
    K(PX_OP_ISINF, "isinf_ref", elementwise_ext),
    K(PX_OP_MOD, "mod_ref", elementwise_ext),
    K(PX_OP_BITSHIFT, "bitshift_ref", elementwise_ext),
    K(PX_OP_BITWISE_AND, "bitwise_and_ref", elementwise_ext),
    K(PX_OP_BITWISE_OR, "bitwise_or_ref", elementwise_ext),
    K(PX_OP_BITWISE_XOR, "bitwise_xor_ref", elementwise_ext),
    K(PX_OP_BITWISE_NOT, "bitwise_not_ref", elementwise_ext),
    K(PX_OP_REDUCE_PROD, "reduce_prod_ref", reduce_prod),
    K(PX_OP_ARGMIN, "argmin_ref", argmax),
    K(PX_OP_GATHER_ELEMENTS, "gather_elements_ref", gather_elements),
    K(PX_OP_GATHER_ND, "gather_nd_ref", gather_nd),
    K(PX_OP_SCATTER_ELEMENTS, "scatter_elements_ref", scatter_elements),
    K(PX_OP_SCATTER_ND, "scatter_nd_ref", scatter_nd),
    K(PX_OP_TOPK, "topk_ref", topk),
    /* ops for the ONNX importer: conv, pooling, pad, resize, lrn (k_vision.c) */
    {.struct_size = sizeof(px_kernel), .op = PX_OP_CONV, .name = "conv_gemm", .supports = cpu_conv_supports,
     .run = cpu_conv_run, .prepare = cpu_vision_prepare},
    {.struct_size = sizeof(px_kernel), .op = PX_OP_CONV_TRANSPOSE, .name = "conv_transpose_ref", .supports = cpu_conv_supports,
     .run = cpu_conv_run, .prepare = cpu_vision_prepare},
    {.struct_size = sizeof(px_kernel), .op = PX_OP_MAX_POOL, .name = "max_pool_ref", .supports = cpu_pool_supports,
     .run = cpu_pool_run, .prepare = cpu_vision_prepare},
    {.struct_size = sizeof(px_kernel), .op = PX_OP_AVG_POOL, .name = "avg_pool_ref", .supports = cpu_pool_supports,
     .run = cpu_pool_run, .prepare = cpu_vision_prepare},
    {.struct_size = sizeof(px_kernel), .op = PX_OP_LP_POOL, .name = "lp_pool_ref", .supports = cpu_pool_supports,
     .run = cpu_pool_run, .prepare = cpu_vision_prepare},
    {.struct_size = sizeof(px_kernel), .op = PX_OP_PAD, .name = "pad_ref", .supports = cpu_pad_supports,
     .run = cpu_pad_run},
    {.struct_size = sizeof(px_kernel), .op = PX_OP_RESIZE, .name = "resize_ref", .supports = cpu_resize_supports,
     .run = cpu_resize_run, .prepare = cpu_vision_prepare},
    {.struct_size = sizeof(px_kernel), .op = PX_OP_LRN, .name = "lrn_ref", .supports = cpu_lrn_supports,
     .run = cpu_lrn_run},
    K(PX_OP_GRID_SAMPLE, "grid_sample_ref", grid_sample), /* k_grid.c */
};

static px_status cpu_get_kernels(void *dev, const px_kernel **out_kernels, int32_t *out_count) {
    (void)dev;
    if (!out_kernels || !out_count) return cpu_host->set_error(PX_ERR_INVALID_ARG, "cpu: get_kernels: NULL out");
    *out_kernels = cpu_kernels;
    *out_count = (int32_t)(sizeof cpu_kernels / sizeof cpu_kernels[0]);
    return PX_OK;
}

/* ---- the plugin --------------------------------------------------------------------- */

static const px_device_ops cpu_device_ops = {
    .struct_size = sizeof(px_device_ops),
    .get_info = cpu_get_info,
    .buffer_alloc = cpu_buffer_alloc,
    .buffer_free = cpu_buffer_free,
    .buffer_base = cpu_buffer_base,
    .upload = cpu_upload,
    .download = cpu_download,
    .copy = cpu_copy,
    .import_host = cpu_import_host,
    .synchronize = NULL,
    .get_kernels = cpu_get_kernels,
    /* no whole-subgraph execution */
};

static const px_plugin cpu_plugin = {
    .struct_size = sizeof(px_plugin),
    .abi_major = PX_ABI_MAJOR,
    .abi_minor = PX_ABI_MINOR,
    .kind = PX_PLUGIN_DEVICE,
    .name = "cpu",
    .version = CPU_PLUGIN_VERSION,
    .probe = cpu_probe,
    .device_create = cpu_device_create,
    .device_destroy = cpu_device_destroy,
    .device_ops = &cpu_device_ops,
    .format_ops = NULL,
};

PX_EXPORT px_status plexus_plugin_query(uint32_t host_abi_major, uint32_t host_abi_minor, const px_host_api *host,
                                        const px_plugin **out);

PX_EXPORT px_status plexus_plugin_query(uint32_t host_abi_major, uint32_t host_abi_minor, const px_host_api *host,
                                        const px_plugin **out) {
    (void)host_abi_minor; /* any minor of our major works: we use only 1.0 slots */
    /* A host of another major may lay out its table differently: do not
     * call into it; the host names both versions in its message. */
    if (host_abi_major != PX_ABI_MAJOR) return PX_ERR_ABI;
    if (!host || !out) return PX_ERR_INVALID_ARG;
    if (host->struct_size < offsetof(px_host_api, convert) + sizeof host->convert || !host->set_error ||
        !host->alloc || !host->free || !host->parallel_for || !host->n_threads)
        return PX_ERR_ABI;
    cpu_host = host;
    *out = &cpu_plugin;
    return PX_OK;
}
