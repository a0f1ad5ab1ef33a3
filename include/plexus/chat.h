/* Plexus — chat templates: format a conversation the way a model was trained
 * to see it. GGUF files carry a Jinja template (tokenizer.chat_template);
 * Plexus recognises the common families from marker strings in it and
 * formats messages in C (no Jinja engine), byte for byte as llama.cpp's
 * built-in templates do. See docs/chat-templates.md. */
#ifndef PLEXUS_CHAT_H
#define PLEXUS_CHAT_H

#include <stddef.h>

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct px_chat_message {
    const char *role;    /* "system", "user", "assistant" */
    const char *content;
} px_chat_message;

typedef enum px_chat_template {
    PX_CHAT_UNKNOWN = 0,
    PX_CHAT_CHATML,
    PX_CHAT_LLAMA2,
    PX_CHAT_LLAMA2_SYS,
    PX_CHAT_LLAMA2_SYS_BOS,
    PX_CHAT_LLAMA2_SYS_STRIP,
    PX_CHAT_MISTRAL_V1,
    PX_CHAT_MISTRAL_V3,
    PX_CHAT_MISTRAL_V3_TEKKEN,
    PX_CHAT_MISTRAL_V7,
    PX_CHAT_MISTRAL_V7_TEKKEN,
    PX_CHAT_LLAMA3,
    PX_CHAT_LLAMA4,
    PX_CHAT_PHI3,
    PX_CHAT_PHI4,
    PX_CHAT_FALCON3,
    PX_CHAT_ZEPHYR,
    PX_CHAT_GEMMA,
    PX_CHAT_VICUNA,
    PX_CHAT_VICUNA_ORCA,
    PX_CHAT_DEEPSEEK,
    PX_CHAT_DEEPSEEK2,
    PX_CHAT_DEEPSEEK3,
    PX_CHAT_COMMAND_R,
    PX_CHAT_OPENCHAT,
    PX_CHAT_GRANITE,
    PX_CHAT_EXAONE3,
    PX_CHAT_MONARCH,
    PX_CHAT_MEGREZ,
    PX_CHAT_ORION,
    PX_CHAT_CHATGLM3,
    PX_CHAT_CHATGLM4,
    PX_CHAT_GLMEDGE,
    PX_CHAT_MINICPM,
    PX_CHAT_EXAONE4,
    PX_CHAT_RWKV_WORLD,
    PX_CHAT_SMOLVLM,
    PX_CHAT_BAILING,
    PX_CHAT_COUNT /* number of values, not a family */
} px_chat_template;

/* A family name ("chatml", "llama3", "mistral-v7", ...; exact, as
 * px_chat_template_name gives it) or a Jinja template text (GGUF
 * tokenizer.chat_template), recognised by marker substrings in llama.cpp's
 * order. PX_CHAT_UNKNOWN when not recognised or NULL. */
px_chat_template px_chat_template_detect(const char *name_or_jinja);
/* The family's name ("chatml"), "unknown" for PX_CHAT_UNKNOWN and values
 * out of range. */
const char *px_chat_template_name(px_chat_template t);

/* Format `n` messages; add_assistant = 1 appends the opening of the
 * assistant's turn. Writes at most `cap` bytes (buf may be NULL when cap is
 * 0), NUL-terminated when it fits; *n_out = bytes needed without the NUL
 * (also on PX_ERR_RANGE); PX_ERR_RANGE when cap <= *n_out.
 * PX_ERR_INVALID_ARG for PX_CHAT_UNKNOWN, n < 0 or a message without role or
 * content. Roles a family has no place for are skipped or rendered as the
 * family does in llama.cpp. The text does not start with a BOS: the
 * tokenizer adds it (tokenizer.ggml.add_bos_token); only llama2-sys-bos and
 * monarch write "<s>" between turns, smolvlm opens with "<|im_start|>", as
 * llama.cpp's built-in formats do. */
px_status px_chat_apply(px_chat_template t, const px_chat_message *msgs, int32_t n, int add_assistant, char *buf,
                        size_t cap, size_t *n_out);

/* The text that ends an assistant turn ("<|im_end|>", "<|eot_id|>",
 * "<end_of_turn>", "</s>", ...), for stopping generation; NULL if none. */
const char *px_chat_template_stop(px_chat_template t);

#ifdef __cplusplus
}
#endif
#endif
