#!/usr/bin/env python3
"""plexus quantize's mixes choose per tensor what llama.cpp's
llama_tensor_get_type chooses for a dense model. A synthetic model in
stories15M's shapes with 8 layers (plexus synth, F16) is quantized to each
mix, and every tensor's type is compared with the rules written out again
here: attn_v and ffn_down get more bits in the use_more_bits layers (or the
first layers), attn_output for Q2_K/Q3_K_M/Q3_K_L, output.weight Q6_K (or Q8_0
when its rows do not fit 256), and K types whose 256 block does not fit a
row fall back (Q4_K->Q5_0, Q5_K->Q5_1, Q6_K->Q8_0, Q2_K/Q3_K->Q4_0).
Needs no shared data."""
import importlib.util, os, subprocess, sys, tempfile

plexus = sys.argv[1]
spec = importlib.util.spec_from_file_location("cq", os.path.join(os.path.dirname(__file__), "gguf_read.py"))
cq = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cq)

# GGUF type ids
F16, Q4_0, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K = 1, 2, 6, 7, 8, 10, 11, 12, 13, 14
BLOCK = {Q4_0: 32, Q5_0: 32, Q5_1: 32, Q8_0: 32, Q2_K: 256, Q3_K: 256, Q4_K: 256, Q5_K: 256, Q6_K: 256, F16: 1}
FALLBACK = {Q4_K: Q5_0, Q5_K: Q5_1, Q6_K: Q8_0, Q2_K: Q4_0, Q3_K: Q4_0}
MIXES = {"Q2_K": Q2_K, "Q3_K_S": Q3_K, "Q3_K_M": Q3_K, "Q3_K_L": Q3_K, "Q4_K_S": Q4_K, "Q4_K_M": Q4_K,
         "Q5_K_S": Q5_K, "Q5_K_M": Q5_K}
N_GQA = 1  # stories15m: 6 heads, 6 kv heads

def more_bits(i, n):
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2

def expected(mix, names, dims):
    base = MIXES[mix]
    n_v = sum("attn_v.weight" in k for k in names)
    n_down = sum("ffn_down" in k for k in names)
    i_v = i_down = 0
    out = {}
    for name in names:
        d = dims[name]
        if len(d) < 2 or not name.endswith("weight"):
            continue
        cols = d[0]  # GGUF lists the row length first
        t = base
        if name == "output.weight" or (name == "token_embd.weight" and "output.weight" not in names):
            t = Q8_0 if cols % BLOCK[base] else Q6_K
        elif name == "token_embd.weight":
            t = base
        elif "attn_v.weight" in name:
            i = i_v; i_v += 1
            if mix == "Q2_K": t = Q4_K if N_GQA >= 4 else Q3_K
            elif mix == "Q3_K_M": t = Q5_K if i < 2 else Q4_K
            elif mix == "Q3_K_L": t = Q5_K
            elif mix in ("Q4_K_M", "Q5_K_M") and more_bits(i, n_v): t = Q6_K
            elif mix == "Q4_K_S" and i < 4: t = Q5_K
        elif "ffn_down" in name:
            i = i_down; i_down += 1
            if mix == "Q2_K": t = Q3_K
            elif mix == "Q3_K_M": t = Q5_K if i < n_down // 16 else Q4_K
            elif mix == "Q3_K_L": t = Q5_K
            elif mix in ("Q4_K_M", "Q5_K_M") and more_bits(i, n_down): t = Q6_K
            elif mix == "Q4_K_S" and i < n_down // 8: t = Q5_K
        elif "attn_output.weight" in name:
            if mix == "Q2_K": t = Q3_K
            elif mix == "Q3_K_M": t = Q4_K
            elif mix == "Q3_K_L": t = Q5_K
        if cols % BLOCK[t] and t in FALLBACK and cols % 32 == 0:
            t = FALLBACK[t]
        if cols % BLOCK[t]:
            t = F16
        out[name] = t
    return out

tmp = tempfile.mkdtemp()
src = os.path.join(tmp, "synth.gguf")
r = subprocess.run([plexus, "synth", "--preset", "stories15m", "--layers", "8", "--type", "F16", "-o", src],
                   capture_output=True, text=True)
if r.returncode:
    print("FAIL plexus synth:", r.stderr.strip())
    sys.exit(1)
fails = 0
for mix in MIXES:
    out = os.path.join(tmp, mix + ".gguf")
    r = subprocess.run([plexus, "quantize", src, out, mix, "-t", "2"], capture_output=True, text=True)
    if r.returncode:
        print("FAIL %s: quantize exited %d: %s" % (mix, r.returncode, r.stderr.strip()[-300:]))
        fails += 1
        continue
    got = cq.tensors(out)
    names = list(got.keys())
    want = expected(mix, names, {k: v[1] for k, v in got.items()})
    bad = [(k, got[k][0], t) for k, t in want.items() if got[k][0] != t]
    kinds = sorted(set(want.values()))
    if bad:
        fails += 1
        print("FAIL %s: %d tensors differ, e.g. %s" % (mix, len(bad), bad[:3]))
    else:
        print("ok   %s: %d matrices as llama.cpp chooses (types %s)" % (mix, len(want), kinds))
    os.remove(out)
sys.exit(1 if fails else 0)
