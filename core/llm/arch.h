/* Architecture graph builders: from a model's metadata and tensors (GGUF
 * naming conventions: "<arch>.embedding_length", "blk.N.attn_q.weight") to
 * one IR graph per model, built once and run per batch.
 *
 * The graph contract every builder keeps (the session in llm.c relies on it):
 *   symbols   n_tokens (<= n_batch): tokens in the batch
 *             n_out    (<= n_batch): rows whose logits are computed
 *   inputs    tokens    I32 [n_tokens]   token ids
 *             positions I32 [n_tokens]   position of each token in the sequence
 *             out_rows  I32 [n_out]      batch rows (0..n_tokens-1) to compute logits for
 *   states    cache_k.L / cache_v.L [n_ctx, n_head_kv, head_dim] per layer L,
 *             of the KV-cache dtype: row p holds the key/value at position p
 *   output    logits    F32 [n_out, n_vocab]
 * Nodes of layer L carry group L (used by offload_layers placement). */
#ifndef PLEXUS_LLM_ARCH_H
#define PLEXUS_LLM_ARCH_H

#include "plexus/plexus.h"

typedef struct px_hparams {
    char arch[32];
    int64_t n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff;
    int64_t head_dim_k, head_dim_v; /* key_length / value_length, default n_embd / n_head */
    int64_t n_ctx_train;
    int64_t n_rot;                  /* rotated dims per head */
    int32_t rope_mode;              /* 0: normal (adjacent pairs), 2: neox */
    double rope_base, rope_scale;
    double rms_eps;
    double attn_softcap, final_softcap; /* 0: none */
    int64_t sliding_window;         /* 0: none */
} px_hparams;

typedef struct px_arch_build {
    const px_model *model;
    const px_hparams *hp;
    int64_t n_ctx, n_batch;
    px_dtype cache_type;
    px_graph *g;
    px_value tokens, positions, out_rows;
    int failed;    /* a weight was missing or misshapen */
    char msg[320]; /* ... and the message saying so */
} px_arch_build;

/* Read the hyperparameters of a supported architecture. PX_ERR_UNSUPPORTED
 * names an unknown architecture, PX_ERR_FORMAT a missing or bad key. */
px_status px_hparams_load(const px_model *m, px_hparams *hp);

/* Build the graph (inputs, states and output of the contract above). */
px_status px_arch_build_graph(const px_model *m, const px_hparams *hp, int64_t n_ctx, int64_t n_batch,
                              px_dtype cache_type, px_graph **out);

/* ---- building blocks for the per-architecture files ---------------------- */

/* Constant of the model tensor named by fmt (printf-style); records an error
 * naming the file and tensor when it is absent (or has another shape than
 * `rank`/`ne`, when ne is given) and returns PX_NONE. */
px_value px_arch_weight(px_arch_build *b, int32_t rank, const int64_t *ne, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Same, but PX_NONE without an error when the tensor is absent. */
px_value px_arch_weight_opt(px_arch_build *b, int32_t rank, const int64_t *ne, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* x [T, in] times a weight [out, in] (+ bias) -> [T, out]. */
px_value px_arch_linear(px_arch_build *b, px_value x, px_value w, px_value bias);
px_value px_arch_rms_norm(px_arch_build *b, px_value x, px_value w);
/* Token embeddings as F32 [n_tokens, n_embd]. */
px_value px_arch_embed(px_arch_build *b, px_value tok_embd);
/* Self-attention of layer `il` on q [T, Hq*Dk], k [T, Hkv*Dk], v [T, Hkv*Dv]:
 * RoPE (freq_factors optional), the KV cache of the layer, GQA, causal;
 * window/softcap/scale as the op's attributes (scale <= 0: 1/sqrt(Dk)).
 * Returns [T, Hq*Dv]. */
px_value px_arch_attention(px_arch_build *b, int32_t il, px_value q, px_value k, px_value v, px_value freq_factors,
                           int64_t window, double softcap, double scale);
/* The logits head: keep out_rows, final norm, LM head (tied: token_embd). */
px_value px_arch_head(px_arch_build *b, px_value x, px_value norm_w, px_value out_w);
/* Columns [c0, c1) of a [T, C] value. */
px_value px_arch_cols(px_arch_build *b, px_value x, int64_t c0, int64_t c1);

/* Layer helpers (names "blk.<il>.<name>.weight"/".bias"): a projection
 * [T, in] -> [T, out] (with the bias tensor when `bias`), an RMS norm of
 * [T, width], a residual add, the SwiGLU FFN down(silu(gate(h)) * up(h)),
 * and the end of every builder: the LM head (output.weight, or the tied
 * token embedding) marked as the "logits" output. */
px_value px_arch_proj(px_arch_build *b, px_value h, int32_t il, const char *name, int64_t out, int64_t in, int bias);
px_value px_arch_layer_norm(px_arch_build *b, px_value x, int32_t il, const char *name, int64_t width);
px_value px_arch_add(px_arch_build *b, px_value x, px_value y);
px_value px_arch_ffn_swiglu(px_arch_build *b, px_value h, int32_t il);
px_status px_arch_finish(px_arch_build *b, px_value x, px_value tok_embd);

/* The architectures. */
px_status px_arch_llama(px_arch_build *b);
px_status px_arch_qwen2(px_arch_build *b);
px_status px_arch_phi3(px_arch_build *b);
px_status px_arch_gemma2(px_arch_build *b);

#endif
