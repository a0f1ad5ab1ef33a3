#!/usr/bin/python3
"""End-to-end ONNX test: a BERT/MiniLM-style sentence encoder with random
weights, written with the onnx package the way exporters write it, run
through `plexus onnx-run` and compared with an independent numpy
implementation of the same network.

Two variants are built (both by default):

  ln      opset 17: LayerNormalization, position ids sliced from a buffer up
          to Shape(input_ids)[1], token types from ConstantOfShape, Reshape
          to heads with [0, 0, H, D], the mask bias as newer transformers
          write it (Expand to [batch, 1, seq, seq], 1 - m, Cast to bool,
          Where(float32 min)), mean pooling with ReduceSum (axes input) /
          Clip, ReduceL2 norm.
  decomp  opset 11 (older exports): LayerNorm as ReduceMean/Sub/Pow/
          ReduceMean/Add/Sqrt/Div/Mul/Add, position ids from Range,
          token types from an Expanded buffer slice, Reshape shapes built
          from Shape/Gather/Unsqueeze/Concat, .expand() as torch writes it
          (ConstantOfShape/Equal/Where/Expand), small constants as Constant
          nodes, Unsqueeze and ReduceSum with axes attributes, mask bias
          (1 - m) * -10000, bias-first Adds, mean pooling / Max, L2 norm
          as Mul/ReduceSum/Sqrt/Max/Div.

Both: input_ids and attention_mask are int64 [batch, seq] with symbolic
dims ("batch", "seq"); q/k/v as MatMul + Add, Reshape/Transpose to heads,
MatMul, Div by sqrt(head dim), Add of the mask bias (Unsqueeze/Cast/Sub
and Mul or Where), Softmax, MatMul, Transpose/Reshape back, GELU via Erf,
residuals. Outputs: last_hidden_state [batch, seq, hidden] and
sentence_embedding [batch, hidden].

Everything is written under --work (WORK/VARIANT/model.onnx and, per
shape, WORK/VARIANT/bBATCH_sSEQ/ with input_*.pb, expected_*.pb and
plexus's out/ and, with --unfused, out_unfused/ from a second run with
PLEXUS_ONNX_NO_FUSE=1), never into the source tree.

  make_encoder.py --plexus BUILD/bin/plexus --work DIR [--variant ln|decomp|all]
      [--layers 2] [--hidden 384] [--heads 12] [--inter 1536] [--vocab 1000]
      [--max-pos 128] [--shapes 3x20,2x8] [--unfused] [--time] [--repeat N] [-t N]

--time also prints the wall time of each `plexus onnx-run` (best of
--repeat). Exit status: 0 when every variant matches (rtol 1e-3,
atol 1e-4), 1 on a mismatch or a plexus failure, 77 (skipped) when onnx or
numpy cannot be imported.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

RTOL = 1e-3
ATOL = 1e-4


# ---------------------------------------------------------------- weights --

def make_weights(np, cfg, seed):
    """Random weights, scaled so that attention is far from uniform and the
    GELU sees both signs (BERT's 0.02 init would make most of it linear)."""
    rng = np.random.default_rng(seed)
    H, I = cfg["hidden"], cfg["inter"]

    def n(*shape, std=1.0):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    w = {
        "word": n(cfg["vocab"], H),
        "pos": n(cfg["max_pos"], H),
        "type": n(cfg["type_vocab"], H),
        "emb_g": (1.0 + n(H, std=0.1)).astype(np.float32),
        "emb_b": n(H, std=0.1),
        "layers": [],
    }
    for _ in range(cfg["layers"]):
        L = {}
        for k in ("q", "k", "v", "o"):
            L["w" + k] = n(H, H, std=1.0 / math.sqrt(H))
            L["b" + k] = n(H, std=0.1)
        L["w1"] = n(H, I, std=1.0 / math.sqrt(H))
        L["b1"] = n(I, std=0.1)
        L["w2"] = n(I, H, std=1.0 / math.sqrt(I))
        L["b2"] = n(H, std=0.1)
        for k in ("ln1", "ln2"):
            L[k + "_g"] = (1.0 + n(H, std=0.1)).astype(np.float32)
            L[k + "_b"] = n(H, std=0.1)
        w["layers"].append(L)
    return w


def make_inputs(np, cfg, batch, seq, seed):
    """input_ids with pad id 0 after each row's length; attention_mask 1/0.
    Row 0 is full, the others are padded (at least one row when batch > 1)."""
    rng = np.random.default_rng(seed + 1)
    ids = rng.integers(1, cfg["vocab"], size=(batch, seq), dtype=np.int64)
    mask = np.ones((batch, seq), dtype=np.int64)
    for b in range(1, batch):
        length = max(1, seq - (b * (seq // batch + 2)) % seq)
        ids[b, length:] = 0
        mask[b, length:] = 0
    if batch == 1 and seq > 4:  # one row: pad its tail so the mask still matters
        ids[0, seq - seq // 8:] = 0
        mask[0, seq - seq // 8:] = 0
    return ids, mask


# ---------------------------------------------------------- numpy reference --

def reference(np, w, cfg, ids, mask, mask_value):
    """The encoder in float64 numpy, written from the BERT definition (not
    from the ONNX graph)."""
    from math import erf, sqrt
    f = np.float64
    B, S = ids.shape
    H, NH = cfg["hidden"], cfg["heads"]
    D = H // NH
    eps = cfg["eps"]
    verf = np.vectorize(erf, otypes=[f])

    def ln(x, g, b):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * g.astype(f) + b.astype(f)

    x = w["word"].astype(f)[ids] + w["pos"].astype(f)[np.arange(S)][None] + w["type"].astype(f)[0][None, None]
    x = ln(x, w["emb_g"], w["emb_b"])
    bias = (1.0 - mask.astype(f))[:, None, None, :] * mask_value  # [B,1,1,S]
    for L in w["layers"]:
        def proj(t, k):
            return t @ L["w" + k].astype(f) + L["b" + k].astype(f)

        def heads(t):
            return t.reshape(B, S, NH, D).transpose(0, 2, 1, 3)

        q, k, v = heads(proj(x, "q")), heads(proj(x, "k")), heads(proj(x, "v"))
        s = q @ k.transpose(0, 1, 3, 2) / sqrt(D) + bias
        s = s - s.max(-1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(-1, keepdims=True)
        ctx = (p @ v).transpose(0, 2, 1, 3).reshape(B, S, H)
        x = ln(proj(ctx, "o") + x, L["ln1_g"], L["ln1_b"])
        h = x @ L["w1"].astype(f) + L["b1"].astype(f)
        h = h * 0.5 * (1.0 + verf(h / sqrt(2.0)))
        x = ln(h @ L["w2"].astype(f) + L["b2"].astype(f) + x, L["ln2_g"], L["ln2_b"])
    m = mask.astype(f)[:, :, None]
    pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    emb = pooled / np.maximum(np.sqrt((pooled ** 2).sum(-1, keepdims=True)), 1e-12)
    return x, emb


# -------------------------------------------------------------- onnx graph --

class G:
    """A tiny graph builder: unique names, initializers, nodes."""

    def __init__(self, onnx, np, constant_nodes=False):
        from onnx import helper, numpy_helper
        self.onnx, self.np, self.h, self.nh = onnx, np, helper, numpy_helper
        self.nodes, self.inits, self.n = [], [], 0
        self.constant_nodes = constant_nodes  # small constants as Constant nodes (torch's exporter)

    def name(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, arr, base="c"):
        nm = self.name(base)
        self.inits.append(self.nh.from_array(arr, nm))
        return nm

    def small(self, arr, base):
        if not self.constant_nodes:
            return self.const(arr, base)
        return self.op("Constant", [], value=self.nh.from_array(arr, self.name(base)))

    def f(self, v):
        return self.small(self.np.array(v, dtype=self.np.float32), "f")

    def i64(self, v):
        return self.small(self.np.array(v, dtype=self.np.int64), "i")

    def op(self, op_type, inputs, n_out=1, out=None, **attrs):
        outs = [out] if out else [self.name(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(self.h.make_node(op_type, inputs, outs, name=self.name("n_" + op_type), **attrs))
        return outs[0] if n_out == 1 else outs


def build_model(onnx, np, w, cfg, variant):
    from onnx import TensorProto, helper
    old = variant == "decomp"
    g = G(onnx, np, constant_nodes=old)
    opset = 11 if old else 17
    H, NH = cfg["hidden"], cfg["heads"]
    D = H // NH
    eps = cfg["eps"]

    def unsq(x, axes):
        if old:
            return g.op("Unsqueeze", [x], axes=axes)
        return g.op("Unsqueeze", [x, g.i64(axes)])

    def reduce_sum(x, axes, keepdims):
        if old:
            return g.op("ReduceSum", [x], axes=axes, keepdims=keepdims)
        return g.op("ReduceSum", [x, g.i64(axes)], keepdims=keepdims)

    def linear(x, wt, b):
        mm = g.op("MatMul", [x, g.const(wt, "W")])
        bb = g.const(b, "B")
        return g.op("Add", [bb, mm] if old else [mm, bb])

    def layer_norm(x, gamma, beta):
        gm, bt = g.const(gamma, "ln_g"), g.const(beta, "ln_b")
        if not old:
            return g.op("LayerNormalization", [x, gm, bt], axis=-1, epsilon=eps)
        mu = g.op("ReduceMean", [x], axes=[-1], keepdims=1)
        d = g.op("Sub", [x, mu])
        var = g.op("ReduceMean", [g.op("Pow", [d, g.f(2.0)])], axes=[-1], keepdims=1)
        sd = g.op("Sqrt", [g.op("Add", [var, g.f(eps)])])
        return g.op("Add", [g.op("Mul", [g.op("Div", [d, sd]), gm]), bt])

    # shape pieces of input_ids: batch and seq as 1-element int64 tensors
    shp = g.op("Shape", ["input_ids"])
    if old:
        batch1 = unsq(g.op("Gather", [shp, g.i64(0)], axis=0), [0])
        seq0 = g.op("Gather", [shp, g.i64(1)], axis=0)  # scalar
        seq1 = unsq(seq0, [0])
    else:
        seq1 = g.op("Slice", [shp, g.i64([1]), g.i64([2]), g.i64([0])])

    # embeddings
    x = g.op("Gather", [g.const(w["word"], "word_embeddings"), "input_ids"], axis=0)
    if old:  # position_ids = arange(seq)[None]; token types: buffer[:, :seq].expand(batch, seq)
        pos_ids = unsq(g.op("Range", [g.i64(0), seq0, g.i64(1)]), [0])
        tbuf = g.const(np.zeros((1, cfg["max_pos"]), np.int64), "token_type_buffer")
        tsl = g.op("Slice", [tbuf, g.i64([0]), seq1, g.i64([1])])
        # .expand(batch, seq) as torch's exporter writes it: Where(Equal(shape, -1), 1, shape)
        bs = g.op("Concat", [batch1, seq1], axis=0)
        ones = g.op("ConstantOfShape", [g.op("Shape", [bs])], value=helper.make_tensor("v", TensorProto.INT64, [1], [1]))
        neg = g.op("Mul", [ones, g.i64(-1)])
        type_ids = g.op("Expand", [tsl, g.op("Where", [g.op("Equal", [bs, neg]), ones, bs])])
    else:  # position_ids buffer [1, max_pos] sliced to seq; token types zeros of input_ids' shape
        pbuf = g.const(np.arange(cfg["max_pos"], dtype=np.int64)[None], "position_ids")
        pos_ids = g.op("Slice", [pbuf, g.i64([0]), seq1, g.i64([1])])
        type_ids = g.op("ConstantOfShape", [shp], value=helper.make_tensor("v", TensorProto.INT64, [1], [0]))
    pe = g.op("Gather", [g.const(w["pos"], "position_embeddings"), pos_ids], axis=0)
    te = g.op("Gather", [g.const(w["type"], "token_type_embeddings"), type_ids], axis=0)
    x = g.op("Add", [g.op("Add", [x, te]), pe])
    x = layer_norm(x, w["emb_g"], w["emb_b"])

    # extended attention mask. decomp: (1 - mask[:, None, None, :]) * -10000;
    # ln (transformers' newer eager mask): mask[:, None, None, :] expanded to
    # [batch, 1, seq, seq], inverted = 1 - m, Where(inverted as bool, float32 min, inverted)
    mask_value = -10000.0 if old else float(np.finfo(np.float32).min)
    m4 = unsq(unsq("attention_mask", [1]), [2])
    if old:
        inv = g.op("Sub", [g.f(1.0), g.op("Cast", [m4], to=TensorProto.FLOAT)])
        mbias = g.op("Mul", [inv, g.f(mask_value)])
    else:
        bsz = g.op("Slice", [shp, g.i64([0]), g.i64([1]), g.i64([0])])
        m4 = g.op("Expand", [m4, g.op("Concat", [bsz, g.i64([1]), seq1, seq1], axis=0)])
        inv = g.op("Sub", [g.f(1.0), g.op("Cast", [m4], to=TensorProto.FLOAT)])
        mbias = g.op("Where", [g.op("Cast", [inv], to=TensorProto.BOOL), g.f(mask_value), inv])

    if old:
        heads_shape = g.op("Concat", [batch1, seq1, g.i64([NH]), g.i64([D])], axis=0)
        back_shape = g.op("Concat", [batch1, seq1, g.i64([H])], axis=0)
    else:
        heads_shape, back_shape = g.i64([0, 0, NH, D]), g.i64([0, 0, H])
    sqrt_d = g.f(math.sqrt(D))

    for L in w["layers"]:
        def heads(t, perm):
            return g.op("Transpose", [g.op("Reshape", [t, heads_shape])], perm=perm)

        q = heads(linear(x, L["wq"], L["bq"]), [0, 2, 1, 3])
        kt = heads(linear(x, L["wk"], L["bk"]), [0, 2, 3, 1])
        v = heads(linear(x, L["wv"], L["bv"]), [0, 2, 1, 3])
        s = g.op("Div", [g.op("MatMul", [q, kt]), sqrt_d])
        p = g.op("Softmax", [g.op("Add", [s, mbias])], axis=-1 if not old else 3)
        ctx = g.op("Transpose", [g.op("MatMul", [p, v])], perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, back_shape])
        x = layer_norm(g.op("Add", [linear(ctx, L["wo"], L["bo"]), x]), L["ln1_g"], L["ln1_b"])
        h = linear(x, L["w1"], L["b1"])
        erf = g.op("Erf", [g.op("Div", [h, g.f(math.sqrt(2.0))])])
        if old:
            h = g.op("Mul", [g.op("Mul", [h, g.f(0.5)]), g.op("Add", [g.f(1.0), erf])])
        else:
            h = g.op("Mul", [g.op("Mul", [h, g.op("Add", [erf, g.f(1.0)])]), g.f(0.5)])
        x = layer_norm(g.op("Add", [linear(h, L["w2"], L["b2"]), x]), L["ln2_g"], L["ln2_b"])
    g.op("Identity", [x], out="last_hidden_state")

    # mean pooling over the mask, then L2 normalisation
    mf = g.op("Cast", [unsq("attention_mask", [-1] if not old else [2])], to=TensorProto.FLOAT)
    me = g.op("Expand", [mf, g.op("Shape", [x])])
    summed = reduce_sum(g.op("Mul", [x, me]), [1], 0)
    if old:
        count = g.op("Max", [reduce_sum(me, [1], 0), g.f(1e-9)])
        pooled = g.op("Div", [summed, count])
        norm = g.op("Sqrt", [reduce_sum(g.op("Mul", [pooled, pooled]), [1], 1)])
        g.op("Div", [pooled, g.op("Max", [norm, g.f(1e-12)])], out="sentence_embedding")
    else:
        count = g.op("Clip", [reduce_sum(me, [1], 0), g.f(1e-9)])
        pooled = g.op("Div", [summed, count])
        norm = g.op("ReduceL2", [pooled], axes=[1], keepdims=1)
        g.op("Div", [pooled, g.op("Clip", [norm, g.f(1e-12)])], out="sentence_embedding")

    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"]) for n in ("input_ids", "attention_mask")]
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", H]),
               helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", H])]
    graph = helper.make_graph(g.nodes, f"minilm_style_encoder_{variant}", inputs, outputs, g.inits)
    model = helper.make_model(graph, producer_name="plexus tests/onnx/make_encoder.py",
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 6 if old else 8
    onnx.checker.check_model(model)
    return model, mask_value


# -------------------------------------------------------------------- run --

def compare(np, name, got, want):
    if got.shape != want.shape:
        return False, f"{name}: shape {list(got.shape)}, expected {list(want.shape)}"
    if not np.all(np.isfinite(got)):
        return False, f"{name}: {int((~np.isfinite(got)).sum())} non-finite values"
    diff = np.abs(got.astype(np.float64) - want)
    bad = diff > ATOL + RTOL * np.abs(want)
    i = np.unravel_index(int(np.argmax(diff)), diff.shape)
    msg = (f"{name}: max abs diff {diff.max():.3g} at {list(map(int, i))} "
           f"(got {got[i]:.6g}, expected {want[i]:.6g}), {int(bad.sum())}/{bad.size} outside tolerance")
    return not bad.any(), msg


def run_variant(a, onnx, np, variant):
    """Build one variant and run it on every --shapes entry."""
    cfg = dict(vocab=a.vocab, hidden=a.hidden, heads=a.heads, inter=a.inter, layers=a.layers,
               max_pos=a.max_pos, type_vocab=2, eps=1e-12)
    d = os.path.join(a.work, variant)
    os.makedirs(d, exist_ok=True)
    w = make_weights(np, cfg, a.seed)
    model, mask_value = build_model(onnx, np, w, cfg, variant)
    mpath = os.path.join(d, "model.onnx")
    onnx.save(model, mpath)
    print(f"{variant}: opset {model.opset_import[0].version}, {len(model.graph.node)} nodes, layers {a.layers}, "
          f"hidden {a.hidden}, heads {a.heads}, inter {a.inter}, vocab {a.vocab}, max positions {a.max_pos} ({mpath})")
    ok = True
    for batch, seq in a.shapes:
        ok &= run_shape(a, onnx, np, variant, cfg, w, mask_value, mpath, batch, seq)
    return ok


def run_shape(a, onnx, np, variant, cfg, w, mask_value, mpath, batch, seq):
    from onnx import numpy_helper
    d = os.path.join(a.work, variant, f"b{batch}_s{seq}")
    os.makedirs(d, exist_ok=True)
    ids, mask = make_inputs(np, cfg, batch, seq, a.seed)
    want_h, want_e = reference(np, w, cfg, ids, mask, mask_value)
    files = {}
    for n, arr in (("input_ids", ids), ("attention_mask", mask)):
        files[n] = os.path.join(d, f"input_{n}.pb")
        with open(files[n], "wb") as f:
            f.write(numpy_helper.from_array(arr, n).SerializeToString())
    for n, arr in (("last_hidden_state", want_h), ("sentence_embedding", want_e)):
        with open(os.path.join(d, f"expected_{n}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(arr.astype(np.float32), n).SerializeToString())
    # integer inputs of at most 16 elements are known to the importer (it folds what it can)
    print(f"  batch {batch}, seq {seq}, mask lengths {mask.sum(1).tolist()}"
          + (" (16 ids or fewer: their contents are known at import)" if batch * seq <= 16 else ""))

    # plexus info with --dim/--shape: the graph builds from the symbolic dims alone
    info = [a.plexus, "info", "-m", mpath, "--json"]
    info += (["--dim", f"batch={batch}", "--dim", f"seq={seq}"] if variant == "ln" else
             ["--shape", f"input_ids={batch},{seq}", "--shape", f"attention_mask={batch},{seq}"])
    r = subprocess.run(info, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        js = json.loads(r.stdout)
    except ValueError:
        js = {}
    if r.returncode != 0 or js.get("importable") is not True:
        why = js.get("import_error") or (r.stdout + r.stderr).strip()
        print(f"    FAIL plexus {' '.join(info[1:])}: exit {r.returncode}: {why}")
        return False
    print(f"    ok   plexus info {' '.join(info[5:])}: importable, {js.get('nodes')} IR nodes")

    modes = [("", None)]
    if a.unfused and "PLEXUS_ONNX_NO_FUSE" not in os.environ:  # the importer's fusions off: the plain nodes
        modes.append(("unfused ", dict(os.environ, PLEXUS_ONNX_NO_FUSE="1")))
    ok = True
    for mode, env in modes:
        ok &= run_plexus(a, onnx, np, mpath, files, os.path.join(d, "out_" + mode.strip() if mode else "out"),
                         mode, env, want_h, want_e)
    return ok


def run_plexus(a, onnx, np, mpath, files, out, mode, env, want_h, want_e):
    from onnx import numpy_helper
    os.makedirs(out, exist_ok=True)
    for n in ("last_hidden_state", "sentence_embedding"):
        p = os.path.join(out, n + ".pb")
        if os.path.exists(p):
            os.remove(p)
    cmd = [a.plexus, "onnx-run", mpath, "--input", f"input_ids={files['input_ids']}",
           "--input", f"attention_mask={files['attention_mask']}", "--output-dir", out]
    if a.threads:
        cmd += ["-t", str(a.threads)]
    shown = ("PLEXUS_ONNX_NO_FUSE=1 " if env else "") + " ".join(cmd)
    times = []
    for _ in range(max(1, a.repeat if a.time else 1)):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        times.append(time.perf_counter() - t0)
        if r.returncode != 0:
            print(f"    FAIL {mode}plexus onnx-run exit {r.returncode}: {r.stdout.strip()}")
            print("    command: " + shown)
            return False
    if a.time:
        times.sort()
        print(f"    {mode}plexus onnx-run wall time: best {times[0]:.3f} s, median {times[len(times) // 2]:.3f} s "
              f"over {len(times)} runs")
    ok = True
    for n, want in (("last_hidden_state", want_h), ("sentence_embedding", want_e)):
        p = os.path.join(out, n + ".pb")
        if not os.path.exists(p):
            print(f"    FAIL {mode}{n}: plexus wrote no {p}")
            ok = False
            continue
        t = onnx.TensorProto()
        with open(p, "rb") as f:
            t.ParseFromString(f.read())
        good, msg = compare(np, mode + n, numpy_helper.to_array(t), want)
        print(("    ok   " if good else "    FAIL ") + msg)
        ok &= good
    if not ok:
        print("    command: " + shown)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plexus", required=True)
    ap.add_argument("--work", required=True, help="folder for the models, inputs and outputs")
    ap.add_argument("--variant", choices=("ln", "decomp", "all"), default="all")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--inter", type=int, default=1536)
    ap.add_argument("--vocab", type=int, default=1000)
    ap.add_argument("--max-pos", type=int, default=128)
    ap.add_argument("--shapes", default="3x20,2x8",
                    help="BATCHxSEQ list; 2x8 (16 ids) exercises the importer's folding of small inputs")
    ap.add_argument("--unfused", action="store_true",
                    help="run every shape a second time with PLEXUS_ONNX_NO_FUSE=1 (the importer's fusions off)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--time", action="store_true", help="print the wall time of plexus onnx-run")
    ap.add_argument("--repeat", type=int, default=3, help="runs to time with --time")
    ap.add_argument("-t", "--threads", type=int, default=0)
    a = ap.parse_args()
    try:
        a.shapes = [tuple(int(x) for x in sh.split("x")) for sh in a.shapes.split(",")]
        assert all(len(sh) == 2 and min(sh) > 0 for sh in a.shapes)
    except (ValueError, AssertionError):
        ap.error(f"--shapes wants BATCHxSEQ[,BATCHxSEQ...], got '{a.shapes}'")
    if a.hidden % a.heads or max(sh[1] for sh in a.shapes) > a.max_pos:
        ap.error(f"hidden {a.hidden} must be a multiple of heads {a.heads} and seq at most --max-pos {a.max_pos}")
    try:
        import numpy as np
        import onnx
        import onnx.numpy_helper  # noqa: F401
    except ImportError as e:
        print(f"skipped: {e} (install python3-onnx and python3-numpy)")
        return 77
    if not os.access(a.plexus, os.X_OK):
        print(f"FAIL: {a.plexus} is not an executable")
        return 1
    os.makedirs(a.work, exist_ok=True)
    variants = ("ln", "decomp") if a.variant == "all" else (a.variant,)
    failed = [v for v in variants if not run_variant(a, onnx, np, v)]
    print(f"{len(variants) - len(failed)}/{len(variants)} encoder variants match"
          + (f"; failed: {' '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
