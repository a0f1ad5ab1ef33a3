#!/usr/bin/env python3
"""Tokenizer ids must equal llama.cpp's exactly, for every SentencePiece
vocabulary in ../shared/models: the golden/tok.*.json cases (ids without and
with special tokens) and the vocab/*.inp/.out pairs of test-tokenizer-0.
Runs `plexus tokenize -f FILE --ids`. Exit 77 (skipped) without the data."""
import json, os, subprocess, sys, tempfile

plexus, shared = sys.argv[1], sys.argv[2]
models = os.path.join(shared, "models")
if not os.path.isdir(models):
    print("check_tokenizer: %s not found; skipped" % models)
    sys.exit(77)

# SentencePiece vocabularies (byte-level BPE ones come with the BPE tokenizer).
GOLDEN = {
    "tok.stories260K.json": "stories260K/stories260K-f32.gguf",
    "tok.llama-2-tiny-random.json": "llama-2-tiny-random/llama-2-tiny-random.gguf",
    "tok.ggml-vocab-llama-spm.json": "vocab/ggml-vocab-llama-spm.gguf",
    "tok.ggml-vocab-phi-3.json": "vocab/ggml-vocab-phi-3.gguf",
}
PAIRS = ["ggml-vocab-llama-spm.gguf", "ggml-vocab-phi-3.gguf"]

tmp = tempfile.NamedTemporaryFile(delete=False)
tmp.close()

def tokenize(model, data, special):
    with open(tmp.name, "wb") as f:
        f.write(data)
    args = [plexus, "tokenize", "-m", model, "-f", tmp.name, "--ids"] + ([] if special else ["--no-bos"])
    r = subprocess.run(args, capture_output=True)
    if r.returncode != 0:
        return "error: " + r.stderr.decode(errors="replace")
    return json.loads(r.stdout)

passed = failed = 0
def check(what, got, want):
    global passed, failed
    if got == want:
        passed += 1
    else:
        failed += 1
        print("FAIL %s\n  want %s\n  got  %s" % (what, want, got))

for gold, model in GOLDEN.items():
    doc = json.load(open(os.path.join(models, "golden", gold)))
    path = os.path.join(models, model)
    for i, case in enumerate(doc["cases"]):
        text = bytes.fromhex(case["text_hex"])
        check("%s case %d ids" % (gold, i), tokenize(path, text, False), case["ids"])
        check("%s case %d ids_add_special" % (gold, i), tokenize(path, text, True), case["ids_add_special"])

for vocab in PAIRS:
    path = os.path.join(models, "vocab", vocab)
    inp = open(path + ".inp", "rb").read().split(b"\n__ggml_vocab_test__\n")
    out = open(path + ".out").read().split("\n")
    for i, text in enumerate(inp):
        if i >= len(out):
            break
        want = [int(x) for x in out[i].split()]
        check("%s pair %d" % (vocab, i), tokenize(path, text, False), want)

os.unlink(tmp.name)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
