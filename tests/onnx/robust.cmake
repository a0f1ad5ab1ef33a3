# ONNX importer on bad input (included by CMakeLists.txt in this folder).
#
# test_onnx_bad: truncated, bit-flipped and structurally corrupted copies of
# real models from ../shared/onnx-tests are opened, built and run; every
# failure must be an error naming the file. Skipped without the folder.
px_add_test(test_onnx_bad test_onnx_bad.c LIBS plexus_onnx_pb)
target_compile_definitions(test_onnx_bad PRIVATE PLUGIN_DIR="${PLEXUS_PLUGIN_OUTPUT_DIR}")
add_dependencies(test_onnx_bad plexus_plugin_onnx plexus_plugin_cpu)
set_tests_properties(test_onnx_bad PROPERTIES LABELS onnx)

# fuzz_onnx: libFuzzer target over the protobuf decoder, the plugin's open
# and the importer (clang, -DPLEXUS_FUZZ=ON; the option is declared in
# tests/config). The ONNX sources are compiled into it with the fuzzer and
# the sanitizers; the graph API comes from libplexus.
if(PLEXUS_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang" AND TARGET plexus_plugin_onnx)
  # the plugin's own sources and the protobuf reader, as the plugin lists them
  set(fuzz_onnx_src)
  foreach(t plexus_plugin_onnx plexus_onnx_pb)
    get_target_property(dir ${t} SOURCE_DIR)
    get_target_property(srcs ${t} SOURCES)
    foreach(s ${srcs})
      if(NOT IS_ABSOLUTE ${s})
        set(s ${dir}/${s})
      endif()
      list(APPEND fuzz_onnx_src ${s})
    endforeach()
  endforeach()
  add_executable(fuzz_onnx fuzz_onnx.c ${fuzz_onnx_src})
  target_include_directories(fuzz_onnx PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/formats/onnx)
  target_compile_options(fuzz_onnx PRIVATE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(fuzz_onnx PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_onnx PRIVATE plexus plexus_common m)
  # Seeds: a few small real models (subgraphs, many nodes, initializers),
  # copied at configure time from the shared folder into the build tree.
  set(onnx_corpus ${CMAKE_CURRENT_BINARY_DIR}/fuzz_onnx_corpus)
  file(MAKE_DIRECTORY ${onnx_corpus})
  foreach(seed node/test_scan9_multi_state node/test_range_int32_type_negative_delta_expanded
      node/test_affine_grid_2d_expanded node/test_attention_4d_causal_expanded
      node/test_linear_attention_gated_expanded pytorch-converted/test_Conv2d simple/test_expand_shape_model1)
    if(EXISTS ${PLEXUS_SHARED_DIR}/onnx-tests/${seed}/model.onnx)
      get_filename_component(nm ${seed} NAME)
      configure_file(${PLEXUS_SHARED_DIR}/onnx-tests/${seed}/model.onnx ${onnx_corpus}/seed-${nm}.onnx COPYONLY)
    endif()
  endforeach()
  add_test(NAME fuzz_onnx COMMAND fuzz_onnx -max_total_time=20 -max_len=65536 -timeout=10 -rss_limit_mb=2048
    -print_final_stats=1 -artifact_prefix=${CMAKE_CURRENT_BINARY_DIR}/fuzz_onnx- ${onnx_corpus})
  set_tests_properties(fuzz_onnx PROPERTIES TIMEOUT 120 LABELS fuzz)
endif()
