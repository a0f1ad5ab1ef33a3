/* Internal: a compiled program. The scheduler (scheduler.c) lowers the
 * graph (decompositions), places nodes and cuts segments; the planner
 * (planner.c) computes lifetimes and arena offsets; program.c allocates,
 * uploads and runs. */
#ifndef PLEXUS_CORE_PROGRAM_H
#define PLEXUS_CORE_PROGRAM_H

#include "context.h"
#include "graph.h"

#define PX_MAX_PROGRAM_DEVICES 16

/* Where a value's storage lives on one device. */
typedef struct px_loc {
    int32_t valid;
    int32_t where;      /* PX_LOC_* */
    uint64_t offset;    /* within the region */
    const void *host;   /* PX_LOC_HOSTPTR: the constant's bytes used in place */
} px_loc;

enum {
    PX_LOC_NONE = 0,
    PX_LOC_ARENA = 1,   /* the device's arena */
    PX_LOC_WEIGHTS = 2, /* the device's weights buffer */
    PX_LOC_STATE = 3,   /* the device's state buffer */
    PX_LOC_HOSTPTR = 4  /* host memory used in place (host-visible device) */
};

typedef struct px_transfer {
    px_value value;     /* root value */
    int32_t src, dst;   /* program device slots */
} px_transfer;

typedef struct px_segment {
    int32_t dev;        /* program device slot */
    int32_t first, count;   /* node range in exec order (indices into p->order) */
    int32_t first_transfer, n_transfers;
    /* Graph-mode devices: the compiled unit (NULL for kernel segments),
     * its external inputs and its outputs (see px_device_ops.execute). */
    void *exec;
    int32_t n_uin, n_uout;
    px_value *uin, *uout;
} px_segment;

typedef struct px_prog_node {
    int32_t node;           /* index in p->g */
    int32_t dev;            /* program device slot, -1 for RESHAPE (no kernel) */
    const px_kernel *kernel;
    void *op_state;
    px_node_desc desc;
    px_value_desc *vdesc;   /* inputs then outputs */
} px_prog_node;

typedef struct px_prog_device {
    int32_t ctx_dev;        /* index in ctx->devices */
    px_device_rec *rec;
    int32_t host_visible;
    uint64_t arena_size, weights_size, state_size;
    void *arena, *weights, *state;     /* buffer handles */
    uint8_t *arena_base, *weights_base, *state_base; /* host addresses if visible */
    uint64_t budget;
    uint64_t const_bytes;   /* constants charged while placing */
} px_prog_device;

struct px_program {
    px_context *ctx;
    int32_t plan_only;      /* planned, not allocated: cannot run */
    px_graph *g;            /* lowered copy */
    px_value *src_map;      /* source graph value -> lowered value */
    int32_t n_src_values;
    char **src_names;       /* names of the source graph's values */
    int32_t n_decomposed;

    int32_t n_devs;
    px_prog_device devs[PX_MAX_PROGRAM_DEVICES];

    px_prog_node *nodes;    /* one per node of g, in order */
    int32_t n_nodes;
    px_value *root;         /* alias root of each value */
    int32_t *home;          /* device slot that holds the root (producer/state); -1 host */
    px_loc *locs;           /* [value * n_devs + dev] for root values */

    px_segment *segs;
    int32_t n_segs;
    px_transfer *xfers;
    int32_t n_xfers;
    /* Graph-mode devices: the subgraph handed to claim/compile and the
     * claimed group of each node per slot (-1: not claimed). */
    px_subgraph_desc sub;
    px_node_desc *sub_nodes;
    int32_t *sub_node_ids, *sub_in_off, *sub_out_off;
    px_value *sub_in, *sub_out;
    int32_t *claimed[PX_MAX_PROGRAM_DEVICES];

    int64_t *sym_values;
    int64_t *ne;            /* [value * PX_MAX_DIMS] current shapes */
    int32_t shapes_dirty;
    uint8_t *staging;       /* host buffer for device->device transfers */
    uint64_t staging_size;
    px_tensor *targs;       /* scratch for kernel args */
    int32_t max_args;

    uint64_t uploads, downloads;
    uint8_t kernel_warned[PX_OP_COUNT]; /* [kernels] choice warnings given */
};

/* scheduler.c */
px_status px_sched_lower(px_program *p, const px_graph *src, const px_program_options *o);
px_status px_sched_place(px_program *p, const px_program_options *o);
/* Compile the units of graph-mode segments (after px_plan_memory is not
 * needed: units only depend on the schedule). */
px_status px_sched_compile_units(px_program *p);
void px_sched_free_units(px_program *p);
/* Fill desc/vdesc of a program node from the lowered graph. */
px_status px_sched_make_desc(const px_graph *g, int32_t node, px_node_desc *desc, px_value_desc **vdesc);

/* planner.c */
typedef struct px_plan_item {
    px_value v;
    int32_t start, end;     /* inclusive steps */
    uint64_t size, offset;  /* size rounded to the alignment; offset out */
} px_plan_item;
/* Assign offsets (items are reordered, largest first) so that items whose
 * lifetimes overlap do not overlap in memory; returns the arena size. */
px_status px_plan_pack(px_plan_item *items, int32_t n, uint64_t align, uint64_t *out_size);
px_status px_plan_memory(px_program *p);

static inline px_loc *px_prog_loc(const px_program *p, px_value v, int32_t dev) {
    return &p->locs[(size_t)v * (size_t)p->n_devs + (size_t)dev];
}

#endif
