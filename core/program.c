/* px_program: build (lower, place, plan, allocate, upload) and run. */
#include <stdlib.h>
#include <string.h>

#include "plexus/dtype.h"
#include "program.h"

px_program_options px_program_options_default(void) {
    px_program_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.offload_layers = -1;
    return o;
}

/* ---- buffers ------------------------------------------------------------------ */

static px_status dev_alloc(px_prog_device *d, uint64_t size, void **buf, uint8_t **base) {
    *buf = NULL;
    *base = NULL;
    if (size == 0) return PX_OK;
    if (d->rec->info.max_alloc && size > d->rec->info.max_alloc)
        return px_set_error(PX_ERR_NO_MEMORY, "device %s: %llu bytes exceed its largest buffer (%llu)", d->rec->id,
                            (unsigned long long)size, (unsigned long long)d->rec->info.max_alloc);
    px_clear_error();
    px_status st = d->rec->ops->buffer_alloc(d->rec->dev, (size_t)size, buf);
    if (st || !*buf)
        return px_set_error(st ? st : PX_ERR_NO_MEMORY, "device %s: cannot allocate %llu bytes: %s", d->rec->id,
                            (unsigned long long)size, px_last_error());
    if (d->host_visible && d->rec->ops->buffer_base) *base = d->rec->ops->buffer_base(d->rec->dev, *buf);
    if (d->host_visible && !*base) d->host_visible = 0;
    return PX_OK;
}

static px_status region_of(const px_prog_device *d, int32_t where, void **buf, uint8_t **base) {
    *buf = NULL;
    *base = NULL;
    switch (where) {
    case PX_LOC_ARENA: *buf = d->arena; *base = d->arena_base; return PX_OK;
    case PX_LOC_WEIGHTS: *buf = d->weights; *base = d->weights_base; return PX_OK;
    case PX_LOC_STATE: *buf = d->state; *base = d->state_base; return PX_OK;
    default: return px_set_error(PX_ERR_INTERNAL, "value has no device region");
    }
}

/* Copy between host memory and value `v`'s storage on slot `s`:
 * to_device = 1 uploads `host`, 0 downloads into it. */
static px_status host_copy(px_program *p, int32_t s, px_value v, void *host, size_t n, int to_device) {
    px_prog_device *d = &p->devs[s];
    const px_loc *l = px_prog_loc(p, v, s);
    void *buf;
    uint8_t *base;
    if (region_of(d, l->where, &buf, &base)) return PX_ERR_INTERNAL;
    if (n == 0) return PX_OK;
    if (to_device) p->uploads++;
    else p->downloads++;
    if (base) {
        if (to_device) memcpy(base + l->offset, host, n);
        else memcpy(host, base + l->offset, n);
        return PX_OK;
    }
    px_clear_error();
    px_status st = to_device ? d->rec->ops->upload(d->rec->dev, buf, l->offset, host, n)
                             : d->rec->ops->download(d->rec->dev, buf, l->offset, host, n);
    if (st)
        return px_set_error(st, "device %s: %s of '%s' failed: %s", d->rec->id, to_device ? "upload" : "download",
                            p->g->values[v].name, px_last_error());
    return PX_OK;
}

static px_status upload(px_program *p, int32_t s, px_value v, const void *src, size_t n) {
    return host_copy(p, s, v, (void *)src, n, 1);
}

static px_status download(px_program *p, int32_t s, px_value v, void *dst, size_t n) {
    return host_copy(p, s, v, dst, n, 0);
}

static px_status zero_states(px_program *p) {
    static const uint8_t zeros[4096];
    for (int32_t s = 0; s < p->n_devs; s++) {
        px_prog_device *d = &p->devs[s];
        if (!d->state_size) continue;
        if (d->state_base) {
            memset(d->state_base, 0, d->state_size);
            continue;
        }
        for (uint64_t off = 0; off < d->state_size; off += sizeof zeros) {
            size_t n = d->state_size - off < sizeof zeros ? (size_t)(d->state_size - off) : sizeof zeros;
            px_status st = d->rec->ops->upload(d->rec->dev, d->state, off, zeros, n);
            if (st) return px_set_error(st, "device %s: clearing state failed: %s", d->rec->id, px_last_error());
        }
    }
    return PX_OK;
}

static px_status allocate(px_program *p) {
    px_status st;
    for (int32_t s = 0; s < p->n_devs; s++) {
        px_prog_device *d = &p->devs[s];
        if ((st = dev_alloc(d, d->arena_size, &d->arena, &d->arena_base))) return st;
        if ((st = dev_alloc(d, d->weights_size, &d->weights, &d->weights_base))) return st;
        if ((st = dev_alloc(d, d->state_size, &d->state, &d->state_base))) return st;
    }
    /* Constants: uploaded once. */
    for (int32_t v = 0; v < p->g->n_values; v++) {
        const px_value_rec *r = &p->g->values[v];
        if (r->kind != PX_VALUE_CONSTANT) continue;
        for (int32_t s = 0; s < p->n_devs; s++) {
            px_loc *l = px_prog_loc(p, v, s);
            if (l->valid && l->where == PX_LOC_WEIGHTS && (st = upload(p, s, v, r->data, r->const_bytes))) return st;
        }
    }
    if ((st = zero_states(p))) return st;
    /* Staging for device-to-device transfers where neither side is host-visible. */
    uint64_t staging = 0;
    for (int32_t x = 0; x < p->n_xfers; x++) {
        const px_transfer *t = &p->xfers[x];
        if (p->devs[t->src].host_visible || p->devs[t->dst].host_visible) continue;
        int64_t b = px_value_bytes(p->g, t->value, NULL);
        if (b > 0 && (uint64_t)b > staging) staging = (uint64_t)b;
    }
    if (staging) {
        p->staging = px_aligned_alloc((size_t)staging, 64);
        if (!p->staging) return PX_ERR_NO_MEMORY;
        p->staging_size = staging;
    }
    return PX_OK;
}

static px_status prepare_kernels(px_program *p) {
    for (int32_t i = 0; i < p->n_nodes; i++) {
        px_prog_node *pn = &p->nodes[i];
        if (pn->dev < 0 || !pn->kernel || !pn->kernel->prepare) continue;
        px_clear_error();
        px_status st = pn->kernel->prepare(p->devs[pn->dev].rec->dev, &pn->desc, &pn->op_state);
        if (st) return px_set_error(st, "node '%s': kernel %s prepare failed: %s", pn->desc.name, pn->kernel->name, px_last_error());
    }
    return PX_OK;
}

px_status px_program_create(px_context *ctx, const px_graph *graph, const px_program_options *opts, px_program **out) {
    if (!ctx || !graph || !out) return px_set_error(PX_ERR_INVALID_ARG, "px_program_create: NULL argument");
    *out = NULL;
    px_program_options o = px_program_options_default();
    if (opts) {
        if (opts->struct_size < offsetof(px_program_options, offload_layers) + sizeof(int32_t))
            return px_set_error(PX_ERR_INVALID_ARG, "px_program_create: options.struct_size is %u", opts->struct_size);
        memcpy(&o, opts, opts->struct_size < sizeof o ? opts->struct_size : sizeof o);
    }
    if (graph->status) return px_set_error(graph->status, "graph has an error: %s", graph->error ? graph->error : "");
    px_status st = px_graph_validate((px_graph *)graph);
    if (st) return st;
    px_program *p = px_calloc(1, sizeof *p);
    if (!p) return PX_ERR_NO_MEMORY;
    p->ctx = ctx;
    p->plan_only = o.plan_only != 0;
    if ((st = px_sched_lower(p, graph, &o)) == PX_OK && (st = px_sched_place(p, &o)) == PX_OK &&
        (st = px_plan_memory(p)) == PX_OK && !p->plan_only && (st = allocate(p)) == PX_OK &&
        (st = prepare_kernels(p)) == PX_OK)
        st = px_sched_compile_units(p);
    if (st == PX_OK) {
        int32_t max_args = 1;
        for (int32_t i = 0; i < p->g->n_nodes; i++) {
            int32_t a = p->g->nodes[i].n_in + p->g->nodes[i].n_out;
            if (a > max_args) max_args = a;
        }
        for (int32_t k = 0; k < p->n_segs; k++)
            if (p->segs[k].n_uin + p->segs[k].n_uout > max_args) max_args = p->segs[k].n_uin + p->segs[k].n_uout;
        p->max_args = max_args;
        p->targs = px_calloc((size_t)max_args, sizeof *p->targs);
        p->sym_values = px_calloc((size_t)(p->g->n_syms ? p->g->n_syms : 1), sizeof *p->sym_values);
        p->ne = px_calloc((size_t)(p->g->n_values ? p->g->n_values : 1) * PX_MAX_DIMS, sizeof *p->ne);
        if (!p->targs || !p->sym_values || !p->ne) st = PX_ERR_NO_MEMORY;
        for (int32_t i = 0; st == PX_OK && i < p->g->n_syms; i++) p->sym_values[i] = p->g->syms[i].upper;
        p->shapes_dirty = 1;
    }
    if (st) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", px_last_error());
        px_program_destroy(p);
        return px_set_error(st, "%s", msg);
    }
    *out = p;
    return PX_OK;
}

void px_program_destroy(px_program *p) {
    if (!p) return;
    px_sched_free_units(p);
    for (int32_t i = 0; i < p->n_nodes; i++) {
        px_prog_node *pn = &p->nodes[i];
        if (pn->op_state && pn->kernel && pn->kernel->release)
            pn->kernel->release(p->devs[pn->dev].rec->dev, pn->op_state);
        free(pn->vdesc);
    }
    for (int32_t s = 0; s < p->n_devs; s++) {
        px_prog_device *d = &p->devs[s];
        void *bufs[3] = {d->arena, d->weights, d->state};
        for (int b = 0; b < 3; b++)
            if (bufs[b]) d->rec->ops->buffer_free(d->rec->dev, bufs[b]);
    }
    if (p->src_names)
        for (int32_t v = 0; v < p->n_src_values; v++) free(p->src_names[v]);
    free(p->src_names);
    free(p->src_map);
    free(p->nodes);
    free(p->root);
    free(p->home);
    free(p->locs);
    free(p->segs);
    free(p->xfers);
    free(p->sym_values);
    free(p->ne);
    free(p->targs);
    px_aligned_free(p->staging);
    px_graph_destroy(p->g);
    free(p);
}

/* ---- names and shapes -------------------------------------------------------- */

static px_value lookup(const px_program *p, const char *name) {
    for (int32_t v = 0; v < p->n_src_values; v++)
        if (strcmp(p->src_names[v], name) == 0) return p->src_map[v];
    return px_graph_find_value(p->g, name);
}

static void update_shapes(px_program *p) {
    if (!p->shapes_dirty) return;
    for (int32_t v = 0; v < p->g->n_values; v++) {
        const px_shape *s = &p->g->values[v].shape;
        for (int32_t i = 0; i < s->rank; i++) p->ne[(size_t)v * PX_MAX_DIMS + i] = px_dim_eval(p->g, s->d[i], p->sym_values);
    }
    p->shapes_dirty = 0;
}

static size_t cur_bytes(px_program *p, px_value v) {
    update_shapes(p);
    int64_t b = px_value_bytes(p->g, v, p->sym_values);
    return b > 0 ? (size_t)b : 0;
}

px_status px_program_set_sym(px_program *p, const char *sym, int64_t value) {
    if (!p || !sym) return px_set_error(PX_ERR_INVALID_ARG, "px_program_set_sym: NULL argument");
    int32_t s = px_graph_find_sym(p->g, sym);
    if (s < 0) return px_set_error(PX_ERR_NOT_FOUND, "no symbolic dim named '%s'", sym);
    if (value < 0 || value > p->g->syms[s].upper)
        return px_set_error(PX_ERR_RANGE, "symbolic dim '%s' = %lld is outside 0..%lld", sym, (long long)value,
                            (long long)p->g->syms[s].upper);
    if (p->sym_values[s] != value) {
        p->sym_values[s] = value;
        p->shapes_dirty = 1;
    }
    return PX_OK;
}

px_status px_program_value_shape(const px_program *cp, const char *name, px_dtype *dtype, int32_t *rank, int64_t *ne) {
    px_program *p = (px_program *)cp;
    if (!p || !name) return px_set_error(PX_ERR_INVALID_ARG, "px_program_value_shape: NULL argument");
    px_value v = lookup(p, name);
    if (v == PX_NONE) return px_set_error(PX_ERR_NOT_FOUND, "no value named '%s'", name);
    update_shapes(p);
    const px_value_rec *r = &p->g->values[v];
    if (dtype) *dtype = r->dtype;
    if (rank) *rank = r->shape.rank;
    if (ne)
        for (int32_t i = 0; i < r->shape.rank; i++) ne[i] = p->ne[(size_t)v * PX_MAX_DIMS + i];
    return PX_OK;
}

px_status px_program_set_input(px_program *p, const char *name, const void *data, size_t nbytes) {
    if (!p || !name || (!data && nbytes)) return px_set_error(PX_ERR_INVALID_ARG, "px_program_set_input: NULL argument");
    if (p->plan_only) return px_set_error(PX_ERR_INVALID_ARG, "px_program_set_input: the program was made with plan_only");
    px_value v = lookup(p, name);
    if (v == PX_NONE) return px_set_error(PX_ERR_NOT_FOUND, "no input named '%s'", name);
    const px_value_rec *r = &p->g->values[v];
    if (r->kind != PX_VALUE_INPUT && r->kind != PX_VALUE_STATE)
        return px_set_error(PX_ERR_INVALID_ARG, "'%s' is not an input or a state", name);
    size_t want = cur_bytes(p, v);
    if (nbytes != want)
        return px_set_error(PX_ERR_SHAPE, "input '%s': %zu bytes given, %zu expected for the current dims", name, nbytes, want);
    px_value root = p->root[v];
    for (int32_t s = 0; s < p->n_devs; s++) {
        const px_loc *l = px_prog_loc(p, root, s);
        if (!l->valid || l->where == PX_LOC_HOSTPTR) continue;
        if (r->kind == PX_VALUE_STATE && p->home[root] != s) continue;
        px_status st = upload(p, s, root, data, nbytes);
        if (st) return st;
    }
    return PX_OK;
}

px_status px_program_get_output(px_program *p, const char *name, void *dst, size_t cap) {
    if (!p || !name || (!dst && cap)) return px_set_error(PX_ERR_INVALID_ARG, "px_program_get_output: NULL argument");
    if (p->plan_only) return px_set_error(PX_ERR_INVALID_ARG, "px_program_get_output: the program was made with plan_only");
    px_value v = lookup(p, name);
    if (v == PX_NONE) return px_set_error(PX_ERR_NOT_FOUND, "no value named '%s'", name);
    const px_value_rec *r = &p->g->values[v];
    if (r->kind != PX_VALUE_OUTPUT && r->kind != PX_VALUE_STATE)
        return px_set_error(PX_ERR_INVALID_ARG, "'%s' is not an output or a state (mark it as an output)", name);
    size_t n = cur_bytes(p, v);
    if (cap < n) return px_set_error(PX_ERR_RANGE, "output '%s' needs %zu bytes, buffer has %zu", name, n, cap);
    px_value root = p->root[v];
    if (p->g->values[root].kind == PX_VALUE_CONSTANT) {
        if (n) memcpy(dst, p->g->values[root].data, n);
        return PX_OK;
    }
    int32_t h = p->home[root];
    if (h < 0) return px_set_error(PX_ERR_INTERNAL, "output '%s' has no device", name);
    return download(p, h, root, dst, n);
}

px_status px_program_reset_state(px_program *p) {
    if (!p) return px_set_error(PX_ERR_INVALID_ARG, "px_program_reset_state: NULL");
    if (p->plan_only) return px_set_error(PX_ERR_INVALID_ARG, "px_program_reset_state: the program was made with plan_only");
    return zero_states(p);
}

/* ---- run --------------------------------------------------------------------------- */

static void make_tensor(px_program *p, px_value v, int32_t s, px_tensor *t) {
    memset(t, 0, sizeof *t);
    if (v == PX_NONE) {
        t->dtype = (px_dtype)-1;
        return;
    }
    const px_value_rec *r = &p->g->values[v];
    px_value root = p->root[v];
    const px_loc *l = px_prog_loc(p, root, s);
    const px_prog_device *d = &p->devs[s];
    t->dtype = r->dtype;
    t->rank = r->shape.rank;
    memcpy(t->ne, &p->ne[(size_t)v * PX_MAX_DIMS], sizeof t->ne);
    if (l->where == PX_LOC_HOSTPTR) {
        t->data = (void *)l->host;
        return;
    }
    void *buf;
    uint8_t *base;
    region_of(d, l->where, &buf, &base);
    t->buffer = buf;
    t->offset = l->offset;
    t->data = base ? base + l->offset : NULL;
}

static px_status do_transfer(px_program *p, const px_transfer *t) {
    size_t n = cur_bytes(p, t->value);
    if (n == 0) return PX_OK;
    px_prog_device *src = &p->devs[t->src], *dst = &p->devs[t->dst];
    const px_loc *ls = px_prog_loc(p, t->value, t->src), *ld = px_prog_loc(p, t->value, t->dst);
    void *sbuf, *dbuf;
    uint8_t *sbase, *dbase;
    if (region_of(src, ls->where, &sbuf, &sbase) || region_of(dst, ld->where, &dbuf, &dbase)) return PX_ERR_INTERNAL;
    if (sbase && dbase) {
        memcpy(dbase + ld->offset, sbase + ls->offset, n);
        return PX_OK;
    }
    px_status st;
    if (dbase) {
        p->downloads++;
        st = src->rec->ops->download(src->rec->dev, sbuf, ls->offset, dbase + ld->offset, n);
    } else if (sbase) {
        p->uploads++;
        st = dst->rec->ops->upload(dst->rec->dev, dbuf, ld->offset, sbase + ls->offset, n);
    } else {
        p->downloads++;
        p->uploads++;
        st = src->rec->ops->download(src->rec->dev, sbuf, ls->offset, p->staging, n);
        if (!st) st = dst->rec->ops->upload(dst->rec->dev, dbuf, ld->offset, p->staging, n);
    }
    if (st)
        return px_set_error(st, "transfer of '%s' from %s to %s failed: %s", p->g->values[t->value].name, src->rec->id,
                            dst->rec->id, px_last_error());
    return PX_OK;
}

px_status px_program_run(px_program *p) {
    if (!p) return px_set_error(PX_ERR_INVALID_ARG, "px_program_run: NULL");
    if (p->plan_only) return px_set_error(PX_ERR_INVALID_ARG, "px_program_run: the program was made with plan_only");
    update_shapes(p);
    p->uploads = p->downloads = 0;
    px_pool *prev = px_pool_current();
    px_pool_set_current(p->ctx->pool);
    px_status st = PX_OK;
    for (int32_t k = 0; k < p->n_segs && st == PX_OK; k++) {
        const px_segment *sg = &p->segs[k];
        px_prog_device *d = &p->devs[sg->dev];
        for (int32_t x = sg->first_transfer; x < sg->first_transfer + sg->n_transfers && st == PX_OK; x++)
            st = do_transfer(p, &p->xfers[x]);
        if (sg->exec) {
            if (st) break;
            for (int32_t j = 0; j < sg->n_uin; j++) make_tensor(p, sg->uin[j], sg->dev, &p->targs[j]);
            for (int32_t j = 0; j < sg->n_uout; j++) make_tensor(p, sg->uout[j], sg->dev, &p->targs[sg->n_uin + j]);
            px_clear_error();
            st = d->rec->ops->execute(d->rec->dev, sg->exec, p->targs, sg->n_uin, p->targs + sg->n_uin, sg->n_uout);
            if (st)
                st = px_set_error(st, "device %s: executing nodes %d..%d failed: %s", d->rec->id, sg->first,
                                  sg->first + sg->count - 1, px_last_error());
            continue;
        }
        for (int32_t i = sg->first; i < sg->first + sg->count && st == PX_OK; i++) {
            px_prog_node *pn = &p->nodes[i];
            if (pn->dev < 0) continue;
            const px_node_rec *n = &p->g->nodes[i];
            for (int32_t j = 0; j < n->n_in; j++) make_tensor(p, n->in[j], sg->dev, &p->targs[j]);
            for (int32_t j = 0; j < n->n_out; j++) make_tensor(p, n->out[j], sg->dev, &p->targs[n->n_in + j]);
            px_kernel_args a = {
                .struct_size = sizeof a,
                .node = &pn->desc,
                .n_inputs = n->n_in,
                .inputs = p->targs,
                .n_outputs = n->n_out,
                .outputs = p->targs + n->n_in,
                .device = d->rec->dev,
                .op_state = pn->op_state,
                .host = &px_host_table,
            };
            px_clear_error();
            st = pn->kernel->run(&a);
            if (st)
                st = px_set_error(st, "node '%s' (%s) failed on %s: %s", n->name, px_op_name(n->op), d->rec->id,
                                  px_last_error());
        }
    }
    for (int32_t s = 0; s < p->n_devs && st == PX_OK; s++) {
        px_device_rec *r = p->devs[s].rec;
        if (r->ops->synchronize && (st = r->ops->synchronize(r->dev)))
            st = px_set_error(st, "device %s: synchronize failed: %s", r->id, px_last_error());
    }
    px_pool_set_current(prev);
    return st;
}

/* ---- reports ----------------------------------------------------------------------- */

px_status px_program_get_stats(const px_program *p, px_program_stats *out) {
    if (!p || !out) return px_set_error(PX_ERR_INVALID_ARG, "px_program_get_stats: NULL");
    memset(out, 0, sizeof *out);
    out->n_nodes = p->n_nodes;
    out->n_segments = p->n_segs;
    out->n_transfers = p->n_xfers;
    out->n_decomposed = p->n_decomposed;
    out->uploads = p->uploads;
    out->downloads = p->downloads;
    return PX_OK;
}

int32_t px_program_device_count(const px_program *p) { return p ? p->n_devs : 0; }

px_status px_program_memory_report(const px_program *p, int32_t i, px_program_memory *out) {
    if (!p || !out || i < 0 || i >= p->n_devs) return px_set_error(PX_ERR_INVALID_ARG, "px_program_memory_report: no device %d", i);
    const px_prog_device *d = &p->devs[i];
    out->device = d->rec->id;
    out->weights = d->weights_size;
    if (d->host_visible) {
        /* Constants used in place still occupy (mapped) memory. */
        for (int32_t v = 0; v < p->g->n_values; v++)
            if (p->g->values[v].kind == PX_VALUE_CONSTANT && px_prog_loc(p, v, i)->where == PX_LOC_HOSTPTR)
                out->weights += p->g->values[v].const_bytes;
    }
    out->state = d->state_size;
    out->arena = d->arena_size;
    return PX_OK;
}

const char *px_program_node_device(const px_program *p, int32_t node) {
    if (!p || node < 0 || node >= p->n_nodes) return NULL;
    int32_t s = p->nodes[node].dev;
    return s < 0 ? "-" : p->devs[s].rec->id;
}

void px_program_print(const px_program *p, FILE *f) {
    if (!p || !f) return;
    fprintf(f, "program: %d nodes, %d segments, %d transfers, %d decomposed\n", p->n_nodes, p->n_segs, p->n_xfers,
            p->n_decomposed);
    for (int32_t k = 0; k < p->n_segs; k++) {
        const px_segment *sg = &p->segs[k];
        fprintf(f, "segment %d on %s: nodes %d..%d\n", k, p->devs[sg->dev].rec->id, sg->first, sg->first + sg->count - 1);
        for (int32_t x = sg->first_transfer; x < sg->first_transfer + sg->n_transfers; x++)
            fprintf(f, "  transfer '%s' %s -> %s\n", p->g->values[p->xfers[x].value].name, p->devs[p->xfers[x].src].rec->id,
                    p->devs[p->xfers[x].dst].rec->id);
        for (int32_t i = sg->first; i < sg->first + sg->count; i++) {
            const px_prog_node *pn = &p->nodes[i];
            const px_node_rec *n = &p->g->nodes[i];
            fprintf(f, "  [%d] %s '%s' %s\n", i, px_op_name(n->op), n->name,
                    pn->dev < 0 ? "(alias, no kernel)" : pn->kernel ? pn->kernel->name : "(compiled unit)");
        }
    }
    for (int32_t s = 0; s < p->n_devs; s++) {
        px_program_memory m;
        px_program_memory_report(p, s, &m);
        fprintf(f, "memory %s: weights %llu, state %llu, arena %llu bytes\n", m.device, (unsigned long long)m.weights,
                (unsigned long long)m.state, (unsigned long long)m.arena);
    }
}
