#!/bin/sh
# plexus synth: files in the presets' shapes that plexus info reads back and
# plexus run runs; --vocab copies a tokenizer; bad arguments exit 2.
# Usage: cli_synth.sh PLEXUS SHARED_DIR
set -u
PX=$1
SHARED=$2
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# 1. stories15m in full (F16): shapes and hyperparameters as the real model
"$PX" synth --arch llama --preset stories15m -o "$t/s.gguf" 2>"$t/e" || { bad "synth stories15m"; cat "$t/e"; }
grep -q "gibberish" "$t/e" && ok "synth says the weights are random" || bad "no random-weights notice"
"$PX" info -m "$t/s.gguf" --json >"$t/i.json" || bad "info on the synth file"
python3 - "$t/i.json" <<'PY' && ok "stories15m: 24.4 M parameters, 57 tensors, llama, 288/6/6/768" || { bad "stories15m info"; cat "$t/i.json"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["architecture"] == "llama", d["architecture"]
assert d["parameters"] == 24407712, d["parameters"]
assert d["tensors"] == 57, d["tensors"]
assert d["tokenizer"]["vocab_size"] == 32000
h = d["hparams"]
for k, v in (("embedding_length", 288), ("block_count", 6), ("feed_forward_length", 768), ("attention.head_count", 6),
             ("attention.head_count_kv", 6), ("context_length", 256)):
    assert h[k] == v, (k, h[k])
PY
out=$("$PX" run -m "$t/s.gguf" -p "Once upon a time" -n 8 --temp 0 2>/dev/null) && [ -n "$out" ] && ok "run on it: $out" || bad "run on the synth model"

# 2. every other preset, one layer, quantized: opens, runs one token
for p in qwen2.5-0.5b:qwen2 llama-3.2-1b:llama phi-3.5-mini:phi3 gemma-2-2b:gemma2; do
  name=${p%%:*}; arch=${p##*:}
  case $name in gemma*|llama*) ty=Q4_0 ;; *) ty=Q8_0 ;; esac
  if "$PX" synth --arch "$arch" --preset "$name" --layers 1 --type $ty -o "$t/p.gguf" 2>"$t/e" &&
     "$PX" run -m "$t/p.gguf" -p "Hello" -n 2 --temp 0 -c 64 >/dev/null 2>"$t/e2"; then
    ok "$name ($arch, 1 layer, $ty): written and run"
  else
    bad "$name"; cat "$t/e" "$t/e2"
  fi
  rm -f "$t/p.gguf"
done

# 3. --vocab copies the tokenizer: same ids as the vocabulary file
V=$SHARED/models/vocab/ggml-vocab-gpt-2.gguf
if [ -f "$V" ]; then
  "$PX" synth --preset stories15m --layers 1 --vocab "$V" -o "$t/v.gguf" 2>/dev/null || bad "synth --vocab"
  a=$("$PX" tokenize -m "$V" -p "Hello world, it's 2024" --ids)
  b=$("$PX" tokenize -m "$t/v.gguf" -p "Hello world, it's 2024" --ids)
  [ "$a" = "$b" ] && ok "--vocab: same ids as the vocabulary ($a)" || bad "--vocab ids differ: $a vs $b"
else
  echo "skip --vocab check: $V absent"
fi

# 4. bad arguments
"$PX" synth --preset nope -o "$t/x.gguf" 2>/dev/null; [ $? -eq 2 ] && ok "unknown preset: exit 2" || bad "unknown preset"
"$PX" synth --arch qwen2 --preset stories15m -o "$t/x.gguf" 2>/dev/null; [ $? -eq 2 ] && ok "arch mismatch: exit 2" || bad "arch mismatch"
"$PX" synth --preset stories15m --type Q3_K -o "$t/x.gguf" 2>/dev/null; [ $? -eq 2 ] && ok "bad type: exit 2" || bad "bad type"
"$PX" synth --preset stories15m -o /nonexistent/dir/x.gguf 2>"$t/e"; [ $? -eq 1 ] && grep -q nonexistent "$t/e" && ok "unwritable path: $(cat "$t/e" | tail -1)" || bad "unwritable path"
exit $fail
