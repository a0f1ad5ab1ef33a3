/* Pins the plugin ABI: every field offset and struct size of plugin.h and
 * types.h on LP64 targets (x86-64, aarch64). A failure here means a change
 * reordered or resized an ABI struct: append new fields at the end and bump
 * PX_ABI_MINOR instead. Values were read off the header when ABI 1.0 was
 * declared. */
#include <stddef.h>
#include <string.h>

#include "plexus/plexus.h"
#include "plexus/plugin.h"
#include "test.h"

#define PIN(T, f, off) CHECK_MSG(offsetof(T, f) == (off), #T "." #f " at %zu, pinned at %d", offsetof(T, f), (int)(off))
#define SIZE(T, n) CHECK_MSG(sizeof(T) == (n), "sizeof " #T " is %zu, pinned at %d", sizeof(T), (int)(n))

int main(void) {
    if (sizeof(void *) != 8) {
        printf("test_abi_layout: offsets are pinned for LP64 targets only; skipped\n");
        return PX_TEST_SKIP;
    }
    CHECK(PX_ABI_MAJOR == 1);
    /* Enum values are ABI too. */
    CHECK(PX_F32 == 0 && PX_BOOL == 12 && PX_Q4_0 == 13 && PX_Q8_0 == 17 && PX_Q6_K == 22 && PX_IQ4_NL == 23);
    CHECK(PX_OP_ADD == 1 && PX_OP_MATMUL == 23 && PX_OP_ATTENTION == 39 && PX_OP_ARANGE == 52);
    CHECK(PX_DEVICE_CPU == 0 && PX_DEVICE_GPU == 1 && PX_DEVICE_NPU == 2);
    CHECK(PX_META_STRING == 8 && PX_META_ARRAY == 9 && PX_META_F64 == 12); /* GGUF numbering */
    CHECK(PX_OK == 0 && PX_ERR_ABI == -6 && PX_ERR_RANGE == -13);
    /* Every op has a name that maps back to it. */
    for (int op = 1; op < PX_OP_COUNT; op++) {
        CHECK_MSG(strcmp(px_op_name((px_op)op), "invalid") != 0, "op %d has no name", op);
        CHECK_MSG(px_op_from_name(px_op_name((px_op)op)) == (px_op)op, "op %d name does not round-trip", op);
    }
    PIN(px_tensor, data, 0);
    PIN(px_tensor, buffer, 8);
    PIN(px_tensor, offset, 16);
    PIN(px_tensor, dtype, 24);
    PIN(px_tensor, rank, 28);
    PIN(px_tensor, ne, 32);
    SIZE(px_tensor, 96);
    PIN(px_attr, name, 0);
    PIN(px_attr, type, 8);
    PIN(px_attr, n, 12);
    PIN(px_attr, u, 16);
    SIZE(px_attr, 24);
    PIN(px_config_kv, key, 0);
    PIN(px_config_kv, value, 8);
    PIN(px_config_kv, is_int, 16);
    PIN(px_config_kv, is_float, 20);
    PIN(px_config_kv, i, 24);
    PIN(px_config_kv, f, 32);
    SIZE(px_config_kv, 40);
    PIN(px_config_section, struct_size, 0);
    PIN(px_config_section, n, 4);
    PIN(px_config_section, kv, 8);
    SIZE(px_config_section, 16);
    PIN(px_host_api, struct_size, 0);
    PIN(px_host_api, abi_major, 4);
    PIN(px_host_api, abi_minor, 8);
    PIN(px_host_api, log, 16);
    PIN(px_host_api, set_error, 24);
    PIN(px_host_api, alloc, 32);
    PIN(px_host_api, free, 40);
    PIN(px_host_api, parallel_for, 48);
    PIN(px_host_api, n_threads, 56);
    PIN(px_host_api, convert, 64);
    SIZE(px_host_api, 72);
    PIN(px_value_desc, dtype, 0);
    PIN(px_value_desc, kind, 4);
    PIN(px_value_desc, rank, 8);
    PIN(px_value_desc, ne, 16);
    PIN(px_value_desc, is_sym, 80);
    PIN(px_value_desc, const_data, 88);
    SIZE(px_value_desc, 96);
    PIN(px_node_desc, struct_size, 0);
    PIN(px_node_desc, op, 4);
    PIN(px_node_desc, name, 8);
    PIN(px_node_desc, group, 16);
    PIN(px_node_desc, n_inputs, 20);
    PIN(px_node_desc, inputs, 24);
    PIN(px_node_desc, n_outputs, 32);
    PIN(px_node_desc, outputs, 40);
    PIN(px_node_desc, n_attrs, 48);
    PIN(px_node_desc, attrs, 56);
    SIZE(px_node_desc, 64);
    PIN(px_kernel_args, struct_size, 0);
    PIN(px_kernel_args, node, 8);
    PIN(px_kernel_args, n_inputs, 16);
    PIN(px_kernel_args, inputs, 24);
    PIN(px_kernel_args, n_outputs, 32);
    PIN(px_kernel_args, outputs, 40);
    PIN(px_kernel_args, device, 48);
    PIN(px_kernel_args, op_state, 56);
    PIN(px_kernel_args, host, 64);
    SIZE(px_kernel_args, 72);
    PIN(px_kernel, struct_size, 0);
    PIN(px_kernel, op, 4);
    PIN(px_kernel, name, 8);
    PIN(px_kernel, priority, 16);
    PIN(px_kernel, supports, 24);
    PIN(px_kernel, run, 32);
    PIN(px_kernel, prepare, 40);
    PIN(px_kernel, release, 48);
    SIZE(px_kernel, 56);
    PIN(px_subgraph_desc, struct_size, 0);
    PIN(px_subgraph_desc, n_nodes, 4);
    PIN(px_subgraph_desc, nodes, 8);
    PIN(px_subgraph_desc, node_ids, 16);
    PIN(px_subgraph_desc, input_ids, 24);
    PIN(px_subgraph_desc, input_off, 32);
    PIN(px_subgraph_desc, output_ids, 40);
    PIN(px_subgraph_desc, output_off, 48);
    SIZE(px_subgraph_desc, 56);
    PIN(px_claim_result, struct_size, 0);
    PIN(px_claim_result, group_of_node, 8);
    PIN(px_claim_result, reason, 16);
    SIZE(px_claim_result, 24);
    PIN(px_device_info, struct_size, 0);
    PIN(px_device_info, kind, 4);
    PIN(px_device_info, name, 8);
    PIN(px_device_info, mem_total, 72);
    PIN(px_device_info, mem_free, 80);
    PIN(px_device_info, flags, 88);
    PIN(px_device_info, alignment, 92);
    PIN(px_device_info, max_alloc, 96);
    SIZE(px_device_info, 104);
    PIN(px_device_ops, struct_size, 0);
    PIN(px_device_ops, get_info, 8);
    PIN(px_device_ops, buffer_alloc, 16);
    PIN(px_device_ops, buffer_free, 24);
    PIN(px_device_ops, buffer_base, 32);
    PIN(px_device_ops, upload, 40);
    PIN(px_device_ops, download, 48);
    PIN(px_device_ops, copy, 56);
    PIN(px_device_ops, import_host, 64);
    PIN(px_device_ops, synchronize, 72);
    PIN(px_device_ops, get_kernels, 80);
    PIN(px_device_ops, claim, 88);
    PIN(px_device_ops, compile, 96);
    PIN(px_device_ops, execute, 104);
    PIN(px_device_ops, exec_free, 112);
    SIZE(px_device_ops, 120);
    PIN(px_probe_result, struct_size, 0);
    PIN(px_probe_result, n_devices, 4);
    PIN(px_probe_result, score, 8);
    PIN(px_probe_result, detail, 12);
    SIZE(px_probe_result, 140);
    PIN(px_plugin, struct_size, 0);
    PIN(px_plugin, abi_major, 4);
    PIN(px_plugin, abi_minor, 8);
    PIN(px_plugin, kind, 12);
    PIN(px_plugin, name, 16);
    PIN(px_plugin, version, 24);
    PIN(px_plugin, probe, 32);
    PIN(px_plugin, device_create, 40);
    PIN(px_plugin, device_destroy, 48);
    PIN(px_plugin, device_ops, 56);
    PIN(px_plugin, format_ops, 64);
    SIZE(px_plugin, 72);
    PIN(px_meta_string, ptr, 0);
    PIN(px_meta_string, len, 8);
    SIZE(px_meta_string, 16);
    PIN(px_meta_value, type, 0);
    PIN(px_meta_value, elem_type, 4);
    PIN(px_meta_value, n, 8);
    PIN(px_meta_value, data, 16);
    PIN(px_meta_value, u, 24);
    SIZE(px_meta_value, 40);
    PIN(px_tensor_info, name, 0);
    PIN(px_tensor_info, dtype, 8);
    PIN(px_tensor_info, rank, 12);
    PIN(px_tensor_info, ne, 16);
    PIN(px_tensor_info, data, 80);
    PIN(px_tensor_info, nbytes, 88);
    PIN(px_tensor_info, file_offset, 96);
    SIZE(px_tensor_info, 104);
    PIN(px_format_ops, struct_size, 0);
    PIN(px_format_ops, probe_file, 8);
    PIN(px_format_ops, open, 16);
    PIN(px_format_ops, close, 24);
    PIN(px_format_ops, meta_count, 32);
    PIN(px_format_ops, meta_get, 40);
    PIN(px_format_ops, meta_find, 48);
    PIN(px_format_ops, tensor_count, 56);
    PIN(px_format_ops, tensor_get, 64);
    PIN(px_format_ops, build_graph, 72);
    SIZE(px_format_ops, 80);
    return px_test_finish("test_abi_layout");
}
