/* The graph builder, validation, printing and introspection. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "plexus/dtype.h"

px_shape px_shape_make(int32_t rank, const int64_t *dims) {
    px_shape s;
    memset(&s, 0, sizeof s);
    s.rank = rank < 0 ? 0 : rank > PX_MAX_DIMS ? PX_MAX_DIMS : rank;
    for (int32_t i = 0; i < s.rank; i++) s.d[i] = px_dim_c(dims[i]);
    return s;
}

px_status px_graph_create(px_graph **out) {
    if (!out) return px_set_error(PX_ERR_INVALID_ARG, "px_graph_create: out is NULL");
    px_graph *g = px_calloc(1, sizeof *g);
    if (!g) return PX_ERR_NO_MEMORY;
    g->group = -1;
    *out = g;
    return PX_OK;
}

px_attr *px_attrs_copy(const px_attr *attrs, int32_t n) {
    px_attr *c = px_calloc((size_t)(n > 0 ? n : 1), sizeof *c);
    if (!c) return NULL;
    for (int32_t i = 0; i < n; i++) {
        c[i] = attrs[i];
        c[i].name = px_strdup(attrs[i].name ? attrs[i].name : "");
        int ok = c[i].name != NULL;
        if (attrs[i].type == PX_ATTR_INTS) {
            int64_t *p = px_calloc((size_t)(attrs[i].n > 0 ? attrs[i].n : 1), sizeof *p);
            if (p && attrs[i].n > 0) memcpy(p, attrs[i].u.ints, (size_t)attrs[i].n * sizeof *p);
            c[i].u.ints = p;
            ok = ok && p;
        } else if (attrs[i].type == PX_ATTR_FLOATS) {
            float *p = px_calloc((size_t)(attrs[i].n > 0 ? attrs[i].n : 1), sizeof *p);
            if (p && attrs[i].n > 0) memcpy(p, attrs[i].u.floats, (size_t)attrs[i].n * sizeof *p);
            c[i].u.floats = p;
            ok = ok && p;
        } else if (attrs[i].type == PX_ATTR_STRING) {
            c[i].u.s = px_strdup(attrs[i].u.s ? attrs[i].u.s : "");
            ok = ok && c[i].u.s;
        }
        if (!ok) {
            px_attrs_free(c, i + 1);
            return NULL;
        }
    }
    return c;
}

void px_attrs_free(px_attr *attrs, int32_t n) {
    if (!attrs) return;
    for (int32_t i = 0; i < n; i++) {
        free((void *)attrs[i].name);
        if (attrs[i].type == PX_ATTR_INTS) free((void *)attrs[i].u.ints);
        else if (attrs[i].type == PX_ATTR_FLOATS) free((void *)attrs[i].u.floats);
        else if (attrs[i].type == PX_ATTR_STRING) free((void *)attrs[i].u.s);
    }
    free(attrs);
}

void px_graph_destroy(px_graph *g) {
    if (!g) return;
    for (int32_t i = 0; i < g->n_values; i++) {
        free(g->values[i].name);
        free(g->values[i].owned);
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        px_node_rec *n = &g->nodes[i];
        free(n->name);
        free(n->in);
        free(n->out);
        px_attrs_free(n->attrs, n->n_attrs);
    }
    for (int32_t i = 0; i < g->n_syms; i++) free(g->syms[i].name);
    free(g->values);
    free(g->nodes);
    free(g->syms);
    free(g->error);
    free(g);
}

px_status px_graph_status(const px_graph *g) { return g ? g->status : PX_ERR_INVALID_ARG; }

const char *px_graph_error_message(const px_graph *g) {
    return g && g->error ? g->error : "";
}

px_value px_graph_fail(px_graph *g, px_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    px_set_errorv(st, fmt, ap);
    va_end(ap);
    if (g->status == PX_OK) {
        g->status = st;
        g->error = px_strdup(px_last_error());
    }
    return PX_NONE;
}

int32_t px_graph_add_sym(px_graph *g, const char *name, int64_t upper) {
    if (!g) return -1;
    if (!name || !*name) return px_graph_fail(g, PX_ERR_INVALID_ARG, "symbolic dim: empty name");
    if (upper < 1)
        return px_graph_fail(g, PX_ERR_INVALID_ARG, "symbolic dim '%s': upper bound %lld < 1", name,
                             (long long)upper);
    if (px_graph_find_sym(g, name) >= 0)
        return px_graph_fail(g, PX_ERR_INVALID_ARG, "symbolic dim '%s' declared twice", name);
    if (g->n_syms == g->cap_syms) {
        int32_t cap = g->cap_syms ? g->cap_syms * 2 : 4;
        px_sym_rec *s = px_realloc_array(g->syms, (size_t)cap, sizeof *s);
        if (!s) return px_graph_fail(g, PX_ERR_NO_MEMORY, "out of memory");
        g->syms = s;
        g->cap_syms = cap;
    }
    char *nm = px_strdup(name);
    if (!nm) return px_graph_fail(g, PX_ERR_NO_MEMORY, "out of memory");
    g->syms[g->n_syms].name = nm;
    g->syms[g->n_syms].upper = upper;
    return g->n_syms++;
}

int32_t px_graph_find_sym(const px_graph *g, const char *name) {
    if (!g || !name) return -1;
    for (int32_t i = 0; i < g->n_syms; i++)
        if (strcmp(g->syms[i].name, name) == 0) return i;
    return -1;
}

void px_graph_set_group(px_graph *g, int32_t group) {
    if (g) g->group = group < 0 ? -1 : group;
}

/* Check a shape handed in by the caller: rank, dims >= 0, symbols known. */
static px_status check_shape(px_graph *g, const px_shape *s, const char *what, const char *name,
                             int need_static) {
    if (!s) return px_graph_fail(g, PX_ERR_INVALID_ARG, "%s '%s': shape is NULL", what, name), g->status;
    if (s->rank < 0 || s->rank > PX_MAX_DIMS)
        return px_graph_fail(g, PX_ERR_SHAPE, "%s '%s': rank %d outside 0..%d", what, name, s->rank,
                             PX_MAX_DIMS),
               g->status;
    for (int32_t i = 0; i < s->rank; i++) {
        px_dim d = s->d[i];
        if (d.sym >= 0) {
            if (need_static)
                return px_graph_fail(g, PX_ERR_SHAPE, "%s '%s': dim %d must be static", what, name, i),
                       g->status;
            if (d.sym >= g->n_syms || d.k < 1 || d.c < 0)
                return px_graph_fail(g, PX_ERR_SHAPE, "%s '%s': dim %d has an undeclared symbol or bad factor",
                                     what, name, i),
                       g->status;
        } else if (d.c < 0) {
            return px_graph_fail(g, PX_ERR_SHAPE, "%s '%s': dim %d is negative (%lld)", what, name, i,
                                 (long long)d.c),
                   g->status;
        }
    }
    return PX_OK;
}

static px_value add_value(px_graph *g, const char *name, px_value_kind kind, px_dtype dtype,
                          const px_shape *shape, int32_t producer) {
    if (g->n_values == g->cap_values) {
        int32_t cap = g->cap_values ? g->cap_values * 2 : 64;
        px_value_rec *v = px_realloc_array(g->values, (size_t)cap, sizeof *v);
        if (!v) return px_graph_fail(g, PX_ERR_NO_MEMORY, "out of memory");
        g->values = v;
        g->cap_values = cap;
    }
    char buf[32];
    if (!name) {
        snprintf(buf, sizeof buf, "v%d", g->n_values);
        name = buf;
    }
    px_value_rec *r = &g->values[g->n_values];
    memset(r, 0, sizeof *r);
    r->name = px_strdup(name);
    if (!r->name) return px_graph_fail(g, PX_ERR_NO_MEMORY, "out of memory");
    r->kind = kind;
    r->dtype = dtype;
    r->shape = *shape;
    r->producer = producer;
    /* every value's size at the upper bounds must be a number the planner
     * can hold: a shape from a corrupted file must not wrap around */
    int64_t n = px_shape_numel(g, shape, NULL), bytes = n < 0 ? -1 : px_dtype_row_size(dtype, n);
    if (n < 0 || bytes < 0 || bytes > ((int64_t)1 << 56)) {
        char sh[160];
        px_shape_str(g, shape, sh, sizeof sh);
        px_value bad = px_graph_fail(g, PX_ERR_RANGE, "value '%s' of shape %s is too large", r->name, sh);
        free(r->name);
        return bad;
    }
    return g->n_values++;
}

static int valid_dtype(px_dtype t) { return (int)t >= 0 && t < PX_DTYPE_COUNT; }

px_value px_graph_input(px_graph *g, const char *name, px_dtype dtype, const px_shape *shape) {
    if (!g || g->status) return PX_NONE;
    if (!name || !*name) return px_graph_fail(g, PX_ERR_INVALID_ARG, "input: a name is required");
    if (!valid_dtype(dtype)) return px_graph_fail(g, PX_ERR_DTYPE, "input '%s': invalid dtype %d", name, dtype);
    if (px_graph_find_value(g, name) != PX_NONE)
        return px_graph_fail(g, PX_ERR_INVALID_ARG, "input '%s': a value of that name exists", name);
    if (check_shape(g, shape, "input", name, 0)) return PX_NONE;
    return add_value(g, name, PX_VALUE_INPUT, dtype, shape, -1);
}

px_value px_graph_constant(px_graph *g, const char *name, px_dtype dtype, const px_shape *shape,
                           const void *data, size_t nbytes, int flags) {
    if (!g || g->status) return PX_NONE;
    const char *nm = name ? name : "constant";
    if (!valid_dtype(dtype)) return px_graph_fail(g, PX_ERR_DTYPE, "constant '%s': invalid dtype %d", nm, dtype);
    if (check_shape(g, shape, "constant", nm, 1)) return PX_NONE;
    int64_t n = 1;
    for (int32_t i = 0; i < shape->rank; i++) {
        if (shape->d[i].c != 0 && n > INT64_MAX / shape->d[i].c)
            return px_graph_fail(g, PX_ERR_SHAPE, "constant '%s': size overflows", nm);
        n *= shape->d[i].c;
    }
    const px_dtype_traits *tr = px_dtype_get_traits(dtype);
    if (tr->block_size > 1 && (shape->rank == 0 || shape->d[shape->rank - 1].c % tr->block_size))
        return px_graph_fail(g, PX_ERR_SHAPE,
                             "constant '%s': last dim must be a multiple of %s's block size %d", nm,
                             tr->name, tr->block_size);
    int64_t bytes = px_dtype_row_size(dtype, n);
    if (bytes < 0 || (uint64_t)bytes != nbytes)
        return px_graph_fail(g, PX_ERR_INVALID_ARG, "constant '%s': %zu bytes given, %lld expected", nm,
                             nbytes, (long long)bytes);
    if (!data && nbytes) return px_graph_fail(g, PX_ERR_INVALID_ARG, "constant '%s': data is NULL", nm);
    void *owned = NULL;
    if (flags & PX_CONST_COPY) {
        owned = px_aligned_alloc(nbytes ? nbytes : 1, 64);
        if (!owned) return px_graph_fail(g, PX_ERR_NO_MEMORY, "constant '%s': out of memory", nm);
        if (nbytes) memcpy(owned, data, nbytes);
        data = owned;
    }
    px_value v = add_value(g, name, PX_VALUE_CONSTANT, dtype, shape, -1);
    if (v == PX_NONE) {
        free(owned);
        return PX_NONE;
    }
    g->values[v].data = data;
    g->values[v].owned = owned;
    g->values[v].const_bytes = nbytes;
    return v;
}

px_value px_graph_state(px_graph *g, const char *name, px_dtype dtype, const px_shape *shape) {
    if (!g || g->status) return PX_NONE;
    if (!name || !*name) return px_graph_fail(g, PX_ERR_INVALID_ARG, "state: a name is required");
    if (!valid_dtype(dtype)) return px_graph_fail(g, PX_ERR_DTYPE, "state '%s': invalid dtype %d", name, dtype);
    if (px_graph_find_value(g, name) != PX_NONE)
        return px_graph_fail(g, PX_ERR_INVALID_ARG, "state '%s': a value of that name exists", name);
    if (check_shape(g, shape, "state", name, 1)) return PX_NONE;
    return add_value(g, name, PX_VALUE_STATE, dtype, shape, -1);
}

static px_value add_node(px_graph *g, px_op op, const px_value *inputs, int32_t n_in,
                         const px_attr *attrs, int32_t n_attrs, const char *name, px_shape *shape_io) {
    if (!g || g->status) return PX_NONE;
    char autoname[48];
    if (!name) {
        snprintf(autoname, sizeof autoname, "%s_%d", px_op_name(op), g->n_nodes);
        name = autoname;
    }
    if ((int)op <= 0 || op >= PX_OP_COUNT)
        return px_graph_fail(g, PX_ERR_INVALID_ARG, "node '%s': invalid op %d", name, op);
    if (n_in < 0 || n_in > 64 || (n_in && !inputs) || n_attrs < 0 || (n_attrs && !attrs))
        return px_graph_fail(g, PX_ERR_INVALID_ARG, "node '%s' (%s): bad input or attribute array", name,
                             px_op_name(op));
    for (int32_t i = 0; i < n_in; i++) {
        if (inputs[i] < PX_NONE || inputs[i] >= g->n_values)
            return px_graph_fail(g, PX_ERR_INVALID_ARG, "node '%s' (%s): input %d is not a value of this graph",
                                 name, px_op_name(op), i);
    }
    for (int32_t i = 0; i < n_attrs; i++)
        if (!attrs[i].name)
            return px_graph_fail(g, PX_ERR_INVALID_ARG, "node '%s' (%s): attribute %d has no name", name,
                                 px_op_name(op), i);
    px_dtype dt = PX_F32;
    px_shape shape;
    memset(&shape, 0, sizeof shape);
    if (shape_io) shape = *shape_io;
    px_status st = px_infer(g, op, inputs, n_in, attrs, n_attrs, &dt, &shape);
    if (st) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", px_last_error());
        return px_graph_fail(g, st, "node '%s' (%s): %s", name, px_op_name(op), msg);
    }
    if (g->n_nodes == g->cap_nodes) {
        int32_t cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        px_node_rec *n = px_realloc_array(g->nodes, (size_t)cap, sizeof *n);
        if (!n) return px_graph_fail(g, PX_ERR_NO_MEMORY, "out of memory");
        g->nodes = n;
        g->cap_nodes = cap;
    }
    px_node_rec *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->name = px_strdup(name);
    n->in = px_calloc((size_t)(n_in ? n_in : 1), sizeof *n->in);
    n->out = px_calloc(1, sizeof *n->out);
    n->attrs = px_attrs_copy(attrs, n_attrs);
    if (!n->name || !n->in || !n->out || !n->attrs) {
        free(n->name);
        free(n->in);
        free(n->out);
        px_attrs_free(n->attrs, n_attrs);
        return px_graph_fail(g, PX_ERR_NO_MEMORY, "out of memory");
    }
    if (n_in) memcpy(n->in, inputs, (size_t)n_in * sizeof *inputs);
    n->op = op;
    n->group = g->group;
    n->n_in = n_in;
    n->n_attrs = n_attrs;
    char vname[300];
    snprintf(vname, sizeof vname, "%s", name);
    if (px_graph_find_value(g, vname) != PX_NONE) snprintf(vname, sizeof vname, "%s:%d", name, g->n_values);
    px_value v = add_value(g, vname, PX_VALUE_INTERMEDIATE, dt, &shape, g->n_nodes);
    if (v == PX_NONE) {
        free(n->name);
        free(n->in);
        free(n->out);
        px_attrs_free(n->attrs, n_attrs);
        return PX_NONE;
    }
    n->out[0] = v;
    n->n_out = 1;
    g->n_nodes++;
    return v;
}

px_value px_graph_node(px_graph *g, px_op op, const px_value *inputs, int32_t n_inputs,
                       const px_attr *attrs, int32_t n_attrs, const char *name) {
    if (!g || g->status) return PX_NONE;
    if (op == PX_OP_RESHAPE || op == PX_OP_ARANGE)
        return px_graph_fail(g, PX_ERR_INVALID_ARG, "node '%s': use px_graph_%s for %s", name ? name : "?",
                             px_op_name(op), px_op_name(op));
    /* Trailing PX_NONE inputs are the same as absent ones. */
    while (n_inputs > 0 && inputs[n_inputs - 1] == PX_NONE) n_inputs--;
    return add_node(g, op, inputs, n_inputs, attrs, n_attrs, name, NULL);
}

px_value px_graph_reshape(px_graph *g, px_value x, const px_shape *shape, const char *name) {
    if (!g || g->status) return PX_NONE;
    if (check_shape(g, shape, "reshape", name ? name : "?", 0)) return PX_NONE;
    px_shape s = *shape;
    return add_node(g, PX_OP_RESHAPE, &x, 1, NULL, 0, name, &s);
}

px_value px_graph_arange(px_graph *g, px_dim n, double start, double step, px_dtype dtype,
                         const char *name) {
    if (!g || g->status) return PX_NONE;
    px_shape s;
    memset(&s, 0, sizeof s);
    s.rank = 1;
    s.d[0] = n;
    if (check_shape(g, &s, "arange", name ? name : "?", 0)) return PX_NONE;
    px_attr attrs[3] = {PX_ATTR_F("start", start), PX_ATTR_F("step", step), PX_ATTR_I("dtype", (int64_t)dtype)};
    return add_node(g, PX_OP_ARANGE, NULL, 0, attrs, 3, name, &s);
}

px_status px_graph_mark_output(px_graph *g, px_value v, const char *name) {
    if (!g) return px_set_error(PX_ERR_INVALID_ARG, "px_graph_mark_output: graph is NULL");
    if (g->status) return g->status;
    if (v < 0 || v >= g->n_values)
        return px_graph_fail(g, PX_ERR_INVALID_ARG, "mark_output: value %d is not in the graph", v), g->status;
    px_value_rec *r = &g->values[v];
    if (r->kind != PX_VALUE_INTERMEDIATE && r->kind != PX_VALUE_OUTPUT)
        return px_graph_fail(g, PX_ERR_INVALID_ARG,
                             "mark_output: '%s' is not produced by a node (read inputs, constants and "
                             "states directly)",
                             r->name),
               g->status;
    if (name && strcmp(name, r->name) != 0) {
        if (px_graph_find_value(g, name) != PX_NONE)
            return px_graph_fail(g, PX_ERR_INVALID_ARG, "mark_output: a value named '%s' exists", name),
                   g->status;
        char *nm = px_strdup(name);
        if (!nm) return px_graph_fail(g, PX_ERR_NO_MEMORY, "out of memory"), g->status;
        free(r->name);
        r->name = nm;
    }
    r->kind = PX_VALUE_OUTPUT;
    return PX_OK;
}

px_status px_graph_validate(px_graph *g) {
    if (!g) return px_set_error(PX_ERR_INVALID_ARG, "px_graph_validate: graph is NULL");
    if (g->status) return px_set_error(g->status, "%s", g->error ? g->error : "graph has an error");
    int n_out = 0;
    for (int32_t i = 0; i < g->n_values; i++)
        if (g->values[i].kind == PX_VALUE_OUTPUT) n_out++;
    if (!n_out) return px_graph_fail(g, PX_ERR_INVALID_ARG, "graph has no output (px_graph_mark_output)"), g->status;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        px_node_rec *n = &g->nodes[i];
        for (int32_t j = 0; j < n->n_in; j++) {
            px_value v = n->in[j];
            if (v == PX_NONE) continue;
            if (v >= n->out[0])
                return px_graph_fail(g, PX_ERR_INVALID_ARG, "node '%s': input %d is defined after the node",
                                     n->name, j),
                       g->status;
            int writes = (n->op == PX_OP_SET_ROWS && j == 0) || (n->op == PX_OP_ATTENTION && (j == 3 || j == 4));
            if (writes && g->values[v].kind != PX_VALUE_STATE)
                return px_graph_fail(g, PX_ERR_INVALID_ARG, "node '%s' (%s): input %d must be a state value",
                                     n->name, px_op_name(n->op), j),
                       g->status;
        }
        px_dtype dt;
        px_shape s = g->values[n->out[0]].shape;
        px_status st = px_infer(g, n->op, n->in, n->n_in, n->attrs, n->n_attrs, &dt, &s);
        if (st) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", px_last_error());
            return px_graph_fail(g, st, "node '%s' (%s): %s", n->name, px_op_name(n->op), msg), g->status;
        }
    }
    return PX_OK;
}

void px_shape_str(const px_graph *g, const px_shape *s, char *buf, size_t cap) {
    size_t o = 0;
    o += (size_t)snprintf(buf + o, o < cap ? cap - o : 0, "[");
    for (int32_t i = 0; i < s->rank; i++) {
        px_dim d = s->d[i];
        const char *sep = i ? ", " : "";
        if (d.sym < 0) {
            o += (size_t)snprintf(buf + o, o < cap ? cap - o : 0, "%s%lld", sep, (long long)d.c);
        } else {
            const char *nm = g && d.sym < g->n_syms ? g->syms[d.sym].name : "?";
            char k[24] = "", c[24] = "";
            if (d.k != 1) snprintf(k, sizeof k, "%d*", d.k);
            if (d.c) snprintf(c, sizeof c, "+%lld", (long long)d.c);
            o += (size_t)snprintf(buf + o, o < cap ? cap - o : 0, "%s%s%s%s", sep, k, nm, c);
        }
    }
    snprintf(buf + o, o < cap ? cap - o : 0, "]");
}

static const char *kind_name(px_value_kind k) {
    switch (k) {
    case PX_VALUE_INPUT: return "input";
    case PX_VALUE_OUTPUT: return "output";
    case PX_VALUE_CONSTANT: return "const";
    case PX_VALUE_STATE: return "state";
    default: return "value";
    }
}

static void print_attr(FILE *f, const px_attr *a) {
    fprintf(f, "%s=", a->name);
    switch (a->type) {
    case PX_ATTR_INT: fprintf(f, "%lld", (long long)a->u.i); break;
    case PX_ATTR_FLOAT: fprintf(f, "%g", a->u.f); break;
    case PX_ATTR_STRING: fprintf(f, "\"%s\"", a->u.s); break;
    case PX_ATTR_INTS:
    case PX_ATTR_FLOATS:
        fputc('[', f);
        for (int32_t i = 0; i < a->n; i++) {
            if (a->type == PX_ATTR_INTS) fprintf(f, "%s%lld", i ? "," : "", (long long)a->u.ints[i]);
            else fprintf(f, "%s%g", i ? "," : "", (double)a->u.floats[i]);
        }
        fputc(']', f);
        break;
    default: fputc('?', f);
    }
}

void px_graph_print(const px_graph *g, FILE *f) {
    if (!g || !f) return;
    char sb[256];
    fprintf(f, "graph: %d values, %d nodes\n", g->n_values, g->n_nodes);
    for (int32_t i = 0; i < g->n_syms; i++)
        fprintf(f, "  sym %s <= %lld\n", g->syms[i].name, (long long)g->syms[i].upper);
    for (int32_t i = 0; i < g->n_values; i++) {
        const px_value_rec *v = &g->values[i];
        if (v->kind == PX_VALUE_INTERMEDIATE || v->kind == PX_VALUE_OUTPUT) continue;
        px_shape_str(g, &v->shape, sb, sizeof sb);
        fprintf(f, "  %%%d %s '%s' %s%s\n", i, kind_name(v->kind), v->name, px_dtype_name(v->dtype), sb);
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const px_node_rec *n = &g->nodes[i];
        const px_value_rec *o = &g->values[n->out[0]];
        px_shape_str(g, &o->shape, sb, sizeof sb);
        fprintf(f, "  %%%d = %s(", n->out[0], px_op_name(n->op));
        for (int32_t j = 0; j < n->n_in; j++) {
            if (n->in[j] == PX_NONE) fprintf(f, "%s_", j ? ", " : "");
            else fprintf(f, "%s%%%d", j ? ", " : "", n->in[j]);
        }
        fputc(')', f);
        for (int32_t j = 0; j < n->n_attrs; j++) {
            fputs(j ? ", " : " {", f);
            print_attr(f, &n->attrs[j]);
            if (j == n->n_attrs - 1) fputc('}', f);
        }
        fprintf(f, " -> %s%s '%s'", px_dtype_name(o->dtype), sb, n->name);
        if (n->group >= 0) fprintf(f, " group=%d", n->group);
        if (o->kind == PX_VALUE_OUTPUT) fprintf(f, " output '%s'", o->name);
        fputc('\n', f);
    }
}

int32_t px_graph_value_count(const px_graph *g) { return g ? g->n_values : 0; }
int32_t px_graph_node_count(const px_graph *g) { return g ? g->n_nodes : 0; }
int32_t px_graph_sym_count(const px_graph *g) { return g ? g->n_syms : 0; }

const char *px_graph_sym_name(const px_graph *g, int32_t sym) {
    return g && sym >= 0 && sym < g->n_syms ? g->syms[sym].name : NULL;
}
int64_t px_graph_sym_upper(const px_graph *g, int32_t sym) {
    return g && sym >= 0 && sym < g->n_syms ? g->syms[sym].upper : -1;
}

px_status px_graph_value_info(const px_graph *g, px_value v, px_value_info *out) {
    if (!g || !out || v < 0 || v >= g->n_values)
        return px_set_error(PX_ERR_INVALID_ARG, "px_graph_value_info: no value %d", v);
    const px_value_rec *r = &g->values[v];
    out->name = r->name;
    out->kind = r->kind;
    out->dtype = r->dtype;
    out->shape = r->shape;
    out->producer = r->producer;
    out->data = r->kind == PX_VALUE_CONSTANT ? r->data : NULL;
    int64_t b = px_value_bytes(g, v, NULL);
    out->nbytes = b < 0 ? 0 : (size_t)b;
    return PX_OK;
}

px_status px_graph_node_info(const px_graph *g, int32_t node, px_node_info *out) {
    if (!g || !out || node < 0 || node >= g->n_nodes)
        return px_set_error(PX_ERR_INVALID_ARG, "px_graph_node_info: no node %d", node);
    const px_node_rec *n = &g->nodes[node];
    out->name = n->name;
    out->op = n->op;
    out->group = n->group;
    out->n_inputs = n->n_in;
    out->inputs = n->in;
    out->n_outputs = n->n_out;
    out->outputs = n->out;
    out->n_attrs = n->n_attrs;
    out->attrs = n->attrs;
    return PX_OK;
}

px_value px_graph_find_value(const px_graph *g, const char *name) {
    if (!g || !name) return PX_NONE;
    for (int32_t i = 0; i < g->n_values; i++)
        if (strcmp(g->values[i].name, name) == 0) return i;
    return PX_NONE;
}

int64_t px_shape_numel(const px_graph *g, const px_shape *s, const int64_t *sym_values) {
    int64_t n = 1;
    for (int32_t i = 0; i < s->rank; i++) {
        int64_t d = px_dim_eval(g, s->d[i], sym_values);
        if (d < 0) return -1;
        if (d && n > INT64_MAX / d) return -1;
        n *= d;
    }
    return n;
}

int64_t px_value_bytes(const px_graph *g, px_value v, const int64_t *sym_values) {
    const px_value_rec *r = &g->values[v];
    int64_t n = px_shape_numel(g, &r->shape, sym_values);
    return n < 0 ? -1 : px_dtype_row_size(r->dtype, n);
}
