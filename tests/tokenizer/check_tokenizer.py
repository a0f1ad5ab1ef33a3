#!/usr/bin/env python3
"""Tokenizer results must equal llama.cpp's exactly, for every vocabulary in
../shared/models (SentencePiece and byte-level BPE): the golden/tok.*.json
cases (ids with and without special tokens, with special-token parsing,
pieces and detokenized text) and the vocab/*.inp/.out pairs of
test-tokenizer-0. Runs `plexus tokenize -f FILE --json`. Exit 77 (skipped)
without the data."""
import json, os, subprocess, sys, tempfile

plexus, shared = sys.argv[1], sys.argv[2]
models = os.path.join(shared, "models")
if not os.path.isdir(models):
    print("check_tokenizer: %s not found; skipped" % models)
    sys.exit(77)

GOLDEN = {
    "tok.stories260K.json": "stories260K/stories260K-f32.gguf",
    "tok.llama-2-tiny-random.json": "llama-2-tiny-random/llama-2-tiny-random.gguf",
    "tok.ggml-vocab-llama-spm.json": "vocab/ggml-vocab-llama-spm.gguf",
    "tok.ggml-vocab-phi-3.json": "vocab/ggml-vocab-phi-3.gguf",
    "tok.ggml-vocab-gpt-2.json": "vocab/ggml-vocab-gpt-2.gguf",
    "tok.ggml-vocab-deepseek-coder.json": "vocab/ggml-vocab-deepseek-coder.gguf",
}
PAIRS = ["ggml-vocab-llama-spm.gguf", "ggml-vocab-phi-3.gguf", "ggml-vocab-gpt-2.gguf", "ggml-vocab-deepseek-coder.gguf"]

tmp = tempfile.NamedTemporaryFile(delete=False)
tmp.close()

def tokenize(model, data, add_special, parse_special):
    with open(tmp.name, "wb") as f:
        f.write(data)
    args = [plexus, "tokenize", "-m", model, "-f", tmp.name, "--json"]
    args += [] if add_special else ["--no-bos"]
    args += [] if parse_special else ["--no-parse-special"]
    r = subprocess.run(args, capture_output=True)
    if r.returncode != 0:
        return {"ids": "error: " + r.stderr.decode(errors="replace"), "pieces_hex": None, "detokenized_hex": None}
    return json.loads(r.stdout)

passed = failed = 0
per = {}
def check(vocab, what, got, want):
    global passed, failed
    p = per.setdefault(vocab, [0, 0])
    if got == want:
        passed += 1
        p[0] += 1
    else:
        failed += 1
        p[1] += 1
        print("FAIL %s %s\n  want %s\n  got  %s" % (vocab, what, want, got))

for gold, model in GOLDEN.items():
    doc = json.load(open(os.path.join(models, "golden", gold)))
    path = os.path.join(models, model)
    for i, case in enumerate(doc["cases"]):
        text = bytes.fromhex(case["text_hex"])
        plain = tokenize(path, text, False, False)
        check(gold, "case %d ids" % i, plain["ids"], case["ids"])
        check(gold, "case %d pieces" % i, plain["pieces_hex"], case["pieces_hex"])
        check(gold, "case %d detokenized" % i, plain["detokenized_hex"], case["detokenized"].encode().hex())
        check(gold, "case %d ids_add_special" % i, tokenize(path, text, True, False)["ids"], case["ids_add_special"])
        check(gold, "case %d ids_add_special_parse_special" % i, tokenize(path, text, True, True)["ids"],
              case["ids_add_special_parse_special"])

for vocab in PAIRS:
    path = os.path.join(models, "vocab", vocab)
    inp = open(path + ".inp", "rb").read().split(b"\n__ggml_vocab_test__\n")
    out = open(path + ".out").read().split("\n")
    for i, text in enumerate(inp):
        if i >= len(out):
            break
        want = [int(x) for x in out[i].split()]
        check(vocab, "pair %d" % i, tokenize(path, text, False, False)["ids"], want)

os.unlink(tmp.name)
for v, (p, f) in per.items():
    print("%-40s %4d passed, %d failed" % (v, p, f))
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
