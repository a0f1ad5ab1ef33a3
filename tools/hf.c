/* -hf: GGUF files from a Hugging Face repository, downloaded once into
 * $XDG_CACHE_HOME/plexus/hf/<owner>/<repo>/<file> (default ~/.cache), with
 * resumable downloads (<file>.part and an HTTP Range request), a progress
 * bar on stderr, timeouts that never hang, and clear messages for 401, 403
 * and 404. $HF_ENDPOINT overrides https://huggingface.co (tests use a local
 * server); $HF_TOKEN is sent as a bearer token. See docs/download.md. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strcasestr */
#endif
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

typedef struct dl {
    CURL *curl;
    int started;
    FILE *f;
    int tty, verbose;
    curl_off_t base;     /* bytes already in the .part file */
    double t0, last;
    int last_decile;
    const char *label;
} dl;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile sig_atomic_t interrupted;
static void on_sigint(int s) {
    (void)s;
    interrupted = 1;
}

static int progress(void *user, curl_off_t total, curl_off_t now, curl_off_t ut, curl_off_t un) {
    (void)ut;
    (void)un;
    dl *d = user;
    if (interrupted) return 1; /* abort: the .part file stays for resuming */
    if (total <= 0) return 0;
    double t = now_s();
    curl_off_t all = d->base + total, have = d->base + now;
    double pct = 100.0 * (double)have / (double)all;
    double rate = (double)now / (t - d->t0 > 1e-3 ? t - d->t0 : 1e-3) / 1e6;
    if (d->tty) {
        if (t - d->last < 0.1 && now < total) return 0;
        d->last = t;
        int w = 30, fill = (int)(pct / 100.0 * w);
        char bar[32];
        for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '.';
        bar[w] = 0;
        fprintf(stderr, "\r%s [%s] %5.1f%% %8.1f / %.1f MB %6.1f MB/s", d->label, bar, pct, (double)have / 1e6,
                (double)all / 1e6, rate);
    } else {
        int decile = (int)(pct / 10);
        if (decile > d->last_decile) {
            d->last_decile = decile;
            fprintf(stderr, "%s: %3d%% of %.1f MB (%.1f MB/s)\n", d->label, decile * 10, (double)all / 1e6, rate);
        }
    }
    return 0;
}

static size_t write_cb(char *p, size_t sz, size_t n, void *user) {
    dl *d = user;
    long code = 0;
    curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 400) return sz * n; /* an error page: not part of the file */
    if (!d->started) {
        d->started = 1;
        if (code == 200 && d->base > 0) { /* the server ignored the range: start over */
            if (fflush(d->f) || ftruncate(fileno(d->f), 0) || fseek(d->f, 0, SEEK_SET)) return 0;
            d->base = 0;
        }
    }
    return fwrite(p, sz, n, d->f);
}

typedef struct membuf {
    char *p;
    size_t n;
} membuf;

static size_t mem_cb(char *p, size_t sz, size_t n, void *user) {
    membuf *m = user;
    size_t k = sz * n;
    if (m->n + k > (64u << 20)) return 0; /* a listing is small */
    char *np = realloc(m->p, m->n + k + 1);
    if (!np) return 0;
    memcpy(np + m->n, p, k);
    m->p = np;
    m->n += k;
    m->p[m->n] = 0;
    return k;
}

static long timeout_s(void) {
    const char *e = getenv("PLEXUS_HF_TIMEOUT");
    long v = e ? atol(e) : 0;
    return v > 0 ? v : 30;
}

static void common_opts(CURL *c, struct curl_slist **hdrs) {
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout_s());
    /* abort when slower than 1 byte/s for the timeout: a stalled server
     * never hangs the command */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, timeout_s());
    curl_easy_setopt(c, CURLOPT_USERAGENT, "plexus/" PLEXUS_VERSION_STRING);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    const char *tok = getenv("HF_TOKEN");
    if (tok && *tok) {
        char h[1024];
        snprintf(h, sizeof h, "Authorization: Bearer %s", tok);
        *hdrs = curl_slist_append(*hdrs, h);
    }
    if (*hdrs) curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
}

static const char *http_hint(long code) {
    switch (code) {
    case 401: return "authentication needed: set HF_TOKEN to a Hugging Face access token";
    case 403: return "access denied: the repository may be gated (accept its terms on the website, then set HF_TOKEN)";
    case 404: return "not found: check the repository and file names";
    case 416: return "the server refused the resume range";
    default: return code >= 500 ? "server error: try again later" : "unexpected HTTP status";
    }
}

static const char *endpoint(void) {
    const char *e = getenv("HF_ENDPOINT");
    return e && *e ? e : "https://huggingface.co";
}

/* Does s look like a safe relative path (no "..", not absolute, no empty
 * parts)? */
static int safe_path(const char *s) {
    if (!*s || *s == '/') return 0;
    for (const char *p = s; *p;) {
        const char *q = strchr(p, '/');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n == 0 || (n == 2 && p[0] == '.' && p[1] == '.') || (n == 1 && p[0] == '.')) return 0;
        p += n + (q ? 1 : 0);
    }
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '\\' || *p == '?' || *p == '#' || *p == '%') return 0;
    return 1;
}

static int mkdirs(char *path) { /* every directory of path's parent */
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        int r = mkdir(path, 0755);
        *p = '/';
        if (r && errno != EEXIST) return -1;
    }
    return 0;
}

/* GET the repository listing and pick a .gguf file. */
static char *pick_file(const char *repo, const char *tag, int verbose) {
    char url[2048];
    snprintf(url, sizeof url, "%s/api/models/%s", endpoint(), repo);
    CURL *c = curl_easy_init();
    if (!c) return NULL;
    struct curl_slist *hdrs = NULL;
    membuf m = {0};
    common_opts(c, &hdrs);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mem_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &m);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 4 * timeout_s());
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    char *pick = NULL;
    if (rc != CURLE_OK) {
        fprintf(stderr, "plexus: %s: %s\n", url, curl_easy_strerror(rc));
    } else if (code != 200) {
        fprintf(stderr, "plexus: %s: HTTP %ld: %s\n", url, code, http_hint(code));
    } else {
        json_error_t je;
        json_t *root = json_loadb(m.p ? m.p : "", m.n, 0, &je);
        json_t *sib = root ? json_object_get(root, "siblings") : NULL;
        if (!json_is_array(sib)) {
            fprintf(stderr, "plexus: %s: not a model listing (%s)\n", url, root ? "no \"siblings\"" : je.text);
        } else {
            /* the first .gguf whose name contains the tag (case-insensitive),
             * not a split part (-00002-of-...) unless nothing else matches;
             * without a tag: Q4_K_M, else the first .gguf */
            const char *want = tag && *tag ? tag : "Q4_K_M";
            const char *first = NULL, *best = NULL;
            for (size_t i = 0; i < json_array_size(sib); i++) {
                const char *f = json_string_value(json_object_get(json_array_get(sib, i), "rfilename"));
                size_t n = f ? strlen(f) : 0;
                if (n < 5 || strcasecmp(f + n - 5, ".gguf") != 0) continue;
                if (strstr(f, "-of-") && strstr(f, "-0000")) continue; /* split files: not supported */
                if (!first) first = f;
                if (!best && strcasestr(f, want)) best = f;
            }
            const char *f = best ? best : (tag && *tag ? NULL : first);
            if (f) pick = strdup(f);
            else fprintf(stderr, "plexus: %s has no single-file .gguf%s%s\n", repo, tag ? " matching " : "", tag ? tag : "");
            if (verbose && pick) fprintf(stderr, "plexus: %s: picked %s\n", repo, pick);
        }
        json_decref(root);
    }
    free(m.p);
    return pick;
}

/* Download url into path (resuming path.part). 0 on success. */
static int download(const char *url, const char *path, const char *label, int verbose) {
    char part[4200];
    snprintf(part, sizeof part, "%s.part", path);
    struct stat st;
    curl_off_t have = stat(part, &st) == 0 ? (curl_off_t)st.st_size : 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        FILE *f = fopen(part, have > 0 ? "ab" : "wb");
        if (!f) {
            fprintf(stderr, "plexus: %s: cannot write: %s\n", part, strerror(errno));
            return -1;
        }
        CURL *c = curl_easy_init();
        if (!c) {
            fclose(f);
            return -1;
        }
        struct curl_slist *hdrs = NULL;
        dl d = {.curl = c, .f = f, .tty = isatty(2), .verbose = verbose, .base = have, .t0 = now_s(), .last_decile = -1,
                .label = label};
        common_opts(c, &hdrs);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &d);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &d);
        curl_easy_setopt(c, CURLOPT_FAILONERROR, 0L);
        if (have > 0) curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, have);
        if (verbose && have > 0) fprintf(stderr, "plexus: resuming %s at byte %lld\n", label, (long long)have);
        /* HTTP errors: do not write the error body into the file */
        CURLcode rc = curl_easy_perform(c);
        long code = 0;
        curl_off_t len = -1;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
        curl_easy_cleanup(c);
        curl_slist_free_all(hdrs);
        int wok = fflush(f) == 0;
        wok = fclose(f) == 0 && wok;
        if (d.tty) fputc('\n', stderr);
        if (code == 416 && have > 0 && attempt == 0) { /* range beyond the end: start over */
            remove(part);
            have = 0;
            continue;
        }
        if (interrupted) {
            fprintf(stderr, "plexus: interrupted; %s is kept, run the command again to resume\n", part);
            return -1;
        }
        if (code >= 400) {
            if (have == 0) remove(part); /* nothing of the file: no partial download to keep */
            fprintf(stderr, "plexus: %s: HTTP %ld: %s\n", url, code, http_hint(code));
            return -1;
        }
        if (rc != CURLE_OK || !wok) {
            struct stat ps;
            int kept = stat(part, &ps) == 0 && ps.st_size > 0;
            if (!kept) remove(part);
            fprintf(stderr, "plexus: %s: %s%s%s\n", url, !wok ? "cannot write to the disk" : curl_easy_strerror(rc),
                    kept ? "; the partial download is kept, run again to resume: " : "", kept ? part : "");
            return -1;
        }
        (void)len;
        /* complete: check it is a GGUF file, then move it into place */
        FILE *g = fopen(part, "rb");
        char magic[4] = {0};
        size_t got = g ? fread(magic, 1, 4, g) : 0;
        if (g) fclose(g);
        if (got != 4 || memcmp(magic, "GGUF", 4) != 0) {
            remove(part);
            fprintf(stderr, "plexus: %s: the downloaded file is not a GGUF file (deleted)\n", url);
            return -1;
        }
        if (rename(part, path) != 0) {
            fprintf(stderr, "plexus: cannot move %s to %s: %s\n", part, path, strerror(errno));
            return -1;
        }
        return 0;
    }
    fprintf(stderr, "plexus: %s: the server does not resume downloads correctly\n", url);
    return -1;
}

int px_hf_resolve(const char *spec, int verbose, char **out_path) {
    *out_path = NULL;
    /* owner/repo[/path/file.gguf] or owner/repo:TAG */
    char buf[1024];
    if (!spec || strlen(spec) >= sizeof buf) {
        fprintf(stderr, "plexus: -hf expects OWNER/REPO/FILE.gguf or OWNER/REPO[:QUANT]\n");
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", spec);
    char *tag = NULL, *colon = strchr(buf, ':');
    if (colon) {
        *colon = 0;
        tag = colon + 1;
    }
    char *s1 = strchr(buf, '/');
    char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
    if (!s1 || s1 == buf || s1[1] == 0 || s2 == s1 + 1) {
        fprintf(stderr, "plexus: -hf '%s': expected OWNER/REPO/FILE.gguf or OWNER/REPO[:QUANT]\n", spec);
        return -1;
    }
    char repo[512], *file = NULL;
    snprintf(repo, sizeof repo, "%.*s", (int)(s2 ? s2 - buf : (long)strlen(buf)), buf);
    if (!safe_path(repo) || (s2 && !safe_path(s2 + 1))) {
        fprintf(stderr, "plexus: -hf '%s': unsafe repository or file path\n", spec);
        return -1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = -1;
    if (s2) {
        file = strdup(s2 + 1);
    } else {
        file = pick_file(repo, tag, verbose);
        if (file && !safe_path(file)) {
            fprintf(stderr, "plexus: %s lists an unsafe file name\n", repo);
            free(file);
            file = NULL;
        }
    }
    if (!file) goto out;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char path[4096];
    if (xdg && *xdg) snprintf(path, sizeof path, "%s/plexus/hf/%s/%s", xdg, repo, file);
    else if (home && *home) snprintf(path, sizeof path, "%s/.cache/plexus/hf/%s/%s", home, repo, file);
    else snprintf(path, sizeof path, ".cache/plexus/hf/%s/%s", repo, file);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        if (verbose) fprintf(stderr, "plexus: using cached %s\n", path);
        *out_path = strdup(path);
        rc = *out_path ? 0 : -1;
        goto out;
    }
    if (mkdirs(path)) {
        fprintf(stderr, "plexus: cannot create the cache folder for %s: %s\n", path, strerror(errno));
        goto out;
    }
    char url[4096];
    snprintf(url, sizeof url, "%s/%s/resolve/main/%s", endpoint(), repo, file);
    fprintf(stderr, "plexus: downloading %s/%s\n", repo, file);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, &old);
    interrupted = 0;
    int r = download(url, path, file, verbose);
    sigaction(SIGINT, &old, NULL);
    if (r == 0) {
        *out_path = strdup(path);
        rc = *out_path ? 0 : -1;
    }
out:
    free(file);
    curl_global_cleanup();
    return rc;
}
