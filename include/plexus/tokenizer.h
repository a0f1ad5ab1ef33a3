/* Plexus — tokenizers built from a model's metadata (GGUF tokenizer.*).
 *
 * Today: SentencePiece-style vocabularies (tokenizer.ggml.model = "llama":
 * scores, score-ordered bigram merges, byte fallback), matching llama.cpp's
 * ids. Byte-level BPE ("gpt2") and special-token parsing come next. */
#ifndef PLEXUS_TOKENIZER_H
#define PLEXUS_TOKENIZER_H

#include "plexus.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct px_tokenizer px_tokenizer;

/* Build from the model's tokenizer metadata (copied; the model may be closed
 * afterwards). PX_ERR_UNSUPPORTED for a tokenizer model not handled yet,
 * PX_ERR_FORMAT for inconsistent metadata (message names the file). */
px_status px_tokenizer_create(const px_model *m, px_tokenizer **out);
void px_tokenizer_destroy(px_tokenizer *t);

int32_t px_tokenizer_vocab_size(const px_tokenizer *t);
int32_t px_tokenizer_bos(const px_tokenizer *t); /* -1 if none */
int32_t px_tokenizer_eos(const px_tokenizer *t); /* -1 if none */

/* Tokenize `len` bytes of `text`. add_special: prepend BOS / append EOS as
 * the vocabulary asks (tokenizer.ggml.add_bos_token / add_eos_token).
 * Writes at most `cap` ids; *n_out is the number of ids the text needs, and
 * PX_ERR_RANGE is returned when that is more than `cap`. */
px_status px_tokenize(const px_tokenizer *t, const char *text, size_t len, int add_special, int32_t *ids,
                      int32_t cap, int32_t *n_out);

/* The text of token `id` as stored in the vocabulary (not NUL-terminated). */
px_status px_token_text(const px_tokenizer *t, int32_t id, const char **out_text, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
