/* Chat templates (see include/plexus/chat.h). Detection looks for marker
 * strings of each family in the Jinja text, in the order llama.cpp checks
 * them (some families share markers); formatting writes the family's bytes
 * directly. */
#include "plexus/chat.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const struct {
    const char *name;
    px_chat_template t;
    const char *stop;
} families[] = {
    {"unknown", PX_CHAT_UNKNOWN, NULL},
    {"chatml", PX_CHAT_CHATML, "<|im_end|>"},
    {"llama2", PX_CHAT_LLAMA2, "</s>"},
    {"llama2-sys", PX_CHAT_LLAMA2_SYS, "</s>"},
    {"llama2-sys-bos", PX_CHAT_LLAMA2_SYS_BOS, "</s>"},
    {"llama2-sys-strip", PX_CHAT_LLAMA2_SYS_STRIP, "</s>"},
    {"mistral-v1", PX_CHAT_MISTRAL_V1, "</s>"},
    {"mistral-v3", PX_CHAT_MISTRAL_V3, "</s>"},
    {"mistral-v3-tekken", PX_CHAT_MISTRAL_V3_TEKKEN, "</s>"},
    {"mistral-v7", PX_CHAT_MISTRAL_V7, "</s>"},
    {"mistral-v7-tekken", PX_CHAT_MISTRAL_V7_TEKKEN, "</s>"},
    {"llama3", PX_CHAT_LLAMA3, "<|eot_id|>"},
    {"llama4", PX_CHAT_LLAMA4, "<|eot|>"},
    {"phi3", PX_CHAT_PHI3, "<|end|>"},
    {"phi4", PX_CHAT_PHI4, "<|im_end|>"},
    {"falcon3", PX_CHAT_FALCON3, NULL},
    {"zephyr", PX_CHAT_ZEPHYR, "<|endoftext|>"},
    {"gemma", PX_CHAT_GEMMA, "<end_of_turn>"},
    {"vicuna", PX_CHAT_VICUNA, "</s>"},
    {"vicuna-orca", PX_CHAT_VICUNA_ORCA, "</s>"},
    {"deepseek", PX_CHAT_DEEPSEEK, "<|EOT|>"},
    {"deepseek2", PX_CHAT_DEEPSEEK2, "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"},
    {"deepseek3", PX_CHAT_DEEPSEEK3, "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"},
    {"command-r", PX_CHAT_COMMAND_R, "<|END_OF_TURN_TOKEN|>"},
    {"openchat", PX_CHAT_OPENCHAT, "<|end_of_turn|>"},
    {"granite", PX_CHAT_GRANITE, "<|end_of_text|>"},
    {"exaone3", PX_CHAT_EXAONE3, "[|endofturn|]"},
    {"monarch", PX_CHAT_MONARCH, "</s>"},
    {"megrez", PX_CHAT_MEGREZ, "<|turn_end|>"},
};

const char *px_chat_template_name(px_chat_template t) {
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (families[i].t == t) return families[i].name;
    return "unknown";
}

const char *px_chat_template_stop(px_chat_template t) {
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (families[i].t == t) return families[i].stop;
    return NULL;
}

px_chat_template px_chat_template_detect(const char *s) {
    if (!s) return PX_CHAT_UNKNOWN;
    for (size_t i = 1; i < sizeof families / sizeof families[0]; i++)
        if (strcmp(s, families[i].name) == 0) return families[i].t;
#define HAS(x) (strstr(s, (x)) != NULL)
    if (HAS("<|im_start|>")) return HAS("<|im_sep|>") ? PX_CHAT_PHI4 : PX_CHAT_CHATML;
    if (strncmp(s, "mistral", 7) == 0 || HAS("[INST]")) {
        if (HAS("[SYSTEM_PROMPT]")) return PX_CHAT_MISTRAL_V7;
        if (HAS("' [INST] ' + system_message") || HAS("[AVAILABLE_TOOLS]")) {
            if (HAS(" [INST]")) return PX_CHAT_MISTRAL_V1;
            if (HAS("\"[INST]\"")) return PX_CHAT_MISTRAL_V3_TEKKEN;
            return PX_CHAT_MISTRAL_V3;
        }
        if (HAS("content.strip()")) return PX_CHAT_LLAMA2_SYS_STRIP;
        if (HAS("bos_token + '[INST]")) return PX_CHAT_LLAMA2_SYS_BOS;
        if (HAS("<<SYS>>")) return PX_CHAT_LLAMA2_SYS;
        return PX_CHAT_LLAMA2;
    }
    if (HAS("<|assistant|>") && HAS("<|end|>")) return PX_CHAT_PHI3;
    if (HAS("<|assistant|>") && HAS("<|user|>") && HAS("</s>")) return PX_CHAT_FALCON3;
    if (HAS("<|user|>") && HAS("<|endoftext|>")) return PX_CHAT_ZEPHYR;
    if (HAS("bos_token + message['role']")) return PX_CHAT_MONARCH;
    if (HAS("<start_of_turn>")) return PX_CHAT_GEMMA;
    if (HAS("GPT4 Correct ")) return PX_CHAT_OPENCHAT;
    if (HAS("USER: ") && HAS("ASSISTANT: ")) return HAS("SYSTEM: ") ? PX_CHAT_VICUNA_ORCA : PX_CHAT_VICUNA;
    if (HAS("### Instruction:") && HAS("<|EOT|>")) return PX_CHAT_DEEPSEEK;
    if (HAS("<|START_OF_TURN_TOKEN|>") && HAS("<|USER_TOKEN|>")) return PX_CHAT_COMMAND_R;
    if (HAS("<|start_header_id|>") && HAS("<|end_header_id|>")) return PX_CHAT_LLAMA3;
    if (HAS("'Assistant: ' + message['content'] + eos_token")) return PX_CHAT_DEEPSEEK2;
    if (HAS("<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>") && HAS("<\xef\xbd\x9c" "User\xef\xbd\x9c>")) return PX_CHAT_DEEPSEEK3;
    if (HAS("[|system|]") && HAS("[|assistant|]") && HAS("[|endofturn|]")) return PX_CHAT_EXAONE3;
    if (HAS("<|start_of_role|>")) return PX_CHAT_GRANITE;
    if (HAS("<|role_start|>")) return PX_CHAT_MEGREZ;
    if (HAS("<|header_start|>") && HAS("<|header_end|>")) return PX_CHAT_LLAMA4;
#undef HAS
    return PX_CHAT_UNKNOWN;
}

/* A bounded writer that keeps counting past the end. */
typedef struct sbuf {
    char *p;
    size_t cap, n;
} sbuf;

static void put(sbuf *b, const char *s, size_t n) {
    if (b->n < b->cap) {
        size_t k = b->cap - b->n < n ? b->cap - b->n : n;
        memcpy(b->p + b->n, s, k);
    }
    b->n += n;
}

static void puts_(sbuf *b, const char *s) { put(b, s, strlen(s)); }

/* Content with leading and trailing whitespace removed. */
static void put_trim(sbuf *b, const char *s) {
    size_t n = strlen(s), a = 0;
    while (a < n && isspace((unsigned char)s[a])) a++;
    while (n > a && isspace((unsigned char)s[n - 1])) n--;
    put(b, s + a, n - a);
}

static int is(const char *role, const char *r) { return strcmp(role, r) == 0; }

px_status px_chat_apply(px_chat_template t, const px_chat_message *m, int32_t n, int add_ass, char *buf, size_t cap,
                        size_t *n_out) {
    if ((!m && n) || n < 0 || (!buf && cap) || !n_out) return px_set_error(PX_ERR_INVALID_ARG, "px_chat_apply: bad argument");
    for (int32_t i = 0; i < n; i++)
        if (!m[i].role || !m[i].content) return px_set_error(PX_ERR_INVALID_ARG, "px_chat_apply: message %d has no role or content", i);
    sbuf b = {buf, cap, 0};
    switch (t) {
    case PX_CHAT_CHATML:
        for (int32_t i = 0; i < n; i++) {
            puts_(&b, "<|im_start|>");
            puts_(&b, m[i].role);
            puts_(&b, "\n");
            puts_(&b, m[i].content);
            puts_(&b, "<|im_end|>\n");
        }
        if (add_ass) puts_(&b, "<|im_start|>assistant\n");
        break;
    case PX_CHAT_PHI4:
        for (int32_t i = 0; i < n; i++) {
            puts_(&b, "<|im_start|>");
            puts_(&b, m[i].role);
            puts_(&b, "<|im_sep|>");
            puts_(&b, m[i].content);
            puts_(&b, "<|im_end|>");
        }
        if (add_ass) puts_(&b, "<|im_start|>assistant<|im_sep|>");
        break;
    case PX_CHAT_MISTRAL_V7:
    case PX_CHAT_MISTRAL_V7_TEKKEN: {
        const char *sp = t == PX_CHAT_MISTRAL_V7 ? " " : "";
        for (int32_t i = 0; i < n; i++) {
            if (is(m[i].role, "system")) {
                puts_(&b, "[SYSTEM_PROMPT]");
                puts_(&b, sp);
                puts_(&b, m[i].content);
                puts_(&b, "[/SYSTEM_PROMPT]");
            } else if (is(m[i].role, "user")) {
                puts_(&b, "[INST]");
                puts_(&b, sp);
                puts_(&b, m[i].content);
                puts_(&b, "[/INST]");
            } else {
                puts_(&b, sp);
                puts_(&b, m[i].content);
                puts_(&b, "</s>");
            }
        }
        break;
    }
    case PX_CHAT_MISTRAL_V1:
    case PX_CHAT_MISTRAL_V3:
    case PX_CHAT_MISTRAL_V3_TEKKEN: {
        const char *lead = t == PX_CHAT_MISTRAL_V1 ? " " : "";
        const char *trail = t == PX_CHAT_MISTRAL_V3_TEKKEN ? "" : " ";
        int in_turn = 0;
        for (int32_t i = 0; i < n; i++) {
            if (!in_turn) {
                puts_(&b, lead);
                puts_(&b, "[INST]");
                puts_(&b, trail);
                in_turn = 1;
            }
            if (is(m[i].role, "system")) {
                puts_(&b, m[i].content);
                puts_(&b, "\n\n");
            } else if (is(m[i].role, "user")) {
                puts_(&b, m[i].content);
                puts_(&b, lead);
                puts_(&b, "[/INST]");
            } else {
                puts_(&b, trail);
                if (t == PX_CHAT_MISTRAL_V3) put_trim(&b, m[i].content);
                else puts_(&b, m[i].content);
                puts_(&b, "</s>");
                in_turn = 0;
            }
        }
        break;
    }
    case PX_CHAT_LLAMA2:
    case PX_CHAT_LLAMA2_SYS:
    case PX_CHAT_LLAMA2_SYS_BOS:
    case PX_CHAT_LLAMA2_SYS_STRIP: {
        int sys = t != PX_CHAT_LLAMA2, strip = t == PX_CHAT_LLAMA2_SYS_STRIP, in_turn = 1;
        puts_(&b, "[INST] ");
        for (int32_t i = 0; i < n; i++) {
            if (!in_turn) {
                in_turn = 1;
                puts_(&b, t == PX_CHAT_LLAMA2_SYS_BOS ? "<s>[INST] " : "[INST] ");
            }
            if (is(m[i].role, "system")) {
                if (sys) puts_(&b, "<<SYS>>\n");
                if (strip) put_trim(&b, m[i].content);
                else puts_(&b, m[i].content);
                puts_(&b, sys ? "\n<</SYS>>\n\n" : "\n");
            } else if (is(m[i].role, "user")) {
                if (strip) put_trim(&b, m[i].content);
                else puts_(&b, m[i].content);
                puts_(&b, " [/INST]");
            } else {
                if (strip) put_trim(&b, m[i].content);
                else puts_(&b, m[i].content);
                puts_(&b, "</s>");
                in_turn = 0;
            }
        }
        break;
    }
    case PX_CHAT_PHI3:
    case PX_CHAT_FALCON3:
    case PX_CHAT_ZEPHYR: {
        const char *end = t == PX_CHAT_PHI3 ? "<|end|>\n" : t == PX_CHAT_ZEPHYR ? "<|endoftext|>\n" : "\n";
        for (int32_t i = 0; i < n; i++) {
            puts_(&b, "<|");
            puts_(&b, m[i].role);
            puts_(&b, "|>\n");
            puts_(&b, m[i].content);
            puts_(&b, end);
        }
        if (add_ass) puts_(&b, "<|assistant|>\n");
        break;
    }
    case PX_CHAT_MONARCH:
        for (int32_t i = 0; i < n; i++) {
            if (i) puts_(&b, "<s>");
            puts_(&b, m[i].role);
            puts_(&b, "\n");
            puts_(&b, m[i].content);
            puts_(&b, "</s>\n");
        }
        if (add_ass) puts_(&b, "<s>assistant\n");
        break;
    case PX_CHAT_GEMMA: {
        /* no system role: the system text opens the next user turn */
        const char *sys[64];
        int32_t nsys = 0;
        for (int32_t i = 0; i < n; i++) {
            if (is(m[i].role, "system")) {
                if (nsys < 64) sys[nsys++] = m[i].content;
                continue;
            }
            int model = is(m[i].role, "assistant");
            puts_(&b, "<start_of_turn>");
            puts_(&b, model ? "model" : m[i].role);
            puts_(&b, "\n");
            if (nsys && !(model || is(m[i].role, "model"))) {
                for (int32_t k = 0; k < nsys; k++) put_trim(&b, sys[k]);
                puts_(&b, "\n\n");
                nsys = 0;
            }
            put_trim(&b, m[i].content);
            puts_(&b, "<end_of_turn>\n");
        }
        if (add_ass) puts_(&b, "<start_of_turn>model\n");
        break;
    }
    case PX_CHAT_OPENCHAT:
        for (int32_t i = 0; i < n; i++) {
            if (is(m[i].role, "system")) {
                puts_(&b, m[i].content);
            } else {
                char r[64];
                snprintf(r, sizeof r, "%s", m[i].role);
                r[0] = (char)toupper((unsigned char)r[0]);
                puts_(&b, "GPT4 Correct ");
                puts_(&b, r);
                puts_(&b, ": ");
                puts_(&b, m[i].content);
            }
            puts_(&b, "<|end_of_turn|>");
        }
        if (add_ass) puts_(&b, "GPT4 Correct Assistant:");
        break;
    case PX_CHAT_VICUNA:
    case PX_CHAT_VICUNA_ORCA:
        for (int32_t i = 0; i < n; i++) {
            if (is(m[i].role, "system")) {
                if (t == PX_CHAT_VICUNA_ORCA) {
                    puts_(&b, "SYSTEM: ");
                    puts_(&b, m[i].content);
                    puts_(&b, "\n");
                } else {
                    puts_(&b, m[i].content);
                    puts_(&b, "\n\n");
                }
            } else if (is(m[i].role, "user")) {
                puts_(&b, "USER: ");
                puts_(&b, m[i].content);
                puts_(&b, "\n");
            } else if (is(m[i].role, "assistant")) {
                puts_(&b, "ASSISTANT: ");
                puts_(&b, m[i].content);
                puts_(&b, "</s>\n");
            }
        }
        if (add_ass) puts_(&b, "ASSISTANT:");
        break;
    case PX_CHAT_DEEPSEEK:
        for (int32_t i = 0; i < n; i++) {
            if (is(m[i].role, "system")) {
                puts_(&b, m[i].content);
            } else if (is(m[i].role, "user")) {
                puts_(&b, "### Instruction:\n");
                puts_(&b, m[i].content);
                puts_(&b, "\n");
            } else if (is(m[i].role, "assistant")) {
                puts_(&b, "### Response:\n");
                puts_(&b, m[i].content);
                puts_(&b, "\n<|EOT|>\n");
            }
        }
        if (add_ass) puts_(&b, "### Response:\n");
        break;
    case PX_CHAT_DEEPSEEK2:
    case PX_CHAT_DEEPSEEK3: {
        const char *eos = px_chat_template_stop(PX_CHAT_DEEPSEEK3);
        for (int32_t i = 0; i < n; i++) {
            if (is(m[i].role, "system")) {
                puts_(&b, m[i].content);
                puts_(&b, "\n\n");
            } else if (is(m[i].role, "user")) {
                puts_(&b, t == PX_CHAT_DEEPSEEK2 ? "User: " : "<\xef\xbd\x9c" "User\xef\xbd\x9c>");
                puts_(&b, m[i].content);
                if (t == PX_CHAT_DEEPSEEK2) puts_(&b, "\n\n");
            } else if (is(m[i].role, "assistant")) {
                puts_(&b, t == PX_CHAT_DEEPSEEK2 ? "Assistant: " : "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>");
                puts_(&b, m[i].content);
                puts_(&b, eos);
            }
        }
        if (add_ass) puts_(&b, t == PX_CHAT_DEEPSEEK2 ? "Assistant:" : "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>");
        break;
    }
    case PX_CHAT_COMMAND_R:
        for (int32_t i = 0; i < n; i++) {
            const char *tag = is(m[i].role, "system") ? "<|SYSTEM_TOKEN|>"
                              : is(m[i].role, "user") ? "<|USER_TOKEN|>"
                              : is(m[i].role, "assistant") ? "<|CHATBOT_TOKEN|>" : NULL;
            if (!tag) continue;
            puts_(&b, "<|START_OF_TURN_TOKEN|>");
            puts_(&b, tag);
            put_trim(&b, m[i].content);
            puts_(&b, "<|END_OF_TURN_TOKEN|>");
        }
        if (add_ass) puts_(&b, "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>");
        break;
    case PX_CHAT_LLAMA3:
    case PX_CHAT_LLAMA4: {
        int l4 = t == PX_CHAT_LLAMA4;
        for (int32_t i = 0; i < n; i++) {
            puts_(&b, l4 ? "<|header_start|>" : "<|start_header_id|>");
            puts_(&b, m[i].role);
            puts_(&b, l4 ? "<|header_end|>\n\n" : "<|end_header_id|>\n\n");
            put_trim(&b, m[i].content);
            puts_(&b, l4 ? "<|eot|>" : "<|eot_id|>");
        }
        if (add_ass) puts_(&b, l4 ? "<|header_start|>assistant<|header_end|>\n\n" : "<|start_header_id|>assistant<|end_header_id|>\n\n");
        break;
    }
    case PX_CHAT_EXAONE3:
        for (int32_t i = 0; i < n; i++) {
            if (is(m[i].role, "system")) {
                puts_(&b, "[|system|]");
                put_trim(&b, m[i].content);
                puts_(&b, "[|endofturn|]\n");
            } else if (is(m[i].role, "user")) {
                puts_(&b, "[|user|]");
                put_trim(&b, m[i].content);
                puts_(&b, "\n");
            } else if (is(m[i].role, "assistant")) {
                puts_(&b, "[|assistant|]");
                put_trim(&b, m[i].content);
                puts_(&b, "[|endofturn|]\n");
            }
        }
        if (add_ass) puts_(&b, "[|assistant|]");
        break;
    case PX_CHAT_GRANITE:
        for (int32_t i = 0; i < n; i++) {
            puts_(&b, "<|start_of_role|>");
            puts_(&b, m[i].role);
            puts_(&b, "<|end_of_role|>");
            puts_(&b, m[i].content);
            puts_(&b, "<|end_of_text|>\n");
        }
        if (add_ass) puts_(&b, "<|start_of_role|>assistant<|end_of_role|>\n");
        break;
    case PX_CHAT_MEGREZ:
        for (int32_t i = 0; i < n; i++) {
            puts_(&b, "<|role_start|>");
            puts_(&b, m[i].role);
            puts_(&b, "<|role_end|>");
            puts_(&b, m[i].content);
            puts_(&b, "<|turn_end|>");
        }
        if (add_ass) puts_(&b, "<|role_start|>assistant<|role_end|>");
        break;
    default:
        return px_set_error(PX_ERR_INVALID_ARG, "px_chat_apply: unknown chat template %d", (int)t);
    }
    *n_out = b.n;
    if (b.n >= cap) return px_set_error(PX_ERR_RANGE, "px_chat_apply: %zu bytes needed, room for %zu", b.n + 1, cap);
    buf[b.n] = 0;
    return PX_OK;
}
