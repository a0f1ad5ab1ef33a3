/* Internal: decompositions of composite ops (RMS_NORM, SWIGLU, ROPE,
 * ATTENTION) into primitive ops, used when the device chosen for a node has
 * no kernel for it, or when asked to (px_program_options.decompose). */
#ifndef PLEXUS_CORE_DECOMPOSE_H
#define PLEXUS_CORE_DECOMPOSE_H

#include "plexus/ir.h"

/* Append to `dst` primitive nodes that compute `node` (a node of the source
 * graph `src`, described by `node`), whose inputs are already present in
 * `dst` as `inputs[i]` (PX_NONE for absent optional inputs; n_inputs as in
 * node->n_inputs). Returns the dst value that holds the node's output, or
 * PX_NONE with the error recorded on `dst` (px_graph_status).
 *
 * Only the public builder API of ir.h is used. New nodes get names derived
 * from node->name ("<name>.<step>") and the node's group. Constants that the
 * decomposition needs are added with PX_CONST_COPY. */
px_value px_decompose_node(px_graph *dst, const px_graph *src, const px_node_info *node,
                           const px_value *inputs);

/* 1 if px_decompose_node can decompose `op`. */
int px_decompose_supported(px_op op);

#endif
