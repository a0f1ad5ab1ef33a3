/* qwen2: Qwen 1.5 / 2 / 2.5. A llama block with biases on q, k and v
 * (added after the matmuls, before RoPE), NEOX RoPE, and usually tied
 * embeddings (no output.weight: the LM head is token_embd). */
#include "arch.h"

px_status px_arch_qwen2(px_arch_build *b) {
    const px_hparams *hp = b->hp;
    const int64_t E = hp->n_embd;
    const int64_t QW = hp->n_head * hp->head_dim_k, KW = hp->n_head_kv * hp->head_dim_k;
    const int64_t VW = hp->n_head_kv * hp->head_dim_v, OW = hp->n_head * hp->head_dim_v;
    px_value tok = px_arch_weight(b, 2, (int64_t[]){hp->n_vocab, E}, "token_embd.weight");
    px_value x = px_arch_embed(b, tok);
    for (int32_t il = 0; il < hp->n_layer; il++) {
        px_graph_set_group(b->g, il);
        px_value h = px_arch_layer_norm(b, x, il, "attn_norm", E);
        px_value a = px_arch_attention(b, il, px_arch_proj(b, h, il, "attn_q", QW, E, 1),
                                       px_arch_proj(b, h, il, "attn_k", KW, E, 1),
                                       px_arch_proj(b, h, il, "attn_v", VW, E, 1), PX_NONE, 0, 0, 0);
        x = px_arch_add(b, x, px_arch_proj(b, a, il, "attn_output", E, OW, 0));
        x = px_arch_add(b, x, px_arch_ffn_swiglu(b, px_arch_layer_norm(b, x, il, "ffn_norm", E), il));
    }
    return px_arch_finish(b, x, tok);
}
