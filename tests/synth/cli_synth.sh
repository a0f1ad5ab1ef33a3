#!/bin/sh
# plexus synth without ../shared: files in the presets' exact names, shapes and
# hyperparameters that plexus info reads back and plexus run runs; the
# generated vocabulary; --vocab; determinism; bad arguments exit 2.
# Usage: cli_synth.sh PLEXUS TEST_SOURCE_DIR
set -u
PX=$1
HERE=$2
CHECK="python3 $HERE/check_synth.py"
command -v python3 >/dev/null || { echo "skip: python3 is needed to read the GGUF files back"; exit 77; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0
npass=0
nfail=0
ok() { echo "ok   $*"; npass=$((npass + 1)); }
bad() { echo "FAIL $*"; fail=1; nfail=$((nfail + 1)); }
# run_check DESCRIPTION COMMAND...: a python check, its output shown
run_check() { d=$1; shift; if out=$("$@" 2>&1); then ok "$d: $out"; else bad "$d: $out"; fi; }

# 1. stories15m with 2 layers, F16: exact tensors and shapes, info, run
if "$PX" synth --arch llama --preset stories15m --layers 2 -o "$t/s.gguf" 2>"$t/e"; then
  ok "synth stories15m --layers 2"
else
  bad "synth stories15m --layers 2"; cat "$t/e"
fi
grep -q "gibberish" "$t/e" && ok "stderr says the weights are random" || bad "no random-weights notice"
grep -q "parameters" "$t/e" && grep -q "bytes" "$t/e" && grep -q "stories15m" "$t/e" &&
  ok "stderr names the preset, parameters and bytes" || { bad "stderr summary"; cat "$t/e"; }
run_check "stories15m shapes" $CHECK shapes "$t/s.gguf" stories15m 2 F16
"$PX" info -m "$t/s.gguf" --json >"$t/i.json" 2>"$t/e" || { bad "plexus info"; cat "$t/e"; }
run_check "stories15m info" $CHECK info "$t/i.json" stories15m 2
run_check "stories15m vocabulary" $CHECK vocab "$t/s.gguf" stories15m
out=$("$PX" run -m "$t/s.gguf" -p "Once upon a time" -n 8 --temp 0 2>"$t/e") && [ -n "$out" ] &&
  ok "plexus run on it: $out" || { bad "plexus run on the synth model"; cat "$t/e"; }

# 2. deterministic: same seed, same bytes; another seed, other bytes
"$PX" synth --preset stories15m --layers 1 --type Q4_0 --seed 7 -o "$t/a.gguf" 2>/dev/null &&
"$PX" synth --preset stories15m --layers 1 --type Q4_0 --seed 7 -o "$t/b.gguf" 2>/dev/null &&
"$PX" synth --preset stories15m --layers 1 --type Q4_0 --seed 8 -o "$t/c.gguf" 2>/dev/null || bad "synth --seed"
cmp -s "$t/a.gguf" "$t/b.gguf" && ok "same seed: identical files" || bad "same seed gave different files"
cmp -s "$t/a.gguf" "$t/c.gguf" && bad "another seed gave the same file" || ok "another seed: different weights"
run_check "Q4_0 shapes" $CHECK shapes "$t/a.gguf" stories15m 1 Q4_0
rm -f "$t/a.gguf" "$t/b.gguf" "$t/c.gguf"

# 3. every preset, one layer, Q8_0: names, shapes, hparams, the full model's
#    parameter count, plexus info, one token of plexus run, the vocabulary
for p in stories15m:llama qwen2.5-0.5b:qwen2 llama-3.2-1b:llama phi-3.5-mini:phi3 gemma-2-2b:gemma2; do
  name=${p%%:*}; arch=${p##*:}
  if ! "$PX" synth --arch "$arch" --preset "$name" --layers 1 --type Q8_0 -o "$t/p.gguf" 2>"$t/e"; then
    bad "synth $name"; cat "$t/e"; continue
  fi
  run_check "$name shapes" $CHECK shapes "$t/p.gguf" "$name" 1 Q8_0
  run_check "$name parameters" $CHECK total "$t/p.gguf" "$name"
  run_check "$name vocabulary" $CHECK vocab "$t/p.gguf" "$name"
  if "$PX" info -m "$t/p.gguf" --json >"$t/i.json" 2>"$t/e"; then
    run_check "$name info" $CHECK info "$t/i.json" "$name" 1
  else
    bad "$name: plexus info"; cat "$t/e"
  fi
  "$PX" run -m "$t/p.gguf" -p "Hello" -n 1 --temp 0 -c 64 >/dev/null 2>"$t/e" && ok "$name: plexus run" ||
    { bad "$name: plexus run"; cat "$t/e"; }
  [ "$name" = qwen2.5-0.5b ] && mv "$t/p.gguf" "$t/qwen.gguf"
  rm -f "$t/p.gguf"
done

# 4. --vocab: every tokenizer.* key copied, n_vocab follows (a qwen2 vocabulary in a stories15m body)
if [ -f "$t/qwen.gguf" ]; then
  if "$PX" synth --preset stories15m --layers 1 --type Q8_0 --vocab "$t/qwen.gguf" -o "$t/v.gguf" 2>"$t/e"; then
    run_check "--vocab" $CHECK samevocab "$t/v.gguf" "$t/qwen.gguf"
  else
    bad "synth --vocab"; cat "$t/e"
  fi
fi

# 5. --preset list
presets='stories15m|qwen2.5-0.5b|llama-3.2-1b|phi-3.5-mini|gemma-2-2b'
"$PX" synth --preset list >"$t/l" 2>&1 && [ "$(grep -c -E "$presets" "$t/l")" -eq 5 ] &&
  ok "--preset list: 5 presets" || { bad "--preset list"; cat "$t/l"; }

# 6. bad arguments: a clear message and exit 2; files that cannot be read or written: exit 1
expect() { # expect CODE PATTERN DESCRIPTION ARGS...
  code=$1; pat=$2; d=$3; shift 3
  "$PX" synth "$@" >/dev/null 2>"$t/e"; rc=$?
  if [ $rc -eq "$code" ] && grep -q -- "$pat" "$t/e"; then ok "$d: exit $rc, $(grep -- "$pat" "$t/e" | head -1)"
  else bad "$d: exit $rc (want $code), message: $(head -2 "$t/e")"; fi
}
expect 2 "unknown preset 'nope'" "unknown preset" --preset nope -o "$t/x.gguf"
expect 2 "is a llama model, not qwen2" "arch mismatch" --arch qwen2 --preset stories15m -o "$t/x.gguf"
expect 2 "'Q3_K'" "bad type" --preset stories15m --type Q3_K -o "$t/x.gguf"
expect 2 "no output file" "no -o" --preset stories15m
expect 2 "no preset" "no --preset" -o "$t/x.gguf"
expect 2 "--layers expects" "--layers 0" --preset stories15m --layers 0 -o "$t/x.gguf"
expect 2 "--layers expects" "--layers abc" --preset stories15m --layers abc -o "$t/x.gguf"
expect 2 "--seed expects" "--seed -1x" --preset stories15m --seed 1x -o "$t/x.gguf"
expect 2 "unknown option '--bogus'" "unknown option" --preset stories15m --bogus -o "$t/x.gguf"
expect 2 "needs a value" "missing value" --preset stories15m -o
expect 1 "nonexistent" "unreadable --vocab" --preset stories15m --vocab "$t/nonexistent.gguf" -o "$t/x.gguf"
expect 1 "nonexistent" "unwritable output" --preset stories15m --layers 1 -o /nonexistent/dir/x.gguf
[ -e "$t/x.gguf" ] && bad "a failed synth left $t/x.gguf" || ok "failed runs leave no output file"

echo "$npass passed, $nfail failed"
exit $fail
