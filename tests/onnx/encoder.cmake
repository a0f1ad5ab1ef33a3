# onnx_encoder: a BERT/MiniLM-style sentence encoder with random weights
# (hidden 384, 12 heads, intermediate 1536, 2 layers; int64 input_ids and
# attention_mask with symbolic batch/seq dims) in two exporter styles (opset
# 17 with LayerNormalization, opset 11 with the decomposed layer norm) is
# written by make_encoder.py into the build folder, run through
# `plexus onnx-run` on the CPU plugin with the importer's fusions on and off
# (PLEXUS_ONNX_NO_FUSE=1), and compared with a numpy implementation of the
# same network (rtol 1e-3, atol 1e-4). 2x8 inputs are small enough for the
# importer to see their contents. Skipped (77) without python3-onnx or
# python3-numpy. Timing the MiniLM-L6 shape by hand:
#   make_encoder.py --plexus BUILD/bin/plexus --work /tmp/enc --layers 6 --shapes 1x128 --time
add_test(NAME onnx_encoder
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/make_encoder.py
    --plexus $<TARGET_FILE:plexus_cli> --work ${CMAKE_CURRENT_BINARY_DIR}/encoder
    --variant all --layers 2 --shapes 3x20,2x8 --unfused)
set_tests_properties(onnx_encoder PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180 LABELS onnx
  ENVIRONMENT "PLEXUS_PLUGIN_PATH=${PLEXUS_PLUGIN_OUTPUT_DIR}")
