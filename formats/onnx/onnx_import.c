/* ONNX -> Plexus IR: value table, constants, input shapes from the build
 * options, the node loop and the graph outputs (see onnx_import.h). */
#include "onnx_import.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plexus/dtype.h"
#include "plexus/plexus.h"

struct ox_ctx {
    const char *path;
    const onx_model *m;
    const px_config_section *opts;
    px_graph *g;
    onx_arena *a;
    int64_t opset;
    int depth; /* subgraph nesting */
    int64_t n_imported; /* ONNX nodes imported, unrolled bodies counted each time */
    int trace; /* PLEXUS_ONNX_TRACE=1: one line per imported node on stderr */
    ox_external_fn ext;
    void *ext_ud;
    /* name -> value: open addressing, power-of-two capacity */
    ox_val **slots;
    uint64_t cap, used;
    int n_const;
};

const char *ox_path(const ox_ctx *c) { return c->path; }
px_graph *ox_graph(ox_ctx *c) { return c->g; }
onx_arena *ox_arena(ox_ctx *c) { return c->a; }
int64_t ox_opset(const ox_ctx *c) { return c->opset; }

px_status ox_fail(ox_ctx *c, const onx_node *n, px_status st, const char *fmt, ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n) return ox_host->set_error(st, "%s: node '%s' (%s): %s", c->path, n->name, n->op_type, msg);
    return ox_host->set_error(st, "%s: %s", c->path, msg);
}

/* ---- value table ------------------------------------------------------------------ */

static uint64_t hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static ox_val *lookup(ox_ctx *c, const char *name) {
    if (!c->cap) return NULL;
    for (uint64_t i = hash(name) & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
        ox_val *v = c->slots[i];
        if (!v) return NULL;
        if (strcmp(v->name, name) == 0) return v;
    }
}

/* Insert or replace (a later definition of a name shadows an earlier one:
 * graph inputs listed again as initializers, or subgraph scopes). */
static ox_val *define(ox_ctx *c, const char *name) {
    if ((c->used + 1) * 2 > c->cap) {
        uint64_t ncap = c->cap ? c->cap * 2 : 256;
        ox_val **ns = calloc(ncap, sizeof *ns);
        if (!ns) return NULL;
        for (uint64_t i = 0; i < c->cap; i++) {
            ox_val *v = c->slots[i];
            if (!v) continue;
            uint64_t j = hash(v->name) & (ncap - 1);
            while (ns[j]) j = (j + 1) & (ncap - 1);
            ns[j] = v;
        }
        free(c->slots);
        c->slots = ns;
        c->cap = ncap;
    }
    uint64_t i = hash(name) & (c->cap - 1);
    while (c->slots[i] && strcmp(c->slots[i]->name, name) != 0) i = (i + 1) & (c->cap - 1);
    ox_val *v = onx_alloc(c->a, sizeof *v);
    if (!v) return NULL;
    size_t nl = strlen(name);
    char *nm = onx_alloc(c->a, nl + 1);
    if (!nm) return NULL;
    memcpy(nm, name, nl);
    v->name = nm;
    v->v = PX_NONE;
    if (!c->slots[i]) c->used++;
    c->slots[i] = v;
    return v;
}

/* ---- small helpers ------------------------------------------------------------------ */

int32_t ox_axis(int64_t axis, int32_t rank) {
    if (axis < 0) axis += rank;
    return axis < 0 || axis >= rank ? -1 : (int32_t)axis;
}

int64_t ox_numel(int32_t rank, const int64_t *ne) { /* saturates at INT64_MAX */
    int64_t n = 1;
    for (int32_t i = 0; i < rank; i++) {
        if (ne[i] < 0) return -1;
        if (ne[i] && n > INT64_MAX / ne[i]) return INT64_MAX;
        n *= ne[i];
    }
    return n;
}

int ox_is_float(px_dtype t) { return t == PX_F32 || t == PX_F16 || t == PX_BF16 || t == PX_F64; }
int ox_is_int(px_dtype t) { return t >= PX_I8 && t <= PX_U64; }

const onx_attr *ox_attr(const onx_node *n, const char *name) {
    for (int32_t i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

int64_t ox_attr_i(const onx_node *n, const char *name, int64_t def) {
    const onx_attr *a = ox_attr(n, name);
    if (!a) return def;
    if (a->type == ONX_ATTR_FLOAT) return (int64_t)a->f;
    return a->i;
}

double ox_attr_f(const onx_node *n, const char *name, double def) {
    const onx_attr *a = ox_attr(n, name);
    if (!a) return def;
    if (a->type == ONX_ATTR_INT) return (double)a->i;
    return a->f;
}

int32_t ox_attr_ints(const onx_node *n, const char *name, const int64_t **out) {
    const onx_attr *a = ox_attr(n, name);
    if (!a) return -1;
    if (a->type == ONX_ATTR_INT) {
        *out = &a->i;
        return 1;
    }
    *out = a->ints;
    return a->ints ? a->n : 0;
}

const char *ox_attr_s(ox_ctx *c, const onx_node *n, const char *name, const char *def) {
    const onx_attr *a = ox_attr(n, name);
    if (!a) return def;
    char *s = onx_alloc(c->a, a->s.n + 1);
    if (!s) return def;
    if (a->s.n) memcpy(s, a->s.p, a->s.n);
    return s;
}

int ox_has_out(const onx_node *n, int i) { return i < n->n_outputs && n->outputs[i][0] != 0; }

/* ---- inputs and outputs ----------------------------------------------------------- */

ox_val *ox_in(ox_ctx *c, const onx_node *n, int i) {
    if (i >= n->n_inputs || n->inputs[i][0] == 0) return NULL;
    return lookup(c, n->inputs[i]);
}

ox_val *ox_find(ox_ctx *c, const char *name) { return lookup(c, name); }

px_value ox_ir(ox_ctx *c, ox_val *v) {
    if (!v) return PX_NONE;
    if (v->is_seq) {
        ox_host->set_error(PX_ERR_UNSUPPORTED, "%s: '%s' is a %s, which only sequence ops can use", c->path, v->name,
                           v->is_seq == 1 ? "sequence" : "optional");
        return PX_NONE;
    }
    if (v->v != PX_NONE) return v->v;
    px_shape s = px_shape_make(v->rank, v->ne);
    if (v->is_input) return v->v = px_graph_input(c->g, v->name, v->dt, &s);
    size_t nb = (size_t)ox_numel(v->rank, v->ne) * onx_px_size(v->dt);
    char nm[48];
    snprintf(nm, sizeof nm, "onnx_const_%d", c->n_const++);
    /* Initializers are named after themselves; folded values get a made-up
     * name. Data is copied: it may live in the import arena. (Initializers
     * that are raw_data in the mapped file are borrowed: see below.) */
    int borrow = v->data && v->in_file;
    v->v = px_graph_constant(c->g, borrow ? v->name : nm, v->dt, &s, v->data, nb, borrow ? PX_CONST_BORROW : PX_CONST_COPY);
    return v->v;
}

px_value ox_in_ir(ox_ctx *c, const onx_node *n, int i) { return ox_ir(c, ox_in(c, n, i)); }

static px_status const_numbers(ox_ctx *c, const onx_node *n, const ox_val *v, const char *what, int want_f,
                               void **out, int64_t *count) {
    if (!v) return ox_fail(c, n, PX_ERR_INVALID_ARG, "input %s is missing", what);
    if (!v->data)
        return ox_fail(c, n, PX_ERR_UNSUPPORTED,
                       "input %s ('%s') must be known when the model is loaded (it is computed at run time); give "
                       "its value as a build option (input.%s = FILE.pb)", what, v->name, v->name);
    int64_t k = ox_numel(v->rank, v->ne);
    void *o = onx_alloc(c->a, (size_t)(k ? k : 1) * 8);
    if (!o) return ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory");
    if (!ox_is_float(v->dt) && !ox_is_int(v->dt) && v->dt != PX_BOOL)
        return ox_fail(c, n, PX_ERR_DTYPE, "input %s: dtype %s is not a number type", what, px_dtype_name(v->dt));
    if (px_convert(v->dt, v->data, want_f ? PX_F64 : PX_I64, o, k) != PX_OK)
        return ox_fail(c, n, PX_ERR_DTYPE, "input %s: cannot convert %s", what, px_dtype_name(v->dt));
    *out = o;
    *count = k;
    return PX_OK;
}

px_status ox_const_i64(ox_ctx *c, const onx_node *n, const ox_val *v, const char *what, int64_t **out, int64_t *count) {
    return const_numbers(c, n, v, what, 0, (void **)out, count);
}

px_status ox_const_f64(ox_ctx *c, const onx_node *n, const ox_val *v, const char *what, double **out, int64_t *count) {
    return const_numbers(c, n, v, what, 1, (void **)out, count);
}

static ox_val *new_out(ox_ctx *c, const onx_node *n, int i) {
    if (!ox_has_out(n, i)) return NULL;
    return define(c, n->outputs[i]);
}

void ox_shape(ox_ctx *c, px_value v, px_dtype *dt, int32_t *rank, int64_t *ne) {
    px_value_info vi;
    if (px_graph_value_info(c->g, v, &vi) != PX_OK) {
        *dt = PX_F32;
        *rank = 0;
        return;
    }
    *dt = vi.dtype;
    *rank = vi.shape.rank;
    for (int32_t d = 0; d < vi.shape.rank; d++) ne[d] = vi.shape.d[d].c;
}

px_status ox_out_ir(ox_ctx *c, const onx_node *n, int i, px_value v) {
    if (v == PX_NONE) {
        px_status st = px_graph_status(c->g);
        return ox_fail(c, n, st ? st : PX_ERR_INTERNAL, "%s", st ? px_graph_error_message(c->g) : "no value");
    }
    if (!ox_has_out(n, i)) return PX_OK;
    ox_val *o = new_out(c, n, i);
    if (!o) return ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory");
    o->v = v;
    ox_shape(c, v, &o->dt, &o->rank, o->ne);
    return PX_OK;
}

px_status ox_out_const(ox_ctx *c, const onx_node *n, int i, px_dtype dt, int32_t rank, const int64_t *ne,
                       const void *data) {
    if (!ox_has_out(n, i)) return PX_OK;
    if (rank > PX_MAX_DIMS) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "rank %d is above %d", rank, PX_MAX_DIMS);
    ox_val *o = new_out(c, n, i);
    size_t nb = (size_t)ox_numel(rank, ne) * onx_px_size(dt);
    void *d = onx_alloc(c->a, nb ? nb : 1);
    if (!o || !d) return ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory");
    if (nb) memcpy(d, data, nb);
    o->dt = dt;
    o->rank = rank;
    if (rank) memcpy(o->ne, ne, sizeof(int64_t) * (size_t)rank);
    o->data = d;
    return PX_OK;
}

px_status ox_out_alias(ox_ctx *c, const onx_node *n, int i, ox_val *src) {
    if (!ox_has_out(n, i)) return PX_OK;
    if (!src) return ox_fail(c, n, PX_ERR_INVALID_ARG, "input is missing");
    if (src->is_input && ox_ir(c, src) == PX_NONE) /* one IR input, however many names */
        return ox_fail(c, n, px_graph_status(c->g), "%s", px_graph_error_message(c->g));
    ox_val *o = new_out(c, n, i);
    if (!o) return ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory");
    const char *nm = o->name;
    *o = *src;
    o->name = nm;
    return PX_OK;
}

/* ---- IR helpers ------------------------------------------------------------------- */

px_value ox_node(ox_ctx *c, px_op op, const px_value *in, int32_t n_in, const px_attr *attrs, int32_t n_attrs) {
    return px_graph_node(c->g, op, in, n_in, attrs, n_attrs, NULL);
}
px_value ox_unary(ox_ctx *c, px_op op, px_value x) { return ox_node(c, op, &x, 1, NULL, 0); }
px_value ox_binary(ox_ctx *c, px_op op, px_value a, px_value b) {
    px_value in[2] = {a, b};
    return ox_node(c, op, in, 2, NULL, 0);
}
px_value ox_cast(ox_ctx *c, px_value x, px_dtype dt) {
    px_dtype cur;
    int32_t r;
    int64_t ne[PX_MAX_DIMS];
    ox_shape(c, x, &cur, &r, ne);
    if (x != PX_NONE && cur == dt) return x;
    px_attr a[] = {PX_ATTR_I("dtype", dt)};
    return ox_node(c, PX_OP_CAST, &x, 1, a, 1);
}
px_value ox_reshape(ox_ctx *c, px_value x, int32_t rank, const int64_t *ne) {
    px_shape s = px_shape_make(rank, ne);
    return px_graph_reshape(c->g, x, &s, NULL);
}
px_value ox_permute(ox_ctx *c, px_value x, int32_t rank, const int64_t *perm) {
    px_attr a[] = {PX_ATTR_INTS("perm", perm, rank)};
    return ox_node(c, PX_OP_PERMUTE, &x, 1, a, 1);
}
px_value ox_constant(ox_ctx *c, px_dtype dt, int32_t rank, const int64_t *ne, const void *data) {
    px_shape s = px_shape_make(rank, ne);
    char nm[48];
    snprintf(nm, sizeof nm, "onnx_const_%d", c->n_const++);
    return px_graph_constant(c->g, nm, dt, &s, data, (size_t)ox_numel(rank, ne) * onx_px_size(dt), PX_CONST_COPY);
}
px_value ox_zeros(ox_ctx *c, px_dtype dt, int32_t rank, const int64_t *ne) {
    px_value z = ox_scalar(c, dt, 0);
    if (rank == 0) return ox_unary(c, PX_OP_COPY, z);
    px_attr a[] = {PX_ATTR_INTS("shape", ne, rank)};
    return ox_node(c, PX_OP_EXPAND, &z, 1, a, 1);
}

px_value ox_scalar(ox_ctx *c, px_dtype dt, double v) {
    uint8_t buf[8];
    if (px_convert(PX_F64, &v, dt, buf, 1) != PX_OK) return PX_NONE;
    return ox_constant(c, dt, 0, NULL, buf);
}

/* ---- inputs from the build options --------------------------------------------------- */

static const char *opt(const ox_ctx *c, const char *prefix, const char *name) {
    if (!c->opts) return NULL;
    size_t pl = strlen(prefix);
    for (int32_t i = 0; i < c->opts->n; i++) {
        const char *k = c->opts->kv[i].key;
        if (strncmp(k, prefix, pl) == 0 && strcmp(k + pl, name) == 0) return c->opts->kv[i].value;
    }
    return NULL;
}

static px_status parse_dims(ox_ctx *c, const char *what, const char *s, int32_t *rank, int64_t *ne) {
    *rank = 0;
    while (*s) {
        char *e;
        long long d = strtoll(s, &e, 10);
        if (e == s || d < 0 || *rank >= PX_MAX_DIMS)
            return ox_fail(c, NULL, PX_ERR_CONFIG, "%s: '%s' is not a list of dims like 1,3,224,224", what, s);
        ne[(*rank)++] = d;
        s = e;
        while (*s == ',' || *s == 'x' || *s == ' ') s++;
    }
    return PX_OK;
}

static px_status read_file(ox_ctx *c, const char *path, uint8_t **out, uint64_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return ox_fail(c, NULL, PX_ERR_IO, "cannot open input file %s", path);
    uint8_t *b = NULL;
    size_t n = 0, cap = 0, got;
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *nb = onx_alloc(c->a, cap);
            if (!nb) {
                fclose(f);
                return ox_fail(c, NULL, PX_ERR_NO_MEMORY, "out of memory reading %s", path);
            }
            if (n) memcpy(nb, b, n);
            b = nb;
        }
        got = fread(b + n, 1, cap - n, f);
        n += got;
    } while (got);
    int bad = ferror(f);
    fclose(f);
    if (bad) return ox_fail(c, NULL, PX_ERR_IO, "cannot read %s", path);
    *out = b;
    *len = n;
    return PX_OK;
}

/* Shape (and contents) of graph input vi. */
static px_status setup_input(ox_ctx *c, const onx_value_info *vi, ox_val *v) {
    if (vi->kind != ONX_TYPE_TENSOR)
        return ox_fail(c, NULL, PX_ERR_UNSUPPORTED, "graph input '%s' is not a tensor (sequences, maps and optionals are not supported)", vi->name);
    int dt = onx_to_px_dtype(vi->elem_type);
    if (dt < 0)
        return ox_fail(c, NULL, PX_ERR_UNSUPPORTED, "graph input '%s' has element type %s, which Plexus does not support", vi->name,
                       onx_type_name(vi->elem_type));
    v->dt = (px_dtype)dt;
    v->is_input = 1;
    const char *file = opt(c, "input.", vi->name);
    const char *shape = opt(c, "shape.", vi->name);
    if (file) {
        uint8_t *buf = NULL;
        uint64_t len = 0;
        px_status st = read_file(c, file, &buf, &len);
        if (st) return st;
        onx_tensor t;
        char err[300];
        const void *data;
        uint64_t nb;
        if ((st = onx_decode_tensor(c->a, buf, len, &t, err, sizeof err)) ||
            (st = onx_tensor_data(c->a, &t, NULL, 0, &data, &nb, err, sizeof err)))
            return ox_fail(c, NULL, st, "input file %s: %s", file, err);
        if (t.data_type != vi->elem_type)
            return ox_fail(c, NULL, PX_ERR_DTYPE, "input file %s holds %s, graph input '%s' is %s", file,
                           onx_type_name(t.data_type), vi->name, onx_type_name(vi->elem_type));
        if (t.rank > PX_MAX_DIMS) return ox_fail(c, NULL, PX_ERR_UNSUPPORTED, "input file %s: rank %d is above %d", file, t.rank, PX_MAX_DIMS);
        v->rank = t.rank;
        memcpy(v->ne, t.dims, sizeof(int64_t) * (size_t)t.rank);
        v->data = data; /* known contents: usable where an op needs them at load */
    } else if (shape) {
        px_status st = parse_dims(c, vi->name, shape, &v->rank, v->ne);
        if (st) return st;
    } else {
        if (!vi->has_shape)
            return ox_fail(c, NULL, PX_ERR_CONFIG, "graph input '%s' has no shape in the model: give one (shape.%s = 1,3,224,224)",
                           vi->name, vi->name);
        if (vi->rank > PX_MAX_DIMS) return ox_fail(c, NULL, PX_ERR_UNSUPPORTED, "graph input '%s': rank %d is above %d", vi->name, vi->rank, PX_MAX_DIMS);
        v->rank = vi->rank;
        for (int32_t d = 0; d < vi->rank; d++) {
            if (vi->dims[d] >= 0 && !vi->params[d]) {
                v->ne[d] = vi->dims[d];
                continue;
            }
            const char *p = vi->params[d] ? opt(c, "dim.", vi->params[d]) : NULL;
            if (!p)
                return ox_fail(c, NULL, PX_ERR_CONFIG, "graph input '%s': dim %d is %s%s: give its size (%s%s = N, or shape.%s = ...)",
                               vi->name, d, vi->params[d] ? "named " : "unknown", vi->params[d] ? vi->params[d] : "",
                               vi->params[d] ? "dim." : "shape.", vi->params[d] ? vi->params[d] : vi->name, vi->name);
            char *e;
            long long x = strtoll(p, &e, 10);
            if (*e || x < 0) return ox_fail(c, NULL, PX_ERR_CONFIG, "dim.%s = '%s' is not a size", vi->params[d], p);
            v->ne[d] = x;
        }
    }
    int64_t cnt = ox_numel(v->rank, v->ne);
    if (cnt < 0 || cnt > ((int64_t)1 << 52))
        return ox_fail(c, NULL, PX_ERR_RANGE, "graph input '%s': its shape is too large", vi->name);
    return PX_OK; /* the IR input is made on first use (ox_ir): unused inputs need no data */
}

/* ---- op table ------------------------------------------------------------------------ */

/* Default-domain ops are listed by name, others as "domain.Op". */
static const ox_op *find_op(const onx_node *n) {
    int dflt = !n->domain[0] || !strcmp(n->domain, "ai.onnx");
    size_t dl = strlen(n->domain);
    const ox_op *tables[] = {ox_ops_elementwise, ox_ops_tensor, ox_ops_nn, ox_ops_quant, ox_ops_vision, ox_ops_attn, ox_ops_ctrl, ox_ops_misc, ox_ops_rnn, ox_ops_seq};
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const ox_op *o = tables[t]; o->op_type; o++) {
            if (dflt ? !strcmp(o->op_type, n->op_type)
                     : !strncmp(o->op_type, n->domain, dl) && o->op_type[dl] == '.' && !strcmp(o->op_type + dl + 1, n->op_type))
                return o;
        }
    return NULL;
}

static int64_t domain_opset(const onx_model *m, const char *domain) {
    for (int32_t i = 0; i < m->n_opsets; i++) {
        const char *d = m->opsets[i].domain;
        if (strcmp(d, domain) == 0 || (!domain[0] && strcmp(d, "ai.onnx") == 0)) return m->opsets[i].version;
    }
    return -1;
}

/* Every unsupported op of the graph and its subgraphs, named with its
 * domain and opset (each once). */
typedef struct bad_ops {
    char list[1024];
    size_t len;
    int n;
    const char *seen[64];
    const char *seen_dom[64];
} bad_ops;

static void collect_bad(ox_ctx *c, const onx_graph *g, bad_ops *b, int depth) {
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const onx_node *n = &g->nodes[i];
        for (int32_t k = 0; k < n->n_attrs && depth < 16; k++) {
            if (n->attrs[k].g) collect_bad(c, n->attrs[k].g, b, depth + 1);
            for (int32_t j = 0; j < n->attrs[k].n && n->attrs[k].graphs; j++) collect_bad(c, n->attrs[k].graphs[j], b, depth + 1);
        }
        if (find_op(n)) continue;
        int seen = 0;
        for (int j = 0; j < b->n && j < 64 && !seen; j++) seen = !strcmp(b->seen[j], n->op_type) && !strcmp(b->seen_dom[j], n->domain);
        if (seen) continue;
        if (b->n < 64) {
            b->seen[b->n] = n->op_type;
            b->seen_dom[b->n] = n->domain;
        }
        int64_t ver = domain_opset(c->m, n->domain);
        if (b->len < sizeof b->list - 1)
            b->len += (size_t)snprintf(b->list + b->len, sizeof b->list - b->len, "%s%s%s%s (opset %lld)", b->n ? ", " : "",
                                       n->domain[0] ? n->domain : "", n->domain[0] ? "." : "", n->op_type, (long long)ver);
        b->n++;
    }
}

static px_status check_ops(ox_ctx *c) {
    bad_ops b;
    memset(&b, 0, sizeof b);
    collect_bad(c, c->m->graph, &b, 0);
    if (b.n) return ox_fail(c, NULL, PX_ERR_UNSUPPORTED, "%d unsupported op%s: %s", b.n, b.n > 1 ? "s" : "", b.list);
    return PX_OK;
}

/* ---- the import ----------------------------------------------------------------------- */

/* The initializers of g become values known at import. */
static px_status add_initializers(ox_ctx *c, const onx_graph *g) {
    px_status st;
    if (g->n_sparse_inits) return ox_fail(c, NULL, PX_ERR_UNSUPPORTED, "sparse initializers are not supported");
    for (int32_t i = 0; i < g->n_inits; i++) {
        const onx_tensor *t = &g->inits[i];
        int dt = onx_to_px_dtype(t->data_type);
        if (dt < 0)
            return ox_fail(c, NULL, PX_ERR_UNSUPPORTED, "initializer '%s' has element type %s, which Plexus does not support", t->name,
                           onx_type_name(t->data_type));
        if (t->rank > PX_MAX_DIMS) return ox_fail(c, NULL, PX_ERR_UNSUPPORTED, "initializer '%s': rank %d is above %d", t->name, t->rank, PX_MAX_DIMS);
        const void *data;
        uint64_t nb;
        char err[400];
        const uint8_t *ext = NULL;
        uint64_t ext_len = 0;
        if (t->external) {
            if (!t->location) return ox_fail(c, NULL, PX_ERR_FORMAT, "initializer '%s' is external but has no location", t->name);
            if ((st = c->ext(c->ext_ud, t->location, &ext, &ext_len))) return st;
        }
        if ((st = onx_tensor_data(c->a, t, ext, ext_len, &data, &nb, err, sizeof err)))
            return ox_fail(c, NULL, st, "%s", err);
        ox_val *v = define(c, t->name);
        if (!v) return ox_fail(c, NULL, PX_ERR_NO_MEMORY, "out of memory");
        v->dt = (px_dtype)dt;
        v->rank = t->rank;
        memcpy(v->ne, t->dims, sizeof(int64_t) * (size_t)t->rank);
        v->data = data;
        /* borrowed only when the bytes are used in place (packed 4/2-bit
         * tensors are unpacked into the import arena) */
        v->in_file = (t->has_raw && data == (const void *)t->raw.p) ||
                     (t->external && (const uint8_t *)data >= ext && (const uint8_t *)data < ext + ext_len);
    }
    return PX_OK;
}

/* Import one node. */
static px_status add_node(ox_ctx *c, const onx_node *n) {
    px_status st;
    /* unrolled loops multiply nodes: a budget keeps a small file from
     * growing a graph without bound */
    if (++c->n_imported > 2000000)
        return ox_fail(c, n, PX_ERR_UNSUPPORTED, "the model unrolls to more than 2000000 nodes");
    for (int32_t k = 0; k < n->n_inputs; k++)
        if (n->inputs[k][0] && !lookup(c, n->inputs[k]))
            return ox_fail(c, n, PX_ERR_FORMAT, "input '%s' is not defined before the node", n->inputs[k]);
    const ox_op *op = find_op(n);
    if (!op) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "op %s%s%s is not supported", n->domain, n->domain[0] ? "." : "", n->op_type);
    if ((st = op->fn(c, n))) return st;
    if (c->trace) {
        fprintf(stderr, "onnx: %s %s(", n->name, n->op_type);
        for (int32_t k = 0; k < n->n_inputs; k++) {
            ox_val *v = lookup(c, n->inputs[k]);
            fprintf(stderr, "%s%s%s", k ? ", " : "", n->inputs[k], ox_known(v) ? "=known" : "");
        }
        fprintf(stderr, ") ->");
        for (int32_t k = 0; k < n->n_outputs; k++) {
            ox_val *v = lookup(c, n->outputs[k]);
            if (!v) continue;
            fprintf(stderr, " %s %s[", v->name, px_dtype_name(v->dt));
            for (int32_t d = 0; d < v->rank; d++) fprintf(stderr, "%s%lld", d ? "," : "", (long long)v->ne[d]);
            fprintf(stderr, "]%s", ox_known(v) ? " known" : "");
        }
        fprintf(stderr, "\n");
    }
    for (int32_t k = 0; k < n->n_outputs; k++)
        if (n->outputs[k][0] && !lookup(c, n->outputs[k]))
            return ox_fail(c, n, PX_ERR_UNSUPPORTED, "output %d ('%s') is not supported", k, n->outputs[k]);
    return PX_OK;
}

/* Import the nodes of g, in order; patterns that map to one composite IR op
 * are fused (onnx_fuse.c). */
static px_status add_nodes(ox_ctx *c, const onx_graph *g) {
    int32_t *role = onx_alloc(c->a, sizeof(int32_t) * (size_t)(g->n_nodes ? g->n_nodes : 1));
    ox_fusion *fs;
    int32_t nf; /* fusions planned */
    px_status st;
    if (!role) return ox_fail(c, NULL, PX_ERR_NO_MEMORY, "out of memory");
    if ((st = ox_fuse_plan(c, g, role, &fs, &nf))) return st;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        if (role[i] < 0) continue; /* imported with its fusion */
        if (role[i] > 0) {
            const ox_fusion *f = ox_fusion_at(fs, role[i] - 1);
            int done;
            if ((st = ox_fuse_emit(c, f, &done))) return st;
            if (done) {
                if (c->trace) fprintf(stderr, "onnx: %s fused into one IR op\n", g->nodes[i].name);
                continue;
            }
            const onx_node *const *nodes;
            int32_t k = ox_fuse_nodes(f, &nodes);
            for (int32_t j = 0; j < k; j++)
                if ((st = add_node(c, nodes[j]))) return st;
            continue;
        }
        if ((st = add_node(c, &g->nodes[i]))) return st;
    }
    return PX_OK;
}

px_status ox_run_subgraph(ox_ctx *c, const onx_node *n, const onx_graph *g, ox_val *const *inputs, int32_t n_inputs,
                          ox_val **outputs, int32_t n_outputs) {
    if (g->n_inputs != n_inputs || g->n_outputs != n_outputs)
        return ox_fail(c, n, PX_ERR_FORMAT, "subgraph '%s' has %d inputs and %d outputs, the op needs %d and %d", g->name,
                       g->n_inputs, g->n_outputs, n_inputs, n_outputs);
    if (++c->depth > 16) return ox_fail(c, n, PX_ERR_UNSUPPORTED, "subgraphs nested more than 16 deep");
    px_status st = add_initializers(c, g);
    for (int32_t i = 0; i < n_inputs && !st; i++) {
        ox_val *v = define(c, g->inputs[i].name);
        if (!v) st = ox_fail(c, n, PX_ERR_NO_MEMORY, "out of memory");
        else if (inputs[i]) {
            if (inputs[i]->is_input) ox_ir(c, inputs[i]);
            const char *nm = v->name;
            *v = *inputs[i];
            v->name = nm;
        } else {
            st = ox_fail(c, n, PX_ERR_UNSUPPORTED, "subgraph input '%s' has no value", g->inputs[i].name);
        }
    }
    if (!st) st = add_nodes(c, g);
    for (int32_t i = 0; i < n_outputs && !st; i++)
        if (!(outputs[i] = lookup(c, g->outputs[i].name)))
            st = ox_fail(c, n, PX_ERR_FORMAT, "subgraph output '%s' is never computed", g->outputs[i].name);
    c->depth--;
    return st;
}

static int produced_by_node(const onx_graph *g, const char *name) {
    for (int32_t i = 0; i < g->n_nodes; i++)
        for (int32_t k = 0; k < g->nodes[i].n_outputs; k++)
            if (!strcmp(g->nodes[i].outputs[k], name)) return 1;
    return 0;
}

static px_status run(ox_ctx *c) {
    const onx_graph *g = c->m->graph;
    px_status st;
    if ((st = check_ops(c)) || (st = add_initializers(c, g))) return st;
    for (int32_t i = 0; i < g->n_inputs; i++) {
        const onx_value_info *vi = &g->inputs[i];
        ox_val *known = lookup(c, vi->name);
        /* IR 3 models list initializers among the inputs: the initializer is
         * the value unless the caller gives this input. */
        if (known && !opt(c, "input.", vi->name) && !opt(c, "shape.", vi->name)) continue;
        if (produced_by_node(g, vi->name)) continue; /* listed as an input but computed (light models) */
        ox_val *v = define(c, vi->name);
        if (!v) return ox_fail(c, NULL, PX_ERR_NO_MEMORY, "out of memory");
        if ((st = setup_input(c, vi, v))) return st;
    }
    if ((st = add_nodes(c, g))) return st;
    if (g->n_outputs == 0) return ox_fail(c, NULL, PX_ERR_FORMAT, "the graph has no outputs");
    for (int32_t i = 0; i < g->n_outputs; i++) {
        ox_val *v = lookup(c, g->outputs[i].name);
        if (!v) return ox_fail(c, NULL, PX_ERR_FORMAT, "graph output '%s' is never computed", g->outputs[i].name);
        if (v->is_seq)
            return ox_fail(c, NULL, PX_ERR_UNSUPPORTED, "graph output '%s' is a %s: only tensors can be graph outputs",
                           g->outputs[i].name, v->is_seq == 1 ? "sequence" : "optional");
        px_value x = ox_ir(c, v);
        px_value_info vi;
        /* an output must be a node's own result: copy constants, inputs and
         * values that are already outputs under another name */
        if (x == PX_NONE || px_graph_value_info(c->g, x, &vi) != PX_OK)
            return ox_fail(c, NULL, px_graph_status(c->g), "%s", px_graph_error_message(c->g));
        if (vi.kind != PX_VALUE_INTERMEDIATE) x = ox_unary(c, PX_OP_COPY, x);
        if ((st = px_graph_mark_output(c->g, x, g->outputs[i].name)))
            return ox_fail(c, NULL, st, "output '%s': %s", g->outputs[i].name, px_last_error());
    }
    if ((st = px_graph_validate(c->g))) return ox_fail(c, NULL, st, "%s", px_graph_error_message(c->g));
    return PX_OK;
}

int ox_known(const ox_val *v) {
    if (!v || !v->data) return 0;
    /* graph inputs given with their contents: small integer vectors are
     * shapes and indices, folded like constants */
    return !v->is_input || (ox_is_int(v->dt) && ox_numel(v->rank, v->ne) <= 16);
}

int ox_all_const(ox_ctx *c, const onx_node *n) {
    for (int32_t i = 0; i < n->n_inputs; i++) {
        if (!n->inputs[i][0]) continue;
        if (!ox_known(lookup(c, n->inputs[i]))) return 0;
    }
    return 1;
}

px_status ox_import(const char *path, const onx_model *m, const px_config_section *options, ox_external_fn ext,
                    void *ext_ud, px_graph **out) {
    *out = NULL;
    ox_ctx c = {.path = path, .m = m, .opts = options, .ext = ext, .ext_ud = ext_ud};
    c.opset = domain_opset(m, "");
    const char *tr = getenv("PLEXUS_ONNX_TRACE");
    c.trace = tr && *tr && strcmp(tr, "0") != 0;
    if (c.opset < 0) c.opset = 1;
    if (!(c.a = onx_arena_create())) return ox_host->set_error(PX_ERR_NO_MEMORY, "%s: out of memory", path);
    px_status st = px_graph_create(&c.g);
    if (!st) st = run(&c);
    free(c.slots);
    onx_arena_destroy(c.a);
    if (st) {
        px_graph_destroy(c.g);
        return st;
    }
    *out = c.g;
    return PX_OK;
}
