/* phi3: Phi-3 / Phi-3.5. Fused projections: attn_qkv gives q, k and v
 * stacked by rows (q: n_head*D, then k and v: n_head_kv*D each), ffn_up
 * gives the gate (first n_ff rows) and up (next n_ff). NEOX RoPE; the long
 * context variants carry per-pair frequency factors (rope_factors_short for
 * contexts up to the original training length, rope_factors_long beyond).
 * The sliding window in the metadata is not applied (as in llama.cpp). */
#include "arch.h"

px_status px_arch_phi3(px_arch_build *b) {
    const px_hparams *hp = b->hp;
    px_graph *g = b->g;
    const int64_t E = hp->n_embd, F = hp->n_ff;
    const int64_t QW = hp->n_head * hp->head_dim_k, KW = hp->n_head_kv * hp->head_dim_k;
    const int64_t VW = hp->n_head_kv * hp->head_dim_v, OW = hp->n_head * hp->head_dim_v;
    px_value tok = px_arch_weight(b, 2, (int64_t[]){hp->n_vocab, E}, "token_embd.weight");
    const int64_t half[] = {hp->n_rot / 2};
    px_value freqs = b->n_ctx > hp->n_ctx_train ? px_arch_weight_opt(b, 1, half, "rope_factors_long.weight")
                                                : px_arch_weight_opt(b, 1, half, "rope_factors_short.weight");
    px_value x = px_arch_embed(b, tok);
    for (int32_t il = 0; il < hp->n_layer; il++) {
        px_graph_set_group(g, il);
        px_value h = px_arch_rms_norm(b, x, px_arch_weight(b, 1, (int64_t[]){E}, "blk.%d.attn_norm.weight", il));
        px_value qkv = px_arch_linear(
            b, h, px_arch_weight(b, 2, (int64_t[]){QW + KW + VW, E}, "blk.%d.attn_qkv.weight", il), PX_NONE);
        px_value q = px_arch_cols(b, qkv, 0, QW);
        px_value k = px_arch_cols(b, qkv, QW, QW + KW);
        px_value v = px_arch_cols(b, qkv, QW + KW, QW + KW + VW);
        px_value a = px_arch_attention(b, il, q, k, v, freqs, 0, 0, 0);
        a = px_arch_linear(b, a, px_arch_weight(b, 2, (int64_t[]){E, OW}, "blk.%d.attn_output.weight", il), PX_NONE);
        x = px_graph_node(g, PX_OP_ADD, (px_value[]){x, a}, 2, NULL, 0, NULL);
        h = px_arch_rms_norm(b, x, px_arch_weight(b, 1, (int64_t[]){E}, "blk.%d.ffn_norm.weight", il));
        px_value gu =
            px_arch_linear(b, h, px_arch_weight(b, 2, (int64_t[]){2 * F, E}, "blk.%d.ffn_up.weight", il), PX_NONE);
        px_value f = px_graph_node(g, PX_OP_SWIGLU, (px_value[]){px_arch_cols(b, gu, 0, F), px_arch_cols(b, gu, F, 2 * F)},
                                   2, NULL, 0, NULL);
        f = px_arch_linear(b, f, px_arch_weight(b, 2, (int64_t[]){E, F}, "blk.%d.ffn_down.weight", il), PX_NONE);
        x = px_graph_node(g, PX_OP_ADD, (px_value[]){x, f}, 2, NULL, 0, NULL);
    }
    px_value out = px_arch_weight_opt(b, 2, (int64_t[]){hp->n_vocab, E}, "output.weight");
    px_value logits = px_arch_head(b, x, px_arch_weight(b, 1, (int64_t[]){E}, "output_norm.weight"),
                                   out != PX_NONE ? out : tok);
    if (b->failed || logits == PX_NONE) return px_graph_status(g) ? px_graph_status(g) : PX_ERR_FORMAT;
    return px_graph_mark_output(g, logits, "logits");
}
