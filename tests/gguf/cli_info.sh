#!/bin/sh
# plexus info: text and JSON on a real model, a clear error on a truncated one.
set -u
plexus="$1"; shared="$2"
model="$shared/models/stories260K/stories260K-q8_0-mix.gguf"
[ -f "$model" ] || { echo "cli_info: $model not found; skipped"; exit 77; }
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1"; fail=1; fi; }
out=$("$plexus" info -m "$model" 2>&1); rc=$?
check "info exits 0" "[ $rc -eq 0 ]"
check "info names the architecture" "echo \"\$out\" | grep -q '^arch: *llama'"
check "info counts q8_0 tensors" "echo \"\$out\" | grep -Eq 'q8_0 +[0-9]+ tensors'"
json=$("$plexus" info -m "$model" --json); rc=$?
check "info --json exits 0" "[ $rc -eq 0 ]"
check "json parses and has the vocab" "echo \"\$json\" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"tokenizer\"][\"vocab_size\"]==512 and d[\"hparams\"][\"block_count\"]==5'"
# stories260K: 5 layers, 4 kv heads x 8 dims, context 128: K+V f16 = 5*128*2*32*2 bytes.
check "json kv cache at the model context" "echo \"\$json\" | python3 -c 'import json,sys; m=json.load(sys.stdin)[\"memory\"]; assert m[\"kv_cache\"]==5*128*2*32*2 and m[\"context\"]==128, m'"
tmp=$(mktemp); head -c 3000 "$model" > "$tmp"
out=$("$plexus" info -m "$tmp" 2>&1); rc=$?
check "truncated file exits 1" "[ $rc -eq 1 ]"
check "truncated file error names the file" "echo \"\$out\" | grep -q \"$tmp\""
rm -f "$tmp"
"$plexus" info >/dev/null 2>&1; rc=$?
check "no -m is a usage error" "[ $rc -eq 2 ]"
[ $fail -eq 0 ] && echo "cli_info: passed" || echo "cli_info: FAILED"
exit $fail
