/* Chat templates: each family's bytes for one fixed conversation, detection
 * from template texts (and from the phi-3 template in the shared vocab when
 * present), buffer-size handling. */
#include <stdlib.h>
#include <string.h>

#include "plexus/chat.h"
#include "plexus/plexus.h"
#include "test.h"

static const px_chat_message conv[] = {
    {"system", "You are a helpful assistant"},
    {"user", "Hello"},
    {"assistant", "Hi there"},
    {"user", "Who are you"},
    {"assistant", "   I am an assistant   "},
    {"user", "Another question"},
};

static void expect(const char *family, const char *want) {
    px_chat_template t = px_chat_template_detect(family);
    CHECK_MSG(t != PX_CHAT_UNKNOWN, "family %s not known", family);
    char buf[2048];
    size_t n = 0;
    px_status st = px_chat_apply(t, conv, 6, 1, buf, sizeof buf, &n);
    CHECK_OK(st);
    CHECK_MSG(st == PX_OK && n == strlen(want) && strcmp(buf, want) == 0, "%s:\n got: [%s]\nwant: [%s]", family,
              st == PX_OK ? buf : "", want);
    CHECK(strcmp(px_chat_template_name(t), family) == 0);
}

int main(void) {
    expect("chatml",
           "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
           "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n"
           "<|im_start|>assistant\n   I am an assistant   <|im_end|>\n<|im_start|>user\nAnother question<|im_end|>\n"
           "<|im_start|>assistant\n");
    expect("llama2-sys",
           "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST]Hi there</s>"
           "[INST] Who are you [/INST]   I am an assistant   </s>[INST] Another question [/INST]");
    expect("llama2",
           "[INST] You are a helpful assistant\nHello [/INST]Hi there</s>"
           "[INST] Who are you [/INST]   I am an assistant   </s>[INST] Another question [/INST]");
    expect("mistral-v7",
           "[SYSTEM_PROMPT] You are a helpful assistant[/SYSTEM_PROMPT][INST] Hello[/INST] Hi there</s>"
           "[INST] Who are you[/INST]    I am an assistant   </s>[INST] Another question[/INST]");
    expect("mistral-v3",
           "[INST] You are a helpful assistant\n\nHello[/INST] Hi there</s>"
           "[INST] Who are you[/INST] I am an assistant</s>[INST] Another question[/INST]");
    expect("llama3",
           "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>"
           "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
           "<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>"
           "<|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|>"
           "<|start_header_id|>assistant<|end_header_id|>\n\nI am an assistant<|eot_id|>"
           "<|start_header_id|>user<|end_header_id|>\n\nAnother question<|eot_id|>"
           "<|start_header_id|>assistant<|end_header_id|>\n\n");
    expect("phi3",
           "<|system|>\nYou are a helpful assistant<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n"
           "<|user|>\nWho are you<|end|>\n<|assistant|>\n   I am an assistant   <|end|>\n<|user|>\nAnother question<|end|>\n"
           "<|assistant|>\n");
    expect("gemma",
           "<start_of_turn>user\nYou are a helpful assistant\n\nHello<end_of_turn>\n<start_of_turn>model\nHi there<end_of_turn>\n"
           "<start_of_turn>user\nWho are you<end_of_turn>\n<start_of_turn>model\nI am an assistant<end_of_turn>\n"
           "<start_of_turn>user\nAnother question<end_of_turn>\n<start_of_turn>model\n");
    expect("zephyr",
           "<|system|>\nYou are a helpful assistant<|endoftext|>\n<|user|>\nHello<|endoftext|>\n<|assistant|>\nHi there<|endoftext|>\n"
           "<|user|>\nWho are you<|endoftext|>\n<|assistant|>\n   I am an assistant   <|endoftext|>\n"
           "<|user|>\nAnother question<|endoftext|>\n<|assistant|>\n");
    expect("vicuna",
           "You are a helpful assistant\n\nUSER: Hello\nASSISTANT: Hi there</s>\nUSER: Who are you\n"
           "ASSISTANT:    I am an assistant   </s>\nUSER: Another question\nASSISTANT:");
    expect("deepseek",
           "You are a helpful assistant### Instruction:\nHello\n### Response:\nHi there\n<|EOT|>\n"
           "### Instruction:\nWho are you\n### Response:\n   I am an assistant   \n<|EOT|>\n"
           "### Instruction:\nAnother question\n### Response:\n");
    expect("command-r",
           "<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>You are a helpful assistant<|END_OF_TURN_TOKEN|>"
           "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>Hello<|END_OF_TURN_TOKEN|>"
           "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>Hi there<|END_OF_TURN_TOKEN|>"
           "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>Who are you<|END_OF_TURN_TOKEN|>"
           "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>I am an assistant<|END_OF_TURN_TOKEN|>"
           "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>Another question<|END_OF_TURN_TOKEN|>"
           "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>");

    /* detection from template texts (marker strings of real templates) */
    struct {
        const char *text;
        px_chat_template want;
    } det[] = {
        {"{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}",
         PX_CHAT_CHATML},
        {"{{ bos_token }}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' }}",
         PX_CHAT_LLAMA3},
        {"{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}", PX_CHAT_GEMMA},
        {"{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}<<SYS>>", PX_CHAT_LLAMA2_SYS},
        {"{{ '<|user|>' + message['content'] + '<|end|>' + '\\n' + '<|assistant|>' }}", PX_CHAT_PHI3},
        {"{{- '[SYSTEM_PROMPT]' + system_message + '[/SYSTEM_PROMPT]' }}{{ '[INST]' + message['content'] }}",
         PX_CHAT_MISTRAL_V7},
        {"no markers here", PX_CHAT_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof det / sizeof det[0]; i++)
        CHECK_MSG(px_chat_template_detect(det[i].text) == det[i].want, "detect case %zu: got %s", i,
                  px_chat_template_name(px_chat_template_detect(det[i].text)));

    /* stop strings */
    CHECK(strcmp(px_chat_template_stop(PX_CHAT_CHATML), "<|im_end|>") == 0);
    CHECK(strcmp(px_chat_template_stop(PX_CHAT_LLAMA3), "<|eot_id|>") == 0);

    /* buffer too small: PX_ERR_RANGE and the size needed */
    char small[16];
    size_t need = 0;
    CHECK(px_chat_apply(PX_CHAT_CHATML, conv, 6, 1, small, sizeof small, &need) == PX_ERR_RANGE);
    char big[2048];
    size_t got = 0;
    CHECK_OK(px_chat_apply(PX_CHAT_CHATML, conv, 6, 1, big, sizeof big, &got));
    CHECK(need == got);
    CHECK(px_chat_apply(PX_CHAT_CHATML, conv, 6, 1, NULL, 0, &need) == PX_ERR_RANGE && need == got);
    CHECK(px_chat_apply(PX_CHAT_UNKNOWN, conv, 6, 1, big, sizeof big, &got) == PX_ERR_INVALID_ARG);

    /* the real phi-3 template from the shared vocabulary */
    const char *shared = getenv("PLEXUS_SHARED_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/models/vocab/ggml-vocab-phi-3.gguf", shared ? shared : "../shared");
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("test_chat: %s absent: the real-template check is skipped\n", path);
        int rc = px_test_finish("test_chat");
        return rc ? rc : 77;
    }
    fclose(f);
    px_context_options o = px_context_options_default();
    o.plugin_dir = PLUGIN_DIR;
    px_context *ctx = NULL;
    px_model *m = NULL;
    CHECK_OK(px_context_create(&o, &ctx));
    CHECK_OK(px_model_open(ctx, path, &m));
    px_meta_value v;
    if (m && px_model_meta_find(m, "tokenizer.chat_template", &v) == PX_OK && v.type == PX_META_STRING) {
        char *s = malloc(v.u.str.len + 1);
        memcpy(s, v.u.str.ptr, v.u.str.len);
        s[v.u.str.len] = 0;
        CHECK_MSG(px_chat_template_detect(s) == PX_CHAT_PHI3, "phi-3 template detected as %s",
                  px_chat_template_name(px_chat_template_detect(s)));
        free(s);
    } else {
        CHECK_MSG(0, "no tokenizer.chat_template in %s", path);
    }
    px_model_close(m);
    px_context_destroy(ctx);
    return px_test_finish("test_chat");
}
