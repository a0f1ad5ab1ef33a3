/* Tokenizer internals shared by tokenizer.c (vocabulary, special tokens,
 * SPM, pieces) and tok_bpe.c (byte-level BPE and its pre-tokenizers). */
#ifndef PLEXUS_LLM_TOK_INTERNAL_H
#define PLEXUS_LLM_TOK_INTERNAL_H

#include "plexus/tokenizer.h"

/* GGUF tokenizer.ggml.token_type values. */
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER = 4, TT_UNUSED = 5, TT_BYTE = 6 };

enum { TOK_SPM = 0, TOK_BPE = 1 };

/* BPE pre-tokenizers (tokenizer.ggml.pre). */
enum { PRE_DEFAULT = 0, PRE_GPT2, PRE_LLAMA3, PRE_QWEN2, PRE_DEEPSEEK_CODER, PRE_STARCODER };

typedef struct tok_entry {
    char *text;
    uint32_t len;
    float score;
    int32_t type;
    uint8_t lstrip, rstrip, eog;
} tok_entry;

typedef struct merge_entry {
    const char *text; /* "left right" (points into the model's metadata copy) */
    uint32_t len;
} merge_entry;

struct px_tokenizer {
    int kind;
    char model[16];
    char pre[48];
    int pre_kind;
    int32_t n_vocab;
    tok_entry *tok;
    int32_t *table; /* open addressing: token ids, -1 empty */
    uint32_t table_mask;
    int32_t byte_tok[256]; /* SPM: the <0xXX> tokens */
    int32_t bos, eos, unk, eot, eom;
    int32_t *special; /* control, user-defined and unknown tokens, longest text first */
    int32_t n_special;
    int add_bos, add_eos, add_space_prefix, clean_spaces, ignore_merges;
    /* BPE merges: "left right" -> rank */
    char *merge_buf;
    merge_entry *merges;
    int32_t n_merges;
    int32_t *mtable;
    uint32_t mmask;
};

typedef struct tok_out {
    int32_t *ids;
    int32_t cap, n;
} tok_out;

static inline void tok_emit(tok_out *o, int32_t id) {
    if (o->n < o->cap) o->ids[o->n] = id;
    o->n++;
}

int32_t tok_lookup(const px_tokenizer *t, const char *p, size_t n);
uint32_t tok_hash(const char *p, size_t n);

/* tok_bpe.c */
int tok_pre_kind(const char *pre); /* -1 if unknown */
px_status tok_bpe_init(px_tokenizer *t, const px_model *m);
px_status tok_bpe_encode(const px_tokenizer *t, const char *text, size_t len, tok_out *o);

#endif
