/* Chat templates (see include/plexus/chat.h and docs/chat-templates.md).
 * Detection looks for marker strings of each family in the Jinja text, in
 * the order llama.cpp checks them (several families share markers, so the
 * order decides); formatting writes the family's bytes directly. */
#include "plexus/chat.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* UTF-8 spellings of DeepSeek's and MiniCPM's markers: "<｜User｜>" uses
 * U+FF5C (fullwidth vertical line), "end▁of▁sentence" U+2581. */
#define FW_BAR "\xef\xbd\x9c"
#define LOW_BAR "\xe2\x96\x81"
#define DS_USER "<" FW_BAR "User" FW_BAR ">"
#define DS_ASSISTANT "<" FW_BAR "Assistant" FW_BAR ">"
#define DS_EOS "<" FW_BAR "end" LOW_BAR "of" LOW_BAR "sentence" FW_BAR ">"
#define MINICPM_USER "<\xe7\x94\xa8\xe6\x88\xb7>" /* "<用户>" */

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
    {"deepseek2", PX_CHAT_DEEPSEEK2, DS_EOS},
    {"deepseek3", PX_CHAT_DEEPSEEK3, DS_EOS},
    {"command-r", PX_CHAT_COMMAND_R, "<|END_OF_TURN_TOKEN|>"},
    {"openchat", PX_CHAT_OPENCHAT, "<|end_of_turn|>"},
    {"granite", PX_CHAT_GRANITE, "<|end_of_text|>"},
    {"exaone3", PX_CHAT_EXAONE3, "[|endofturn|]"},
    {"monarch", PX_CHAT_MONARCH, "</s>"},
    {"megrez", PX_CHAT_MEGREZ, "<|turn_end|>"},
    {"orion", PX_CHAT_ORION, "</s>"},
    {"chatglm3", PX_CHAT_CHATGLM3, "<|user|>"},
    {"chatglm4", PX_CHAT_CHATGLM4, "<|user|>"},
    {"glmedge", PX_CHAT_GLMEDGE, "<|user|>"},
    {"minicpm", PX_CHAT_MINICPM, NULL},
    {"exaone4", PX_CHAT_EXAONE4, "[|endofturn|]"},
    {"rwkv-world", PX_CHAT_RWKV_WORLD, "\n\n"},
    {"smolvlm", PX_CHAT_SMOLVLM, "<end_of_utterance>"},
    {"bailing", PX_CHAT_BAILING, NULL},
};

#define N_FAMILIES (sizeof families / sizeof families[0])

const char *px_chat_template_name(px_chat_template t) {
    for (size_t i = 0; i < N_FAMILIES; i++)
        if (families[i].t == t) return families[i].name;
    return "unknown";
}

const char *px_chat_template_stop(px_chat_template t) {
    for (size_t i = 0; i < N_FAMILIES; i++)
        if (families[i].t == t) return families[i].stop;
    return NULL;
}

px_chat_template px_chat_template_detect(const char *s) {
    if (!s || !*s) return PX_CHAT_UNKNOWN;
    for (size_t i = 1; i < N_FAMILIES; i++)
        if (strcmp(s, families[i].name) == 0) return families[i].t;
#define HAS(x) (strstr(s, (x)) != NULL)
    if (HAS("<|im_start|>")) {
        if (HAS("<|im_sep|>")) return PX_CHAT_PHI4;
        if (HAS("<end_of_utterance>")) return PX_CHAT_SMOLVLM; /* <|im_start|> is its BOS, the turns are not chatml */
        return PX_CHAT_CHATML;
    }
    if (strncmp(s, "mistral", 7) == 0 || HAS("[INST]")) {
        if (HAS("[SYSTEM_PROMPT]")) return PX_CHAT_MISTRAL_V7;
        /* Mistral's official v1 / v3 / v3-tekken templates */
        if (HAS("' [INST] ' + system_message") || HAS("[AVAILABLE_TOOLS]")) {
            if (HAS(" [INST]")) return PX_CHAT_MISTRAL_V1;
            if (HAS("\"[INST]\"")) return PX_CHAT_MISTRAL_V3_TEKKEN;
            return PX_CHAT_MISTRAL_V3;
        }
        /* llama 2 and the many fine-tunes that copied it */
        if (HAS("content.strip()")) return PX_CHAT_LLAMA2_SYS_STRIP;
        if (HAS("bos_token + '[INST]")) return PX_CHAT_LLAMA2_SYS_BOS;
        if (HAS("<<SYS>>")) return PX_CHAT_LLAMA2_SYS;
        return PX_CHAT_LLAMA2;
    }
    if (HAS("<|assistant|>") && HAS("<|end|>")) return PX_CHAT_PHI3;
    if (HAS("[gMASK]<sop>")) return PX_CHAT_CHATGLM4;
    if (HAS("<|assistant|>") && HAS("<|user|>")) return HAS("</s>") ? PX_CHAT_FALCON3 : PX_CHAT_GLMEDGE;
    if (HAS("<|{{ item['role'] }}|>") && HAS("<|begin_of_image|>")) return PX_CHAT_GLMEDGE;
    if (HAS("<|user|>") && HAS("<|endoftext|>")) return PX_CHAT_ZEPHYR;
    if (HAS("bos_token + message['role']")) return PX_CHAT_MONARCH;
    if (HAS("<start_of_turn>")) return PX_CHAT_GEMMA;
    if (HAS("'\\n\\nAssistant: ' + eos_token")) return PX_CHAT_ORION;
    if (HAS("GPT4 Correct ")) return PX_CHAT_OPENCHAT;
    if (HAS("USER: ") && HAS("ASSISTANT: ")) return HAS("SYSTEM: ") ? PX_CHAT_VICUNA_ORCA : PX_CHAT_VICUNA;
    if (HAS("### Instruction:") && HAS("<|EOT|>")) return PX_CHAT_DEEPSEEK;
    if (HAS("<|START_OF_TURN_TOKEN|>") && HAS("<|USER_TOKEN|>")) return PX_CHAT_COMMAND_R;
    if (HAS("<|start_header_id|>") && HAS("<|end_header_id|>")) return PX_CHAT_LLAMA3;
    if (HAS("[gMASK]sop")) return PX_CHAT_CHATGLM3;
    if (HAS(MINICPM_USER)) return PX_CHAT_MINICPM;
    if (HAS("'Assistant: ' + message['content'] + eos_token")) return PX_CHAT_DEEPSEEK2;
    if (HAS(DS_ASSISTANT) && HAS(DS_USER) && HAS(DS_EOS)) return PX_CHAT_DEEPSEEK3;
    if (HAS("[|system|]") && HAS("[|assistant|]") && HAS("[|endofturn|]"))
        return HAS("[|tool|]") ? PX_CHAT_EXAONE4 : PX_CHAT_EXAONE3;
    if (HAS("rwkv-world") || HAS("{{- 'User: ' + message['content']|trim + '\\n\\n' -}}")) return PX_CHAT_RWKV_WORLD;
    if (HAS("<|start_of_role|>")) return PX_CHAT_GRANITE;
    if (HAS("<|role_start|>")) return PX_CHAT_MEGREZ;
    if (HAS("<role>ASSISTANT</role>") && HAS("'HUMAN'")) return PX_CHAT_BAILING;
    if (HAS("<|header_start|>") && HAS("<|header_end|>")) return PX_CHAT_LLAMA4;
#undef HAS
    return PX_CHAT_UNKNOWN;
}

/* A bounded writer that keeps counting past the end, so one pass both
 * writes what fits and measures the whole. */
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

static void put_s(sbuf *b, const char *s) { put(b, s, strlen(s)); }

/* Leading and trailing ASCII whitespace removed (as Python's str.strip()
 * and Jinja's trim do for ASCII). */
static void trimmed(const char *s, const char **start, size_t *len) {
    size_t n = strlen(s), a = 0;
    while (a < n && isspace((unsigned char)s[a])) a++;
    while (n > a && isspace((unsigned char)s[n - 1])) n--;
    *start = s + a;
    *len = n - a;
}

static void put_trim(sbuf *b, const char *s) {
    const char *p;
    size_t n;
    trimmed(s, &p, &n);
    put(b, p, n);
}

static void put_maybe_trim(sbuf *b, const char *s, int trim) {
    if (trim) put_trim(b, s);
    else put_s(b, s);
}

static int is(const char *role, const char *r) { return strcmp(role, r) == 0; }

/* Families without a system role (gemma, orion) carry the system messages
 * seen so far into the next user turn. `from` is the first message not yet
 * carried; returns 1 when their text (trimmed if `trim`) is not empty. */
static int pending_system(const px_chat_message *m, int32_t from, int32_t to, int trim) {
    for (int32_t k = from; k < to; k++) {
        if (!is(m[k].role, "system")) continue;
        const char *p;
        size_t n;
        if (trim) trimmed(m[k].content, &p, &n);
        else n = strlen(m[k].content);
        if (n) return 1;
    }
    return 0;
}

static void put_pending_system(sbuf *b, const px_chat_message *m, int32_t from, int32_t to, int trim) {
    for (int32_t k = from; k < to; k++)
        if (is(m[k].role, "system")) put_maybe_trim(b, m[k].content, trim);
    put_s(b, "\n\n");
}

/* The llama 2 family: "[INST] user [/INST]assistant</s>", with the system
 * message inside the first turn (<<SYS>> block or a plain line). */
static void fmt_llama2(sbuf *b, px_chat_template t, const px_chat_message *m, int32_t n) {
    int sys = t != PX_CHAT_LLAMA2, strip = t == PX_CHAT_LLAMA2_SYS_STRIP, in_turn = 1;
    put_s(b, "[INST] "); /* the first turn's BOS comes from the tokenizer */
    for (int32_t i = 0; i < n; i++) {
        if (!in_turn) {
            in_turn = 1;
            put_s(b, t == PX_CHAT_LLAMA2_SYS_BOS ? "<s>[INST] " : "[INST] ");
        }
        if (is(m[i].role, "system")) {
            put_s(b, sys ? "<<SYS>>\n" : "");
            put_maybe_trim(b, m[i].content, strip);
            put_s(b, sys ? "\n<</SYS>>\n\n" : "\n");
        } else if (is(m[i].role, "user")) {
            put_maybe_trim(b, m[i].content, strip);
            put_s(b, " [/INST]");
        } else {
            put_maybe_trim(b, m[i].content, strip);
            put_s(b, "</s>");
            in_turn = 0;
        }
    }
}

/* Mistral v1 / v3 / v3-tekken: differ in the spaces around [INST] and in
 * whether the assistant text is trimmed (v3). */
static void fmt_mistral(sbuf *b, px_chat_template t, const px_chat_message *m, int32_t n) {
    const char *lead = t == PX_CHAT_MISTRAL_V1 ? " " : "";
    const char *trail = t == PX_CHAT_MISTRAL_V3_TEKKEN ? "" : " ";
    int in_turn = 0;
    for (int32_t i = 0; i < n; i++) {
        if (!in_turn) {
            put_s(b, lead);
            put_s(b, "[INST]");
            put_s(b, trail);
            in_turn = 1;
        }
        if (is(m[i].role, "system")) {
            put_s(b, m[i].content);
            put_s(b, "\n\n");
        } else if (is(m[i].role, "user")) {
            put_s(b, m[i].content);
            put_s(b, lead);
            put_s(b, "[/INST]");
        } else {
            put_s(b, trail);
            put_maybe_trim(b, m[i].content, t == PX_CHAT_MISTRAL_V3);
            put_s(b, "</s>");
            in_turn = 0;
        }
    }
}

/* Mistral v7: [SYSTEM_PROMPT] blocks; the tekken variant has no spaces. */
static void fmt_mistral_v7(sbuf *b, px_chat_template t, const px_chat_message *m, int32_t n) {
    const char *sp = t == PX_CHAT_MISTRAL_V7 ? " " : "";
    for (int32_t i = 0; i < n; i++) {
        if (is(m[i].role, "system")) {
            put_s(b, "[SYSTEM_PROMPT]");
            put_s(b, sp);
            put_s(b, m[i].content);
            put_s(b, "[/SYSTEM_PROMPT]");
        } else if (is(m[i].role, "user")) {
            put_s(b, "[INST]");
            put_s(b, sp);
            put_s(b, m[i].content);
            put_s(b, "[/INST]");
        } else {
            put_s(b, sp);
            put_s(b, m[i].content);
            put_s(b, "</s>");
        }
    }
}

/* Families of the shape  open + role + mid + content + close  for every
 * message, and  open + "assistant" + mid  as the assistant opener. */
static void fmt_simple(sbuf *b, const px_chat_message *m, int32_t n, int add_ass, const char *open, const char *mid,
                       const char *close, int trim) {
    for (int32_t i = 0; i < n; i++) {
        put_s(b, open);
        put_s(b, m[i].role);
        put_s(b, mid);
        put_maybe_trim(b, m[i].content, trim);
        put_s(b, close);
    }
    if (add_ass) {
        put_s(b, open);
        put_s(b, "assistant");
        put_s(b, mid);
    }
}

static void fmt_gemma(sbuf *b, const px_chat_message *m, int32_t n, int add_ass) {
    int32_t sys_from = 0; /* system messages from here on are not yet written */
    for (int32_t i = 0; i < n; i++) {
        if (is(m[i].role, "system")) continue;
        int model = is(m[i].role, "assistant") || is(m[i].role, "model");
        put_s(b, "<start_of_turn>");
        put_s(b, is(m[i].role, "assistant") ? "model" : m[i].role);
        put_s(b, "\n");
        if (!model && pending_system(m, sys_from, i, 1)) {
            put_pending_system(b, m, sys_from, i, 1);
            sys_from = i;
        }
        put_trim(b, m[i].content);
        put_s(b, "<end_of_turn>\n");
    }
    if (add_ass) put_s(b, "<start_of_turn>model\n");
}

static void fmt_orion(sbuf *b, const px_chat_message *m, int32_t n) {
    int32_t sys_from = 0;
    for (int32_t i = 0; i < n; i++) {
        if (is(m[i].role, "system")) continue;
        if (is(m[i].role, "user")) {
            put_s(b, "Human: ");
            if (pending_system(m, sys_from, i, 0)) {
                put_pending_system(b, m, sys_from, i, 0);
                sys_from = i;
            }
            put_s(b, m[i].content);
            put_s(b, "\n\nAssistant: </s>");
        } else {
            put_s(b, m[i].content);
            put_s(b, "</s>");
        }
    }
}

static void fmt_openchat(sbuf *b, const px_chat_message *m, int32_t n, int add_ass) {
    for (int32_t i = 0; i < n; i++) {
        if (!is(m[i].role, "system")) {
            /* the role with its first letter upper-cased */
            char first = (char)toupper((unsigned char)m[i].role[0]);
            put_s(b, "GPT4 Correct ");
            if (first) {
                put(b, &first, 1);
                put_s(b, m[i].role + 1);
            }
            put_s(b, ": ");
        }
        put_s(b, m[i].content);
        put_s(b, "<|end_of_turn|>");
    }
    if (add_ass) put_s(b, "GPT4 Correct Assistant:");
}

static void fmt_vicuna(sbuf *b, px_chat_template t, const px_chat_message *m, int32_t n, int add_ass) {
    for (int32_t i = 0; i < n; i++) {
        if (is(m[i].role, "system")) {
            put_s(b, t == PX_CHAT_VICUNA_ORCA ? "SYSTEM: " : "");
            put_s(b, m[i].content);
            put_s(b, t == PX_CHAT_VICUNA_ORCA ? "\n" : "\n\n");
        } else if (is(m[i].role, "user")) {
            put_s(b, "USER: ");
            put_s(b, m[i].content);
            put_s(b, "\n");
        } else if (is(m[i].role, "assistant")) {
            put_s(b, "ASSISTANT: ");
            put_s(b, m[i].content);
            put_s(b, "</s>\n");
        }
    }
    if (add_ass) put_s(b, "ASSISTANT:");
}

static void fmt_deepseek(sbuf *b, const px_chat_message *m, int32_t n, int add_ass) {
    for (int32_t i = 0; i < n; i++) {
        if (is(m[i].role, "system")) {
            put_s(b, m[i].content);
        } else if (is(m[i].role, "user")) {
            put_s(b, "### Instruction:\n");
            put_s(b, m[i].content);
            put_s(b, "\n");
        } else if (is(m[i].role, "assistant")) {
            put_s(b, "### Response:\n");
            put_s(b, m[i].content);
            put_s(b, "\n<|EOT|>\n");
        }
    }
    if (add_ass) put_s(b, "### Response:\n");
}

static void fmt_deepseek23(sbuf *b, px_chat_template t, const px_chat_message *m, int32_t n, int add_ass) {
    int v2 = t == PX_CHAT_DEEPSEEK2;
    for (int32_t i = 0; i < n; i++) {
        if (is(m[i].role, "system")) {
            put_s(b, m[i].content);
            put_s(b, "\n\n");
        } else if (is(m[i].role, "user")) {
            put_s(b, v2 ? "User: " : DS_USER);
            put_s(b, m[i].content);
            put_s(b, v2 ? "\n\n" : "");
        } else if (is(m[i].role, "assistant")) {
            put_s(b, v2 ? "Assistant: " : DS_ASSISTANT);
            put_s(b, m[i].content);
            put_s(b, DS_EOS);
        }
    }
    if (add_ass) put_s(b, v2 ? "Assistant:" : DS_ASSISTANT);
}

static void fmt_command_r(sbuf *b, const px_chat_message *m, int32_t n, int add_ass) {
    for (int32_t i = 0; i < n; i++) {
        const char *tag = is(m[i].role, "system")      ? "<|SYSTEM_TOKEN|>"
                          : is(m[i].role, "user")      ? "<|USER_TOKEN|>"
                          : is(m[i].role, "assistant") ? "<|CHATBOT_TOKEN|>"
                                                       : NULL;
        if (!tag) continue;
        put_s(b, "<|START_OF_TURN_TOKEN|>");
        put_s(b, tag);
        put_trim(b, m[i].content);
        put_s(b, "<|END_OF_TURN_TOKEN|>");
    }
    if (add_ass) put_s(b, "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>");
}

/* EXAONE 3 and 4: "[|role|]text" and "[|endofturn|]\n" after every turn but
 * the user's; 4 adds the tool role. */
static void fmt_exaone(sbuf *b, px_chat_template t, const px_chat_message *m, int32_t n, int add_ass) {
    for (int32_t i = 0; i < n; i++) {
        const char *r = m[i].role;
        int user = is(r, "user");
        if (!user && !is(r, "system") && !is(r, "assistant") && !(t == PX_CHAT_EXAONE4 && is(r, "tool"))) continue;
        put_s(b, "[|");
        put_s(b, r);
        put_s(b, "|]");
        put_trim(b, m[i].content);
        put_s(b, user ? "\n" : "[|endofturn|]\n");
    }
    if (add_ass) put_s(b, "[|assistant|]");
}

static void fmt_granite(sbuf *b, const px_chat_message *m, int32_t n, int add_ass) {
    for (int32_t i = 0; i < n; i++) {
        put_s(b, "<|start_of_role|>");
        put_s(b, m[i].role);
        put_s(b, "<|end_of_role|>");
        if (is(m[i].role, "assistant_tool_call")) put_s(b, "<|tool_call|>");
        put_s(b, m[i].content);
        put_s(b, "<|end_of_text|>\n");
    }
    if (add_ass) put_s(b, "<|start_of_role|>assistant<|end_of_role|>");
}

/* ChatGLM 3 / 4 and GLM-Edge: "<|role|>\n" + text, no turn end. */
static void fmt_glm(sbuf *b, px_chat_template t, const px_chat_message *m, int32_t n, int add_ass) {
    put_s(b, t == PX_CHAT_CHATGLM3 ? "[gMASK]sop" : t == PX_CHAT_CHATGLM4 ? "[gMASK]<sop>" : "");
    for (int32_t i = 0; i < n; i++) {
        put_s(b, "<|");
        put_s(b, m[i].role);
        put_s(b, t == PX_CHAT_CHATGLM3 ? "|>\n " : "|>\n");
        put_s(b, m[i].content);
    }
    if (add_ass) put_s(b, t == PX_CHAT_CHATGLM4 ? "<|assistant|>\n" : "<|assistant|>");
}

static void fmt_minicpm(sbuf *b, const px_chat_message *m, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        int user = is(m[i].role, "user");
        put_s(b, user ? MINICPM_USER : "");
        put_trim(b, m[i].content);
        put_s(b, user ? "<AI>" : "");
    }
}

/* RWKV world: the assistant opener follows a last user message whatever
 * add_assistant says (as llama.cpp does); "\n\n" ends every turn. */
static void fmt_rwkv(sbuf *b, const px_chat_message *m, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        const char *r = m[i].role;
        const char *tag = is(r, "system")      ? "System: "
                          : is(r, "user")      ? "User: "
                          : is(r, "assistant") ? "Assistant: "
                                               : NULL;
        if (!tag) continue;
        put_s(b, tag);
        put_trim(b, m[i].content);
        put_s(b, "\n\n");
        if (is(r, "user") && i == n - 1) put_s(b, "Assistant:");
    }
}

static void fmt_smolvlm(sbuf *b, const px_chat_message *m, int32_t n, int add_ass) {
    put_s(b, "<|im_start|>");
    for (int32_t i = 0; i < n; i++) {
        if (is(m[i].role, "system")) {
            put_s(b, m[i].content);
            put_s(b, "\n\n");
        } else {
            put_s(b, is(m[i].role, "user") ? "User: " : "Assistant: ");
            put_s(b, m[i].content);
            put_s(b, "<end_of_utterance>\n");
        }
    }
    if (add_ass) put_s(b, "Assistant:");
}

static void fmt_bailing(sbuf *b, const px_chat_message *m, int32_t n, int add_ass) {
    for (int32_t i = 0; i < n; i++) {
        put_s(b, "<role>");
        if (is(m[i].role, "user")) {
            put_s(b, "HUMAN");
        } else {
            for (const char *p = m[i].role; *p; p++) {
                char c = (char)toupper((unsigned char)*p);
                put(b, &c, 1);
            }
        }
        put_s(b, "</role>");
        put_s(b, m[i].content);
    }
    if (add_ass) put_s(b, "<role>ASSISTANT</role>");
}

px_status px_chat_apply(px_chat_template t, const px_chat_message *m, int32_t n, int add_ass, char *buf, size_t cap,
                        size_t *n_out) {
    if (n_out) *n_out = 0;
    if (!n_out) return px_set_error(PX_ERR_INVALID_ARG, "px_chat_apply: n_out is NULL");
    if (n < 0 || (!m && n > 0))
        return px_set_error(PX_ERR_INVALID_ARG, "px_chat_apply: bad message list (n = %d)", (int)n);
    if (!buf && cap) return px_set_error(PX_ERR_INVALID_ARG, "px_chat_apply: buf is NULL with cap %zu", cap);
    for (int32_t i = 0; i < n; i++)
        if (!m[i].role || !m[i].content)
            return px_set_error(PX_ERR_INVALID_ARG, "px_chat_apply: message %d has no %s", (int)i,
                                m[i].role ? "content" : "role");
    sbuf b = {buf, cap, 0};
    switch (t) {
    case PX_CHAT_CHATML: fmt_simple(&b, m, n, add_ass, "<|im_start|>", "\n", "<|im_end|>\n", 0); break;
    case PX_CHAT_PHI4: fmt_simple(&b, m, n, add_ass, "<|im_start|>", "<|im_sep|>", "<|im_end|>", 0); break;
    case PX_CHAT_PHI3: fmt_simple(&b, m, n, add_ass, "<|", "|>\n", "<|end|>\n", 0); break;
    case PX_CHAT_FALCON3: fmt_simple(&b, m, n, add_ass, "<|", "|>\n", "\n", 0); break;
    case PX_CHAT_ZEPHYR: fmt_simple(&b, m, n, add_ass, "<|", "|>\n", "<|endoftext|>\n", 0); break;
    case PX_CHAT_LLAMA3:
        fmt_simple(&b, m, n, add_ass, "<|start_header_id|>", "<|end_header_id|>\n\n", "<|eot_id|>", 1);
        break;
    case PX_CHAT_LLAMA4: fmt_simple(&b, m, n, add_ass, "<|header_start|>", "<|header_end|>\n\n", "<|eot|>", 1); break;
    case PX_CHAT_MEGREZ: fmt_simple(&b, m, n, add_ass, "<|role_start|>", "<|role_end|>", "<|turn_end|>", 0); break;
    case PX_CHAT_MISTRAL_V7:
    case PX_CHAT_MISTRAL_V7_TEKKEN: fmt_mistral_v7(&b, t, m, n); break;
    case PX_CHAT_MISTRAL_V1:
    case PX_CHAT_MISTRAL_V3:
    case PX_CHAT_MISTRAL_V3_TEKKEN: fmt_mistral(&b, t, m, n); break;
    case PX_CHAT_LLAMA2:
    case PX_CHAT_LLAMA2_SYS:
    case PX_CHAT_LLAMA2_SYS_BOS:
    case PX_CHAT_LLAMA2_SYS_STRIP: fmt_llama2(&b, t, m, n); break;
    case PX_CHAT_MONARCH:
        for (int32_t i = 0; i < n; i++) {
            put_s(&b, i ? "<s>" : ""); /* the first BOS comes from the tokenizer */
            put_s(&b, m[i].role);
            put_s(&b, "\n");
            put_s(&b, m[i].content);
            put_s(&b, "</s>\n");
        }
        if (add_ass) put_s(&b, "<s>assistant\n");
        break;
    case PX_CHAT_GEMMA: fmt_gemma(&b, m, n, add_ass); break;
    case PX_CHAT_ORION: fmt_orion(&b, m, n); break;
    case PX_CHAT_OPENCHAT: fmt_openchat(&b, m, n, add_ass); break;
    case PX_CHAT_VICUNA:
    case PX_CHAT_VICUNA_ORCA: fmt_vicuna(&b, t, m, n, add_ass); break;
    case PX_CHAT_DEEPSEEK: fmt_deepseek(&b, m, n, add_ass); break;
    case PX_CHAT_DEEPSEEK2:
    case PX_CHAT_DEEPSEEK3: fmt_deepseek23(&b, t, m, n, add_ass); break;
    case PX_CHAT_COMMAND_R: fmt_command_r(&b, m, n, add_ass); break;
    case PX_CHAT_EXAONE3:
    case PX_CHAT_EXAONE4: fmt_exaone(&b, t, m, n, add_ass); break;
    case PX_CHAT_GRANITE: fmt_granite(&b, m, n, add_ass); break;
    case PX_CHAT_CHATGLM3:
    case PX_CHAT_CHATGLM4:
    case PX_CHAT_GLMEDGE: fmt_glm(&b, t, m, n, add_ass); break;
    case PX_CHAT_MINICPM: fmt_minicpm(&b, m, n); break;
    case PX_CHAT_RWKV_WORLD: fmt_rwkv(&b, m, n); break;
    case PX_CHAT_SMOLVLM: fmt_smolvlm(&b, m, n, add_ass); break;
    case PX_CHAT_BAILING: fmt_bailing(&b, m, n, add_ass); break;
    default: return px_set_error(PX_ERR_INVALID_ARG, "px_chat_apply: unknown chat template %d", (int)t);
    }
    *n_out = b.n;
    if (b.n >= cap)
        return px_set_error(PX_ERR_RANGE, "px_chat_apply: %s needs %zu bytes with the NUL, the buffer has %zu",
                            px_chat_template_name(t), b.n + 1, cap);
    buf[b.n] = 0;
    return PX_OK;
}
