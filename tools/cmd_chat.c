/* plexus chat -m FILE: interactive chat with the model's chat template.
 *
 * Each turn the whole conversation is formatted with the template and
 * tokenized; the tokens the KV cache already holds (the common prefix with
 * the previous turn) are kept and only the rest is decoded. When the
 * conversation no longer fits the context, the oldest turns (not the system
 * prompt) are dropped and the prompt rebuilt. Ctrl-C stops the current
 * answer; at the prompt, Ctrl-C or end of input (Ctrl-D) leaves. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "plexus/chat.h"

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

typedef struct answer {
    char *text;
    size_t n, cap;
    int32_t *ids; /* tokens handed out (decoded except possibly the last) */
    int32_t n_ids, cap_ids;
    int failed;
} answer;

static int on_token(void *user, int32_t token, const char *text, size_t len) {
    answer *a = user;
    if (len) {
        fwrite(text, 1, len, stdout);
        fflush(stdout);
        if (a->n + len + 1 > a->cap) {
            size_t nc = (a->n + len + 1) * 2;
            char *nt = realloc(a->text, nc);
            if (!nt) {
                a->failed = 1;
                return 1;
            }
            a->text = nt;
            a->cap = nc;
        }
        memcpy(a->text + a->n, text, len);
        a->n += len;
        a->text[a->n] = 0;
    }
    if (token >= 0) {
        if (a->n_ids == a->cap_ids) {
            int32_t nc = a->cap_ids ? a->cap_ids * 2 : 256;
            int32_t *ni = realloc(a->ids, sizeof *ni * (size_t)nc);
            if (!ni) {
                a->failed = 1;
                return 1;
            }
            a->ids = ni;
            a->cap_ids = nc;
        }
        a->ids[a->n_ids++] = token;
    }
    return interrupted ? 1 : 0;
}

static void usage(void) {
    fprintf(stderr,
            "usage: plexus chat (-m FILE | -hf REPO/FILE) [options]\n"
            "  -sys, --system-prompt TEXT   system message\n"
            "  --chat-template NAME         chatml, llama2, llama3, mistral-v7, phi3, gemma, ... (default: from the model)\n"
            "  -p, --prompt TEXT            send this message first (then read more from stdin)\n"
            "  -n N                         tokens per answer at most (default: until end of turn)\n"
            "  plus the model, context and sampling options of `plexus run`\n"
            "Reads one message per line from stdin. Ctrl-C stops an answer; Ctrl-D (or Ctrl-C at the prompt) quits.\n");
}

/* Read a line (without the newline); NULL at end of input or interrupt. */
static char *read_line(void) {
    size_t cap = 256, n = 0;
    char *s = malloc(cap);
    if (!s) return NULL;
    for (;;) {
        int c = getchar();
        if (c == EOF) {
            if (ferror(stdin) && errno == EINTR) {
                free(s);
                return NULL;
            }
            if (n == 0) {
                free(s);
                return NULL;
            }
            break;
        }
        if (c == '\n') break;
        if (n + 2 > cap) {
            char *ns = realloc(s, cap *= 2);
            if (!ns) {
                free(s);
                return NULL;
            }
            s = ns;
        }
        s[n++] = (char)c;
    }
    if (n && s[n - 1] == '\r') n--;
    s[n] = 0;
    return s;
}

typedef struct convo {
    px_chat_message *m;
    char **owned;
    int32_t n, cap;
} convo;

static int convo_add(convo *c, const char *role, const char *text) {
    if (c->n == c->cap) {
        int32_t nc = c->cap ? c->cap * 2 : 16;
        px_chat_message *nm = realloc(c->m, sizeof *nm * (size_t)nc);
        if (!nm) return -1;
        c->m = nm;
        char **no = realloc(c->owned, sizeof *no * (size_t)nc);
        if (!no) return -1;
        c->owned = no;
        c->cap = nc;
    }
    char *t = strdup(text ? text : "");
    if (!t) return -1;
    c->owned[c->n] = t;
    c->m[c->n].role = role;
    c->m[c->n].content = t;
    c->n++;
    return 0;
}

static void convo_drop(convo *c, int32_t i) {
    free(c->owned[i]);
    memmove(c->m + i, c->m + i + 1, sizeof *c->m * (size_t)(c->n - i - 1));
    memmove(c->owned + i, c->owned + i + 1, sizeof *c->owned * (size_t)(c->n - i - 1));
    c->n--;
}

static char *format(px_chat_template t, const convo *c) {
    size_t need = 0;
    if (px_chat_apply(t, c->m, c->n, 1, NULL, 0, &need) != PX_OK && need == 0) return NULL;
    char *buf = malloc(need + 1);
    if (buf && px_chat_apply(t, c->m, c->n, 1, buf, need + 1, &need) != PX_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

int px_cmd_chat(int argc, char **argv) {
    px_cli_common c = {0};
    px_cli_llm lo;
    px_cli_llm_init(&lo);
    px_generate_params gp = px_generate_params_default();
    const char *system = NULL, *tmpl_name = NULL, *first = NULL;
    for (int i = 1; i < argc; i++) {
        int r;
        if ((r = px_cli_llm_arg(&lo, argc, argv, &i)) || (r = px_cli_sampling_arg(&gp.sampling, argc, argv, &i))) {
            if (r < 0) return 2;
            continue;
        }
        const char *a = argv[i];
        if ((strcmp(a, "-sys") == 0 || strcmp(a, "--system-prompt") == 0 || strcmp(a, "--system") == 0) && i + 1 < argc)
            system = argv[++i];
        else if (strcmp(a, "--chat-template") == 0 && i + 1 < argc) tmpl_name = argv[++i];
        else if ((strcmp(a, "-p") == 0 || strcmp(a, "--prompt") == 0) && i + 1 < argc) first = argv[++i];
        else if ((strcmp(a, "-n") == 0 || strcmp(a, "--n-predict") == 0) && i + 1 < argc) gp.n_predict = atoi(argv[++i]);
        else if (strcmp(a, "-cnv") == 0 || strcmp(a, "--conversation") == 0 || strcmp(a, "-i") == 0) continue;
        else if ((r = px_cli_tail_arg(&c, "chat", argc, argv, &i, usage)) >= 0)
            return r;
    }
    if (!lo.model && !lo.hf) {
        usage();
        return 2;
    }
    if (tmpl_name && px_chat_template_detect(tmpl_name) == PX_CHAT_UNKNOWN) {
        fprintf(stderr, "plexus chat: unknown chat template '%s'; the families are:", tmpl_name);
        for (int t = 1; t < PX_CHAT_COUNT; t++) fprintf(stderr, " %s", px_chat_template_name((px_chat_template)t));
        fputc('\n', stderr);
        return 2;
    }
    int rc = 1;
    px_llm *llm = NULL;
    convo cv = {0};
    answer ans = {0};
    int32_t *cached = NULL, n_cached = 0, cap_cached = 0;
    px_context *ctx = px_cli_context(&c);
    if (!ctx || px_cli_llm_load(&lo, ctx, &llm)) goto out;
    px_chat_template tmpl = PX_CHAT_UNKNOWN;
    const char *how = "";
    if (tmpl_name) {
        tmpl = px_chat_template_detect(tmpl_name);
        if (tmpl == PX_CHAT_UNKNOWN) {
            fprintf(stderr, "plexus chat: unknown chat template '%s'\n", tmpl_name);
            goto out;
        }
        how = "given";
    } else {
        px_meta_value v;
        if (px_model_meta_find(px_llm_model(llm), "tokenizer.chat_template", &v) == PX_OK && v.type == PX_META_STRING) {
            char *s = strndup(v.u.str.ptr, v.u.str.len);
            tmpl = s ? px_chat_template_detect(s) : PX_CHAT_UNKNOWN;
            free(s);
            how = tmpl == PX_CHAT_UNKNOWN ? "the model's template is not recognised" : "from the model";
        } else {
            how = "the model has no chat template";
        }
        if (tmpl == PX_CHAT_UNKNOWN) tmpl = px_chat_template_detect("chatml");
    }
    fprintf(stderr, "plexus chat: %s, context %d tokens, template %s (%s)\n", px_llm_arch(llm), px_llm_n_ctx(llm),
            px_chat_template_name(tmpl), how);
    if (system && convo_add(&cv, "system", system)) goto out;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint; /* no SA_RESTART: a read at the prompt returns */
    sigaction(SIGINT, &sa, NULL);
    int tty = isatty(0);
    for (;;) {
        char *line;
        if (first) {
            line = strdup(first);
            first = NULL;
        } else {
            if (tty) fputs("\n> ", stderr);
            interrupted = 0;
            line = read_line();
            if (!line) break;
        }
        if (!line) goto out;
        if (!*line) {
            free(line);
            continue;
        }
        int bad = convo_add(&cv, "user", line);
        free(line);
        if (bad) goto out;
        /* format and tokenize; drop old turns until it fits */
        int32_t *ids = NULL, n = 0;
        for (;;) {
            char *text = format(tmpl, &cv);
            if (!text) {
                fprintf(stderr, "plexus chat: cannot format the conversation: %s\n", px_last_error());
                goto out;
            }
            int r = px_cli_tokenize(llm, text, 1, &ids, &n);
            free(text);
            if (r) goto out;
            int32_t room = gp.n_predict > 0 ? gp.n_predict : 64;
            if (n + room <= px_llm_n_ctx(llm)) break;
            int32_t first_turn = cv.n && strcmp(cv.m[0].role, "system") == 0 ? 1 : 0;
            if (cv.n - first_turn <= 1) {
                fprintf(stderr, "plexus chat: the message (%d tokens) does not fit the context of %d (raise -c)\n", n,
                        px_llm_n_ctx(llm));
                free(ids);
                ids = NULL;
                break;
            }
            free(ids);
            convo_drop(&cv, first_turn); /* the oldest user/assistant turn goes first */
            if (cv.n > first_turn && strcmp(cv.m[first_turn].role, "assistant") == 0) convo_drop(&cv, first_turn);
            n_cached = 0; /* the prefix changed */
        }
        if (!ids) {
            convo_drop(&cv, cv.n - 1);
            continue;
        }
        int32_t k = 0;
        while (k < n_cached && k < n && k < px_llm_n_past(llm) && cached[k] == ids[k]) k++;
        if (k == n) k--; /* decode at least one token to get logits */
        px_llm_truncate(llm, k);
        ans.n = 0;
        ans.n_ids = 0;
        if (ans.text) ans.text[0] = 0;
        interrupted = 0;
        px_generate_stats gs;
        px_status st = px_llm_generate(llm, ids + k, n - k, &gp, on_token, &ans, &gs);
        putchar('\n');
        fflush(stdout);
        if (st || ans.failed) {
            fprintf(stderr, "plexus chat: %s\n", st ? px_last_error() : "out of memory");
            free(ids);
            goto out;
        }
        if (gs.stop == PX_STOP_CALLBACK) fprintf(stderr, "[stopped]\n");
        if (gs.stop == PX_STOP_CONTEXT) fprintf(stderr, "[the context is full: older turns will be dropped]\n");
        /* what the cache now holds: the prompt, then the answer's decoded tokens */
        int32_t total = n + ans.n_ids;
        if (total > cap_cached) {
            int32_t *nc = realloc(cached, sizeof *nc * (size_t)total);
            if (!nc) {
                free(ids);
                goto out;
            }
            cached = nc;
            cap_cached = total;
        }
        memcpy(cached, ids, sizeof *ids * (size_t)n);
        memcpy(cached + n, ans.ids, sizeof *ans.ids * (size_t)ans.n_ids);
        n_cached = px_llm_n_past(llm) < total ? px_llm_n_past(llm) : total;
        free(ids);
        if (convo_add(&cv, "assistant", ans.text ? ans.text : "")) goto out;
    }
    rc = 0;
out:
    for (int32_t i = 0; i < cv.n; i++) free(cv.owned[i]);
    free(cv.m);
    free(cv.owned);
    free(ans.text);
    free(ans.ids);
    free(cached);
    px_llm_free(llm);
    px_context_destroy(ctx);
    return rc;
}
