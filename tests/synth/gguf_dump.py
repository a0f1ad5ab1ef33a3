#!/usr/bin/env python3
"""Minimal GGUF (v2/v3) reader for the synth tests: prints the metadata and
tensor table as JSON (arrays as their length and first few values), so the
tests can compare key names, tensor names and shapes without any package.
Usage: gguf_dump.py FILE.gguf"""
import json
import struct
import sys

# GGUF value types
SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
STRING, ARRAY = 8, 9
DTYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 8: "Q8_0", 12: "Q4_K", 14: "Q6_K", 30: "BF16"}


class Reader:
    def __init__(self, data):
        self.d, self.p = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.p)[0]
        self.p += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.take("<Q")
        s = self.d[self.p:self.p + n].decode("utf-8", "replace")
        self.p += n
        return s

    def value(self, t):
        if t in SCALARS:
            return self.take(SCALARS[t])
        if t == STRING:
            return self.string()
        if t == ARRAY:
            et, n = self.take("<I"), self.take("<Q")
            items = [self.value(et) for _ in range(n)]
            return {"array": n, "type": et, "head": items[:8], "all": items}
        raise ValueError("unknown GGUF value type %d" % t)


def load(path):
    with open(path, "rb") as f:
        r = Reader(f.read())
    if r.d[:4] != b"GGUF":
        raise ValueError("%s: not a GGUF file" % path)
    r.p = 4
    version, n_tensors, n_kv = r.take("<I"), r.take("<Q"), r.take("<Q")
    meta = {}
    for _ in range(n_kv):
        k = r.string()
        meta[k] = r.value(r.take("<I"))
    tensors = []
    for _ in range(n_tensors):
        name = r.string()
        nd = r.take("<I")
        ne = [r.take("<Q") for _ in range(nd)]
        t = r.take("<I")
        r.take("<Q")
        tensors.append({"name": name, "ne": ne, "dtype": DTYPES.get(t, str(t))})
    return {"version": version, "meta": meta, "tensors": tensors}


if __name__ == "__main__":
    g = load(sys.argv[1])
    for v in g["meta"].values():
        if isinstance(v, dict):
            del v["all"]
    json.dump(g, sys.stdout, indent=1)
