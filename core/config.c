/* The deployment ini file (schema: docs/config.md).
 *
 * inih splits "key = value" lines; a line reader of ours feeds it one
 * physical line per call, so we always know the line number, and hands it
 * only lines that are already known to be well formed:
 *  - comments (';' or '#' at the start of a line or after whitespace) and
 *    leading whitespace are removed, so inih never sees an inline comment
 *    and never takes an indented line for a continuation line;
 *  - section headers are handled here (inih would cut long names) and inih
 *    gets a blank line instead;
 *  - a ':' in a key ("opencl:1 = 2G") is masked, because inih would split
 *    the line there;
 *  - control characters, NUL bytes, missing '=', over-long lines are errors.
 * The first error stops the parse.
 *
 * The schema is data: a table of sections, each with a table of fixed keys
 * (one line per key) and/or an entry handler for keys that are names
 * (op.<op>, device ids, op names, plugin keys). */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config.h"
#include "internal.h"

#define PX_CFG_LINE_MAX 1024 /* our buffers; inih's own limit is usually lower */
#define PX_CFG_KEY_MASK '\x1f' /* stands for ':' in keys while inih splits */

/* ---- schema --------------------------------------------------------------- */

typedef enum px_cfg_type {
    PX_CFG_INT,         /* int32_t, lo..hi                               */
    PX_CFG_ENUM,        /* int32_t, index into names                     */
    PX_CFG_SIZE,        /* uint64_t, "512M"                              */
    PX_CFG_STRING,      /* char *, owned                                 */
    PX_CFG_PATH_LIST,   /* char *, owned, "dir:dir", no empty entries    */
    PX_CFG_NAME_LIST,   /* char [PX_CFG_MAX_LIST][64] + int32_t count    */
    PX_CFG_DEVICE_LIST  /* same, entries canonical device ids            */
} px_cfg_type;

typedef struct px_cfg_key_def {
    const char *name;
    px_cfg_type type;
    size_t field;              /* offsetof(px_config, field)                 */
    size_t count;              /* lists: offsetof the entry count            */
    int64_t lo, hi;            /* INT: allowed range                         */
    int64_t unset;             /* INT, ENUM: value when not given            */
    const char *const *names;  /* ENUM: NULL-terminated; value = index       */
} px_cfg_key_def;

#define PX_KEY_INT(key, f, lo_, hi_, unset_) \
    {key, PX_CFG_INT, offsetof(px_config, f), 0, lo_, hi_, unset_, NULL}
#define PX_KEY_ENUM(key, f, names_, unset_) \
    {key, PX_CFG_ENUM, offsetof(px_config, f), 0, 0, 0, unset_, names_}
#define PX_KEY_SIZE(key, f) {key, PX_CFG_SIZE, offsetof(px_config, f), 0, 0, 0, 0, NULL}
#define PX_KEY_STRING(key, type_, f) {key, type_, offsetof(px_config, f), 0, 0, 0, 0, NULL}
#define PX_KEY_LIST(key, type_, f, n) \
    {key, type_, offsetof(px_config, f), offsetof(px_config, n), 0, 0, 0, NULL}

static const char *const px_cfg_log_levels[] = {"error", "warn", "info", "debug", NULL};

static const px_cfg_key_def px_cfg_runtime_keys[] = {
    PX_KEY_INT("threads", threads, 1, 4096, 0),
    PX_KEY_STRING("plugin_dir", PX_CFG_PATH_LIST, plugin_dir),
    PX_KEY_LIST("plugins", PX_CFG_NAME_LIST, plugins, n_plugins),
    PX_KEY_ENUM("log_level", log_level, px_cfg_log_levels, -1),
    {NULL, PX_CFG_INT, 0, 0, 0, 0, 0, NULL},
};

static const px_cfg_key_def px_cfg_placement_keys[] = {
    PX_KEY_LIST("order", PX_CFG_DEVICE_LIST, order, n_order),
    PX_KEY_INT("offload_layers", offload_layers, -1, INT32_MAX, -1),
    {NULL, PX_CFG_INT, 0, 0, 0, 0, 0, NULL},
};

typedef struct px_cfg_parser px_cfg_parser;

typedef struct px_cfg_section_def {
    const char *name;              /* "runtime"; with `prefix`, "plugin."   */
    int prefix;                    /* 1: the rest of the name is a plugin   */
    const px_cfg_key_def *keys;    /* fixed keys, or NULL                   */
    /* Keys not in `keys`: check `key` and write the form stored (and used
     * to find duplicates) into canon[PX_CFG_LINE_MAX]; returns 0 after
     * reporting an error. NULL: such keys are unknown. */
    int (*entry_key)(px_cfg_parser *ps, const char *key, char *canon);
    void (*entry_set)(px_cfg_parser *ps, const char *canon, const char *value);
    const char *entry_hint;        /* for the list of known keys            */
} px_cfg_section_def;

static int px_cfg_op_key(px_cfg_parser *ps, const char *key, char *canon);
static void px_cfg_op_set(px_cfg_parser *ps, const char *canon, const char *value);
static int px_cfg_budget_key(px_cfg_parser *ps, const char *key, char *canon);
static void px_cfg_budget_set(px_cfg_parser *ps, const char *canon, const char *value);
static int px_cfg_kernel_key(px_cfg_parser *ps, const char *key, char *canon);
static void px_cfg_kernel_set(px_cfg_parser *ps, const char *canon, const char *value);
static int px_cfg_plugin_key(px_cfg_parser *ps, const char *key, char *canon);
static void px_cfg_plugin_set(px_cfg_parser *ps, const char *canon, const char *value);

static const px_cfg_section_def px_cfg_sections[] = {
    {"runtime", 0, px_cfg_runtime_keys, NULL, NULL, NULL},
    {"placement", 0, px_cfg_placement_keys, px_cfg_op_key, px_cfg_op_set, "op.<opname>"},
    {"memory", 0, NULL, px_cfg_budget_key, px_cfg_budget_set, "<device id>"},
    {"kernels", 0, NULL, px_cfg_kernel_key, px_cfg_kernel_set, "<opname>"},
    {"plugin.", 1, NULL, px_cfg_plugin_key, px_cfg_plugin_set, "<any key>"},
};
#define PX_CFG_N_SECTIONS ((int)(sizeof px_cfg_sections / sizeof px_cfg_sections[0]))

/* ---- parser state and errors ------------------------------------------------ */

struct px_cfg_parser {
    px_config *cfg;
    const char *name;              /* for messages (cfg->path)              */
    const char *p, *end;           /* input not read yet                    */
    int32_t line;                  /* line handed to inih last              */
    px_status status;              /* first error; parsing stops there      */
    const px_cfg_section_def *sec; /* current section, NULL before the first */
    char sec_name[PX_CFG_LINE_MAX];
    int32_t sec_origin;            /* index of the section's header origin  */
    const char *key;               /* key as written, for messages          */
    int32_t plugin;                /* current plugin section index, or -1   */
    int32_t cap_origins, cap_op_devices, cap_budgets, cap_kernels, cap_plugins, cap_kv;
    px_config_kv *kv;              /* the current plugin section's kv array */
};

static int px_cfg_is_digit(char c) { return c >= '0' && c <= '9'; }
static int px_cfg_is_lower(char c) { return c >= 'a' && c <= 'z'; }
static int px_cfg_is_alpha(char c) { return px_cfg_is_lower(c) || (c >= 'A' && c <= 'Z'); }
static int px_cfg_is_blank(char c) { return c == ' ' || c == '\t'; }
static char px_cfg_lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

static void px_cfg_fail(px_cfg_parser *ps, const char *fmt, ...) PX_PRINTF(2, 3);
static void px_cfg_fail(px_cfg_parser *ps, const char *fmt, ...) {
    if (ps->status != PX_OK) return;
    char msg[896];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ps->status = px_set_error(PX_ERR_CONFIG, "%s:%d: %s", ps->name, (int)ps->line, msg);
}

/* "[section] key: <problem>" */
static void px_cfg_key_fail(px_cfg_parser *ps, const char *fmt, ...) PX_PRINTF(2, 3);
static void px_cfg_key_fail(px_cfg_parser *ps, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    px_cfg_fail(ps, "[%s] %s: %s", ps->sec_name, ps->key, msg);
}

static void px_cfg_oom(px_cfg_parser *ps) {
    if (ps->status != PX_OK) return;
    px_error_prefix("%s:%d", ps->name, (int)ps->line);
    ps->status = PX_ERR_NO_MEMORY;
}

/* Grow `arr` (n used, *cap allocated) to hold one more; NULL on failure. */
static void *px_cfg_grow(px_cfg_parser *ps, void *arr, int32_t n, int32_t *cap, size_t elem) {
    if (n < *cap) return arr;
    int32_t c = *cap ? *cap * 2 : 8;
    void *q = px_realloc_array(arr, (size_t)c, elem);
    if (!q) {
        px_cfg_oom(ps);
        return NULL;
    }
    *cap = c;
    return q;
}

/* ---- suggestions ("did you mean") ------------------------------------------- */

/* Case-insensitive edit distance, for short words (longer: "far"). */
static int px_cfg_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 99;
    int row[64];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int cost = px_cfg_lower(a[i - 1]) != px_cfg_lower(b[j - 1]);
            int best = diag + cost;
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

typedef struct px_cfg_suggest {
    const char *word;
    const char *best;
    int dist;
} px_cfg_suggest;

static void px_cfg_consider(px_cfg_suggest *s, const char *candidate) {
    int d = px_cfg_distance(s->word, candidate);
    int limit = strlen(candidate) >= 5 ? 2 : 1;
    if (d <= limit && (!s->best || d < s->dist)) {
        s->best = candidate;
        s->dist = d;
    }
}

/* ---- value syntax ----------------------------------------------------------- */

/* Decimal integer with optional sign, fully consumed, in int64 range. */
static int px_cfg_parse_i64(const char *s, int64_t *out) {
    int neg = 0;
    if (*s == '+' || *s == '-') neg = *s++ == '-';
    if (!*s) return 0;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *s; s++) {
        if (!px_cfg_is_digit(*s)) return 0;
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (lim - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return 1;
}

/* Decimal number: [+-] digits [. digits] [e [+-] digits], some digit
 * before the exponent. Converted independently of the C locale. */
static int px_cfg_parse_f64(const char *s, double *out) {
    const char *p = s;
    int digits = 0;
    if (*p == '+' || *p == '-') p++;
    for (; px_cfg_is_digit(*p); p++) digits++;
    if (*p == '.')
        for (p++; px_cfg_is_digit(*p); p++) digits++;
    if (!digits) return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!px_cfg_is_digit(*p)) return 0;
        while (px_cfg_is_digit(*p)) p++;
    }
    if (*p) return 0;
    /* strtod follows LC_NUMERIC: spell the decimal point the locale's way. */
    char buf[PX_CFG_LINE_MAX + 16];
    const char *dp = localeconv()->decimal_point;
    size_t dpl = dp ? strlen(dp) : 0, n = 0;
    if (dpl == 0 || dpl > 8) {
        dp = ".";
        dpl = 1;
    }
    for (p = s; *p; p++) {
        if (n + dpl + 1 >= sizeof buf) return 0;
        if (*p == '.') {
            memcpy(buf + n, dp, dpl);
            n += dpl;
        } else {
            buf[n++] = *p;
        }
    }
    buf[n] = 0;
    char *end = NULL;
    double v = strtod(buf, &end);
    if (end != buf + n || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

typedef enum { PX_SIZE_OK, PX_SIZE_SYNTAX, PX_SIZE_RANGE, PX_SIZE_DECIMALS } px_cfg_size_result;

static px_cfg_size_result px_cfg_size(const char *s, uint64_t *out) {
    uint64_t ip = 0, frac = 0, scale = 1;
    int nd = 0, nf = 0, shift = 0;
    for (; px_cfg_is_digit(*s); s++, nd++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (ip > (UINT64_MAX - d) / 10) return PX_SIZE_RANGE;
        ip = ip * 10 + d;
    }
    if (!nd) return PX_SIZE_SYNTAX;
    if (*s == '.') {
        for (s++; px_cfg_is_digit(*s); s++, nf++) {
            if (nf == 6) return PX_SIZE_DECIMALS;
            frac = frac * 10 + (uint64_t)(*s - '0');
            scale *= 10;
        }
        if (!nf) return PX_SIZE_SYNTAX;
    }
    switch (px_cfg_lower(*s)) {
    case 'k': shift = 10; break;
    case 'm': shift = 20; break;
    case 'g': shift = 30; break;
    case 't': shift = 40; break;
    case 0: break;
    default: return PX_SIZE_SYNTAX;
    }
    if (shift && *++s) return PX_SIZE_SYNTAX;
    if (nf && !shift) return PX_SIZE_SYNTAX; /* fractions of a byte */
    if (ip > (UINT64_MAX >> shift)) return PX_SIZE_RANGE;
    uint64_t v = ip << shift, add = (frac << shift) / scale; /* frac < 2^20 */
    if (v > UINT64_MAX - add) return PX_SIZE_RANGE;
    *out = v + add;
    return PX_SIZE_OK;
}

static const char px_cfg_size_help[] = "a size such as 512M, 1.5G or 1048576 (K, M, G, T: powers of 1024)";

/* Lower-case name: [a-z][a-z0-9_-]*, at most 63 characters. */
static int px_cfg_plugin_name_ok(const char *s, size_t n) {
    if (n == 0 || n > 63 || !px_cfg_is_lower(s[0])) return 0;
    for (size_t i = 1; i < n; i++)
        if (!px_cfg_is_lower(s[i]) && !px_cfg_is_digit(s[i]) && s[i] != '_' && s[i] != '-') return 0;
    return 1;
}

/* Kernel names and plugin keys: [A-Za-z0-9_.-]+. */
static int px_cfg_word_ok(const char *s, size_t n, size_t max) {
    if (n == 0 || n > max) return 0;
    for (size_t i = 0; i < n; i++)
        if (!px_cfg_is_alpha(s[i]) && !px_cfg_is_digit(s[i]) && s[i] != '_' && s[i] != '.' &&
            s[i] != '-')
            return 0;
    return 1;
}

static const char px_cfg_device_help[] = "expected <plugin> or <plugin>:<index>, e.g. cpu, opencl:1";
static const char px_cfg_name_help[] =
    "plugin names are lower-case letters, digits, '_' and '-', starting with a letter";

/* ---- key lines, duplicates ------------------------------------------------------ */

/* Record where `key` (NULL: the section header) of the current section was
 * set; returns 0 on failure. */
static int px_cfg_add_origin(px_cfg_parser *ps, const char *key) {
    px_config *cfg = ps->cfg;
    px_cfg_origin *o = px_cfg_grow(ps, cfg->origins, cfg->n_origins, &ps->cap_origins, sizeof *o);
    if (!o) return 0;
    cfg->origins = o;
    size_t ls = strlen(ps->sec_name) + 1, lk = key ? strlen(key) + 1 : 0;
    char *mem = px_malloc(ls + lk);
    if (!mem) {
        px_cfg_oom(ps);
        return 0;
    }
    memcpy(mem, ps->sec_name, ls);
    if (key) memcpy(mem + ls, key, lk);
    o[cfg->n_origins].section = mem;
    o[cfg->n_origins].key = key ? mem + ls : NULL;
    o[cfg->n_origins].line = ps->line;
    cfg->n_origins++;
    return 1;
}

/* ---- [section] headers ---------------------------------------------------------- */

static void px_cfg_unknown_section(px_cfg_parser *ps, const char *name) {
    px_cfg_suggest sg = {name, NULL, 0};
    char known[256] = "";
    for (int i = 0; i < PX_CFG_N_SECTIONS; i++) {
        const char *n = px_cfg_sections[i].name;
        if (!px_cfg_sections[i].prefix) px_cfg_consider(&sg, n);
        size_t l = strlen(known);
        snprintf(known + l, sizeof known - l, "%s%s%s", i ? ", " : "", n,
                 px_cfg_sections[i].prefix ? "<name>" : "");
    }
    if (sg.best)
        px_cfg_fail(ps, "unknown section [%s] (did you mean [%s]?)", name, sg.best);
    else
        px_cfg_fail(ps, "unknown section [%s] (known sections: %s)", name, known);
}

/* `s`..`e`: the line from '[' on, comment and trailing blanks removed. */
static void px_cfg_section_line(px_cfg_parser *ps, const char *s, const char *e) {
    const char *close = memchr(s, ']', (size_t)(e - s));
    if (!close) {
        px_cfg_fail(ps, "section header without a closing \"]\"");
        return;
    }
    if (close + 1 != e) {
        px_cfg_fail(ps, "unexpected text after the section header: \"%.*s\"", (int)(e - close - 1),
                    close + 1);
        return;
    }
    const char *b = s + 1;
    while (b < close && px_cfg_is_blank(*b)) b++;
    while (close > b && px_cfg_is_blank(close[-1])) close--;
    size_t n = (size_t)(close - b);
    if (n == 0) {
        px_cfg_fail(ps, "empty section name \"[]\"");
        return;
    }
    if (n >= sizeof ps->sec_name) n = sizeof ps->sec_name - 1; /* cannot happen: line limit */
    char name[PX_CFG_LINE_MAX];
    memcpy(name, b, n);
    name[n] = 0;

    const px_cfg_section_def *def = NULL;
    for (int i = 0; i < PX_CFG_N_SECTIONS && !def; i++) {
        const px_cfg_section_def *d = &px_cfg_sections[i];
        size_t dl = strlen(d->name);
        if (d->prefix ? strncmp(name, d->name, dl) == 0 : strcmp(name, d->name) == 0) def = d;
    }
    if (!def && strcmp(name, "plugin") == 0) {
        px_cfg_fail(ps, "section [plugin] needs a plugin name: [plugin.<name>]");
        return;
    }
    if (!def) {
        px_cfg_unknown_section(ps, name);
        return;
    }
    if (def->prefix && !px_cfg_plugin_name_ok(name + strlen(def->name), n - strlen(def->name))) {
        px_cfg_fail(ps, "section [%s]: \"%s\" is not a valid plugin name (%s; at most 63)", name,
                    name + strlen(def->name), px_cfg_name_help);
        return;
    }
    px_config *cfg = ps->cfg;
    for (int32_t i = 0; i < cfg->n_origins; i++) {
        if (!cfg->origins[i].key && strcmp(cfg->origins[i].section, name) == 0) {
            px_cfg_fail(ps, "duplicate section [%s] (first on line %d)", name,
                        (int)cfg->origins[i].line);
            return;
        }
    }
    memcpy(ps->sec_name, name, n + 1);
    ps->sec = def;
    ps->sec_origin = cfg->n_origins;
    ps->plugin = -1;
    if (!px_cfg_add_origin(ps, NULL)) return;
    if (def->prefix) {
        if (cfg->n_plugin_sections == PX_CFG_MAX_PLUGIN_SECTIONS) {
            px_cfg_fail(ps, "too many [plugin.<name>] sections (at most %d)",
                        PX_CFG_MAX_PLUGIN_SECTIONS);
            return;
        }
        px_cfg_plugin *pl = px_cfg_grow(ps, cfg->plugin_sections, cfg->n_plugin_sections,
                                        &ps->cap_plugins, sizeof *pl);
        if (!pl) return;
        cfg->plugin_sections = pl;
        pl += cfg->n_plugin_sections;
        memset(pl, 0, sizeof *pl);
        memcpy(pl->name, name + strlen(def->name), n - strlen(def->name) + 1);
        pl->section.struct_size = sizeof pl->section;
        ps->plugin = cfg->n_plugin_sections++;
        ps->kv = NULL;
        ps->cap_kv = 0;
    }
}

/* ---- fixed keys --------------------------------------------------------------- */

static void px_cfg_set_int(px_cfg_parser *ps, const px_cfg_key_def *kd, const char *value) {
    int64_t v;
    if (px_cfg_parse_i64(value, &v) && v >= kd->lo && v <= kd->hi) {
        *(int32_t *)((char *)ps->cfg + kd->field) = (int32_t)v;
    } else if (kd->hi >= INT32_MAX) {
        px_cfg_key_fail(ps, "expected an integer >= %lld, got \"%s\"", (long long)kd->lo, value);
    } else {
        px_cfg_key_fail(ps, "expected an integer from %lld to %lld, got \"%s\"", (long long)kd->lo,
                        (long long)kd->hi, value);
    }
}

static void px_cfg_set_enum(px_cfg_parser *ps, const px_cfg_key_def *kd, const char *value) {
    char opts[256] = "";
    for (int32_t i = 0; kd->names[i]; i++) {
        if (strcmp(value, kd->names[i]) == 0) {
            *(int32_t *)((char *)ps->cfg + kd->field) = i;
            return;
        }
        size_t l = strlen(opts);
        snprintf(opts + l, sizeof opts - l, "%s%s", i ? ", " : "", kd->names[i]);
    }
    px_cfg_key_fail(ps, "expected one of %s, got \"%s\"", opts, value);
}

/* Report a bad size; returns 0 unless `r` is PX_SIZE_OK. */
static int px_cfg_size_ok(px_cfg_parser *ps, px_cfg_size_result r, const char *value) {
    switch (r) {
    case PX_SIZE_OK: return 1;
    case PX_SIZE_RANGE: px_cfg_key_fail(ps, "size \"%s\" is too large", value); break;
    case PX_SIZE_DECIMALS:
        px_cfg_key_fail(ps, "size \"%s\" has more than 6 decimals", value);
        break;
    case PX_SIZE_SYNTAX:
        px_cfg_key_fail(ps, "expected %s, got \"%s\"", px_cfg_size_help, value);
        break;
    }
    return 0;
}

static void px_cfg_set_size(px_cfg_parser *ps, const px_cfg_key_def *kd, const char *value) {
    uint64_t v = 0;
    if (px_cfg_size_ok(ps, px_cfg_size(value, &v), value))
        *(uint64_t *)((char *)ps->cfg + kd->field) = v;
}

static void px_cfg_set_string(px_cfg_parser *ps, const px_cfg_key_def *kd, const char *value) {
    if (kd->type == PX_CFG_PATH_LIST) {
        if (!*value) return; /* empty: the default search path */
        for (const char *p = value;; p++) {
            if ((*p == ':' || *p == 0) && (p == value || p[-1] == ':')) {
                px_cfg_key_fail(ps, "empty directory in the list \"%s\"", value);
                return;
            }
            if (!*p) break;
        }
    }
    char *copy = px_strdup(value);
    if (!copy) {
        px_cfg_oom(ps);
        return;
    }
    *(char **)((char *)ps->cfg + kd->field) = copy;
}

static void px_cfg_set_list(px_cfg_parser *ps, const px_cfg_key_def *kd, const char *value) {
    char(*list)[64] = (char(*)[64])((char *)ps->cfg + kd->field);
    int32_t *count = (int32_t *)((char *)ps->cfg + kd->count);
    int32_t n = 0;
    for (const char *p = value; *value;) {
        const char *comma = strchr(p, ','), *e = comma ? comma : p + strlen(p);
        while (p < e && px_cfg_is_blank(*p)) p++;
        while (e > p && px_cfg_is_blank(e[-1])) e--;
        if (p == e) {
            px_cfg_key_fail(ps, "empty entry in the list \"%s\"", value);
            return;
        }
        if (n == PX_CFG_MAX_LIST) {
            px_cfg_key_fail(ps, "too many entries (at most %d)", PX_CFG_MAX_LIST);
            return;
        }
        char item[PX_CFG_LINE_MAX], canon[64];
        size_t len = (size_t)(e - p);
        if (len >= sizeof item) len = sizeof item - 1; /* cannot happen: line limit */
        memcpy(item, p, len);
        item[len] = 0;
        if (kd->type == PX_CFG_DEVICE_LIST) {
            if (!px_config_device_id(item, NULL, NULL, canon)) {
                px_cfg_key_fail(ps, "\"%s\" is not a device id (%s)", item, px_cfg_device_help);
                return;
            }
        } else {
            if (!px_cfg_plugin_name_ok(item, len)) {
                px_cfg_key_fail(ps, "\"%s\" is not a plugin name (%s; at most 63)", item,
                                px_cfg_name_help);
                return;
            }
            memcpy(canon, item, len + 1);
        }
        for (int32_t i = 0; i < n; i++) {
            if (strcmp(list[i], canon) == 0) {
                px_cfg_key_fail(ps, "\"%s\" is listed twice", canon);
                return;
            }
        }
        memcpy(list[n++], canon, strlen(canon) + 1);
        if (!comma) break;
        p = comma + 1;
    }
    *count = n;
}

static void px_cfg_set_fixed(px_cfg_parser *ps, const px_cfg_key_def *kd, const char *value) {
    switch (kd->type) {
    case PX_CFG_INT: px_cfg_set_int(ps, kd, value); break;
    case PX_CFG_ENUM: px_cfg_set_enum(ps, kd, value); break;
    case PX_CFG_SIZE: px_cfg_set_size(ps, kd, value); break;
    case PX_CFG_STRING:
    case PX_CFG_PATH_LIST: px_cfg_set_string(ps, kd, value); break;
    case PX_CFG_NAME_LIST:
    case PX_CFG_DEVICE_LIST: px_cfg_set_list(ps, kd, value); break;
    }
}

static void px_cfg_unknown_key(px_cfg_parser *ps, const char *key) {
    const px_cfg_section_def *def = ps->sec;
    px_cfg_suggest sg = {key, NULL, 0};
    char known[512] = "";
    for (const px_cfg_key_def *kd = def->keys; kd && kd->name; kd++) {
        px_cfg_consider(&sg, kd->name);
        size_t l = strlen(known);
        snprintf(known + l, sizeof known - l, "%s%s", l ? ", " : "", kd->name);
    }
    if (def->entry_hint) {
        size_t l = strlen(known);
        snprintf(known + l, sizeof known - l, "%s%s", l ? ", " : "", def->entry_hint);
    }
    if (sg.best)
        px_cfg_fail(ps, "[%s] unknown key \"%s\" (did you mean \"%s\"?)", ps->sec_name, key, sg.best);
    else
        px_cfg_fail(ps, "[%s] unknown key \"%s\" (known keys: %s)", ps->sec_name, key, known);
}

/* ---- keys that are names ------------------------------------------------------- */

/* Parse op name `name`; an unknown one is reported against the current key. */
static px_op px_cfg_op(px_cfg_parser *ps, const char *name) {
    px_op op = px_op_from_name(name);
    if (op != PX_OP_INVALID) return op;
    px_cfg_suggest sg = {name, NULL, 0};
    for (int i = 1; i < PX_OP_COUNT; i++) px_cfg_consider(&sg, px_op_name((px_op)i));
    if (sg.best)
        px_cfg_key_fail(ps, "unknown op \"%s\" (did you mean \"%s\"?)", name, sg.best);
    else
        px_cfg_key_fail(ps, "unknown op \"%s\" (the op names are listed in docs/config.md)", name);
    return PX_OP_INVALID;
}

static int px_cfg_op_key(px_cfg_parser *ps, const char *key, char *canon) {
    if (strncmp(key, "op.", 3) != 0) {
        px_cfg_unknown_key(ps, key);
        return 0;
    }
    px_op op = px_cfg_op(ps, key + 3);
    if (op == PX_OP_INVALID) return 0;
    snprintf(canon, PX_CFG_LINE_MAX, "op.%s", px_op_name(op));
    return 1;
}

static void px_cfg_op_set(px_cfg_parser *ps, const char *canon, const char *value) {
    px_config *cfg = ps->cfg;
    px_cfg_op_device d;
    memset(&d, 0, sizeof d);
    d.op = px_op_from_name(canon + 3);
    if (!px_config_device_id(value, NULL, NULL, d.device)) {
        px_cfg_key_fail(ps, "\"%s\" is not a device id (%s)", value, px_cfg_device_help);
        return;
    }
    px_cfg_op_device *a = px_cfg_grow(ps, cfg->op_devices, cfg->n_op_devices,
                                      &ps->cap_op_devices, sizeof *a);
    if (!a) return;
    cfg->op_devices = a;
    a[cfg->n_op_devices++] = d;
}

static int px_cfg_budget_key(px_cfg_parser *ps, const char *key, char *canon) {
    if (!px_config_device_id(key, NULL, NULL, canon)) {
        px_cfg_key_fail(ps, "keys of [memory] are device ids (%s)", px_cfg_device_help);
        return 0;
    }
    return 1;
}

static void px_cfg_budget_set(px_cfg_parser *ps, const char *canon, const char *value) {
    px_config *cfg = ps->cfg;
    px_cfg_budget b;
    memset(&b, 0, sizeof b);
    memcpy(b.device, canon, strlen(canon) + 1);
    if (!px_cfg_size_ok(ps, px_cfg_size(value, &b.bytes), value)) return;
    if (b.bytes == 0) {
        px_cfg_key_fail(ps, "a budget must be more than 0 bytes (leave a device out of [order] "
                            "to not use it)");
        return;
    }
    if (cfg->n_budgets == PX_CFG_MAX_BUDGETS) {
        px_cfg_key_fail(ps, "too many devices in [memory] (at most %d)", PX_CFG_MAX_BUDGETS);
        return;
    }
    px_cfg_budget *a = px_cfg_grow(ps, cfg->budgets, cfg->n_budgets, &ps->cap_budgets, sizeof *a);
    if (!a) return;
    cfg->budgets = a;
    a[cfg->n_budgets++] = b;
}

static int px_cfg_kernel_key(px_cfg_parser *ps, const char *key, char *canon) {
    px_op op = px_cfg_op(ps, key);
    if (op == PX_OP_INVALID) return 0;
    snprintf(canon, PX_CFG_LINE_MAX, "%s", px_op_name(op));
    return 1;
}

static void px_cfg_kernel_set(px_cfg_parser *ps, const char *canon, const char *value) {
    px_config *cfg = ps->cfg;
    px_cfg_kernel k;
    memset(&k, 0, sizeof k);
    k.op = px_op_from_name(canon);
    const char *colon = strchr(value, ':');
    size_t lp = colon ? (size_t)(colon - value) : 0, lk = colon ? strlen(colon + 1) : 0;
    if (!colon || !px_cfg_plugin_name_ok(value, lp) || !px_cfg_word_ok(colon + 1, lk, 63)) {
        px_cfg_key_fail(ps, "expected <plugin>:<kernel> (e.g. cpu:matmul_avx2; the kernel name "
                            "is letters, digits, '_', '.', '-'), got \"%s\"", value);
        return;
    }
    memcpy(k.plugin, value, lp);
    memcpy(k.kernel, colon + 1, lk + 1);
    px_cfg_kernel *a = px_cfg_grow(ps, cfg->kernels, cfg->n_kernels, &ps->cap_kernels, sizeof *a);
    if (!a) return;
    cfg->kernels = a;
    a[cfg->n_kernels++] = k;
}

static int px_cfg_plugin_key(px_cfg_parser *ps, const char *key, char *canon) {
    if (!px_cfg_word_ok(key, strlen(key), 255)) {
        px_cfg_key_fail(ps, "keys of plugin sections are letters, digits, '_', '.' and '-' "
                            "(at most 255)");
        return 0;
    }
    if (ps->cfg->plugin_sections[ps->plugin].section.n == PX_CFG_MAX_PLUGIN_KEYS) {
        px_cfg_key_fail(ps, "too many keys in [%s] (at most %d)", ps->sec_name,
                        PX_CFG_MAX_PLUGIN_KEYS);
        return 0;
    }
    memcpy(canon, key, strlen(key) + 1);
    return 1;
}

static void px_cfg_plugin_set(px_cfg_parser *ps, const char *canon, const char *value) {
    px_cfg_plugin *pl = &ps->cfg->plugin_sections[ps->plugin];
    px_config_kv *kv = px_cfg_grow(ps, ps->kv, pl->section.n, &ps->cap_kv, sizeof *kv);
    if (!kv) return;
    ps->kv = kv;
    pl->section.kv = kv;
    size_t lk = strlen(canon) + 1, lv = strlen(value) + 1;
    char *mem = px_malloc(lk + lv);
    if (!mem) {
        px_cfg_oom(ps);
        return;
    }
    memcpy(mem, canon, lk);
    memcpy(mem + lk, value, lv);
    kv += pl->section.n;
    memset(kv, 0, sizeof *kv);
    kv->key = mem;
    kv->value = mem + lk;
    if (px_cfg_parse_i64(value, &kv->i)) {
        kv->is_int = 1;
        kv->is_float = 1;
        kv->f = (double)kv->i;
    } else if (px_cfg_parse_f64(value, &kv->f)) {
        kv->is_float = 1;
    }
    pl->section.n++;
}

/* ---- inih callbacks ------------------------------------------------------------ */

#if INI_HANDLER_LINENO
static int px_cfg_on_kv(void *user, const char *section, const char *name, const char *value,
                        int lineno) {
    (void)lineno;
#else
static int px_cfg_on_kv(void *user, const char *section, const char *name, const char *value) {
#endif
    (void)section; /* ours is in ps->sec_name, never truncated */
    px_cfg_parser *ps = user;
    if (ps->status != PX_OK) return 0;
    char key[PX_CFG_LINE_MAX], canon[PX_CFG_LINE_MAX];
    size_t n = strlen(name);
    if (n >= sizeof key) n = sizeof key - 1; /* cannot happen: line limit */
    for (size_t i = 0; i < n; i++) key[i] = name[i] == PX_CFG_KEY_MASK ? ':' : name[i];
    key[n] = 0;
    ps->key = key;
    if (!ps->sec) {
        px_cfg_fail(ps, "key \"%s\" before any [section]", key);
        return 0;
    }
    if (!*key) {
        px_cfg_fail(ps, "[%s] missing key before \"=\"", ps->sec_name);
        return 0;
    }
    const px_cfg_key_def *kd = NULL;
    for (const px_cfg_key_def *k = ps->sec->keys; k && k->name && !kd; k++)
        if (strcmp(k->name, key) == 0) kd = k;
    if (kd) {
        memcpy(canon, key, n + 1);
    } else if (!ps->sec->entry_key) {
        px_cfg_unknown_key(ps, key);
        return 0;
    } else if (!ps->sec->entry_key(ps, key, canon)) {
        return 0;
    }
    const px_config *cfg = ps->cfg;
    for (int32_t i = ps->sec_origin + 1; i < cfg->n_origins; i++) {
        if (strcmp(cfg->origins[i].key, canon) == 0) {
            px_cfg_key_fail(ps, "duplicate key (first set on line %d)", (int)cfg->origins[i].line);
            return 0;
        }
    }
    if (kd)
        px_cfg_set_fixed(ps, kd, value);
    else
        ps->sec->entry_set(ps, canon, value);
    if (ps->status == PX_OK) px_cfg_add_origin(ps, canon);
    return ps->status == PX_OK;
}

/* inih's reader: one physical line per call (so inih counts lines as we
 * do), reduced to "key = value\n" or "\n". NULL ends the parse. */
static char *px_cfg_read_line(char *buf, int num, void *stream) {
    px_cfg_parser *ps = stream;
    if (ps->status != PX_OK || ps->p >= ps->end || num < 3) return NULL;
    const char *s = ps->p, *nl = memchr(s, '\n', (size_t)(ps->end - s));
    const char *e = nl ? nl : ps->end;
    ps->p = nl ? nl + 1 : ps->end;
    ps->line++;
    if (e > s && e[-1] == '\r') e--;
    if (ps->line == 1 && e - s >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3;
    for (const char *q = s; q < e; q++) {
        unsigned char c = (unsigned char)*q;
        if (c == 0) {
            px_cfg_fail(ps, "NUL byte (not a text file?)");
            return NULL;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            px_cfg_fail(ps, "control character 0x%02x (not a text file?)", c);
            return NULL;
        }
    }
    while (s < e && px_cfg_is_blank(*s)) s++;
    for (const char *q = s; q < e; q++) {
        if ((*q == ';' || *q == '#') && (q == s || px_cfg_is_blank(q[-1]))) {
            e = q;
            break;
        }
    }
    while (e > s && px_cfg_is_blank(e[-1])) e--;
    buf[0] = '\n';
    buf[1] = 0;
    if (s == e) return buf;
    if (*s == '[') {
        px_cfg_section_line(ps, s, e);
        return ps->status == PX_OK ? buf : NULL;
    }
    const char *eq = memchr(s, '=', (size_t)(e - s));
    if (!eq) {
        px_cfg_fail(ps, "expected \"key = value\", a [section] or a comment, got \"%.*s\"",
                    (int)(e - s), s);
        return NULL;
    }
    size_t n = (size_t)(e - s), max = (size_t)num - 2;
    if (max > PX_CFG_LINE_MAX - 2) max = PX_CFG_LINE_MAX - 2;
    if (n > max) {
        px_cfg_fail(ps, "line too long (%zu characters; at most %zu without comments)", n, max);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) buf[i] = (s + i < eq && s[i] == ':') ? PX_CFG_KEY_MASK : s[i];
    buf[n] = '\n';
    buf[n + 1] = 0;
    return buf;
}

/* ---- public API ---------------------------------------------------------------- */

static px_status px_cfg_new(const char *path, px_config **out_cfg) {
    px_config *cfg = px_calloc(1, sizeof *cfg);
    if (!cfg) return PX_ERR_NO_MEMORY;
    cfg->path = px_strdup(path);
    if (!cfg->path) {
        free(cfg);
        return PX_ERR_NO_MEMORY;
    }
    for (int i = 0; i < PX_CFG_N_SECTIONS; i++)
        for (const px_cfg_key_def *kd = px_cfg_sections[i].keys; kd && kd->name; kd++)
            if (kd->type == PX_CFG_INT || kd->type == PX_CFG_ENUM)
                *(int32_t *)((char *)cfg + kd->field) = (int32_t)kd->unset;
    *out_cfg = cfg;
    return PX_OK;
}

void px_config_free(px_config *cfg) {
    if (!cfg) return;
    for (int i = 0; i < PX_CFG_N_SECTIONS; i++)
        for (const px_cfg_key_def *kd = px_cfg_sections[i].keys; kd && kd->name; kd++)
            if (kd->type == PX_CFG_STRING || kd->type == PX_CFG_PATH_LIST)
                free(*(char **)((char *)cfg + kd->field));
    for (int32_t i = 0; i < cfg->n_plugin_sections; i++) {
        const px_config_section *s = &cfg->plugin_sections[i].section;
        for (int32_t j = 0; j < s->n; j++) free((void *)s->kv[j].key); /* key and value */
        free((void *)s->kv);
    }
    for (int32_t i = 0; i < cfg->n_origins; i++) free(cfg->origins[i].section); /* and key */
    free(cfg->origins);
    free(cfg->plugin_sections);
    free(cfg->kernels);
    free(cfg->budgets);
    free(cfg->op_devices);
    free(cfg->path);
    free(cfg);
}

px_status px_config_empty(px_config **out_cfg) {
    if (!out_cfg) return px_set_error(PX_ERR_INVALID_ARG, "px_config_empty: out_cfg is NULL");
    *out_cfg = NULL;
    return px_cfg_new("<defaults>", out_cfg);
}

px_status px_config_parse(const char *text, size_t len, const char *name, px_config **out_cfg) {
    if (!out_cfg) return px_set_error(PX_ERR_INVALID_ARG, "px_config_parse: out_cfg is NULL");
    *out_cfg = NULL;
    if (!text && len) return px_set_error(PX_ERR_INVALID_ARG, "px_config_parse: text is NULL");
    if (!name) name = "<string>";
    if (len > PX_CFG_MAX_FILE_BYTES)
        return px_set_error(PX_ERR_CONFIG, "%s: file too large (%zu bytes; at most %u)", name, len,
                            PX_CFG_MAX_FILE_BYTES);
    if (!len) text = "";
    px_config *cfg = NULL;
    px_status st = px_cfg_new(name, &cfg);
    if (st != PX_OK) {
        px_error_prefix("%s", name);
        return st;
    }
    px_cfg_parser ps;
    memset(&ps, 0, sizeof ps);
    ps.cfg = cfg;
    ps.name = cfg->path;
    ps.p = text;
    ps.end = text + len;
    ps.plugin = -1;
    int rc = ini_parse_stream(px_cfg_read_line, &ps, px_cfg_on_kv, &ps);
    if (ps.status == PX_OK && rc == -2) {
        ps.status = px_set_error(PX_ERR_NO_MEMORY, "%s: out of memory in the ini parser", name);
    } else if (ps.status == PX_OK && rc != 0) { /* our reader leaves inih nothing to reject */
        ps.status = px_set_error(PX_ERR_CONFIG, "%s:%d: syntax error", name, rc);
    }
    if (ps.status != PX_OK) {
        px_config_free(cfg);
        return ps.status;
    }
    *out_cfg = cfg;
    return PX_OK;
}

px_status px_config_load(const char *path, px_config **out_cfg) {
    if (!out_cfg) return px_set_error(PX_ERR_INVALID_ARG, "px_config_load: out_cfg is NULL");
    *out_cfg = NULL;
    if (!path) return px_set_error(PX_ERR_INVALID_ARG, "px_config_load: path is NULL");
    FILE *f = fopen(path, "rb");
    if (!f) return px_set_error(PX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = px_malloc(cap);
    px_status st = buf ? PX_OK : PX_ERR_NO_MEMORY;
    while (st == PX_OK) {
        if (n == cap) {
            if (cap > PX_CFG_MAX_FILE_BYTES) {
                st = px_set_error(PX_ERR_CONFIG, "%s: file too large (more than %u bytes)", path,
                                  PX_CFG_MAX_FILE_BYTES);
                break;
            }
            size_t ncap = cap * 2 > PX_CFG_MAX_FILE_BYTES ? PX_CFG_MAX_FILE_BYTES + 1 : cap * 2;
            char *nb = px_realloc_array(buf, ncap, 1);
            if (!nb) {
                st = PX_ERR_NO_MEMORY;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) st = px_set_error(PX_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st == PX_ERR_NO_MEMORY) px_error_prefix("%s", path);
    if (st == PX_OK) st = px_config_parse(buf, n, path, out_cfg);
    free(buf);
    return st;
}

const px_config_section *px_config_plugin_section(const px_config *cfg, const char *plugin) {
    static const px_config_section empty = {sizeof(px_config_section), 0, NULL};
    for (int32_t i = 0; cfg && plugin && i < cfg->n_plugin_sections; i++)
        if (strcmp(cfg->plugin_sections[i].name, plugin) == 0) return &cfg->plugin_sections[i].section;
    return &empty;
}

uint64_t px_config_budget(const px_config *cfg, const char *device) {
    char canon[64];
    if (!cfg || !device || !px_config_device_id(device, NULL, NULL, canon)) return 0;
    for (int32_t i = 0; i < cfg->n_budgets; i++)
        if (strcmp(cfg->budgets[i].device, canon) == 0) return cfg->budgets[i].bytes;
    return 0;
}

int32_t px_config_line(const px_config *cfg, const char *section, const char *key) {
    for (int32_t i = 0; cfg && section && i < cfg->n_origins; i++) {
        const px_cfg_origin *o = &cfg->origins[i];
        if (strcmp(o->section, section) != 0) continue;
        if (key ? (o->key && strcmp(o->key, key) == 0) : !o->key) return o->line;
    }
    return 0;
}

px_status px_config_parse_size(const char *text, uint64_t *out_bytes) {
    if (!text || !out_bytes) return px_set_error(PX_ERR_INVALID_ARG, "px_config_parse_size: NULL");
    switch (px_cfg_size(text, out_bytes)) {
    case PX_SIZE_OK: return PX_OK;
    case PX_SIZE_RANGE: return px_set_error(PX_ERR_RANGE, "size \"%s\" is too large", text);
    case PX_SIZE_DECIMALS:
        return px_set_error(PX_ERR_CONFIG, "size \"%s\" has more than 6 decimals", text);
    case PX_SIZE_SYNTAX: break;
    }
    return px_set_error(PX_ERR_CONFIG, "expected %s, got \"%s\"", px_cfg_size_help, text);
}

int px_config_device_id(const char *id, char out_plugin[64], int32_t *out_index,
                        char out_canonical[64]) {
    if (!id) return 0;
    const char *colon = strchr(id, ':');
    size_t n = colon ? (size_t)(colon - id) : strlen(id);
    int32_t index = 0;
    if (!px_cfg_plugin_name_ok(id, n)) return 0;
    if (colon) {
        const char *p = colon + 1;
        if (!*p) return 0;
        for (; *p; p++) {
            if (!px_cfg_is_digit(*p)) return 0;
            index = index * 10 + (*p - '0');
            if (index > PX_CFG_MAX_DEVICE_INDEX) return 0;
        }
    }
    char canon[80];
    if (index)
        snprintf(canon, sizeof canon, "%.*s:%d", (int)n, id, (int)index);
    else
        snprintf(canon, sizeof canon, "%.*s", (int)n, id);
    if (strlen(canon) > 63) return 0;
    if (out_plugin) {
        memcpy(out_plugin, id, n);
        out_plugin[n] = 0;
    }
    if (out_index) *out_index = index;
    if (out_canonical) memcpy(out_canonical, canon, strlen(canon) + 1);
    return 1;
}

int px_config_device_is(const char *id, const char *plugin, int32_t index) {
    char p[64];
    int32_t i;
    return plugin && px_config_device_id(id, p, &i, NULL) && i == index && strcmp(p, plugin) == 0;
}
