/* gemma2: Gemma 2. Differences from llama:
 *  - input embeddings scaled by sqrt(n_embd);
 *  - q scaled by 1/sqrt(head_dim) (key_length may differ from n_embd/n_head);
 *  - attention logits soft-capped: c*tanh(s/c) (attn_logit_softcapping);
 *  - sliding-window attention on even layers (attention.sliding_window),
 *    global attention on odd layers;
 *  - post_attention_norm / post_ffw_norm RMS-normalise each branch's output
 *    before its residual add;
 *  - FFN down(gelu_tanh(gate) * up);
 *  - final logits soft-capped (final_logit_softcapping); tied embeddings.
 * Norm weights are used as stored (the GGUF converter has added the +1). */
#include <math.h>

#include "arch.h"

px_status px_arch_gemma2(px_arch_build *b) {
    const px_hparams *hp = b->hp;
    const int64_t E = hp->n_embd;
    const int64_t QW = hp->n_head * hp->head_dim_k, KW = hp->n_head_kv * hp->head_dim_k;
    const int64_t VW = hp->n_head_kv * hp->head_dim_v, OW = hp->n_head * hp->head_dim_v;
    px_value tok = px_arch_weight(b, 2, (int64_t[]){hp->n_vocab, E}, "token_embd.weight");
    const int64_t F = hp->n_ff;
    px_value x = px_arch_embed(b, tok);
    px_attr es[] = {PX_ATTR_F("scale", sqrt((double)E))};
    if (x != PX_NONE) x = px_graph_node(b->g, PX_OP_SCALE, &x, 1, es, 1, "embd_scaled");
    px_attr gelu_tanh[] = {PX_ATTR_I("approximate", 1)};
    for (int32_t il = 0; il < hp->n_layer; il++) {
        px_graph_set_group(b->g, il);
        px_value h = px_arch_layer_norm(b, x, il, "attn_norm", E);
        int64_t window = il % 2 == 0 ? hp->sliding_window : 0;
        px_value a = px_arch_attention(b, il, px_arch_proj(b, h, il, "attn_q", QW, E, 0),
                                       px_arch_proj(b, h, il, "attn_k", KW, E, 0),
                                       px_arch_proj(b, h, il, "attn_v", VW, E, 0), PX_NONE, window, hp->attn_softcap,
                                       1.0 / sqrt((double)hp->head_dim_k));
        a = px_arch_layer_norm(b, px_arch_proj(b, a, il, "attn_output", E, OW, 0), il, "post_attention_norm", E);
        x = px_arch_add(b, x, a);
        h = px_arch_layer_norm(b, x, il, "ffn_norm", E);
        px_value gt = px_arch_proj(b, h, il, "ffn_gate", F, E, 0);
        px_value up = px_arch_proj(b, h, il, "ffn_up", F, E, 0);
        px_value f = b->failed || gt == PX_NONE || up == PX_NONE
                         ? PX_NONE
                         : px_graph_node(b->g, PX_OP_MUL,
                                         (px_value[]){px_graph_node(b->g, PX_OP_GELU, &gt, 1, gelu_tanh, 1, NULL), up}, 2,
                                         NULL, 0, NULL);
        f = px_arch_layer_norm(b, px_arch_proj(b, f, il, "ffn_down", E, F, 0), il, "post_ffw_norm", E);
        x = px_arch_add(b, x, f);
    }
    return px_arch_finish(b, x, tok);
}
