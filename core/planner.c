/* The memory planner: value lifetimes and one arena per device.
 *
 * Steps: node i runs at step 2i+1; the transfers at the start of a segment
 * whose first node is i run at step 2i. A value stored in a device's arena
 * lives from the step that writes it (its producer, or the transfer that
 * brings it) to the last step that reads it there (a node, or a transfer
 * that takes it away). Graph inputs and outputs live for the whole run
 * (inputs may be set once and run many times; outputs are read after the
 * run). Every size is taken at the symbols' upper bounds, so one plan
 * serves every run.
 *
 * Offsets: largest value first, each at the lowest aligned offset that
 * does not overlap any already placed value whose lifetime overlaps its
 * own (greedy by size; optimal packing is NP-hard, this is within a few
 * percent of the live-size lower bound on transformer graphs).
 */
#include <stdlib.h>
#include <string.h>

#include "plexus/dtype.h"
#include "program.h"

#define STEP_END INT32_MAX

typedef px_plan_item item;

static int by_size_desc(const void *a, const void *b) {
    const item *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    return x->v - y->v;
}

static int by_offset(const void *a, const void *b) {
    const item *const *x = a, *const *y = b;
    return (*x)->offset < (*y)->offset ? -1 : (*x)->offset > (*y)->offset;
}

px_status px_plan_pack(px_plan_item *items, int32_t n, uint64_t align, uint64_t *out_size) {
    qsort(items, (size_t)n, sizeof *items, by_size_desc);
    item **live = px_calloc((size_t)(n ? n : 1), sizeof *live);
    if (!live) return PX_ERR_NO_MEMORY;
    uint64_t total = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t nl = 0;
        for (int32_t j = 0; j < i; j++)
            if (items[j].start <= items[i].end && items[i].start <= items[j].end) live[nl++] = &items[j];
        qsort(live, (size_t)nl, sizeof *live, by_offset);
        uint64_t off = 0;
        for (int32_t j = 0; j < nl; j++) {
            if (live[j]->offset >= off + items[i].size) break;
            uint64_t e = px_align_up(live[j]->offset + live[j]->size, align);
            if (e > off) off = e;
        }
        items[i].offset = off;
        if (off + items[i].size > total) total = off + items[i].size;
    }
    free(live);
    *out_size = total;
    return PX_OK;
}

static uint64_t value_size(const px_program *p, px_value v, uint64_t align) {
    int64_t b = px_value_bytes(p->g, v, NULL);
    uint64_t s = b > 0 ? (uint64_t)b : 0;
    return px_align_up(s ? s : 1, align);
}

px_status px_plan_memory(px_program *p) {
    const px_graph *g = p->g;
    int32_t nv = g->n_values;
    int32_t *start = px_malloc((size_t)(nv ? nv : 1) * sizeof *start);
    int32_t *end = px_malloc((size_t)(nv ? nv : 1) * sizeof *end);
    item *items = px_calloc((size_t)(nv ? nv : 1), sizeof *items);
    if (!start || !end || !items) {
        free(start);
        free(end);
        free(items);
        return PX_ERR_NO_MEMORY;
    }
    px_status st = PX_OK;
    for (int32_t s = 0; s < p->n_devs && st == PX_OK; s++) {
        px_prog_device *d = &p->devs[s];
        uint64_t align = d->rec->info.alignment;
        for (int32_t v = 0; v < nv; v++) {
            start[v] = STEP_END;
            end[v] = -1;
        }
        /* Writers. */
        for (int32_t v = 0; v < nv; v++) {
            if (p->root[v] != v || !px_prog_loc(p, v, s)->valid) continue;
            const px_value_rec *r = &g->values[v];
            if (r->kind == PX_VALUE_INPUT) start[v] = 0, end[v] = STEP_END;
            else if (r->producer >= 0 && p->home[v] == s) start[v] = 2 * r->producer + 1;
        }
        for (int32_t k = 0; k < p->n_segs; k++) {
            const px_segment *sg = &p->segs[k];
            for (int32_t x = sg->first_transfer; x < sg->first_transfer + sg->n_transfers; x++) {
                const px_transfer *t = &p->xfers[x];
                int32_t step = 2 * sg->first;
                if (t->dst == s && step < start[t->value]) start[t->value] = step;
                if (t->src == s && step > end[t->value]) end[t->value] = step;
            }
        }
        /* Readers. */
        for (int32_t i = 0; i < p->n_nodes; i++) {
            if (p->nodes[i].dev != s) continue;
            const px_node_rec *n = &g->nodes[i];
            for (int32_t j = 0; j < n->n_in; j++) {
                if (n->in[j] == PX_NONE) continue;
                px_value r = p->root[n->in[j]];
                if (2 * i + 1 > end[r]) end[r] = 2 * i + 1;
            }
        }
        for (int32_t v = 0; v < nv; v++)
            if (g->values[v].kind == PX_VALUE_OUTPUT && p->home[p->root[v]] == s) end[p->root[v]] = STEP_END;

        /* Constants and states have regions of their own. */
        int32_t ni = 0;
        for (int32_t v = 0; v < nv; v++) {
            px_loc *l = px_prog_loc(p, v, s);
            if (p->root[v] != v || !l->valid) continue;
            const px_value_rec *r = &g->values[v];
            if (r->kind == PX_VALUE_CONSTANT) {
                if (d->host_visible) {
                    l->where = PX_LOC_HOSTPTR;
                    l->host = r->data;
                } else {
                    l->where = PX_LOC_WEIGHTS;
                    l->offset = d->weights_size;
                    d->weights_size += px_align_up(r->const_bytes ? r->const_bytes : 1, align);
                }
                continue;
            }
            if (r->kind == PX_VALUE_STATE && p->home[v] == s) {
                l->where = PX_LOC_STATE;
                l->offset = d->state_size;
                d->state_size += value_size(p, v, align);
                continue;
            }
            if (start[v] == STEP_END) start[v] = end[v] >= 0 ? end[v] : 0;
            if (end[v] < start[v]) end[v] = start[v];
            items[ni].v = v;
            items[ni].start = start[v];
            items[ni].end = end[v];
            items[ni].size = value_size(p, v, align);
            ni++;
        }
        st = px_plan_pack(items, ni, align, &d->arena_size);
        for (int32_t i = 0; i < ni && st == PX_OK; i++) {
            px_loc *l = px_prog_loc(p, items[i].v, s);
            l->where = PX_LOC_ARENA;
            l->offset = items[i].offset;
        }
    }
    free(start);
    free(end);
    free(items);
    return st;
}
