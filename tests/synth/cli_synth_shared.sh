#!/bin/sh
# plexus synth against ../shared: key and tensor names as in the reference
# GGUF files of each architecture (models/arch), and --vocab copying real
# vocabularies (models/vocab). Exits 77 (skipped) when the data is absent.
# Usage: cli_synth_shared.sh PLEXUS SHARED_DIR TEST_SOURCE_DIR
set -u
PX=$1
SHARED=$2
HERE=$3
CHECK="python3 $HERE/check_synth.py"
A=$SHARED/models/arch
V=$SHARED/models/vocab
if [ ! -f "$A/arch-llama.gguf" ] || [ ! -f "$V/ggml-vocab-gpt-2.gguf" ]; then
  echo "skip: $A or $V is absent"; exit 77
fi
command -v python3 >/dev/null || { echo "skip: python3 is needed to read the GGUF files back"; exit 77; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0
npass=0
nfail=0
ok() { echo "ok   $*"; npass=$((npass + 1)); }
bad() { echo "FAIL $*"; fail=1; nfail=$((nfail + 1)); }
run_check() { d=$1; shift; if out=$("$@" 2>&1); then ok "$d: $out"; else bad "$d: $out"; fi; }

# 1. names as the reference files of each architecture have them
for p in stories15m:llama llama-3.2-1b:llama qwen2.5-0.5b:qwen2 phi-3.5-mini:phi3 gemma-2-2b:gemma2; do
  name=${p%%:*}; arch=${p##*:}
  # a small vocabulary keeps these files small: the names do not depend on it
  if "$PX" synth --arch "$arch" --preset "$name" --layers 2 --type Q8_0 --vocab "$V/ggml-vocab-gpt-2.gguf" \
       -o "$t/p.gguf" 2>"$t/e"; then
    run_check "$name names" $CHECK refnames "$t/p.gguf" "$A/arch-$arch.gguf"
  else
    bad "synth $name"; cat "$t/e"
  fi
done

# 2. --vocab with real vocabularies: BPE (gpt-2) and SentencePiece (llama, with scores)
for f in ggml-vocab-gpt-2.gguf ggml-vocab-llama-spm.gguf ggml-vocab-phi-3.gguf; do
  [ -f "$V/$f" ] || continue
  if "$PX" synth --preset qwen2.5-0.5b --layers 1 --type Q8_0 --vocab "$V/$f" -o "$t/v.gguf" 2>"$t/e"; then
    run_check "--vocab $f" $CHECK samevocab "$t/v.gguf" "$V/$f"
    "$PX" info -m "$t/v.gguf" --json >/dev/null 2>"$t/e" && ok "plexus info opens it" || { bad "info"; cat "$t/e"; }
  else
    bad "synth --vocab $f"; cat "$t/e"
  fi
done

echo "$npass passed, $nfail failed"
exit $fail
