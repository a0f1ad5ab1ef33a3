/* The scheduler: lowering (decomposition of composite ops a device cannot
 * run), placement of every node on a device, and the cut into per-device
 * segments with transfers at their boundaries.
 *
 * Placement of a node: its candidate devices are
 *   1. the device named by the ini file's [placement] op.<op>, if any,
 *   2. then the device order (options, else [placement] order, else
 *      NPUs, GPUs, then CPUs),
 * where nodes outside the offloaded layers (offload_layers: the last N
 * groups; ungrouped nodes only when all layers are offloaded) may only use
 * CPU devices. The first candidate that has a kernel for the node, keeps it
 * within the device's memory budget and, for a node that writes a state,
 * is that state's device, wins. A composite node whose first candidate has
 * no kernel for it is replaced by its decomposition first.
 */
#include <stdlib.h>
#include <string.h>

#include "decompose.h"
#include "plexus/dtype.h"
#include "program.h"

/* ---- descriptors ------------------------------------------------------------ */

static void fill_vdesc(const px_graph *g, px_value v, px_value_desc *d) {
    memset(d, 0, sizeof *d);
    if (v == PX_NONE) {
        d->dtype = (px_dtype)-1;
        return;
    }
    const px_value_rec *r = &g->values[v];
    d->dtype = r->dtype;
    d->kind = r->kind;
    d->rank = r->shape.rank;
    for (int32_t i = 0; i < r->shape.rank; i++) {
        d->ne[i] = px_dim_eval(g, r->shape.d[i], NULL);
        d->is_sym[i] = r->shape.d[i].sym >= 0;
    }
    d->const_data = r->kind == PX_VALUE_CONSTANT ? r->data : NULL;
}

px_status px_sched_make_desc(const px_graph *g, int32_t node, px_node_desc *desc, px_value_desc **vdesc) {
    const px_node_rec *n = &g->nodes[node];
    px_value_desc *vd = px_calloc((size_t)(n->n_in + n->n_out), sizeof *vd);
    if (!vd) return PX_ERR_NO_MEMORY;
    for (int32_t i = 0; i < n->n_in; i++) fill_vdesc(g, n->in[i], &vd[i]);
    for (int32_t i = 0; i < n->n_out; i++) fill_vdesc(g, n->out[i], &vd[n->n_in + i]);
    memset(desc, 0, sizeof *desc);
    desc->struct_size = sizeof *desc;
    desc->op = n->op;
    desc->name = n->name;
    desc->group = n->group;
    desc->n_inputs = n->n_in;
    desc->inputs = vd;
    desc->n_outputs = n->n_out;
    desc->outputs = vd + n->n_in;
    desc->n_attrs = n->n_attrs;
    desc->attrs = n->attrs;
    *vdesc = vd;
    return PX_OK;
}

/* ---- device order -------------------------------------------------------------- */

static px_status add_slot(px_program *p, int32_t ctx_dev) {
    for (int32_t i = 0; i < p->n_devs; i++)
        if (p->devs[i].ctx_dev == ctx_dev) return PX_OK;
    if (p->n_devs == PX_MAX_PROGRAM_DEVICES) return px_set_error(PX_ERR_RANGE, "too many devices in the order");
    px_prog_device *d = &p->devs[p->n_devs++];
    memset(d, 0, sizeof *d);
    d->ctx_dev = ctx_dev;
    d->rec = &p->ctx->devices[ctx_dev];
    d->host_visible = (d->rec->info.flags & PX_DEVICE_HOST_VISIBLE) != 0;
    d->budget = px_config_budget(p->ctx->cfg, d->rec->id);
    return PX_OK;
}

static px_status resolve_order(px_program *p, const px_program_options *o) {
    px_context *ctx = p->ctx;
    const px_config *cfg = ctx->cfg;
    if (o->order && *o->order) {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", o->order);
        for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
            int32_t d = px_context_find_device(ctx, t);
            if (d < 0) px_log(PX_LOG_INFO, "scheduler", "device '%s' in the order is not present; skipped", t);
            else if (add_slot(p, d)) return PX_ERR_RANGE;
        }
    } else if (cfg && cfg->n_order) {
        for (int32_t i = 0; i < cfg->n_order; i++) {
            int32_t d = px_context_find_device(ctx, cfg->order[i]);
            if (d < 0) px_log(PX_LOG_INFO, "scheduler", "device '%s' in [placement] order is not present; skipped", cfg->order[i]);
            else if (add_slot(p, d)) return PX_ERR_RANGE;
        }
    } else {
        static const px_device_kind kinds[] = {PX_DEVICE_NPU, PX_DEVICE_GPU, PX_DEVICE_CPU};
        for (int k = 0; k < 3; k++)
            for (int32_t d = 0; d < ctx->n_devices; d++)
                if (ctx->devices[d].info.kind == kinds[k] && add_slot(p, d)) return PX_ERR_RANGE;
    }
    if (p->n_devs == 0) return px_set_error(PX_ERR_CONFIG, "the device order names no device that is present");
    /* Op overrides may name devices outside the order: add them at the end. */
    for (int32_t i = 0; cfg && i < cfg->n_op_devices; i++) {
        int32_t d = px_context_find_device(ctx, cfg->op_devices[i].device);
        if (d >= 0 && add_slot(p, d)) return PX_ERR_RANGE;
    }
    return PX_OK;
}

/* ---- kernels -------------------------------------------------------------------- */

static const px_cfg_kernel *kernel_choice(const px_config *cfg, px_op op, const char *plugin) {
    for (int32_t i = 0; cfg && i < cfg->n_kernels; i++)
        if (cfg->kernels[i].op == op && strcmp(cfg->kernels[i].plugin, plugin) == 0) return &cfg->kernels[i];
    return NULL;
}

/* Best kernel of slot `s` for a node, or NULL. */
static const px_kernel *select_kernel(px_program *p, int32_t s, const px_node_desc *desc) {
    const px_device_rec *d = p->devs[s].rec;
    const char *plugin = p->ctx->plugins[d->plugin].name;
    const px_cfg_kernel *want = kernel_choice(p->ctx->cfg, desc->op, plugin);
    const px_kernel *best = NULL;
    for (int32_t k = 0; k < d->n_kernels; k++) {
        const px_kernel *kr = &d->kernels[k];
        if (kr->op != desc->op || !kr->run) continue;
        if (kr->supports && !kr->supports(d->dev, desc)) continue;
        if (want && kr->name && strcmp(kr->name, want->kernel) == 0) return kr;
        if (!best || kr->priority > best->priority) best = kr;
    }
    if (want && best && !p->kernel_warned[desc->op]) {
        int exists = 0;
        for (int32_t k = 0; k < d->n_kernels; k++)
            exists |= d->kernels[k].op == desc->op && d->kernels[k].name && strcmp(d->kernels[k].name, want->kernel) == 0;
        const px_config *cfg = p->ctx->cfg;
        px_log(PX_LOG_WARN, "scheduler", "%s:%d: [kernels] %s = %s:%s: %s; using %s", cfg->path ? cfg->path : "config",
               px_config_line(cfg, "kernels", px_op_name(desc->op)), px_op_name(desc->op), want->plugin, want->kernel,
               exists ? "that kernel does not support every node" : "the plugin has no kernel of that name",
               best->name);
        if (exists) px_log(PX_LOG_WARN, "scheduler", "  first unsupported node: '%s'", desc->name);
        p->kernel_warned[desc->op] = 1;
    }
    return best;
}

/* ---- candidates ------------------------------------------------------------------- */

static int32_t g_max_group(const px_graph *g) {
    int32_t m = -1;
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].group > m) m = g->nodes[i].group;
    return m;
}

static int32_t offload_setting(const px_program *p, const px_program_options *o) {
    if (o->offload_layers >= 0) return o->offload_layers;
    if (p->ctx->cfg && p->ctx->cfg->offload_layers >= 0) return p->ctx->cfg->offload_layers;
    return -1;
}

/* Candidate slots of a node, best first. */
static int32_t candidates(const px_program *p, px_op op, int32_t group, int32_t n_groups, int32_t offload,
                          int32_t *out) {
    int32_t n = 0;
    const px_config *cfg = p->ctx->cfg;
    for (int32_t i = 0; cfg && i < cfg->n_op_devices; i++) {
        if (cfg->op_devices[i].op != op) continue;
        int32_t d = px_context_find_device(p->ctx, cfg->op_devices[i].device);
        for (int32_t s = 0; s < p->n_devs && d >= 0; s++)
            if (p->devs[s].ctx_dev == d) out[n++] = s;
    }
    int offloaded = offload < 0 || (group >= 0 && group >= n_groups - offload);
    int32_t n_override = n;
    for (int pass = 0; pass < 2 && n == n_override; pass++) {
        /* pass 0: the order, CPUs only for nodes outside the offloaded
         * layers; pass 1 (no CPU in the order): every device. */
        for (int32_t s = 0; s < p->n_devs; s++) {
            if (pass == 0 && !offloaded && p->devs[s].rec->info.kind != PX_DEVICE_CPU) continue;
            int dup = 0;
            for (int32_t j = 0; j < n; j++) dup |= out[j] == s;
            if (!dup) out[n++] = s;
        }
    }
    return n;
}

/* ---- lowering ---------------------------------------------------------------------- */

static int op_listed(const char *list, px_op op) {
    if (!list || !*list) return 0;
    if (strcmp(list, "all") == 0) return 1;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
        if (px_op_from_name(t) == op) return 1;
    return 0;
}

static px_status copy_value(px_program *p, const px_graph *src, px_value v) {
    const px_value_rec *r = &src->values[v];
    px_value nv = PX_NONE;
    switch (r->kind) {
    case PX_VALUE_INPUT: nv = px_graph_input(p->g, r->name, r->dtype, &r->shape); break;
    case PX_VALUE_STATE: nv = px_graph_state(p->g, r->name, r->dtype, &r->shape); break;
    case PX_VALUE_CONSTANT:
        nv = px_graph_constant(p->g, r->name, r->dtype, &r->shape, r->data, r->const_bytes,
                               r->owned ? PX_CONST_COPY : PX_CONST_BORROW);
        break;
    default: return px_set_error(PX_ERR_INTERNAL, "copy_value: value '%s' is produced by a node", r->name);
    }
    if (nv == PX_NONE) return p->g->status;
    p->src_map[v] = nv;
    return PX_OK;
}

px_status px_sched_lower(px_program *p, const px_graph *src, const px_program_options *o) {
    px_status st = resolve_order(p, o);
    if (st) return st;
    if ((st = px_graph_create(&p->g))) return st;
    for (int32_t i = 0; i < src->n_syms; i++)
        if (px_graph_add_sym(p->g, src->syms[i].name, src->syms[i].upper) < 0) return p->g->status;
    p->n_src_values = src->n_values;
    p->src_map = px_calloc((size_t)(src->n_values ? src->n_values : 1), sizeof *p->src_map);
    p->src_names = px_calloc((size_t)(src->n_values ? src->n_values : 1), sizeof *p->src_names);
    if (!p->src_map || !p->src_names) return PX_ERR_NO_MEMORY;
    for (int32_t v = 0; v < src->n_values; v++) {
        p->src_map[v] = PX_NONE;
        if (!(p->src_names[v] = px_strdup(src->values[v].name))) return PX_ERR_NO_MEMORY;
    }
    int32_t n_groups = g_max_group(src) + 1, offload = offload_setting(p, o);
    int32_t cand[PX_MAX_PROGRAM_DEVICES * 2];
    for (int32_t v = 0; v < src->n_values; v++) {
        const px_value_rec *r = &src->values[v];
        if (r->producer < 0) {
            if ((st = copy_value(p, src, v))) return st;
            continue;
        }
        const px_node_rec *n = &src->nodes[r->producer];
        if (n->out[0] != v) continue; /* only first outputs start a node */
        px_value ins[64];
        for (int32_t i = 0; i < n->n_in; i++) ins[i] = n->in[i] == PX_NONE ? PX_NONE : p->src_map[n->in[i]];
        px_graph_set_group(p->g, n->group);
        px_value out = PX_NONE;
        int decompose = 0;
        if (px_op_is_composite(n->op) && px_decompose_supported(n->op)) {
            decompose = op_listed(o->decompose, n->op);
            if (!decompose) {
                px_node_desc desc;
                px_value_desc *vd;
                if ((st = px_sched_make_desc(src, r->producer, &desc, &vd))) return st;
                int32_t nc = candidates(p, n->op, n->group, n_groups, offload, cand);
                if (nc > 0 && p->devs[cand[0]].rec->graph_mode) {
                    /* A graph device decides by claim() later; decompose only
                     * if no kernel device could run the node whole. */
                    decompose = 1;
                    for (int32_t c = 1; c < nc && decompose; c++)
                        if (!p->devs[cand[c]].rec->graph_mode && select_kernel(p, cand[c], &desc)) decompose = 0;
                } else {
                    decompose = nc == 0 || !select_kernel(p, cand[0], &desc);
                }
                free(vd);
            }
        }
        if (decompose) {
            px_node_info info;
            px_graph_node_info(src, r->producer, &info);
            out = px_decompose_node(p->g, src, &info, ins);
            p->n_decomposed++;
        } else if (n->op == PX_OP_RESHAPE) {
            out = px_graph_reshape(p->g, ins[0], &r->shape, n->name);
        } else if (n->op == PX_OP_ARANGE) {
            out = px_graph_arange(p->g, r->shape.d[0], px_attr_float(n->attrs, n->n_attrs, "start", 0),
                                  px_attr_float(n->attrs, n->n_attrs, "step", 1),
                                  (px_dtype)px_attr_int(n->attrs, n->n_attrs, "dtype", PX_F32), n->name);
        } else {
            out = px_graph_node(p->g, n->op, ins, n->n_in, n->attrs, n->n_attrs, n->name);
        }
        if (out == PX_NONE) {
            if (!p->g->status) return px_set_error(PX_ERR_INTERNAL, "lowering node '%s' failed", n->name);
            return px_set_error(p->g->status, "%s", p->g->error);
        }
        if (r->kind == PX_VALUE_OUTPUT) {
            /* Give the lowered output the source's name (unless another value holds it). */
            px_value holder = px_graph_find_value(p->g, r->name);
            if (holder != PX_NONE && holder != out) {
                char tmp[64];
                snprintf(tmp, sizeof tmp, "~renamed%d", holder);
                free(p->g->values[holder].name);
                p->g->values[holder].name = px_strdup(tmp);
                if (!p->g->values[holder].name) return PX_ERR_NO_MEMORY;
            }
            if (p->g->values[out].kind != PX_VALUE_INTERMEDIATE && p->g->values[out].kind != PX_VALUE_OUTPUT)
                return px_set_error(PX_ERR_INTERNAL, "output '%s' lowered to a non-node value", r->name);
            if ((st = px_graph_mark_output(p->g, out, r->name))) return st;
        }
        p->src_map[v] = out;
    }
    return px_graph_status(p->g);
}

/* ---- placement and segments ------------------------------------------------------------ */

static int32_t writes_state(const px_graph *g, const px_node_rec *n, px_value *out_states) {
    int32_t k = 0;
    if (n->op == PX_OP_SET_ROWS && n->n_in > 0) out_states[k++] = n->in[0];
    if (n->op == PX_OP_ATTENTION)
        for (int32_t i = 3; i <= 4 && i < n->n_in; i++)
            if (n->in[i] != PX_NONE) out_states[k++] = n->in[i];
    (void)g;
    return k;
}

static uint64_t node_const_bytes(const px_program *p, const px_node_rec *n, int32_t s) {
    uint64_t b = 0;
    for (int32_t i = 0; i < n->n_in; i++) {
        if (n->in[i] == PX_NONE) continue;
        px_value r = p->root[n->in[i]];
        if (p->g->values[r].kind == PX_VALUE_CONSTANT && !px_prog_loc(p, r, s)->valid)
            b += p->g->values[r].const_bytes;
    }
    return b;
}

/* The whole graph as a px_subgraph_desc, for claim() and compile(). */
static px_status build_subgraph(px_program *p) {
    const px_graph *g = p->g;
    int32_t nn = g->n_nodes, ni = 0, no = 0;
    for (int32_t i = 0; i < nn; i++) {
        ni += g->nodes[i].n_in;
        no += g->nodes[i].n_out;
    }
    p->sub_nodes = px_calloc((size_t)(nn ? nn : 1), sizeof *p->sub_nodes);
    p->sub_node_ids = px_calloc((size_t)(nn ? nn : 1), sizeof *p->sub_node_ids);
    p->sub_in_off = px_calloc((size_t)nn + 1, sizeof *p->sub_in_off);
    p->sub_out_off = px_calloc((size_t)nn + 1, sizeof *p->sub_out_off);
    p->sub_in = px_calloc((size_t)(ni ? ni : 1), sizeof *p->sub_in);
    p->sub_out = px_calloc((size_t)(no ? no : 1), sizeof *p->sub_out);
    if (!p->sub_nodes || !p->sub_node_ids || !p->sub_in_off || !p->sub_out_off || !p->sub_in || !p->sub_out)
        return PX_ERR_NO_MEMORY;
    ni = no = 0;
    for (int32_t i = 0; i < nn; i++) {
        const px_node_rec *n = &g->nodes[i];
        p->sub_nodes[i] = p->nodes[i].desc;
        p->sub_node_ids[i] = i;
        p->sub_in_off[i] = ni;
        p->sub_out_off[i] = no;
        for (int32_t j = 0; j < n->n_in; j++) p->sub_in[ni++] = n->in[j];
        for (int32_t j = 0; j < n->n_out; j++) p->sub_out[no++] = n->out[j];
    }
    p->sub_in_off[nn] = ni;
    p->sub_out_off[nn] = no;
    p->sub = (px_subgraph_desc){
        .struct_size = sizeof(px_subgraph_desc),
        .n_nodes = nn,
        .nodes = p->sub_nodes,
        .node_ids = p->sub_node_ids,
        .input_ids = p->sub_in,
        .input_off = p->sub_in_off,
        .output_ids = p->sub_out,
        .output_off = p->sub_out_off,
    };
    return PX_OK;
}

/* Ask every graph-mode device which nodes it takes. */
static px_status claim_nodes(px_program *p) {
    int any = 0;
    for (int32_t s = 0; s < p->n_devs; s++) any |= p->devs[s].rec->graph_mode;
    if (!any) return PX_OK;
    px_status st = build_subgraph(p);
    if (st) return st;
    int32_t nn = p->g->n_nodes;
    const char **reasons = px_calloc((size_t)(nn ? nn : 1), sizeof *reasons);
    if (!reasons) return PX_ERR_NO_MEMORY;
    for (int32_t s = 0; s < p->n_devs && st == PX_OK; s++) {
        px_device_rec *d = p->devs[s].rec;
        if (!d->graph_mode) continue;
        p->claimed[s] = px_malloc((size_t)(nn ? nn : 1) * sizeof *p->claimed[s]);
        if (!p->claimed[s]) {
            st = PX_ERR_NO_MEMORY;
            break;
        }
        for (int32_t i = 0; i < nn; i++) {
            p->claimed[s][i] = -1;
            reasons[i] = NULL;
        }
        px_claim_result r = {.struct_size = sizeof r, .group_of_node = p->claimed[s], .reason = reasons};
        px_clear_error();
        st = d->ops->claim(d->dev, &p->sub, &r);
        if (st) {
            st = px_set_error(st, "device %s: claim failed: %s", d->id, px_last_error());
            break;
        }
        for (int32_t i = 0; i < nn; i++)
            if (p->claimed[s][i] < 0 && reasons[i])
                px_log(PX_LOG_DEBUG, "scheduler", "%s refused node '%s': %s", d->id, p->g->nodes[i].name, reasons[i]);
    }
    free(reasons);
    return st;
}

static px_status place_nodes(px_program *p, const px_program_options *o) {
    const px_graph *g = p->g;
    int32_t n_groups = g_max_group(g) + 1, offload = offload_setting(p, o);
    int32_t cand[PX_MAX_PROGRAM_DEVICES * 2];
    for (int32_t i = 0; i < g->n_nodes; i++) {
        p->nodes[i].node = i;
        p->nodes[i].dev = -1;
        px_status st = px_sched_make_desc(g, i, &p->nodes[i].desc, &p->nodes[i].vdesc);
        if (st) return st;
    }
    px_status cst = claim_nodes(p);
    if (cst) return cst;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const px_node_rec *n = &g->nodes[i];
        px_prog_node *pn = &p->nodes[i];
        if (n->op == PX_OP_RESHAPE) continue;
        px_value states[2];
        int32_t ns = writes_state(g, n, states);
        int32_t forced = -1;
        for (int32_t k = 0; k < ns; k++)
            if (p->home[states[k]] >= 0) forced = p->home[states[k]];
        int32_t nc = candidates(p, n->op, n->group, n_groups, offload, cand);
        for (int32_t c = 0; c < nc && pn->dev < 0; c++) {
            int32_t s = cand[c];
            if (forced >= 0 && s != forced) continue;
            const px_kernel *k = NULL;
            if (p->devs[s].rec->graph_mode) {
                if (p->claimed[s][i] < 0) continue;
            } else if (!(k = select_kernel(p, s, &pn->desc))) {
                continue;
            }
            uint64_t add = node_const_bytes(p, n, s);
            px_prog_device *d = &p->devs[s];
            if (d->budget && d->const_bytes + add > d->budget) {
                px_log(PX_LOG_INFO, "scheduler", "node '%s': device %s over its memory budget", n->name, d->rec->id);
                continue;
            }
            d->const_bytes += add;
            pn->dev = s;
            pn->kernel = k;
            for (int32_t j = 0; j < n->n_in; j++) {
                if (n->in[j] == PX_NONE) continue;
                px_value r = p->root[n->in[j]];
                if (g->values[r].kind == PX_VALUE_CONSTANT) px_prog_loc(p, r, s)->valid = 1;
            }
        }
        if (pn->dev < 0) {
            char types[256] = "";
            size_t off = 0;
            for (int32_t j = 0; j < n->n_in && off < sizeof types; j++)
                off += (size_t)snprintf(types + off, sizeof types - off, "%s%s", j ? ", " : "",
                                        n->in[j] == PX_NONE ? "-" : px_dtype_name(g->values[n->in[j]].dtype));
            if (forced >= 0)
                return px_set_error(PX_ERR_UNSUPPORTED,
                                    "node '%s' (%s; inputs %s) writes a state that lives on %s, which has no kernel for it",
                                    n->name, px_op_name(n->op), types, p->devs[forced].rec->id);
            return px_set_error(PX_ERR_UNSUPPORTED, "no device in the order has a kernel for node '%s' (%s; inputs %s)",
                                n->name, px_op_name(n->op), types);
        }
        p->home[n->out[0]] = pn->dev;
        for (int32_t k = 0; k < ns; k++)
            if (p->home[states[k]] < 0) p->home[states[k]] = pn->dev;
    }
    /* States nobody writes live on their first reader's device. */
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const px_node_rec *n = &g->nodes[i];
        for (int32_t j = 0; j < n->n_in; j++) {
            px_value v = n->in[j];
            if (v == PX_NONE || p->nodes[i].dev < 0) continue;
            px_value r = p->root[v];
            if (g->values[r].kind == PX_VALUE_STATE && p->home[r] < 0) p->home[r] = p->nodes[i].dev;
        }
    }
    return PX_OK;
}

static px_status push_xfer(px_program *p, int32_t *cap, px_value v, int32_t src, int32_t dst) {
    if (p->n_xfers == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        px_transfer *x = px_realloc_array(p->xfers, (size_t)*cap, sizeof *x);
        if (!x) return PX_ERR_NO_MEMORY;
        p->xfers = x;
    }
    p->xfers[p->n_xfers].value = v;
    p->xfers[p->n_xfers].src = src;
    p->xfers[p->n_xfers].dst = dst;
    p->n_xfers++;
    return PX_OK;
}

/* Cut segments and find transfers. A replica of an intermediate made on a
 * device is reused by later segments there; a state is copied again for
 * each segment that reads it away from home (it may have changed). */
static px_status cut_segments(px_program *p) {
    const px_graph *g = p->g;
    int32_t cap_x = 0;
    uint8_t *replica = px_calloc((size_t)g->n_values * (size_t)p->n_devs, 1);
    p->segs = px_calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *p->segs);
    if (!replica || !p->segs) {
        free(replica);
        return PX_ERR_NO_MEMORY;
    }
    px_segment *cur = NULL;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        px_prog_node *pn = &p->nodes[i];
        if (pn->dev < 0) continue;
        int new_unit = cur && p->devs[pn->dev].rec->graph_mode && cur->dev == pn->dev &&
                       p->claimed[pn->dev][i] != p->claimed[pn->dev][cur->first];
        if (!cur || cur->dev != pn->dev || new_unit) {
            cur = &p->segs[p->n_segs++];
            cur->dev = pn->dev;
            cur->first = i;
            cur->count = 0;
            cur->first_transfer = p->n_xfers;
            cur->n_transfers = 0;
        }
        cur->count = i - cur->first + 1;
        const px_node_rec *n = &g->nodes[i];
        for (int32_t j = 0; j < n->n_in; j++) {
            if (n->in[j] == PX_NONE) continue;
            px_value r = p->root[n->in[j]];
            px_value_kind k = g->values[r].kind;
            if (k == PX_VALUE_CONSTANT || k == PX_VALUE_INPUT) {
                px_prog_loc(p, r, pn->dev)->valid = 1;
                continue;
            }
            int32_t h = p->home[r];
            if (h == pn->dev || h < 0) continue;
            uint8_t *rep = &replica[(size_t)r * (size_t)p->n_devs + (size_t)pn->dev];
            if (*rep && k != PX_VALUE_STATE) continue;
            /* Not twice in one segment. */
            int dup = 0;
            for (int32_t x = cur->first_transfer; x < p->n_xfers; x++)
                dup |= p->xfers[x].value == r && p->xfers[x].dst == pn->dev;
            if (dup) continue;
            if (push_xfer(p, &cap_x, r, h, pn->dev)) {
                free(replica);
                return PX_ERR_NO_MEMORY;
            }
            cur->n_transfers++;
            *rep = 1;
            px_prog_loc(p, r, pn->dev)->valid = 1;
        }
    }
    free(replica);
    return PX_OK;
}

px_status px_sched_place(px_program *p, const px_program_options *o) {
    const px_graph *g = p->g;
    size_t nv = (size_t)(g->n_values ? g->n_values : 1);
    p->nodes = px_calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *p->nodes);
    if (p->nodes) p->n_nodes = g->n_nodes;
    p->root = px_calloc(nv, sizeof *p->root);
    p->home = px_calloc(nv, sizeof *p->home);
    p->locs = px_calloc(nv * (size_t)p->n_devs, sizeof *p->locs);
    if (!p->nodes || !p->root || !p->home || !p->locs) return PX_ERR_NO_MEMORY;
    for (int32_t v = 0; v < g->n_values; v++) {
        p->root[v] = v;
        p->home[v] = -1;
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const px_node_rec *n = &g->nodes[i];
        if (n->op == PX_OP_RESHAPE || n->op == PX_OP_SET_ROWS) p->root[n->out[0]] = p->root[n->in[0]];
    }
    px_status st = place_nodes(p, o);
    if (st) return st;
    /* Constant locations marked during placement are redone from the cut. */
    for (size_t i = 0; i < nv * (size_t)p->n_devs; i++) p->locs[i].valid = 0;
    if ((st = cut_segments(p))) return st;
    /* Root values produced on a device live there. */
    for (int32_t v = 0; v < g->n_values; v++)
        if (p->root[v] == v && p->home[v] >= 0) px_prog_loc(p, v, p->home[v])->valid = 1;
    /* An output that aliases an input or a state no node reads (a reshape
     * of it) still needs a home to be read back from. */
    for (int32_t v = 0; v < g->n_values; v++) {
        px_value r = p->root[v];
        px_value_kind k = g->values[r].kind;
        if (g->values[v].kind != PX_VALUE_OUTPUT || p->home[r] >= 0) continue;
        if (k != PX_VALUE_INPUT && k != PX_VALUE_STATE) continue;
        int32_t s = 0;
        for (int32_t d = 0; d < p->n_devs; d++)
            if (px_prog_loc(p, r, d)->valid) {
                s = d;
                break;
            }
        p->home[r] = s;
        px_prog_loc(p, r, s)->valid = 1;
    }
    return PX_OK;
}

/* ---- graph-mode units ----------------------------------------------------------------- */

static int in_unit(const px_segment *sg, int32_t node) { return node >= sg->first && node < sg->first + sg->count; }

static px_status unit_io(px_program *p, px_segment *sg) {
    const px_graph *g = p->g;
    int32_t cap = 0;
    for (int32_t i = sg->first; i < sg->first + sg->count; i++) cap += g->nodes[i].n_in + g->nodes[i].n_out;
    sg->uin = px_calloc((size_t)(cap ? cap : 1), sizeof *sg->uin);
    sg->uout = px_calloc((size_t)(cap ? cap : 1), sizeof *sg->uout);
    if (!sg->uin || !sg->uout) return PX_ERR_NO_MEMORY;
    for (int32_t i = sg->first; i < sg->first + sg->count; i++) {
        const px_node_rec *n = &g->nodes[i];
        for (int32_t j = 0; j < n->n_in; j++) {
            px_value v = n->in[j];
            if (v == PX_NONE || (g->values[v].producer >= 0 && in_unit(sg, g->values[v].producer))) continue;
            int dup = 0;
            for (int32_t k = 0; k < sg->n_uin; k++) dup |= sg->uin[k] == v;
            if (!dup) sg->uin[sg->n_uin++] = v;
        }
        for (int32_t j = 0; j < n->n_out; j++) {
            px_value v = n->out[j];
            int used = g->values[v].kind == PX_VALUE_OUTPUT;
            for (int32_t k = sg->first + sg->count; k < g->n_nodes && !used; k++)
                for (int32_t m = 0; m < g->nodes[k].n_in; m++) used |= g->nodes[k].in[m] == v;
            if (used) sg->uout[sg->n_uout++] = v;
        }
    }
    return PX_OK;
}

px_status px_sched_compile_units(px_program *p) {
    for (int32_t k = 0; k < p->n_segs; k++) {
        px_segment *sg = &p->segs[k];
        px_device_rec *d = p->devs[sg->dev].rec;
        if (!d->graph_mode) continue;
        px_status st = unit_io(p, sg);
        if (st) return st;
        int32_t *idx = px_calloc((size_t)sg->count, sizeof *idx);
        if (!idx) return PX_ERR_NO_MEMORY;
        for (int32_t i = 0; i < sg->count; i++) idx[i] = sg->first + i;
        px_clear_error();
        st = d->ops->compile(d->dev, &p->sub, idx, sg->count, sg->uin, sg->n_uin, sg->uout, sg->n_uout, &sg->exec);
        free(idx);
        if (st || !sg->exec)
            return px_set_error(st ? st : PX_ERR_DEVICE, "device %s: compiling nodes %d..%d failed: %s", d->id,
                                sg->first, sg->first + sg->count - 1, px_last_error());
    }
    return PX_OK;
}

void px_sched_free_units(px_program *p) {
    for (int32_t k = 0; k < p->n_segs; k++) {
        px_segment *sg = &p->segs[k];
        px_device_rec *d = p->devs[sg->dev].rec;
        if (sg->exec && d->ops->exec_free) d->ops->exec_free(d->dev, sg->exec);
        free(sg->uin);
        free(sg->uout);
    }
    for (int32_t s = 0; s < PX_MAX_PROGRAM_DEVICES; s++) free(p->claimed[s]);
    free(p->sub_nodes);
    free(p->sub_node_ids);
    free(p->sub_in_off);
    free(p->sub_out_off);
    free(p->sub_in);
    free(p->sub_out);
}
