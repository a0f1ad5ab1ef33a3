/* -hf: GGUF files from a Hugging Face repository, downloaded once into
 * $XDG_CACHE_HOME/plexus/hf/<owner>/<repo>/<path> (default ~/.cache), through
 * <file>.part, resumed with an HTTP Range request, checked (size announced by
 * the server, "GGUF" magic) and renamed into place. $HF_ENDPOINT overrides
 * https://huggingface.co (the tests use a server on 127.0.0.1); $HF_TOKEN is
 * sent as a bearer token; $PLEXUS_HF_TIMEOUT (seconds, default 30) bounds the
 * connection and any stall. The rules are in docs/download.md. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strcasestr */
#endif
#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hf.h"

#define HF_DEFAULT_ENDPOINT "https://huggingface.co"
#define HF_DEFAULT_QUANT "Q4_K_M"

/* ---- small helpers ---- */

/* printf into a new string; NULL when out of memory. */
static char *fmt(const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s) return NULL;
    va_start(ap, f);
    vsnprintf(s, (size_t)n + 1, f, ap);
    va_end(ap);
    return s;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long timeout_s(void) {
    const char *e = getenv("PLEXUS_HF_TIMEOUT");
    char *end = NULL;
    long v = e && *e ? strtol(e, &end, 10) : 0;
    return end && !*end && v > 0 && v <= 3600 ? v : 30;
}

/* $HF_ENDPOINT without trailing slashes (malloc'd). */
static char *endpoint(void) {
    const char *e = getenv("HF_ENDPOINT");
    if (!e || !*e) e = HF_DEFAULT_ENDPOINT;
    size_t n = strlen(e);
    while (n > 1 && e[n - 1] == '/') n--;
    return fmt("%.*s", (int)n, e);
}

/* An owner or repository name: letters, digits, '-', '_', '.', not "." or "..". */
static int valid_name(const char *s, size_t n) {
    if (n == 0 || n > 96 || (s[0] == '.' && (n == 1 || (n == 2 && s[1] == '.')))) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.') return 0;
    return 1;
}

/* A file path inside a repository: relative, no empty, "." or ".." parts, no
 * control characters or backslashes. */
static int safe_path(const char *s) {
    size_t len = strlen(s);
    if (len == 0 || len > 1024 || s[0] == '/') return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\') return 0;
    for (const char *p = s;;) {
        const char *q = strchr(p, '/');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) return 0;
        if (!q) return 1;
        p = q + 1;
    }
}

static int ends_with_gguf(const char *f) {
    size_t n = strlen(f);
    return n > 5 && strcasecmp(f + n - 5, ".gguf") == 0;
}

/* One part of a split model: NAME-00001-of-00003.gguf. */
static int is_split(const char *f) {
    static const char pat[] = "-#####-of-#####.gguf";
    size_t n = strlen(f), k = sizeof pat - 1;
    if (n < k) return 0;
    const char *p = f + n - k;
    for (size_t i = 0; i < k; i++)
        if (pat[i] == '#' ? !isdigit((unsigned char)p[i]) : tolower((unsigned char)p[i]) != pat[i]) return 0;
    return 1;
}

/* 0: f does not contain tag (case-insensitive); 1: it does; 2: it does as a
 * whole word, not inside a longer name (Q4_0 in "m-Q4_0.gguf", not in "m-Q4_0_4_4.gguf"). */
static int tag_score(const char *f, const char *tag) {
    size_t tn = strlen(tag);
    int best = 0;
    for (const char *p = f; tn && (p = strcasestr(p, tag)) != NULL; p++) {
        unsigned char before = p == f ? 0 : (unsigned char)p[-1], after = (unsigned char)p[tn];
        int word = !(isalnum(before) || before == '_') && !(isalnum(after) || after == '_');
        best = word ? 2 : best > 1 ? best : 1;
    }
    return best;
}

typedef struct names {
    char **v;
    size_t n, cap;
} names;

static int names_add(names *l, const char *s) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s))) return -1;
    l->n++;
    return 0;
}

static void names_free(names *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The best .gguf of a listing for tag: a whole-word match beats a substring
 * match, a single file beats a split part, then listing order. With
 * must_match, a name without the tag is never picked. -1 if none. */
static long choose(const names *l, const char *tag, int must_match) {
    long best = -1;
    int best_rank = -1;
    for (size_t i = 0; i < l->n; i++) {
        int score = tag_score(l->v[i], tag);
        if (must_match && score == 0) continue;
        int rank = score * 2 + !is_split(l->v[i]);
        if (rank > best_rank) {
            best_rank = rank;
            best = (long)i;
        }
    }
    return best;
}

/* ---- HTTP ---- */

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

static void common_opts(CURL *c, struct curl_slist **hdrs) {
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L); /* Hugging Face redirects files to its CDN */
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout_s());
    /* slower than 1 byte/s for the timeout: abort, so a stalled server never hangs the command */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, timeout_s());
    curl_easy_setopt(c, CURLOPT_USERAGENT, "plexus/" PLEXUS_VERSION_STRING);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    const char *tok = getenv("HF_TOKEN");
    if (tok && *tok) {
        /* curl sends custom headers to the first host only, not to the CDN a
         * redirect points at (CURLOPT_UNRESTRICTED_AUTH stays off) */
        char *h = fmt("Authorization: Bearer %s", tok);
        if (h) *hdrs = curl_slist_append(*hdrs, h);
        free(h);
    }
    if (*hdrs) curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
}

static const char *http_hint(long code, int listing) {
    const char *tok = getenv("HF_TOKEN");
    int has_tok = tok && *tok;
    switch (code) {
    case 401:
        return has_tok ? "token refused: HF_TOKEN is not a valid Hugging Face access token for this repository"
                       : "token needed: the repository is gated or private; "
                         "set HF_TOKEN to a Hugging Face access token";
    case 403:
        return "access denied: the repository is gated; accept its terms on its Hugging Face page with the account "
               "of HF_TOKEN (or use a token with read access)";
    case 404:
        return listing ? "repository not found: check OWNER/REPO "
                         "(a private repository also answers 404 without HF_TOKEN)"
                       : "file not found: check the repository and file names";
    case 416: return "the server refused the resume range";
    case 429: return "too many requests: try again later";
    default: return code >= 500 ? "server error: try again later" : "unexpected HTTP status";
    }
}

/* The start of an error body, on one line, if it is printable text. */
static void print_body_hint(const char *p, size_t n) {
    char line[200];
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < sizeof line; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
        if (c < 0x20 || c >= 0x7f) return; /* binary or non-ASCII: leave it out */
        if (c == ' ' && (k == 0 || line[k - 1] == ' ')) continue;
        line[k++] = (char)c;
    }
    while (k && line[k - 1] == ' ') k--;
    line[k] = 0;
    if (k) fprintf(stderr, "plexus: the server said: %s%s\n", line, n >= sizeof line ? " ..." : "");
}

/* GET the repository listing: 0 and the .gguf names in *out; 1 when the
 * server could not be reached; -1 on any other error. Errors are printed. */
static int fetch_listing(const char *ep, const char *repo, names *out) {
    char *url = fmt("%s/api/models/%s", ep, repo);
    CURL *c = url ? curl_easy_init() : NULL;
    if (!c) {
        free(url);
        fprintf(stderr, "plexus: out of memory\n");
        return -1;
    }
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
    int ret = -1;
    if (rc != CURLE_OK) {
        fprintf(stderr, "plexus: %s: %s\n", url, curl_easy_strerror(rc));
        ret = rc == CURLE_WRITE_ERROR ? -1 : 1;
    } else if (code != 200) {
        if (m.p) print_body_hint(m.p, m.n);
        fprintf(stderr, "plexus: %s: HTTP %ld: %s\n", url, code, http_hint(code, 1));
    } else {
        json_error_t je;
        json_t *root = json_loadb(m.p ? m.p : "", m.n, 0, &je);
        json_t *sib = root ? json_object_get(root, "siblings") : NULL;
        if (!json_is_array(sib)) {
            fprintf(stderr, "plexus: %s: not a model listing (%s)\n", url, root ? "no \"siblings\" array" : je.text);
        } else {
            ret = 0;
            for (size_t i = 0; i < json_array_size(sib) && ret == 0; i++) {
                const char *f = json_string_value(json_object_get(json_array_get(sib, i), "rfilename"));
                if (f && ends_with_gguf(f) && names_add(out, f)) ret = -1;
            }
            if (ret) fprintf(stderr, "plexus: out of memory\n");
        }
        json_decref(root);
    }
    free(m.p);
    free(url);
    return ret;
}

/* The .gguf files under dir (relative paths), for picking offline. */
static void scan_cache(const char *dir, const char *rel, names *out, int depth) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char *full = fmt("%s/%s", dir, e->d_name), *r = rel ? fmt("%s/%s", rel, e->d_name) : fmt("%s", e->d_name);
        struct stat st;
        if (full && r && stat(full, &st) == 0) {
            if (S_ISDIR(st.st_mode) && depth < 8) scan_cache(full, r, out, depth + 1);
            else if (S_ISREG(st.st_mode) && ends_with_gguf(r)) names_add(out, r);
        }
        free(full);
        free(r);
    }
    closedir(d);
}

/* ---- downloading ---- */

static volatile sig_atomic_t interrupted;
static void on_sigint(int s) {
    (void)s;
    interrupted = 1;
}

typedef struct dl {
    FILE *f;
    int tty, printed, last_decile;
    long code;                           /* status of the current response */
    long long clen;                      /* its Content-Length, -1 if none */
    long long range_start, range_total;  /* its Content-Range, -1 if none */
    long long base;                      /* bytes of the file before this response's body */
    int started, bad_range, write_failed, stalled, done;
    long long seen;                      /* bytes received when last checked for a stall */
    double seen_t, timeout;
    char err[512];                       /* the start of an error body */
    size_t nerr;
    double t0, last;
    const char *label;
} dl;

static size_t header_cb(char *p, size_t sz, size_t n, void *user) {
    dl *d = user;
    size_t k = sz * n;
    char line[256];
    size_t m = k < sizeof line - 1 ? k : sizeof line - 1;
    memcpy(line, p, m);
    line[m] = 0;
    long long a, b, t;
    if (strncmp(line, "HTTP/", 5) == 0) { /* a new response (after a redirect, too) */
        const char *sp = strchr(line, ' ');
        d->code = sp ? strtol(sp + 1, NULL, 10) : 0;
        d->clen = d->range_start = d->range_total = -1;
    } else if (strncasecmp(line, "content-length:", 15) == 0) {
        char *end;
        d->clen = strtoll(line + 15, &end, 10);
        if (end == line + 15 || d->clen < 0) d->clen = -1;
    } else if (strncasecmp(line, "content-range:", 14) == 0) {
        if (sscanf(line + 14, " bytes %lld-%lld/%lld", &a, &b, &t) == 3) {
            d->range_start = a;
            d->range_total = t;
        } else if (sscanf(line + 14, " bytes %lld-%lld/", &a, &b) == 2) {
            d->range_start = a;
        } else if (sscanf(line + 14, " bytes */%lld", &t) == 1) {
            d->range_total = t;
        }
    }
    return k;
}

static size_t write_cb(char *p, size_t sz, size_t n, void *user) {
    dl *d = user;
    size_t k = sz * n;
    if (d->code < 200 || d->code >= 300) { /* an error page: keep its start for the message */
        size_t room = sizeof d->err - d->nerr;
        size_t c = k < room ? k : room;
        memcpy(d->err + d->nerr, p, c);
        d->nerr += c;
        return k;
    }
    if (!d->started) {
        d->started = 1;
        d->t0 = now_s();
        if (d->code == 206 && d->range_start != d->base) { /* not the range asked for */
            d->bad_range = 1;
            return 0;
        }
        if (d->code != 206 && d->base > 0) { /* the server ignored the range: the whole file, from zero */
            if (fflush(d->f) || ftruncate(fileno(d->f), 0) || fseek(d->f, 0, SEEK_SET)) {
                d->write_failed = 1;
                return 0;
            }
            d->base = 0;
        }
    }
    if (fwrite(p, 1, k, d->f) != k) {
        d->write_failed = 1;
        return 0;
    }
    return k;
}

static int progress_cb(void *user, curl_off_t total, curl_off_t now, curl_off_t ut, curl_off_t un) {
    (void)ut;
    (void)un;
    dl *d = user;
    if (interrupted) return 1; /* abort: the .part file stays for resuming */
    double t = now_s();
    if ((long long)now != d->seen) { /* no byte for the timeout (headers included): give up */
        d->seen = (long long)now;
        d->seen_t = t;
    } else if (t - d->seen_t > d->timeout) {
        d->stalled = 1;
        return 1;
    }
    if (!d->started || d->code < 200 || d->code >= 300) return 0;
    double dt = t - d->t0 > 1e-3 ? t - d->t0 : 1e-3;
    double rate = (double)now / dt / 1e6, have = (double)(d->base + now) / 1e6;
    if (total <= 0) { /* size unknown */
        if (d->tty && t - d->last >= 0.2) {
            d->last = t;
            d->printed = 1;
            fprintf(stderr, "\r%s %9.1f MB %7.1f MB/s", d->label, have, rate);
        }
        return 0;
    }
    double all = (double)(d->base + total) / 1e6, pct = 100.0 * have / all;
    if (d->tty) {
        if (now >= total ? d->done : t - d->last < 0.2) return 0;
        d->done = now >= total;
        d->last = t;
        d->printed = 1;
        enum { W = 30 };
        char bar[W + 1];
        int fill = (int)(pct / 100.0 * W);
        for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '.';
        bar[W] = 0;
        fprintf(stderr, "\r%s [%s] %5.1f%% %9.1f / %.1f MB %7.1f MB/s ", d->label, bar, pct, have, all, rate);
    } else {
        int decile = (int)(pct / 10);
        if (decile > d->last_decile) {
            d->last_decile = decile;
            fprintf(stderr, "plexus: %s: %3d%% of %.1f MB (%.1f MB/s)\n", d->label, decile * 10, all, rate);
        }
    }
    return 0;
}

/* GET url into f (already holding `have` bytes, asked for the rest with a
 * Range request). Fills d; returns curl's result. */
static CURLcode fetch_into(const char *url, FILE *f, long long have, const char *label, dl *d) {
    memset(d, 0, sizeof *d);
    d->f = f;
    d->tty = isatty(2);
    d->base = have;
    d->last_decile = -1;
    d->label = label;
    d->clen = d->range_start = d->range_total = -1;
    d->seen_t = now_s();
    d->timeout = (double)timeout_s();
    CURL *c = curl_easy_init();
    if (!c) return CURLE_OUT_OF_MEMORY;
    struct curl_slist *hdrs = NULL;
    common_opts(c, &hdrs);
    char range[48];
    snprintf(range, sizeof range, "%lld-", have);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, d);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, d);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, d);
    /* a plain Range header, not CURLOPT_RESUME_FROM: the status (206 or 200)
     * is checked here, and a 200 restarts the file */
    if (have > 0) curl_easy_setopt(c, CURLOPT_RANGE, range);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code) d->code = code;
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    if (d->printed) fputc('\n', stderr);
    return rc;
}

static int truncate_part(FILE *f) { return fflush(f) || ftruncate(fileno(f), 0) || fseek(f, 0, SEEK_SET) ? -1 : 0; }

/* Download url to path through path.part (resumed if present). 0 on success;
 * errors are printed. */
static int download(const char *url, const char *path, const char *label, int verbose) {
    char *part = fmt("%s.part", path);
    if (!part) return -1;
    int fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "plexus: cannot write %s: %s\n", part, strerror(errno));
        free(part);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr, "plexus: another plexus is downloading %s (%s is locked); wait for it to finish\n", label,
                part);
        close(fd);
        free(part);
        return -1;
    }
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) { /* finished by another process meanwhile */
        close(fd);
        free(part);
        return 0;
    }
    FILE *f = fdopen(fd, "r+b");
    if (!f) {
        fprintf(stderr, "plexus: cannot write %s: %s\n", part, strerror(errno));
        close(fd);
        free(part);
        return -1;
    }
    int ret = -1, keep = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (fseek(f, 0, SEEK_END) != 0) break;
        long long have = (long long)ftello(f);
        if (have < 0) break;
        if (verbose && have > 0) fprintf(stderr, "plexus: resuming %s at byte %lld\n", label, have);
        dl d;
        CURLcode rc = fetch_into(url, f, have, label, &d);
        int flushed = fflush(f) == 0 && !d.write_failed;
        long long size = (long long)ftello(f);
        if (interrupted) {
            keep = size > 0;
            fprintf(stderr, "plexus: interrupted; %s%s\n", keep ? "run the same command again to resume from " : "",
                    keep ? part : "nothing downloaded");
            break;
        }
        if (!flushed) {
            fprintf(stderr, "plexus: cannot write %s: %s\n", part, strerror(errno ? errno : EIO));
            keep = size > 0;
            break;
        }
        if (d.code == 416 && have > 0 && d.range_total == have) { /* it was all there already */
            d.code = 206;
            d.range_total = have;
            rc = CURLE_OK;
        } else if (have > 0 && (d.bad_range || d.code == 416) && attempt == 0) {
            if (verbose) fprintf(stderr, "plexus: the server did not resume at byte %lld; starting over\n", have);
            if (truncate_part(f)) break;
            continue;
        }
        if (d.code >= 300 || (d.code < 200 && rc == CURLE_OK)) {
            print_body_hint(d.err, d.nerr);
            fprintf(stderr, "plexus: %s: HTTP %ld: %s\n", url, d.code, http_hint(d.code, 0));
            keep = have > 0; /* an earlier partial download stays */
            break;
        }
        if (rc != CURLE_OK) {
            keep = size > 0;
            char why[128];
            if (d.stalled) snprintf(why, sizeof why, "no data for %ld s, giving up (PLEXUS_HF_TIMEOUT)", timeout_s());
            else if (d.bad_range) snprintf(why, sizeof why, "the server resumed at the wrong offset");
            else snprintf(why, sizeof why, "%s", curl_easy_strerror(rc));
            fprintf(stderr, "plexus: %s: %s%s%s\n", url, why,
                    keep ? "; the partial download is kept, run the same command again to resume from " : "",
                    keep ? part : "");
            break;
        }
        if (!d.started && d.code != 206 && have > 0) { /* an empty 200: the old bytes are not the file */
            if (truncate_part(f)) break;
            size = 0;
        }
        /* complete: the size the server announced, then the GGUF magic */
        long long want = d.code == 206 ? (d.range_total >= 0 ? d.range_total : d.clen >= 0 ? d.base + d.clen : -1)
                                       : d.clen;
        if (want >= 0 && size != want) {
            fprintf(stderr, "plexus: %s: received %lld bytes, the server announced %lld; the download is deleted\n",
                    url, size, want);
            break;
        }
        char magic[4] = {0};
        if (pread(fd, magic, 4, 0) != 4 || memcmp(magic, "GGUF", 4) != 0) {
            fprintf(stderr, "plexus: %s: the downloaded file is not a GGUF file (deleted)\n", url);
            break;
        }
        if (rename(part, path) != 0) {
            fprintf(stderr, "plexus: cannot move %s to %s: %s\n", part, path, strerror(errno));
            break;
        }
        keep = 1; /* renamed: nothing to delete */
        ret = 0;
        break;
    }
    if (!keep) unlink(part);
    fclose(f); /* releases the lock */
    free(part);
    return ret;
}

/* ---- resolving a spec ---- */

static int resolve(const char *spec, const char *file_opt, int verbose, char **out_path) {
    static const char usage[] = "expected OWNER/REPO/FILE.gguf, OWNER/REPO:QUANT or OWNER/REPO";
    if (!out_path) return -1;
    *out_path = NULL;
    if (!spec || !*spec) {
        fprintf(stderr, "plexus: -hf: %s\n", usage);
        return -1;
    }
    if (file_opt && !*file_opt) file_opt = NULL;
    /* OWNER/REPO[/PATH][:TAG] */
    const char *colon = strchr(spec, ':'), *tag = colon ? colon + 1 : NULL;
    size_t head = colon ? (size_t)(colon - spec) : strlen(spec);
    const char *s1 = memchr(spec, '/', head);
    const char *s2 = s1 ? memchr(s1 + 1, '/', head - (size_t)(s1 + 1 - spec)) : NULL;
    size_t repo_len = s2 ? (size_t)(s2 - spec) : head;
    if (!s1 || !valid_name(spec, (size_t)(s1 - spec)) || !valid_name(s1 + 1, repo_len - (size_t)(s1 + 1 - spec))) {
        fprintf(stderr, "plexus: -hf '%s': %s (OWNER and REPO: letters, digits, '-', '_', '.')\n", spec, usage);
        return -1;
    }
    if (tag) {
        int ok = *tag != 0;
        for (const char *p = tag; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.') ok = 0;
        if (!ok || s2) {
            fprintf(stderr, "plexus: -hf '%s': %s\n", spec,
                    s2 ? "a :QUANT tag goes with OWNER/REPO, not with a file path" : "bad :QUANT tag (e.g. :Q4_K_M)");
            return -1;
        }
    }
    char *repo = fmt("%.*s", (int)repo_len, spec), *file = NULL, *ep = endpoint(), *dir = NULL, *path = NULL;
    char *url = NULL;
    int rc = -1;
    CURL *esc = NULL;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!repo || !ep) goto oom;
    if (s2 && file_opt) {
        fprintf(stderr, "plexus: -hf '%s' names a file already; leave out --hf-file '%s'\n", spec, file_opt);
        goto out;
    }
    if (s2 || file_opt) {
        const char *f = file_opt ? file_opt : (const char *)s2 + 1;
        if (!safe_path(f)) {
            fprintf(stderr, "plexus: -hf: unsafe file path '%s' (relative, no '..' or '.' parts)\n", f);
            goto out;
        }
        if (!(file = strdup(f))) goto oom;
        if (tag && verbose) fprintf(stderr, "plexus: --hf-file %s replaces :%s\n", file, tag);
    }
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0] == '/') dir = fmt("%s/plexus/hf/%s", xdg, repo);
    else if (home && *home) dir = fmt("%s/.cache/plexus/hf/%s", home, repo);
    else {
        fprintf(stderr, "plexus: no cache folder for -hf downloads: set XDG_CACHE_HOME or HOME\n");
        goto out;
    }
    if (!dir) goto oom;
    if (!file) { /* pick from the listing (or, offline, from the cache) */
        const char *want = tag ? tag : HF_DEFAULT_QUANT;
        names l = {0};
        int lr = fetch_listing(ep, repo, &l);
        int offline = lr == 1;
        if (offline) {
            scan_cache(dir, NULL, &l, 0);
            if (l.n) qsort(l.v, l.n, sizeof *l.v, cmp_str);
        }
        long i = lr < 0 ? -1 : choose(&l, want, tag != NULL);
        if (lr >= 0 && i >= 0 && is_split(l.v[i])) {
            fprintf(stderr, "plexus: %s: the best match for %s is split into parts (%s); split GGUF files are not "
                            "supported yet, pick another quantization\n", repo, want, l.v[i]);
        } else if (lr >= 0 && i < 0) {
            if (offline) fprintf(stderr, "plexus: and no file in %s matches\n", dir);
            else {
                fprintf(stderr, "plexus: %s has no .gguf file%s%s%s", repo, tag ? " matching '" : "", tag ? tag : "",
                        tag ? "'" : "");
                for (size_t k = 0; k < l.n && k < 12; k++) fprintf(stderr, "%s%s", k ? ", " : "; it has: ", l.v[k]);
                fprintf(stderr, "%s\n", l.n > 12 ? ", ..." : "");
            }
        } else if (i >= 0) {
            file = strdup(l.v[i]);
            if (offline && file) fprintf(stderr, "plexus: offline: using the cached %s\n", file);
            else if (verbose && file) fprintf(stderr, "plexus: %s: picked %s\n", repo, file);
            if (!file) fprintf(stderr, "plexus: out of memory\n");
        }
        names_free(&l);
        if (!file) goto out;
        if (!safe_path(file)) {
            fprintf(stderr, "plexus: %s lists an unsafe file name '%s'\n", repo, file);
            goto out;
        }
    }
    if (!(path = fmt("%s/%s", dir, file))) goto oom;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        if (verbose) fprintf(stderr, "plexus: using cached %s\n", path);
        *out_path = path;
        path = NULL;
        rc = 0;
        goto out;
    }
    /* the cache folders */
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        int r = mkdir(path, 0755);
        int e = errno;
        *p = '/';
        if (r && e != EEXIST) {
            fprintf(stderr, "plexus: cannot create the cache folder for %s: %s\n", path, strerror(e));
            goto out;
        }
    }
    /* {endpoint}/{owner}/{repo}/resolve/main/{path}, each part of the path escaped */
    if (!(esc = curl_easy_init()) || !(url = fmt("%s/%s/resolve/main", ep, repo))) goto oom;
    for (const char *p = file; *p;) {
        const char *q = strchr(p, '/');
        int n = q ? (int)(q - p) : (int)strlen(p);
        char *e = curl_easy_escape(esc, p, n), *u = e ? fmt("%s/%s", url, e) : NULL;
        curl_free(e);
        if (!u) goto oom;
        free(url);
        url = u;
        p += n + (q ? 1 : 0);
    }
    fprintf(stderr, "plexus: downloading %s\n", url);
    if (verbose) fprintf(stderr, "plexus: into %s\n", path);
    struct sigaction sa, old_int, old_pipe;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint; /* Ctrl-C: stop, keep the .part */
    sigaction(SIGINT, &sa, &old_int);
    sa.sa_handler = SIG_IGN; /* a closed connection is an error, not a signal */
    sigaction(SIGPIPE, &sa, &old_pipe);
    interrupted = 0;
    int r = download(url, path, file, verbose);
    sigaction(SIGPIPE, &old_pipe, NULL);
    sigaction(SIGINT, &old_int, NULL);
    if (r == 0) {
        *out_path = path;
        path = NULL;
        rc = 0;
    }
    goto out;
oom:
    fprintf(stderr, "plexus: out of memory\n");
out:
    if (esc) curl_easy_cleanup(esc);
    free(url);
    free(path);
    free(dir);
    free(file);
    free(ep);
    free(repo);
    curl_global_cleanup();
    return rc;
}

int px_hf_resolve(const char *spec, int verbose, char **out_path) { return resolve(spec, NULL, verbose, out_path); }

int px_hf_resolve_file(const char *repo, const char *file, int verbose, char **out_path) {
    return resolve(repo, file, verbose, out_path);
}
