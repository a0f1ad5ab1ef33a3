/* qwen2: Qwen 1.5 / 2 / 2.5. A llama block with biases on q, k and v
 * (added after the matmuls, before RoPE), NEOX RoPE, and usually tied
 * embeddings (no output.weight: the LM head is token_embd). */
#include "arch.h"

px_status px_arch_qwen2(px_arch_build *b) {
    const px_hparams *hp = b->hp;
    px_graph *g = b->g;
    const int64_t E = hp->n_embd, F = hp->n_ff;
    const int64_t QW = hp->n_head * hp->head_dim_k, KW = hp->n_head_kv * hp->head_dim_k;
    const int64_t VW = hp->n_head_kv * hp->head_dim_v, OW = hp->n_head * hp->head_dim_v;
    px_value tok = px_arch_weight(b, 2, (int64_t[]){hp->n_vocab, E}, "token_embd.weight");
    px_value x = px_arch_embed(b, tok);
    for (int32_t il = 0; il < hp->n_layer; il++) {
        px_graph_set_group(g, il);
        px_value h = px_arch_rms_norm(b, x, px_arch_weight(b, 1, (int64_t[]){E}, "blk.%d.attn_norm.weight", il));
        px_value q = px_arch_linear(b, h, px_arch_weight(b, 2, (int64_t[]){QW, E}, "blk.%d.attn_q.weight", il),
                                    px_arch_weight(b, 1, (int64_t[]){QW}, "blk.%d.attn_q.bias", il));
        px_value k = px_arch_linear(b, h, px_arch_weight(b, 2, (int64_t[]){KW, E}, "blk.%d.attn_k.weight", il),
                                    px_arch_weight(b, 1, (int64_t[]){KW}, "blk.%d.attn_k.bias", il));
        px_value v = px_arch_linear(b, h, px_arch_weight(b, 2, (int64_t[]){VW, E}, "blk.%d.attn_v.weight", il),
                                    px_arch_weight(b, 1, (int64_t[]){VW}, "blk.%d.attn_v.bias", il));
        px_value a = px_arch_attention(b, il, q, k, v, PX_NONE, 0, 0, 0);
        a = px_arch_linear(b, a, px_arch_weight(b, 2, (int64_t[]){E, OW}, "blk.%d.attn_output.weight", il), PX_NONE);
        x = px_graph_node(g, PX_OP_ADD, (px_value[]){x, a}, 2, NULL, 0, NULL);
        h = px_arch_rms_norm(b, x, px_arch_weight(b, 1, (int64_t[]){E}, "blk.%d.ffn_norm.weight", il));
        px_value gt = px_arch_linear(b, h, px_arch_weight(b, 2, (int64_t[]){F, E}, "blk.%d.ffn_gate.weight", il), PX_NONE);
        px_value up = px_arch_linear(b, h, px_arch_weight(b, 2, (int64_t[]){F, E}, "blk.%d.ffn_up.weight", il), PX_NONE);
        px_value f = px_graph_node(g, PX_OP_SWIGLU, (px_value[]){gt, up}, 2, NULL, 0, NULL);
        f = px_arch_linear(b, f, px_arch_weight(b, 2, (int64_t[]){E, F}, "blk.%d.ffn_down.weight", il), PX_NONE);
        x = px_graph_node(g, PX_OP_ADD, (px_value[]){x, f}, 2, NULL, 0, NULL);
    }
    px_value out = px_arch_weight_opt(b, 2, (int64_t[]){hp->n_vocab, E}, "output.weight");
    px_value logits = px_arch_head(b, x, px_arch_weight(b, 1, (int64_t[]){E}, "output_norm.weight"),
                                   out != PX_NONE ? out : tok);
    if (b->failed || logits == PX_NONE) return px_graph_status(g) ? px_graph_status(g) : PX_ERR_FORMAT;
    return px_graph_mark_output(g, logits, "logits");
}
