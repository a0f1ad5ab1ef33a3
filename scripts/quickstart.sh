#!/bin/sh
# Set up, build, and generate text with a model:
#   sh scripts/quickstart.sh                 a small real model from Hugging Face (stories15M, 18 MB),
#                                            or, offline, a synthetic model made by `plexus synth`
#   sh scripts/quickstart.sh model.gguf      your model file
#   sh scripts/quickstart.sh OWNER/REPO/FILE.gguf   a file from Hugging Face
# PROMPT="..." overrides the prompt.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
PX=./build/bin/plexus
PROMPT=${PROMPT:-"Once upon a time"}
REAL=ggml-org/models/tinyllamas/stories15M-q4_0.gguf
if [ $# -gt 0 ] && [ -f "$1" ]; then
  echo "quickstart: using your model $1"
  exec "$PX" run -m "$1" -p "$PROMPT" -n 64
elif [ $# -gt 0 ]; then
  echo "quickstart: using $1 from Hugging Face"
  exec "$PX" run -hf "$1" -p "$PROMPT" -n 64
elif PLEXUS_HF_TIMEOUT=15 "$PX" info -hf "$REAL" >/dev/null; then
  echo "quickstart: using stories15M (a real 15M-parameter TinyStories model, Q4_0) from Hugging Face"
  exec "$PX" run -hf "$REAL" -p "$PROMPT" -n 64
else
  echo "quickstart: Hugging Face is not reachable, so this run uses a SYNTHETIC model:"
  echo "quickstart: random weights in stories15M's shapes (plexus synth). It prints gibberish by design."
  "$PX" synth --preset stories15m -o build/stories15m-synth.gguf
  exec "$PX" run -m build/stories15m-synth.gguf -p "$PROMPT" -n 64
fi
