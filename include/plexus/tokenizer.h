/* Plexus — tokenizers built from a model's metadata (GGUF tokenizer.*).
 *
 * SentencePiece-style vocabularies (tokenizer.ggml.model = "llama": scores,
 * score-ordered bigram merges, byte fallback) and byte-level BPE ("gpt2",
 * with the pre-tokenizer tokenizer.ggml.pre names), matching llama.cpp's ids;
 * special tokens, pieces and detokenization as llama.cpp's. */
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

/* Tokenize `len` bytes of `text`, as llama.cpp's llama_tokenize.
 * add_special: prepend BOS / append EOS as the vocabulary asks
 * (tokenizer.ggml.add_bos_token / add_eos_token).
 * parse_special: control tokens written in the text ("<|im_start|>", "<s>")
 * become their ids; user-defined tokens always do.
 * Writes at most `cap` ids; *n_out is the number of ids the text needs, and
 * PX_ERR_RANGE is returned when that is more than `cap`. */
px_status px_tokenize(const px_tokenizer *t, const char *text, size_t len, int add_special, int parse_special,
                      int32_t *ids, int32_t cap, int32_t *n_out);

/* The text of token `id` as stored in the vocabulary (not NUL-terminated). */
px_status px_token_text(const px_tokenizer *t, int32_t id, const char **out_text, size_t *out_len);

/* The bytes a token stands for (llama_token_to_piece): SentencePiece U+2581
 * becomes a space, <0xXX> its byte, byte-level BPE symbols their bytes;
 * control and unknown tokens give nothing unless `special`. Writes at most
 * `cap` bytes (no NUL); *n_out = bytes needed; PX_ERR_RANGE if more than cap. */
px_status px_token_to_piece(const px_tokenizer *t, int32_t id, int special, char *buf, size_t cap, size_t *n_out);

/* Text of a token sequence (llama_detokenize): pieces joined, the
 * SentencePiece leading space removed, and for vocabularies that ask for it
 * spaces before punctuation cleaned. remove_special drops a leading BOS and
 * trailing EOS the vocabulary adds; unparse_special renders control tokens. */
px_status px_detokenize(const px_tokenizer *t, const int32_t *ids, int32_t n, int remove_special, int unparse_special,
                        char *buf, size_t cap, size_t *n_out);

/* Length of the longest prefix of s[0..n) that does not end inside an
 * unfinished UTF-8 character (for streaming output). */
size_t px_utf8_valid_prefix(const char *s, size_t n);

/* End of generation: EOS, EOT, EOM and the turn-ending control tokens of the
 * common chat formats (<|eot_id|>, <|im_end|>, <|end|>, <end_of_turn>, ...). */
int px_token_is_eog(const px_tokenizer *t, int32_t id);
/* Id of the token whose text is exactly text[0..len), -1 if none. */
int32_t px_tokenizer_find(const px_tokenizer *t, const char *text, size_t len);
int32_t px_tokenizer_eot(const px_tokenizer *t); /* -1 if none */
int px_tokenizer_add_bos(const px_tokenizer *t);
/* "llama" (SentencePiece) or "gpt2" (byte-level BPE), and the BPE
 * pre-tokenizer name ("" for SentencePiece). */
const char *px_tokenizer_model(const px_tokenizer *t);
const char *px_tokenizer_pre(const px_tokenizer *t);

#ifdef __cplusplus
}
#endif
#endif
