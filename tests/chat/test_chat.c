/* Chat templates: each family's bytes for one fixed conversation (the same
 * conversation llama.cpp's tests use, so the expected strings are llama.cpp's
 * outputs), detection from marker strings and from the real phi-3 template in
 * the shared vocabulary, names and stop strings, buffer-size handling and bad
 * arguments. The real-template part exits 77 when ../shared is absent. */
#include <stdlib.h>
#include <string.h>

#include "plexus/chat.h"
#include "plexus/plexus.h"
#include "test.h"

#define DS_BAR "\xef\xbd\x9c"
#define DS_EOS "<" DS_BAR "end\xe2\x96\x81of\xe2\x96\x81sentence" DS_BAR ">"
#define DS_USER "<" DS_BAR "User" DS_BAR ">"
#define DS_ASSISTANT "<" DS_BAR "Assistant" DS_BAR ">"
#define CPM_USER "<\xe7\x94\xa8\xe6\x88\xb7>"

static const px_chat_message conv[] = {
    {"system", "You are a helpful assistant"},
    {"user", "Hello"},
    {"assistant", "Hi there"},
    {"user", "Who are you"},
    {"assistant", "   I am an assistant   "},
    {"user", "Another question"},
};
#define N_CONV ((int32_t)(sizeof conv / sizeof conv[0]))

/* Format `n` messages of `msgs` with `family` (a name) and compare. */
static void expect_n(const char *family, const px_chat_message *msgs, int32_t n, int add_ass, const char *want) {
    px_chat_template t = px_chat_template_detect(family);
    CHECK_MSG(t != PX_CHAT_UNKNOWN, "family %s not known", family);
    CHECK_MSG(strcmp(px_chat_template_name(t), family) == 0, "name of %s is %s", family, px_chat_template_name(t));
    char buf[2048];
    size_t n_out = 0;
    px_status st = px_chat_apply(t, msgs, n, add_ass, buf, sizeof buf, &n_out);
    CHECK_OK(st);
    CHECK_MSG(st == PX_OK && n_out == strlen(want) && strcmp(buf, want) == 0,
              "%s (add_assistant %d):\n got: [%s]\nwant: [%s]", family, add_ass, st == PX_OK ? buf : "", want);
}

static void expect(const char *family, const char *want) { expect_n(family, conv, N_CONV, 1, want); }

static void test_formats(void) {
    expect("chatml",
           "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
           "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n"
           "<|im_start|>assistant\n   I am an assistant   <|im_end|>\n<|im_start|>user\nAnother question<|im_end|>\n"
           "<|im_start|>assistant\n");
    expect("llama2",
           "[INST] You are a helpful assistant\nHello [/INST]Hi there</s>"
           "[INST] Who are you [/INST]   I am an assistant   </s>[INST] Another question [/INST]");
    expect("llama2-sys",
           "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST]Hi there</s>"
           "[INST] Who are you [/INST]   I am an assistant   </s>[INST] Another question [/INST]");
    expect("llama2-sys-bos",
           "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST]Hi there</s>"
           "<s>[INST] Who are you [/INST]   I am an assistant   </s><s>[INST] Another question [/INST]");
    expect("llama2-sys-strip",
           "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST]Hi there</s>"
           "[INST] Who are you [/INST]I am an assistant</s>[INST] Another question [/INST]");
    expect("mistral-v1",
           " [INST] You are a helpful assistant\n\nHello [/INST] Hi there</s>"
           " [INST] Who are you [/INST]    I am an assistant   </s> [INST] Another question [/INST]");
    expect("mistral-v3",
           "[INST] You are a helpful assistant\n\nHello[/INST] Hi there</s>"
           "[INST] Who are you[/INST] I am an assistant</s>[INST] Another question[/INST]");
    expect("mistral-v3-tekken",
           "[INST]You are a helpful assistant\n\nHello[/INST]Hi there</s>"
           "[INST]Who are you[/INST]   I am an assistant   </s>[INST]Another question[/INST]");
    expect("mistral-v7",
           "[SYSTEM_PROMPT] You are a helpful assistant[/SYSTEM_PROMPT][INST] Hello[/INST] Hi there</s>"
           "[INST] Who are you[/INST]    I am an assistant   </s>[INST] Another question[/INST]");
    expect("mistral-v7-tekken",
           "[SYSTEM_PROMPT]You are a helpful assistant[/SYSTEM_PROMPT][INST]Hello[/INST]Hi there</s>"
           "[INST]Who are you[/INST]   I am an assistant   </s>[INST]Another question[/INST]");
    expect("llama3",
           "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>"
           "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
           "<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>"
           "<|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|>"
           "<|start_header_id|>assistant<|end_header_id|>\n\nI am an assistant<|eot_id|>"
           "<|start_header_id|>user<|end_header_id|>\n\nAnother question<|eot_id|>"
           "<|start_header_id|>assistant<|end_header_id|>\n\n");
    expect("llama4",
           "<|header_start|>system<|header_end|>\n\nYou are a helpful assistant<|eot|>"
           "<|header_start|>user<|header_end|>\n\nHello<|eot|>"
           "<|header_start|>assistant<|header_end|>\n\nHi there<|eot|>"
           "<|header_start|>user<|header_end|>\n\nWho are you<|eot|>"
           "<|header_start|>assistant<|header_end|>\n\nI am an assistant<|eot|>"
           "<|header_start|>user<|header_end|>\n\nAnother question<|eot|>"
           "<|header_start|>assistant<|header_end|>\n\n");
    expect("phi3",
           "<|system|>\nYou are a helpful assistant<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n"
           "<|user|>\nWho are you<|end|>\n<|assistant|>\n   I am an assistant   <|end|>\n"
           "<|user|>\nAnother question<|end|>\n<|assistant|>\n");
    expect("phi4",
           "<|im_start|>system<|im_sep|>You are a helpful assistant<|im_end|><|im_start|>user<|im_sep|>Hello<|im_end|>"
           "<|im_start|>assistant<|im_sep|>Hi there<|im_end|><|im_start|>user<|im_sep|>Who are you<|im_end|>"
           "<|im_start|>assistant<|im_sep|>   I am an assistant   <|im_end|><|im_start|>user<|im_sep|>Another question"
           "<|im_end|><|im_start|>assistant<|im_sep|>");
    expect("falcon3",
           "<|system|>\nYou are a helpful assistant\n<|user|>\nHello\n<|assistant|>\nHi there\n<|user|>\nWho are you\n"
           "<|assistant|>\n   I am an assistant   \n<|user|>\nAnother question\n<|assistant|>\n");
    expect("zephyr",
           "<|system|>\nYou are a helpful assistant<|endoftext|>\n<|user|>\nHello<|endoftext|>\n<|assistant|>\nHi there"
           "<|endoftext|>\n<|user|>\nWho are you<|endoftext|>\n<|assistant|>\n   I am an assistant   <|endoftext|>\n"
           "<|user|>\nAnother question<|endoftext|>\n<|assistant|>\n");
    expect("gemma",
           "<start_of_turn>user\nYou are a helpful assistant\n\nHello<end_of_turn>\n<start_of_turn>model\nHi there"
           "<end_of_turn>\n<start_of_turn>user\nWho are you<end_of_turn>\n<start_of_turn>model\nI am an assistant"
           "<end_of_turn>\n<start_of_turn>user\nAnother question<end_of_turn>\n<start_of_turn>model\n");
    expect("monarch",
           "system\nYou are a helpful assistant</s>\n<s>user\nHello</s>\n<s>assistant\nHi there</s>\n"
           "<s>user\nWho are you</s>\n<s>assistant\n   I am an assistant   </s>\n<s>user\nAnother question</s>\n"
           "<s>assistant\n");
    expect("orion",
           "Human: You are a helpful assistant\n\nHello\n\nAssistant: </s>Hi there</s>Human: Who are you\n\nAssistant: "
           "</s>   I am an assistant   </s>Human: Another question\n\nAssistant: </s>");
    expect("openchat",
           "You are a helpful assistant<|end_of_turn|>GPT4 Correct User: Hello<|end_of_turn|>GPT4 Correct Assistant: "
           "Hi there<|end_of_turn|>GPT4 Correct User: Who are you<|end_of_turn|>GPT4 Correct Assistant:    I am an "
           "assistant   <|end_of_turn|>GPT4 Correct User: Another question<|end_of_turn|>GPT4 Correct Assistant:");
    expect("vicuna",
           "You are a helpful assistant\n\nUSER: Hello\nASSISTANT: Hi there</s>\nUSER: Who are you\n"
           "ASSISTANT:    I am an assistant   </s>\nUSER: Another question\nASSISTANT:");
    expect("vicuna-orca",
           "SYSTEM: You are a helpful assistant\nUSER: Hello\nASSISTANT: Hi there</s>\nUSER: Who are you\n"
           "ASSISTANT:    I am an assistant   </s>\nUSER: Another question\nASSISTANT:");
    expect("deepseek",
           "You are a helpful assistant### Instruction:\nHello\n### Response:\nHi there\n<|EOT|>\n"
           "### Instruction:\nWho are you\n### Response:\n   I am an assistant   \n<|EOT|>\n"
           "### Instruction:\nAnother question\n### Response:\n");
    expect("deepseek2",
           "You are a helpful assistant\n\nUser: Hello\n\nAssistant: Hi there" DS_EOS "User: Who are you\n\n"
           "Assistant:    I am an assistant   " DS_EOS "User: Another question\n\nAssistant:");
    expect("deepseek3", "You are a helpful assistant\n\n" DS_USER "Hello" DS_ASSISTANT "Hi there" DS_EOS DS_USER
                        "Who are you" DS_ASSISTANT "   I am an assistant   " DS_EOS DS_USER "Another question"
                        DS_ASSISTANT);
    expect("command-r",
           "<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>You are a helpful assistant<|END_OF_TURN_TOKEN|>"
           "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>Hello<|END_OF_TURN_TOKEN|>"
           "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>Hi there<|END_OF_TURN_TOKEN|>"
           "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>Who are you<|END_OF_TURN_TOKEN|>"
           "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>I am an assistant<|END_OF_TURN_TOKEN|>"
           "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>Another question<|END_OF_TURN_TOKEN|>"
           "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>");
    expect("granite",
           "<|start_of_role|>system<|end_of_role|>You are a helpful assistant<|end_of_text|>\n"
           "<|start_of_role|>user<|end_of_role|>Hello<|end_of_text|>\n"
           "<|start_of_role|>assistant<|end_of_role|>Hi there<|end_of_text|>\n"
           "<|start_of_role|>user<|end_of_role|>Who are you<|end_of_text|>\n"
           "<|start_of_role|>assistant<|end_of_role|>   I am an assistant   <|end_of_text|>\n"
           "<|start_of_role|>user<|end_of_role|>Another question<|end_of_text|>\n"
           "<|start_of_role|>assistant<|end_of_role|>");
    expect("exaone3",
           "[|system|]You are a helpful assistant[|endofturn|]\n[|user|]Hello\n[|assistant|]Hi there[|endofturn|]\n"
           "[|user|]Who are you\n[|assistant|]I am an assistant[|endofturn|]\n[|user|]Another question\n[|assistant|]");
    expect("exaone4",
           "[|system|]You are a helpful assistant[|endofturn|]\n[|user|]Hello\n[|assistant|]Hi there[|endofturn|]\n"
           "[|user|]Who are you\n[|assistant|]I am an assistant[|endofturn|]\n[|user|]Another question\n[|assistant|]");
    expect("megrez",
           "<|role_start|>system<|role_end|>You are a helpful assistant<|turn_end|><|role_start|>user<|role_end|>Hello"
           "<|turn_end|><|role_start|>assistant<|role_end|>Hi there<|turn_end|><|role_start|>user<|role_end|>"
           "Who are you<|turn_end|><|role_start|>assistant<|role_end|>   I am an assistant   <|turn_end|>"
           "<|role_start|>user<|role_end|>Another question<|turn_end|><|role_start|>assistant<|role_end|>");
    expect("chatglm3",
           "[gMASK]sop<|system|>\n You are a helpful assistant<|user|>\n Hello<|assistant|>\n Hi there"
           "<|user|>\n Who are you<|assistant|>\n    I am an assistant   <|user|>\n Another question<|assistant|>");
    expect("chatglm4",
           "[gMASK]<sop><|system|>\nYou are a helpful assistant<|user|>\nHello<|assistant|>\nHi there<|user|>\nWho are "
           "you<|assistant|>\n   I am an assistant   <|user|>\nAnother question<|assistant|>\n");
    expect("glmedge",
           "<|system|>\nYou are a helpful assistant<|user|>\nHello<|assistant|>\nHi there<|user|>\nWho are you"
           "<|assistant|>\n   I am an assistant   <|user|>\nAnother question<|assistant|>");
    expect("minicpm", "You are a helpful assistant" CPM_USER "Hello<AI>Hi there" CPM_USER
                      "Who are you<AI>I am an assistant" CPM_USER "Another question<AI>");
    expect("rwkv-world",
           "System: You are a helpful assistant\n\nUser: Hello\n\nAssistant: Hi there\n\nUser: Who are you\n\n"
           "Assistant: I am an assistant\n\nUser: Another question\n\nAssistant:");
    expect("smolvlm",
           "<|im_start|>You are a helpful assistant\n\nUser: Hello<end_of_utterance>\nAssistant: Hi there"
           "<end_of_utterance>\nUser: Who are you<end_of_utterance>\nAssistant:    I am an assistant   "
           "<end_of_utterance>\nUser: Another question<end_of_utterance>\nAssistant:");
    expect("bailing",
           "<role>SYSTEM</role>You are a helpful assistant<role>HUMAN</role>Hello<role>ASSISTANT</role>Hi there"
           "<role>HUMAN</role>Who are you<role>ASSISTANT</role>   I am an assistant   "
           "<role>HUMAN</role>Another question<role>ASSISTANT</role>");

    /* the short conversation of the brief: system, user, assistant, user */
    expect_n("chatml", conv, 4, 0,
             "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
             "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n");
    expect_n("llama3", conv, 2, 1,
             "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>"
             "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
             "<|start_header_id|>assistant<|end_header_id|>\n\n");
    expect_n("gemma", conv, 4, 0,
             "<start_of_turn>user\nYou are a helpful assistant\n\nHello<end_of_turn>\n<start_of_turn>model\nHi there"
             "<end_of_turn>\n<start_of_turn>user\nWho are you<end_of_turn>\n");
    /* gemma without a system message, and two system messages merged into the first user turn */
    expect_n("gemma", conv + 1, 1, 1, "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n");
    static const px_chat_message two_sys[] = {{"system", " A. "}, {"system", "B"}, {"user", "Q"}, {"user", "R"}};
    expect_n("gemma", two_sys, 4, 1,
             "<start_of_turn>user\nA.B\n\nQ<end_of_turn>\n<start_of_turn>user\nR<end_of_turn>\n<start_of_turn>model\n");
    /* no messages: only the assistant opener */
    expect_n("chatml", conv, 0, 1, "<|im_start|>assistant\n");
    expect_n("llama2", conv, 0, 1, "[INST] ");
}

static void test_detect(void) {
    static const struct {
        const char *text;
        px_chat_template want;
    } det[] = {
        /* template texts, cut to the markers that decide */
        {"{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
         " + '<|im_end|>'}}",
         PX_CHAT_CHATML},
        {"{{'<|im_start|>system<|im_sep|>' + message['content'] + '<|im_end|>'}}", PX_CHAT_PHI4},
        {"<|im_start|>{{ 'User:' }}{{ '<end_of_utterance>\\n' }}", PX_CHAT_SMOLVLM},
        {"{{ '[INST] ' + message['content'] + '[/INST]' }}{{ '[SYSTEM_PROMPT] ' + m + '[/SYSTEM_PROMPT]' }}",
         PX_CHAT_MISTRAL_V7},
        {"{{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}", PX_CHAT_MISTRAL_V1},
        {"{{- \"[AVAILABLE_TOOLS] [\" }}{{- \"[INST] \" + message[\"content\"] + \"[/INST]\" }}", PX_CHAT_MISTRAL_V3},
        {"{{- \"[AVAILABLE_TOOLS][\" }}{{- \"[INST]\" + message[\"content\"] + \"[/INST]\" }}",
         PX_CHAT_MISTRAL_V3_TEKKEN},
        {"{{ '[INST] ' + content.strip() + ' [/INST]' }}{{ '<<SYS>>\\n' }}", PX_CHAT_LLAMA2_SYS_STRIP},
        {"{{- bos_token + '[INST] ' + messages[idx]['content'] + ' [/INST]' -}}<<SYS>>", PX_CHAT_LLAMA2_SYS_BOS},
        {"{{ '[INST] <<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' }}", PX_CHAT_LLAMA2_SYS},
        {"{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% endif %}",
         PX_CHAT_LLAMA2},
        {"mistral-like name", PX_CHAT_LLAMA2},
        {"{{'<|user|>' + '\\n' + message['content'] + '<|end|>' + '\\n' + '<|assistant|>' + '\\n'}}", PX_CHAT_PHI3},
        {"[gMASK]<sop>{% for item in messages %}<|{{ item['role'] }}|>{% endfor %}<|assistant|>", PX_CHAT_CHATGLM4},
        {"{{ '<|user|>\\n' + message['content'] + '\\n' }}{{ '<|assistant|>\\n' }}</s>", PX_CHAT_FALCON3},
        {"{% if item['role'] == 'user' %}<|user|>\\n{{ item['content'] }}{% endif %}<|assistant|>", PX_CHAT_GLMEDGE},
        {"{{ '<|user|>\\n' + message['content'] + '<|endoftext|>' }}", PX_CHAT_ZEPHYR},
        {"{{bos_token + message['role'] + '\\n' + message['content'] + eos_token + '\\n'}}", PX_CHAT_MONARCH},
        {"{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}", PX_CHAT_GEMMA},
        {"{{ 'Human: ' + message['content'] + '\\n\\nAssistant: ' + eos_token }}", PX_CHAT_ORION},
        {"{{ 'GPT4 Correct ' + message['role'].title() + ': ' + message['content'] + '<|end_of_turn|>'}}",
         PX_CHAT_OPENCHAT},
        {"{{-'USER: ' + message['content'] + '\\n'-}}{{-'ASSISTANT: ' + message['content'] + '</s>\\n' -}}",
         PX_CHAT_VICUNA},
        {"{{-'SYSTEM: ' + m + '\\n' -}}{{-'USER: ' + m + '\\n'-}}{{-'ASSISTANT: ' + m + '</s>\\n' -}}",
         PX_CHAT_VICUNA_ORCA},
        {"{{'### Instruction:\\n' + message['content'] + '\\n'}}{{'### Response:\\n' + c + '\\n<|EOT|>\\n'}}",
         PX_CHAT_DEEPSEEK},
        {"{{ '<|START_OF_TURN_TOKEN|><|USER_TOKEN|>' + content.strip() + '<|END_OF_TURN_TOKEN|>' }}",
         PX_CHAT_COMMAND_R},
        {"{{ bos_token }}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' }}", PX_CHAT_LLAMA3},
        {"{% if loop.first %}[gMASK]sop<|{{ message['role'] }}|>\\n {{ message['content'] }}{% endif %}",
         PX_CHAT_CHATGLM3},
        {"{{'" CPM_USER "' + message['content'].strip() + '<AI>'}}", PX_CHAT_MINICPM},
        {"{{ 'User: ' + message['content'] + '\\n\\n' }}{{ 'Assistant: ' + message['content'] + eos_token }}",
         PX_CHAT_DEEPSEEK2},
        {"{{'" DS_USER "' + m}}{{'" DS_ASSISTANT "' + c + '" DS_EOS "'}}", PX_CHAT_DEEPSEEK3},
        {"{{ '[|system|]' + s + '[|endofturn|]\\n' }}{{ '[|assistant|]' }}", PX_CHAT_EXAONE3},
        {"{{ '[|system|]' + s + '[|endofturn|]\\n' }}{{ '[|tool|]' }}{{ '[|assistant|]' }}", PX_CHAT_EXAONE4},
        {"{{- 'User: ' + message['content']|trim + '\\n\\n' -}}", PX_CHAT_RWKV_WORLD},
        {"{{- '<|start_of_role|>user<|end_of_role|>' + message['content'] + '<|end_of_text|>\\n' }}", PX_CHAT_GRANITE},
        {"{{ '<|role_start|>' + message['role'] + '<|role_end|>' + message['content'] + '<|turn_end|>' }}",
         PX_CHAT_MEGREZ},
        {"{% if role == 'user' %}{% set role = 'HUMAN' %}{% endif %}{{ '<role>ASSISTANT</role>' }}", PX_CHAT_BAILING},
        {"{{ '<|header_start|>' + message['role'] + '<|header_end|>\\n\\n' }}", PX_CHAT_LLAMA4},
        /* not recognised */
        {"{{ messages }}", PX_CHAT_UNKNOWN},
        {"", PX_CHAT_UNKNOWN},
        {"CHATML", PX_CHAT_UNKNOWN}, /* names are exact */
        {"unknown", PX_CHAT_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof det / sizeof det[0]; i++) {
        px_chat_template got = px_chat_template_detect(det[i].text);
        CHECK_MSG(got == det[i].want, "detect case %zu: got %s, want %s", i, px_chat_template_name(got),
                  px_chat_template_name(det[i].want));
    }
    CHECK(px_chat_template_detect(NULL) == PX_CHAT_UNKNOWN);

    /* every family: its name detects it, and it formats without error */
    for (int t = 1; t < PX_CHAT_COUNT; t++) {
        const char *name = px_chat_template_name((px_chat_template)t);
        CHECK_MSG(strcmp(name, "unknown") != 0, "family %d has no name", t);
        CHECK_MSG(px_chat_template_detect(name) == (px_chat_template)t, "name %s detects %s", name,
                  px_chat_template_name(px_chat_template_detect(name)));
        size_t need = 0;
        CHECK(px_chat_apply((px_chat_template)t, conv, N_CONV, 1, NULL, 0, &need) == PX_ERR_RANGE && need > 0);
    }
    CHECK(strcmp(px_chat_template_name(PX_CHAT_UNKNOWN), "unknown") == 0);
    CHECK(strcmp(px_chat_template_name(PX_CHAT_COUNT), "unknown") == 0);
    CHECK(strcmp(px_chat_template_name((px_chat_template)-5), "unknown") == 0);
}

static void test_stop(void) {
    static const struct {
        px_chat_template t;
        const char *stop;
    } s[] = {
        {PX_CHAT_CHATML, "<|im_end|>"},    {PX_CHAT_LLAMA3, "<|eot_id|>"}, {PX_CHAT_GEMMA, "<end_of_turn>"},
        {PX_CHAT_PHI3, "<|end|>"},         {PX_CHAT_LLAMA2, "</s>"},       {PX_CHAT_MISTRAL_V7, "</s>"},
        {PX_CHAT_ZEPHYR, "<|endoftext|>"}, {PX_CHAT_DEEPSEEK, "<|EOT|>"},  {PX_CHAT_VICUNA, "</s>"},
        {PX_CHAT_DEEPSEEK3, DS_EOS},       {PX_CHAT_LLAMA4, "<|eot|>"},
        {PX_CHAT_COMMAND_R, "<|END_OF_TURN_TOKEN|>"},
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        const char *got = px_chat_template_stop(s[i].t);
        CHECK_MSG(got && strcmp(got, s[i].stop) == 0, "stop of %s: %s", px_chat_template_name(s[i].t),
                  got ? got : "NULL");
    }
    CHECK(px_chat_template_stop(PX_CHAT_UNKNOWN) == NULL);
    CHECK(px_chat_template_stop(PX_CHAT_COUNT) == NULL);
}

static void test_buffers(void) {
    char big[2048];
    size_t full = 0;
    CHECK_OK(px_chat_apply(PX_CHAT_CHATML, conv, N_CONV, 1, big, sizeof big, &full));
    CHECK(full == strlen(big));

    /* too small: PX_ERR_RANGE, the size needed, and what fits is written */
    char small[16];
    size_t need = 0;
    memset(small, 'x', sizeof small);
    CHECK(px_chat_apply(PX_CHAT_CHATML, conv, N_CONV, 1, small, sizeof small, &need) == PX_ERR_RANGE);
    CHECK(need == full);
    CHECK(memcmp(small, big, sizeof small) == 0);
    /* measuring only */
    need = 0;
    CHECK(px_chat_apply(PX_CHAT_CHATML, conv, N_CONV, 1, NULL, 0, &need) == PX_ERR_RANGE && need == full);
    /* exactly the text without room for the NUL, then with it */
    char *exact = malloc(full + 1);
    CHECK(exact != NULL);
    if (exact) {
        need = 0;
        CHECK(px_chat_apply(PX_CHAT_CHATML, conv, N_CONV, 1, exact, full, &need) == PX_ERR_RANGE && need == full);
        need = 0;
        CHECK_OK(px_chat_apply(PX_CHAT_CHATML, conv, N_CONV, 1, exact, full + 1, &need));
        CHECK(need == full && strcmp(exact, big) == 0);
        free(exact);
    }

    /* bad arguments: errors, never a crash */
    size_t n = 99;
    CHECK(px_chat_apply(PX_CHAT_UNKNOWN, conv, N_CONV, 1, big, sizeof big, &n) == PX_ERR_INVALID_ARG && n == 0);
    CHECK(px_chat_apply(PX_CHAT_COUNT, conv, N_CONV, 1, big, sizeof big, &n) == PX_ERR_INVALID_ARG);
    CHECK(px_chat_apply((px_chat_template)1000, conv, N_CONV, 1, big, sizeof big, &n) == PX_ERR_INVALID_ARG);
    CHECK(px_chat_apply(PX_CHAT_CHATML, conv, -1, 1, big, sizeof big, &n) == PX_ERR_INVALID_ARG);
    CHECK(px_chat_apply(PX_CHAT_CHATML, NULL, 2, 1, big, sizeof big, &n) == PX_ERR_INVALID_ARG);
    CHECK(px_chat_apply(PX_CHAT_CHATML, conv, N_CONV, 1, NULL, 10, &n) == PX_ERR_INVALID_ARG);
    CHECK(px_chat_apply(PX_CHAT_CHATML, conv, N_CONV, 1, big, sizeof big, NULL) == PX_ERR_INVALID_ARG);
    static const px_chat_message no_content[] = {{"user", NULL}};
    static const px_chat_message no_role[] = {{NULL, "hi"}};
    CHECK(px_chat_apply(PX_CHAT_GEMMA, no_content, 1, 1, big, sizeof big, &n) == PX_ERR_INVALID_ARG);
    CHECK(px_chat_apply(PX_CHAT_GEMMA, no_role, 1, 1, big, sizeof big, &n) == PX_ERR_INVALID_ARG);
    CHECK(strstr(px_last_error(), "message 0") != NULL);
    /* odd roles are formatted or skipped, not refused; empty role and content are fine */
    static const px_chat_message odd[] = {{"tool", "42"}, {"", ""}, {"user", ""}};
    for (int t = 1; t < PX_CHAT_COUNT; t++) {
        n = 0;
        CHECK_MSG(px_chat_apply((px_chat_template)t, odd, 3, 1, big, sizeof big, &n) == PX_OK && n == strlen(big),
                  "odd roles with %s", px_chat_template_name((px_chat_template)t));
    }
}

/* The phi-3 template stored in the shared vocabulary, read through the public API. */
static int test_real_template(void) {
    const char *shared = getenv("PLEXUS_SHARED_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/models/vocab/ggml-vocab-phi-3.gguf", shared ? shared : "../shared");
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("test_chat: %s absent: the real-template check is skipped\n", path);
        return 0;
    }
    fclose(f);
    px_context_options o = px_context_options_default();
    o.plugin_dir = PLUGIN_DIR;
    px_context *ctx = NULL;
    px_model *m = NULL;
    CHECK_OK(px_context_create(&o, &ctx));
    if (ctx) CHECK_OK(px_model_open(ctx, path, &m));
    px_meta_value v;
    if (m && px_model_meta_find(m, "tokenizer.chat_template", &v) == PX_OK && v.type == PX_META_STRING) {
        char *s = malloc(v.u.str.len + 1);
        CHECK(s != NULL);
        if (s) {
            memcpy(s, v.u.str.ptr, v.u.str.len);
            s[v.u.str.len] = 0;
            CHECK_MSG(px_chat_template_detect(s) == PX_CHAT_PHI3, "phi-3 template detected as %s",
                      px_chat_template_name(px_chat_template_detect(s)));
            free(s);
        }
    } else {
        CHECK_MSG(0, "no tokenizer.chat_template string in %s", path);
    }
    px_model_close(m);
    px_context_destroy(ctx);
    return 1;
}

int main(void) {
    test_formats();
    test_detect();
    test_stop();
    test_buffers();
    int ran = test_real_template();
    int rc = px_test_finish("test_chat");
    return rc ? rc : ran ? 0 : PX_TEST_SKIP;
}
