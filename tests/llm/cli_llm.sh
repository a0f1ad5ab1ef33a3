#!/bin/sh
# plexus run / logits / chat on the shared models: the README's done-when
# command prints llama.cpp's greedy continuation; errors are clear.
# Usage: cli_llm.sh PLEXUS SHARED_DIR
set -u
PX=$1
M=$2/models
if [ ! -f "$M/golden/stories260K-f32.gen.json" ]; then
  echo "cli_llm: skipped: $M not found"
  exit 77
fi
fail=0
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT

# 1. greedy run equals llama.cpp's text (prompt echoed, then the continuation)
"$PX" run -m "$M/stories260K/stories260K-f32.gguf" -p "Once upon a time" -n 32 --temp 0 >"$t/out" 2>"$t/err"
rc=$?
want=$(python3 -c 'import json,sys; g=json.load(open(sys.argv[1])); print("Once upon a time"+g["cases"][0]["greedy_text"])' \
  "$M/golden/stories260K-f32.gen.json")
got=$(cat "$t/out")
if [ $rc -ne 0 ] || [ "$got" != "$want" ]; then
  echo "FAIL run: rc=$rc"; echo " got: $got"; echo "want: $want"; cat "$t/err"; fail=1
else
  echo "ok   run greedy text equals llama.cpp's"
fi
grep -q "tokens/s" "$t/err" || { echo "FAIL run: no timing summary on stderr"; fail=1; }

# 2. same seed, same output; different seed, (almost surely) different output
"$PX" run -m "$M/stories260K/stories260K-f32.gguf" -p "Once upon a time" -n 40 --temp 1 --seed 7 >"$t/s1" 2>/dev/null
"$PX" run -m "$M/stories260K/stories260K-f32.gguf" -p "Once upon a time" -n 40 --temp 1 --seed 7 >"$t/s2" 2>/dev/null
"$PX" run -m "$M/stories260K/stories260K-f32.gguf" -p "Once upon a time" -n 40 --temp 1 --seed 8 >"$t/s3" 2>/dev/null
if cmp -s "$t/s1" "$t/s2" && ! cmp -s "$t/s1" "$t/s3"; then echo "ok   seeded sampling is reproducible"
else echo "FAIL seeded sampling: same seed differs or different seeds agree"; fail=1; fi

# 3. a context that fills up stops with a message, not a crash
"$PX" run -m "$M/stories260K/stories260K-f32.gguf" -p "Once upon a time" -n 100 -c 16 --temp 0 >"$t/o" 2>"$t/e"
rc=$?
if [ $rc -eq 0 ] && grep -q "context" "$t/e"; then echo "ok   full context stops cleanly"
else echo "FAIL full context: rc=$rc"; cat "$t/e"; fail=1; fi

# 4. logits --json is one line with n_vocab numbers
n=$("$PX" logits -m "$M/stories260K/stories260K-f32.gguf" -p "Once upon a time" --json | python3 -c 'import json,sys; print(len(json.loads(sys.stdin.readline())))')
if [ "$n" = "512" ]; then echo "ok   logits --json has 512 values"; else echo "FAIL logits: got $n values"; fail=1; fi

# 5. bad files: clear errors naming the file, exit 1
head -c 5000 "$M/stories260K/stories260K-f32.gguf" >"$t/trunc.gguf"
"$PX" run -m "$t/trunc.gguf" -p hi -n 1 >/dev/null 2>"$t/e"; rc=$?
if [ $rc -eq 1 ] && grep -q "trunc.gguf" "$t/e"; then echo "ok   truncated model: $(head -1 "$t/e")"
else echo "FAIL truncated model: rc=$rc"; cat "$t/e"; fail=1; fi
"$PX" run -m "$t/missing.gguf" -p hi >/dev/null 2>"$t/e"; rc=$?
if [ $rc -eq 1 ] && grep -q "missing.gguf" "$t/e"; then echo "ok   missing model: $(head -1 "$t/e")"
else echo "FAIL missing model: rc=$rc"; fail=1; fi
"$PX" run -m "$M/vocab/ggml-vocab-gpt-2.gguf" -p hi >/dev/null 2>"$t/e"; rc=$?
if [ $rc -eq 1 ] && grep -q "ggml-vocab-gpt-2.gguf" "$t/e"; then echo "ok   vocab-only file: $(head -1 "$t/e")"
else echo "FAIL vocab-only file: rc=$rc"; cat "$t/e"; fail=1; fi

# 6. chat answers on every model (one message from stdin, then end of input)
for f in stories260K/stories260K-f32.gguf stories260K/stories260K-q8_0-mix.gguf stories260K/stories260K-q4_0-mix.gguf \
         llama-2-tiny-random/llama-2-tiny-random.gguf arch/arch-llama.gguf arch/arch-qwen2.gguf arch/arch-phi3.gguf \
         arch/arch-gemma2.gguf; do
  printf 'Hello there\nAnd again\n' | "$PX" chat -m "$M/$f" -n 8 --temp 0 -sys "Be brief." >"$t/c" 2>"$t/ce"
  rc=$?
  if [ $rc -eq 0 ] && [ "$(wc -l <"$t/c")" -ge 2 ]; then echo "ok   chat $f ($(grep -o 'template [^ ]* ([^)]*)' "$t/ce"))"
  else echo "FAIL chat $f: rc=$rc"; cat "$t/ce"; fail=1; fi
done
exit $fail
