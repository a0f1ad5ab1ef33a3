/* A graph-mode test device ("fakenpu"): it registers no kernels and instead
 * claims F32 ADD, MUL and SILU nodes (and RESHAPE aliases), compiles runs of
 * them into a small program of its own, and executes that program on host
 * memory it keeps private. It exercises claim/compile/execute of the plugin
 * ABI the way an NPU runtime (QNN) uses it. Counters are exported for the
 * test. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plexus/plugin.h"

static const px_host_api *host;
static int fake_device;
static uint64_t n_compiled, n_executed;

PX_EXPORT void pxtest_fakenpu_counters(uint64_t *compiled, uint64_t *executed) {
    *compiled = n_compiled;
    *executed = n_executed;
}

static px_status info(void *dev, px_device_info *o) {
    (void)dev;
    o->kind = PX_DEVICE_NPU;
    snprintf(o->name, sizeof o->name, "fake npu (graph mode)");
    o->flags = 0;
    o->alignment = 64;
    o->mem_total = 1u << 30;
    return PX_OK;
}

/* Buffers: plain host memory behind an opaque handle. */
static px_status balloc(void *dev, size_t n, void **out) {
    (void)dev;
    *out = calloc(1, n ? n : 1);
    return *out ? PX_OK : host->set_error(PX_ERR_NO_MEMORY, "fakenpu: out of memory");
}
static void bfree(void *dev, void *b) {
    (void)dev;
    free(b);
}
static px_status up(void *dev, void *b, uint64_t off, const void *src, size_t n) {
    (void)dev;
    memcpy((char *)b + off, src, n);
    return PX_OK;
}
static px_status down(void *dev, void *b, uint64_t off, void *dst, size_t n) {
    (void)dev;
    memcpy(dst, (char *)b + off, n);
    return PX_OK;
}

static int claimable(const px_node_desc *n) {
    if (n->op == PX_OP_RESHAPE) return n->inputs[0].dtype == PX_F32;
    if (n->op != PX_OP_ADD && n->op != PX_OP_MUL && n->op != PX_OP_SILU) return 0;
    for (int32_t i = 0; i < n->n_inputs; i++)
        if (n->inputs[i].dtype != PX_F32) return 0;
    /* Binary ops: same shapes only (no broadcasting on this device). */
    if (n->n_inputs == 2) {
        if (n->inputs[0].rank != n->inputs[1].rank) return 0;
        for (int32_t d = 0; d < n->inputs[0].rank; d++)
            if (n->inputs[0].ne[d] != n->inputs[1].ne[d]) return 0;
    }
    return 1;
}

static px_status claim(void *dev, const px_subgraph_desc *sub, px_claim_result *out) {
    (void)dev;
    for (int32_t i = 0; i < sub->n_nodes; i++) {
        int ok = claimable(&sub->nodes[i]);
        out->group_of_node[i] = ok ? 0 : -1;
        if (!ok) out->reason[i] = "fakenpu runs f32 add/mul/silu only";
    }
    return PX_OK;
}

/* A compiled unit: steps over value slots. Slot numbers index the unit's
 * private storage: external inputs first, then one slot per node output. */
typedef struct step {
    px_op op;
    int32_t a, b, out;
} step;

typedef struct unit {
    int32_t n_steps, n_in, n_slots, n_out;
    step *steps;
    px_value *slot_value;   /* value id held by each slot */
    int32_t *out_slots;     /* slot of each unit output */
} unit;

static int32_t slot_of(const unit *u, px_value v) {
    for (int32_t s = 0; s < u->n_slots; s++)
        if (u->slot_value[s] == v) return s;
    return -1;
}

static void unit_free(unit *u) {
    if (!u) return;
    free(u->steps);
    free(u->slot_value);
    free(u->out_slots);
    free(u);
}

static px_status compile(void *dev, const px_subgraph_desc *sub, const int32_t *idx, int32_t n, const px_value *in_ids,
                         int32_t n_in, const px_value *out_ids, int32_t n_out, void **out) {
    (void)dev;
    unit *u = calloc(1, sizeof *u);
    if (!u) return host->set_error(PX_ERR_NO_MEMORY, "fakenpu: out of memory");
    u->steps = calloc((size_t)n + 1, sizeof *u->steps);
    u->slot_value = calloc((size_t)(n_in + n) + 1, sizeof *u->slot_value);
    u->out_slots = calloc((size_t)n_out + 1, sizeof *u->out_slots);
    if (!u->steps || !u->slot_value || !u->out_slots) {
        unit_free(u);
        return host->set_error(PX_ERR_NO_MEMORY, "fakenpu: out of memory");
    }
    for (int32_t i = 0; i < n_in; i++) u->slot_value[u->n_slots++] = in_ids[i];
    u->n_in = n_in;
    for (int32_t i = 0; i < n; i++) {
        const px_node_desc *d = &sub->nodes[idx[i]];
        int32_t k0 = sub->input_off[idx[i]];
        step *s = &u->steps[u->n_steps++];
        s->op = d->op == PX_OP_RESHAPE ? PX_OP_COPY : d->op;
        s->a = slot_of(u, sub->input_ids[k0]);
        s->b = d->n_inputs > 1 ? slot_of(u, sub->input_ids[k0 + 1]) : -1;
        if (s->a < 0 || (d->n_inputs > 1 && s->b < 0)) {
            unit_free(u);
            return host->set_error(PX_ERR_INTERNAL, "fakenpu: node '%s' reads a value the host did not list", d->name);
        }
        u->slot_value[u->n_slots++] = sub->output_ids[sub->output_off[idx[i]]];
        s->out = u->n_slots - 1;
    }
    for (int32_t j = 0; j < n_out; j++) {
        u->out_slots[j] = slot_of(u, out_ids[j]);
        if (u->out_slots[j] < u->n_in) {
            unit_free(u);
            return host->set_error(PX_ERR_INTERNAL, "fakenpu: output %d is not produced by the unit", j);
        }
    }
    u->n_out = n_out;
    n_compiled++;
    *out = u;
    return PX_OK;
}

static int64_t numel_of(const px_tensor *t) {
    int64_t n = 1;
    for (int32_t d = 0; d < t->rank; d++) n *= t->ne[d];
    return n;
}

static px_status execute(void *dev, void *exec, const px_tensor *in, int32_t n_in, const px_tensor *out, int32_t n_out) {
    (void)dev;
    unit *u = exec;
    if (n_in != u->n_in || n_out != u->n_out)
        return host->set_error(PX_ERR_INTERNAL, "fakenpu: called with %d/%d tensors, compiled for %d/%d", n_in, n_out,
                               u->n_in, u->n_out);
    if (n_in == 0) return host->set_error(PX_ERR_INTERNAL, "fakenpu: a unit without inputs");
    /* Elementwise ops without broadcasting: every slot has one size. */
    int64_t numel = numel_of(&in[0]);
    float *mem = calloc((size_t)u->n_slots * (size_t)(numel ? numel : 1), sizeof(float));
    if (!mem) return host->set_error(PX_ERR_NO_MEMORY, "fakenpu: out of memory");
    for (int32_t s = 0; s < u->n_in; s++) {
        if (in[s].data || numel_of(&in[s]) != numel) {
            free(mem);
            return host->set_error(PX_ERR_INTERNAL, "fakenpu: input %d has a host pointer or another size", s);
        }
        memcpy(mem + s * numel, (const char *)in[s].buffer + in[s].offset, (size_t)numel * sizeof(float));
    }
    for (int32_t i = 0; i < u->n_steps; i++) {
        const step *st = &u->steps[i];
        const float *a = mem + st->a * numel, *b = st->b >= 0 ? mem + st->b * numel : NULL;
        float *o = mem + st->out * numel;
        for (int64_t e = 0; e < numel; e++) {
            if (st->op == PX_OP_ADD) o[e] = a[e] + b[e];
            else if (st->op == PX_OP_MUL) o[e] = a[e] * b[e];
            else if (st->op == PX_OP_SILU) o[e] = a[e] / (1.0f + expf(-a[e]));
            else o[e] = a[e];
        }
    }
    for (int32_t j = 0; j < n_out; j++)
        memcpy((char *)out[j].buffer + out[j].offset, mem + u->out_slots[j] * numel, (size_t)numel * sizeof(float));
    free(mem);
    n_executed++;
    return PX_OK;
}

static void exec_free(void *dev, void *exec) {
    (void)dev;
    unit_free(exec);
}

static const px_device_ops ops = {
    .struct_size = sizeof(px_device_ops),
    .get_info = info,
    .buffer_alloc = balloc,
    .buffer_free = bfree,
    .upload = up,
    .download = down,
    .claim = claim,
    .compile = compile,
    .execute = execute,
    .exec_free = exec_free,
};

static px_status probe(px_probe_result *r) {
    r->n_devices = 1;
    r->score = 1;
    snprintf(r->detail, sizeof r->detail, "graph-mode test device");
    return PX_OK;
}
static px_status create(int32_t i, const px_config_section *c, void **out) {
    (void)i;
    (void)c;
    *out = &fake_device;
    return PX_OK;
}
static void destroy(void *dev) { (void)dev; }

static const px_plugin plugin = {
    .struct_size = sizeof(px_plugin),
    .abi_major = PX_ABI_MAJOR,
    .abi_minor = PX_ABI_MINOR,
    .kind = PX_PLUGIN_DEVICE,
    .name = "fakenpu",
    .version = "test",
    .probe = probe,
    .device_create = create,
    .device_destroy = destroy,
    .device_ops = &ops,
};

PX_EXPORT px_status plexus_plugin_query(uint32_t major, uint32_t minor, const px_host_api *h, const px_plugin **out) {
    (void)minor;
    if (major != PX_ABI_MAJOR) return PX_ERR_ABI;
    host = h;
    *out = &plugin;
    return PX_OK;
}
