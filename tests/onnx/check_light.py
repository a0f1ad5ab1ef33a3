#!/usr/bin/python3
"""Run the ONNX "light" models (onnx/backend/test/data/light in the ONNX
repository: ResNet-50, Inception v1/v2, DenseNet-121, SqueezeNet, ShuffleNet,
VGG-19, ZFNet-512, AlexNet with their weights replaced by ConstantOfShape)
through `plexus onnx-run` and compare with their expected outputs.

The input is made as ONNX's backend runner makes it for these models:
arange(n).reshape(shape) / n in float32, open dims taken as 1.

  check_light.py --plexus BUILD/bin/plexus --light DIR

Exit 0 when every model matches, 1 otherwise, 77 (skipped) when DIR has no
light_*.onnx (the models are not part of ../shared).
"""
import argparse
import glob
import os
import struct
import subprocess
import sys
import tempfile
import time

# (model, rtol, atol) as ONNX's backend test collection lists them
TOLERANCES = {"densenet121": (2e-3, 1e-7)}


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def tensor_pb(name, arr):
    """A float32 TensorProto: dims (1), data_type (2) = FLOAT, name (8), raw_data (9)."""
    b = bytearray()
    for d in arr.shape:
        b += varint(1 << 3) + varint(d)
    b += varint(2 << 3) + varint(1)
    nb = name.encode()
    b += varint(8 << 3 | 2) + varint(len(nb)) + nb
    raw = arr.astype("<f4").tobytes()
    b += varint(9 << 3 | 2) + varint(len(raw)) + raw
    return bytes(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plexus", required=True)
    ap.add_argument("--light", required=True)
    a = ap.parse_args()
    models = sorted(glob.glob(os.path.join(a.light, "light_*.onnx")))
    models = [m for m in models if os.path.exists(m[:-5] + "_output_0.pb")]
    if not models:
        print(f"skipped: no light_*.onnx with expected outputs in {a.light}")
        return 77
    try:
        import numpy as np
    except ImportError:
        print("skipped: numpy is missing")
        return 77
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "onnx-tests"))
    here = os.environ.get("PLEXUS_SHARED_DIR")
    if here:
        sys.path.insert(0, os.path.join(here, "onnx-tests"))
    import onnx_conformance as oc  # the harness's protobuf decoders

    failed = 0
    for m in models:
        name = os.path.basename(m)[len("light_"):-5]
        info = oc.parse_model(m)
        inits = info.initializers
        ins = [(n, t) for n, t in info.inputs if n not in inits]
        work = tempfile.mkdtemp(prefix="light_")
        args = []
        # the input's shape from `plexus info --json` (the harness does not keep dims)
        js = subprocess.run([a.plexus, "info", "-m", m, "--json"], stdout=subprocess.PIPE, text=True).stdout
        import json
        shapes = {}
        for s in json.loads(js).get("inputs", []):
            nm, _, rest = s.rpartition(": ")
            dims = rest[rest.find("[") + 1:rest.find("]")].split(",") if "[" in rest else []
            shapes[nm] = [int(d) if d.isdigit() else 1 for d in dims if d]
        for n, _ in ins:
            if n not in shapes:
                continue
            shape = shapes[n]
            cnt = int(np.prod(shape))
            x = (np.arange(cnt).reshape(shape) / cnt).astype(np.float32)
            p = os.path.join(work, "input_%d.pb" % len(args))
            with open(p, "wb") as f:
                f.write(tensor_pb(n, x))
            args += ["--input", f"{n}={p}"]
        out = os.path.join(work, "out")
        t0 = time.time()
        r = subprocess.run([a.plexus, "onnx-run", m] + args + ["--output-dir", out], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        dt = time.time() - t0
        if r.returncode:
            print(f"FAIL {name}: onnx-run exited {r.returncode}: {r.stderr.strip()[:300]}")
            failed += 1
            continue
        with open(m[:-5] + "_output_0.pb", "rb") as f:
            exp = oc.parse_tensor(f.read())
        outs = sorted(glob.glob(os.path.join(out, "**", "*.pb"), recursive=True))
        if len(outs) != 1:
            print(f"FAIL {name}: {len(outs)} outputs written, expected 1")
            failed += 1
            continue
        with open(outs[0], "rb") as f:
            got = oc.parse_tensor(f.read())
        e = np.array(exp.values, dtype=np.float64).reshape(exp.dims)
        g = np.array(got.values, dtype=np.float64).reshape(got.dims)
        rtol, atol = TOLERANCES.get(name, (1e-3, 1e-7))
        if e.shape != g.shape:
            print(f"FAIL {name}: shape {g.shape}, expected {e.shape}")
            failed += 1
            continue
        ok = np.abs(g - e) <= atol + rtol * np.abs(e)
        diff = float(np.max(np.abs(g - e))) if e.size else 0.0
        if ok.all():
            print(f"ok   {name}: max abs diff {diff:.3g}, {dt:.2f} s")
        else:
            print(f"FAIL {name}: {int((~ok).sum())}/{e.size} out of tolerance, max abs diff {diff:.3g}")
            failed += 1
    print(f"{len(models) - failed}/{len(models)} light models match")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
