#!/usr/bin/env python3
"""plexus quantize against llama-quantize's own outputs in ../shared/models:
stories260K-f32 -> Q8_0 must give, tensor by tensor, the same types and the
same bytes as stories260K-q8_0-mix.gguf (where llama-quantize's fallback made
every matrix Q8_0 and the 172-wide ffn_down F16); -> Q4_0 with q4_0 output and
token embedding, the same as stories260K-q4_0-mix.gguf. Then the files load
and run in plexus, and bad input is refused. Exit 77 without the data."""
import os, struct, subprocess, sys, tempfile

plexus, shared = sys.argv[1], sys.argv[2]
M = os.path.join(shared, "models", "stories260K")
if not os.path.isfile(os.path.join(M, "stories260K-f32.gguf")):
    print("check_quantize: %s not found; skipped" % M)
    sys.exit(77)

import importlib.util
_spec = importlib.util.spec_from_file_location("gguf_read", os.path.join(os.path.dirname(__file__), "gguf_read.py"))
_gr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_gr)
tensors = _gr.tensors

fails = 0
def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    fails += not cond

tmp = tempfile.mkdtemp()
for typ, extra, ref in (("Q8_0", [], "stories260K-q8_0-mix.gguf"),
                        ("Q4_0", ["--output-tensor-type", "q4_0", "--token-embedding-type", "q4_0"], "stories260K-q4_0-mix.gguf")):
    out = os.path.join(tmp, typ + ".gguf")
    r = subprocess.run([plexus, "quantize", os.path.join(M, "stories260K-f32.gguf"), out, typ, "-t", "2"] + extra,
                       capture_output=True, text=True)
    check(r.returncode == 0, "quantize to %s" % typ)
    if r.returncode:
        print(r.stderr)
        continue
    a, b = tensors(out), tensors(os.path.join(M, ref))
    check(sorted(a) == sorted(b), "%s: same tensor names as llama-quantize's %s" % (typ, ref))
    same_type = [n for n in a if n in b and a[n][0] == b[n][0] and a[n][1] == b[n][1]]
    check(len(same_type) == len(b), "%s: %d/%d tensors of the same type and shape" % (typ, len(same_type), len(b)))
    # exact tensor sizes (the regions between offsets include alignment padding)
    BLOCK = {0: (1, 4), 1: (1, 2), 2: (32, 18), 8: (32, 34)}  # GGUF type: (block elements, block bytes)
    def nbytes(t, dims):
        n = 1
        for x in dims:
            n *= x
        be, bb = BLOCK[t]
        return n // be * bb
    same_bytes = [n for n in same_type if a[n][0] in BLOCK and
                  a[n][2][:nbytes(a[n][0], a[n][1])] == b[n][2][:nbytes(b[n][0], b[n][1])]]
    check(len(same_bytes) == len(b), "%s: %d/%d tensors byte-identical to llama-quantize's" % (typ, len(same_bytes), len(b)))
    r = subprocess.run([plexus, "run", "-m", out, "-p", "Once upon a time", "-n", "8", "--temp", "0"], capture_output=True, text=True)
    check(r.returncode == 0 and r.stdout.startswith("Once upon a time"), "%s file runs: %r" % (typ, r.stdout.strip()))

r = subprocess.run([plexus, "quantize", os.path.join(M, "stories260K-q8_0-mix.gguf"), os.path.join(tmp, "x.gguf"), "Q4_0"],
                   capture_output=True, text=True)
check(r.returncode == 1 and "already" in r.stderr, "requantizing is refused: " + r.stderr.strip().splitlines()[-1])
r = subprocess.run([plexus, "quantize", os.path.join(M, "stories260K-f32.gguf"), os.path.join(tmp, "x.gguf"), "IQ2_XXS"],
                   capture_output=True, text=True)
check(r.returncode == 2, "an unsupported type is a usage error")
r = subprocess.run([plexus, "quantize", os.path.join(tmp, "missing.gguf"), os.path.join(tmp, "x.gguf"), "Q8_0"],
                   capture_output=True, text=True)
check(r.returncode == 1 and "missing.gguf" in r.stderr, "a missing input names the file")
sys.exit(1 if fails else 0)
