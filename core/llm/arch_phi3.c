/* phi3: Phi-3 / Phi-3.5. Fused projections: attn_qkv gives q, k and v
 * stacked by rows (q: n_head*D, then k and v: n_head_kv*D each), ffn_up
 * gives the gate (first n_ff rows) and up (next n_ff). NEOX RoPE; the long
 * context variants carry per-pair frequency factors (rope_factors_short for
 * contexts up to the original training length, rope_factors_long beyond).
 * The sliding window in the metadata is not applied (as in llama.cpp). */
#include "arch.h"

px_status px_arch_phi3(px_arch_build *b) {
    const px_hparams *hp = b->hp;
    const int64_t E = hp->n_embd;
    const int64_t QW = hp->n_head * hp->head_dim_k, KW = hp->n_head_kv * hp->head_dim_k;
    const int64_t VW = hp->n_head_kv * hp->head_dim_v, OW = hp->n_head * hp->head_dim_v;
    px_value tok = px_arch_weight(b, 2, (int64_t[]){hp->n_vocab, E}, "token_embd.weight");
    const int64_t F = hp->n_ff;
    const int64_t half[] = {hp->n_rot / 2};
    px_value freqs = b->n_ctx > hp->n_ctx_train ? px_arch_weight_opt(b, 1, half, "rope_factors_long.weight")
                                                : px_arch_weight_opt(b, 1, half, "rope_factors_short.weight");
    px_value x = px_arch_embed(b, tok);
    for (int32_t il = 0; il < hp->n_layer; il++) {
        px_graph_set_group(b->g, il);
        px_value h = px_arch_layer_norm(b, x, il, "attn_norm", E);
        px_value qkv = px_arch_proj(b, h, il, "attn_qkv", QW + KW + VW, E, 0);
        px_value a = px_arch_attention(b, il, px_arch_cols(b, qkv, 0, QW), px_arch_cols(b, qkv, QW, QW + KW),
                                       px_arch_cols(b, qkv, QW + KW, QW + KW + VW), freqs, 0, 0, 0);
        x = px_arch_add(b, x, px_arch_proj(b, a, il, "attn_output", E, OW, 0));
        h = px_arch_layer_norm(b, x, il, "ffn_norm", E);
        px_value gu = px_arch_proj(b, h, il, "ffn_up", 2 * F, E, 0);
        px_value f = b->failed || gu == PX_NONE ? PX_NONE
                     : px_graph_node(b->g, PX_OP_SWIGLU, (px_value[]){px_arch_cols(b, gu, 0, F), px_arch_cols(b, gu, F, 2 * F)},
                                     2, NULL, 0, NULL);
        x = px_arch_add(b, x, px_arch_proj(b, f, il, "ffn_down", E, F, 0));
    }
    return px_arch_finish(b, x, tok);
}
